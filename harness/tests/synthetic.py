"""A synthetic run with realistic shape, for tests, size measurements and demos:
`python3 -m harness.tests.synthetic OUT_DIR [TARGETS TESTS]` writes its reports.

Deterministic: the same arguments give the same run.
"""
from __future__ import annotations

import pathlib
import random
import sys

from harness import model

AREAS = {"sysv": ("SHMGET", "SHMAT", "SHMDT", "SHMCTL", "FORK"), "posix": ("SHM_OPEN", "SHM_UNLINK", "MEMFD"),
         "mmap": ("MMAP", "MUNMAP", "MSYNC", "MPROTECT", "MREMAP", "MADVISE")}
TARGETS = [
    ("local", "host", {"kernel_release": "6.18.0-1-amd64", "arch": "x86_64", "page_size": 4096, "shmlba": 4096}),
    ("uml", "uml", {"kernel_release": "6.1.0", "arch": "x86_64", "page_size": 4096, "shmlba": 4096, "virtualization": "uml"}),
    ("qemu:/boot/vmlinuz-6.1.0-28-amd64", "qemu", {"kernel_release": "6.1.0-28-amd64", "arch": "x86_64",
                                                  "page_size": 4096, "shmlba": 4096, "virtualization": "qemu-tcg"}),
    ("qemu-user:armhf", "qemu-user", {"kernel_release": "6.18.0-1-amd64", "arch": "armv7l", "page_size": 4096,
                                      "shmlba": 16384, "virtualization": "qemu-user"}),
    ("qemu-user:aarch64", "qemu-user", {"kernel_release": "6.18.0-1-amd64", "arch": "aarch64", "page_size": 4096,
                                        "shmlba": 4096, "virtualization": "qemu-user"}),
    ("qemu-user:riscv64", "qemu-user", {"kernel_release": "6.18.0-1-amd64", "arch": "riscv64", "page_size": 4096,
                                        "shmlba": 4096, "virtualization": "qemu-user"}),
]
COMMON_ENV = {"libc": "glibc 2.36", "shmmax": 18446744073692774399, "shmall": 18446744073692774399, "shmmni": 4096,
              "shm_rmid_forced": 0, "cpus": 2, "memory_bytes": 25769803776}


