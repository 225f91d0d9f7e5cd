"""Container semantics (harness/oci/requirements.toml) on runc and crun through
podman: each test checks one requirement from the host's side or across two
containers, and runs a control where the behaviour is absent, so the check is
shown able to fail. The agent (harness/oci/agent.c) does the IPC operations."""
from __future__ import annotations

import pathlib
import shutil
import tomllib

import pytest

from harness import cli
from harness.oci import scenarios

from .test_vm_targets import ctx_for

REQUIREMENTS = pathlib.Path(scenarios.__file__).with_name("requirements.toml")
RUNTIMES = ["runc", "crun"]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("podman") is None,
                                                     reason="podman is not installed (ci/bootstrap.sh oci)")]


def requirement(rid):
    """Names the catalogued requirement a test checks (test_every_container_requirement_has_a_test)."""
    def mark(fn):
        fn.requirement = rid
        return fn
    return mark


@pytest.fixture(scope="module")
def podman_state_dirs():
    """The runtimes' state directories in /run that these tests create are removed after all labs."""
    from harness.oci import podman
    before = podman.existing_state_dirs()
    yield
    podman.wait_for_cleanups(cli.cache_dir() / "oci" / "storage")
    podman.remove_new_empty_state_dirs(before)


@pytest.fixture(scope="module", params=RUNTIMES)
def lab(request, fake_build, tmp_path_factory, podman_state_dirs):
    from harness.targets.probe import probe_binary
    work = tmp_path_factory.mktemp("lab")
    ctx = ctx_for(work, fake_build)
    lab = scenarios.Lab(cli.cache_dir(), fake_build, probe_binary(ctx), request.param, work)
    yield lab
    lab.close()


def test_every_container_requirement_has_a_test():
    ids = {r["id"] for r in tomllib.loads(REQUIREMENTS.read_text())["requirement"]}
    source = pathlib.Path(__file__).read_text()
    assert ids and all(f'@requirement("{rid}")' in source for rid in ids), \
        [rid for rid in ids if f'@requirement("{rid}")' not in source]


@requirement("OCI.IPC.PRIVATE_HIDES_HOST_SYSV")
def test_private_ipc_hides_the_hosts_segments(lab):
    key = lab.key(1)
    made = lab.host("sysv-create", key, "4096")
    assert "id" in made, made
    try:
        assert lab.run("ipc=private", "sysv-lookup", key) == {"errno": "ENOENT"}
        # Control: the same lookup in the host's namespace finds it.
        assert lab.run("ipc=host", "sysv-lookup", key) == {"id": made["id"]}
    finally:
        lab.host("sysv-remove", key)


@requirement("OCI.IPC.PRIVATE_HIDES_HOST_POSIX")
def test_private_ipc_hides_the_hosts_dev_shm(lab):
    name = lab.name("hidden")
    assert lab.host("posix-create", name) == {"created": "1"}
    try:
        assert lab.run("ipc=private", "posix-lookup", name) == {"errno": "ENOENT"}
        assert lab.run("ipc=host", "posix-lookup", name) == {"found": "1"}   # control
    finally:
        lab.host("posix-remove", name)


@requirement("OCI.IPC.HOST_SHARES_BOTH_WAYS")
def test_host_ipc_shares_objects_both_ways(lab):
    key, name = lab.key(2), lab.name("shared")
    made = lab.run("ipc=host", "sysv-create", key, "4096")
    try:
        assert "id" in made, made
        assert lab.host("sysv-lookup", key) == {"id": made["id"]}
        assert lab.run("ipc=host", "posix-create", name) == {"created": "1"}
        assert lab.host("posix-lookup", name) == {"found": "1"}
        # And the other way: what the host made is found, then removed, from the container.
        assert lab.run("ipc=host", "sysv-remove", key) == {"removed": "1"}
        assert lab.host("sysv-lookup", key) == {"errno": "ENOENT"}
        # Control: made in a private container, the host does not see it.
        assert "id" in lab.run("ipc=private", "sysv-create", key, "4096")
        assert lab.host("sysv-lookup", key) == {"errno": "ENOENT"}
    finally:
        lab.host("sysv-remove", key)
        lab.host("posix-remove", name)


