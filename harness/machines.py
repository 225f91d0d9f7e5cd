"""The qemu-system machine for each kernel architecture: which emulator, board
and CPU, the kernel's console, how the guest sends its results back, and which
static build (CMake preset) runs inside. The qemu target picks the row from
the architecture the kernel image declares (kernels.identify).

Results and the live copy of each test's output travel on two extra ports
next to the console: 16550 serial ports (ttyS1, ttyS2) on a PC; on the arm and
riscv "virt" boards, which have one UART, two named virtio serial ports on PCI
(/dev/shmconform.results and .live, linked by the initramfs's /init), whose
modules the initramfs loads when the kernel has them as modules. Not virtio
consoles (hvc): the tty layer made base64 results crawl at ~3 KB/s under TCG
(12 s for one binary's files); a raw port takes them in a few milliseconds.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib


# hugepages=N on every VM's command line (qemu: and LAVA jobs alike): the
# huge-page tests need free huge pages, and a fresh boot has none.
HUGE_PAGES = 2


@dataclasses.dataclass(frozen=True)
class Machine:
    arch: str                  # the kernel's architecture, as the presets and probe name it
    debian_arch: str           # Debian's name (busybox-static:ARCH)
    qemu: str                  # qemu-system-* binary
    qemu_package: str          # the Debian package that has it
    board: tuple[str, ...]     # -M / -cpu
    console: str               # the kernel console (console=...)
    ports: str                 # "serial" (ttyS1, ttyS2) or "virtio" (named virtio serial ports)
    preset: str                # the static build the guest runs
    memory_mb: int
    huge_pages: int = HUGE_PAGES

    @property
    def guest_ports(self) -> tuple[str, str]:
        """(results, live) device paths inside the guest."""
        return ("/dev/ttyS1", "/dev/ttyS2") if self.ports == "serial" else PORT_LINKS


PORT_LINKS = ("/dev/shmconform.results", "/dev/shmconform.live")   # made by kernels.INIT from the port names
MACHINES = {m.arch: m for m in (
    Machine("x86_64", "amd64", "qemu-system-x86_64", "qemu-system-x86", (), "ttyS0", "serial", "static", 512),
    # -cpu max has every feature, including the 16 KiB granule; its default pointer
    # authentication (QARMA) costs TCG dearly, the implementation-defined one does not.
    Machine("aarch64", "arm64", "qemu-system-aarch64", "qemu-system-arm",
            ("-M", "virt", "-cpu", "max,pauth-impdef=on"), "ttyAMA0", "virtio", "aarch64", 1024),
    # cortex-a15 has LPAE, so both Debian flavours (armmp, armmp-lpae) boot on it.
    Machine("armhf", "armhf", "qemu-system-arm", "qemu-system-arm",
            ("-M", "virt,highmem=off", "-cpu", "cortex-a15"), "ttyAMA0", "virtio", "armhf", 1024),
    Machine("riscv64", "riscv64", "qemu-system-riscv64", "qemu-system-misc",
            ("-M", "virt"), "ttyS0", "virtio", "riscv64", 1024),
)}


def for_arch(arch: str) -> Machine | None:
    return MACHINES.get(arch)


def native(arch: str) -> bool:
    """Whether KVM could run this guest: only the host's own architecture."""
    return arch == os.uname().machine


def command(m: Machine, *, kernel: pathlib.Path, initrd: pathlib.Path, append: str, accel: str,
            console_log: pathlib.Path, results_log: pathlib.Path, live_log: pathlib.Path, smp: int = 2) -> list[str]:
    cmd = [m.qemu, *m.board, "-m", str(m.memory_mb), "-smp", str(smp), "-accel", accel,
           "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
           "-display", "none", "-nodefaults", "-no-reboot", "-monitor", "none",
           "-serial", f"file:{console_log}"]
    if m.ports == "serial":
        return [*cmd, "-serial", f"file:{results_log}", "-serial", f"file:{live_log}"]
    return [*cmd, "-device", "virtio-serial-pci,id=shmconform-ports",
            "-chardev", f"file,id=results,path={results_log}",
            "-device", "virtserialport,chardev=results,name=shmconform.results",
            "-chardev", f"file,id=live,path={live_log}",
            "-device", "virtserialport,chardev=live,name=shmconform.live"]


def kernel_command_line(m: Machine, extra: str = "") -> str:
    return " ".join(x for x in (f"console={m.console}", "panic=-1", "quiet",
                                f"hugepages={m.huge_pages}" if m.huge_pages else "",
                                "shmconform.ports=virtio" if m.ports == "virtio" else "", extra.strip()) if x)