def make_run(n_targets: int = 2, n_tests: int = 40, seed: int = 7, benchmarks: bool = True) -> model.Run:
    rnd = random.Random(seed)
    requirements: dict[str, dict] = {}
    tests = []  # (binary, suite, name, [rids])
    areas = list(AREAS)
    for i in range(n_tests):
        area = areas[i % len(areas)]
        iface = AREAS[area][(i // len(areas)) % len(AREAS[area])]
        rid = f"{area.upper()}.{iface}.BEHAVIOUR_{i // 2:03d}"
        requirements.setdefault(rid, {
            "statement": f"{iface.lower()} behaviour number {i // 2} holds exactly as documented (errno, fields, signals).",
            "sources": [f"{iface.lower()}(2) DESCRIPTION", f"POSIX {iface.lower()}"] if i % 3 else [f"{iface.lower()}(2) ERRORS"],
            "profile": "posix" if i % 4 else "linux", "area": area})
        suite = f"{iface.title().replace('_', '')}Test"
        tests.append((f"conformance-{area}", suite, f"Behaviour{i:04d}HoldsExactly", [rid]))
    # Two catalogued requirements nobody tests, one test naming two requirements.
    requirements["SYSV.SHMCTL.UNTESTED_ONE"] = {"statement": "A requirement without a test.", "sources": ["shmctl(2) NOTES"],
                                                "profile": "linux", "area": "sysv"}
    requirements["MMAP.MSYNC.UNTESTED_TWO"] = {"statement": "Another requirement without a test.",
                                               "sources": ["POSIX msync"], "profile": "posix", "area": "mmap"}
    if len(tests) > 3:
        tests[3] = (*tests[3][:3], tests[3][3] + [tests[0][3][0]])
    targets = []
    for ti, (name, kind, env) in enumerate((TARGETS * ((n_targets // len(TARGETS)) + 1))[:n_targets]):
        if ti >= len(TARGETS):
            name = f"{name}-{ti}"
        t = model.TargetRun(name=name, kind=kind, environment={**env, **COMMON_ENV}, duration_s=round(rnd.uniform(5, 90), 1))
        for ti_, (binary, suite, tname, rids) in enumerate(tests):
            status, message, output = "pass", "", ""
            roll = rnd.random()
            if ti_ % 37 == 5:
                status, message = "skip", "needs CAP_IPC_OWNER: not root"
            elif ti >= 3 and ti_ % 97 == 11:  # target-specific failures (emulators)
                status = "fail"
                message = (f"conformance/{binary[12:]}/x_test.cc:{40 + ti_}: Failure\nValue of: shmat(id, nullptr, 0)\n"
                           f"Expected: fails with errno EINVAL\n  Actual: 0x7f3a2c000000 (succeeded)")
                output = "[ RUN      ] ...\nshmlba probe: 16384\n"
            elif ti == 1 and ti_ == 20:
                status, message, output = "timeout", "killed after 60 s", "waiting for child...\n"
            elif ti == 2 and ti_ == 31:
                status, message = "crash", "killed by SIGSEGV while the test ran"
            elif roll < 0.01:
                status, message = "skip", "feature absent: MAP_SYNC"
            t.results.append(model.TestResult(target=name, binary=binary, suite=suite, name=tname, status=status,
                                              requirements=list(rids), duration_s=round(rnd.uniform(0, 0.05), 4),
                                              message=message, output=output))
        if benchmarks:
            scale = 1.0 if kind in ("host", "uml") else 3.5
            t.benchmarks.append({"context": {"host_name": name}, "benchmarks": [
                {"name": "BM_ShmCycle", "run_type": "iteration", "real_time": 2100 * scale, "time_unit": "ns"},
                {"name": "BM_PipePingPong", "run_type": "iteration", "real_time": 9.1 * scale, "time_unit": "us"},
                {"name": "BM_FutexPingPong", "run_type": "iteration", "real_time": 3.9 * scale, "time_unit": "us"},
                {"name": "BM_Memcpy/1048576", "run_type": "iteration", "real_time": 80, "time_unit": "us",
                 "bytes_per_second": 12.5e9 / scale},
                {"name": "BM_ShmRing/1048576", "run_type": "iteration", "real_time": 100, "time_unit": "us",
                 "bytes_per_second": 10.1e9 / scale},
                {"name": "BM_Pipe/1048576", "run_type": "iteration", "real_time": 300, "time_unit": "us",
                 "bytes_per_second": 3.2e9 / scale}]})
            # The harness's wrapper around each scenario's --json output.
            t.stress = [{"scenario": "sysv-churn", "binary": "stress-sysv-churn", "exit_code": 0, "ok": True, "stderr": "",
                         "result": {"scenario": "sysv-churn", "seed": 1, "workers": 2, "duration_s": 10.0,
                                    "ops": int(1820000 / scale), "ops_per_s": 182000 / scale, "errors": 0, "violations": [],
                                    "latency_ns": {"shmget": {"count": 9000, "p50": 900 * scale, "p99": 5200 * scale},
                                                   "shmat": {"count": 9000, "p50": 1300 * scale, "p99": 8100 * scale}}}},
                        {"scenario": "posix-churn", "ops_per_s": 95000 / scale, "ops": int(950000 / scale), "errors": 0,
                         "latency_ns": {"shm_open": {"p50": 2100 * scale, "p99": 9000 * scale}}}]
        targets.append(t)
    return model.Run(run_id=f"synthetic-{n_targets}x{n_tests}", started="2026-11-28T07:00:00Z",
                     finished="2026-11-28T07:05:00Z", tool_version="0.1", command="./shmconform run (synthetic)",
                     host={"hostname": "builder"}, targets=targets, requirements=requirements)


if __name__ == "__main__":
    from harness.report import write_all
    out = pathlib.Path(sys.argv[1])
    nt, nn = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (5, 500)
    for k, p in write_all(make_run(nt, nn), out).items():
        print(f"{k:<12} {p} {p.stat().st_size} bytes")
