"""The container profile in one line, for the report's target card and summary:
what the container changed, shown next to its verdict."""
from __future__ import annotations


def summary(env: dict) -> str | None:
    """'runc 1.1.5+ds1 · ipc private · /dev/shm 64000 kB · lacks CAP_IPC_OWNER, ...' or None
    when the environment is not a container's."""
    if not env.get("oci_runtime"):
        return None
    version = str(env.get("oci_runtime_version", "")).split(" version ")[-1]
    bits = [f"{env['oci_runtime'].rsplit('/', 1)[-1]} {version}".strip(), f"ipc {env.get('ipc_mode', '?')}"]
    if env.get("gvisor_platform"):
        bits.append(f"platform {env['gvisor_platform']}")
    if env.get("dev_shm_kb") not in (None, ""):
        bits.append(f"/dev/shm {env['dev_shm_kb']} kB")
    missing = str(env.get("capabilities_missing", ""))
    if missing and missing != "none":
        bits.append("lacks " + ", ".join(c.strip() for c in missing.split(",")))  # spaced: it wraps in a card
    if env.get("proc_sys_read_only") == "yes":
        bits.append("/proc/sys read-only")
    if env.get("proc_sysvipc_shm") == "no":
        bits.append("no /proc/sysvipc")
    return " · ".join(bits)