@requirement("OCI.IPC.JOINED_CONTAINERS_SHARE")
def test_joined_containers_share_one_ipc_namespace(lab):
    key, name = lab.key(3), lab.name("joined")
    agent = scenarios.AGENT
    first = lab.start("ipc=shareable", f"{agent} sysv-create {key} 4096; {agent} posix-create {name}; "
                      "echo ready; exec sleep 300", ready="ready")
    made = scenarios.parse_line(lab.logs(first).split("ready")[0].splitlines()[0])
    assert "id" in made, lab.logs(first)
    joined = ["--ipc", f"container:{first}"]
    assert lab.run("", "sysv-lookup", key, extra=joined) == {"id": made["id"]}
    assert lab.run("", "posix-lookup", name, extra=joined) == {"found": "1"}
    # Control: a private container sees neither.
    assert lab.run("ipc=private", "sysv-lookup", key) == {"errno": "ENOENT"}
    assert lab.run("ipc=private", "posix-lookup", name) == {"errno": "ENOENT"}
    lab.podman.call("rm", "-f", "-t", "0", first)


def _shm_mounts_of(lab, container_id: str) -> list[str]:
    return [line.split()[4] for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines()
            if container_id in line.split()[4] and line.split()[4].endswith("/shm")]


@requirement("OCI.IPC.PRIVATE_OBJECTS_DIE_WITH_CONTAINER")
def test_objects_of_a_shareable_namespace_go_with_its_container(lab):
    name = lab.name("dies")
    agent = scenarios.AGENT
    first = lab.start("ipc=shareable", f"{agent} posix-create {name}; echo ready; exec sleep 300", ready="ready")
    cid = lab.podman.check("inspect", "--format", "{{.Id}}", first).strip()
    # Control: while the container lives, its /dev/shm is a host tmpfs holding the object.
    mounts = _shm_mounts_of(lab, cid)
    assert mounts and (pathlib.Path(mounts[0]) / name.lstrip("/")).exists(), mounts
    lab.podman.check("rm", "-f", "-t", "0", first)
    assert _shm_mounts_of(lab, cid) == []
    assert not (pathlib.Path(mounts[0]) / name.lstrip("/")).exists()
    assert lab.host("posix-lookup", name) == {"errno": "ENOENT"}


@requirement("OCI.DEV_SHM.SIZE_WRITE_ENOSPC")
def test_dev_shm_size_is_enforced_on_write(lab):
    got = lab.run("shm-size=1m", "fill", "/dev/shm/fill", str(2 << 20))
    assert got.get("errno") == "ENOSPC" and int(got["written"]) <= 1 << 20, got
    assert lab.run("shm-size=4m", "fill", "/dev/shm/fill", str(2 << 20)) == {"written": str(2 << 20)}  # control


@requirement("OCI.DEV_SHM.SIZE_STORE_SIGBUS")
def test_dev_shm_size_is_enforced_on_stores_through_a_mapping(lab):
    got = lab.run("shm-size=1m", "map-store", "/dev/shm/map", str(2 << 20))
    assert got.get("sigbus") == "BUS_ADRERR" and int(got["offset"]) <= 1 << 20, got
    assert lab.run("shm-size=4m", "map-store", "/dev/shm/map", str(2 << 20)) == {"stored": str(2 << 20)}  # control


@requirement("OCI.LIMITS.DO_NOT_LEAK")
def test_ipc_sysctls_set_for_a_container_stay_in_it(lab):
    before = lab.host("sysctl", "shmmni")["value"]
    wanted = "1234" if before != "1234" else "1235"
    assert lab.run("ipc=private", "sysctl", "shmmni", extra=["--sysctl", f"kernel.shmmni={wanted}"]) == \
        {"value": wanted}
    assert lab.host("sysctl", "shmmni") == {"value": before}
    assert lab.run("ipc=private", "sysctl", "shmmni") != {"value": wanted}   # control: not set, not seen
