"""qemu:KERNEL-OR-DEBIAN-PACKAGE: a full VM booting that kernel with an initramfs
of the static build for the kernel's architecture (x86_64, aarch64, armhf,
riscv64: read from the image; harness/machines.py has each board); results
come back over serial ports or virtio consoles."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import subprocess
import threading

from harness import kernels, machines, script
from harness.targets import serial
from harness.targets.base import KernelTarget, RoundOutcome, TargetError
from harness.targets.probe import probe_binary
from harness.targets.processes import supervise
from harness.targets.spec import family


@family("qemu", "qemu:KERNEL|PACKAGE",
         "qemu-system-* booting a kernel file or a Debian linux-image package of any architecture "
         "(x86_64, aarch64, armhf, riscv64: read from the image)",
         takes_arg=True, order=60)
class QemuTarget(KernelTarget):
    kind = "qemu"
    preset = "static"
    _accel_lock = threading.Lock()
    _accel_cache: dict[str, str] = {}

    def __init__(self, spec, kernel):
        super().__init__(spec)
        self.extra_files: dict[str, bytes] = {}   # guest path -> content, added to every round's initramfs
        if not kernel:
            raise TargetError("qemu: name a kernel: qemu:/boot/vmlinuz-... or qemu:DEBIAN-PACKAGE")
        self.kernel_arg = kernel

    def prepare(self, ctx):
        super().prepare(ctx)
        self.kernel = kernels.resolve(self.kernel_arg, ctx.cache_dir, error=TargetError)
        image = kernels.identify(self.kernel)
        self.machine = machines.for_arch(image.arch) if image else None
        if self.machine is None:
            raise TargetError(f"qemu: no machine for the kernel {self.kernel} ({image.arch if image else 'unknown'})")
        m = self.machine
        if not shutil.which(m.qemu):
            raise TargetError(f"qemu: {m.qemu} is not installed (apt-get install {m.qemu_package})")
        self.arch, self.preset = m.arch, m.preset
        self.probe = probe_binary(ctx, m.arch)
        busybox = kernels.busybox_for(m.debian_arch, ctx.cache_dir, error=TargetError)
        self.base_initrd = kernels.base_initramfs(self.binaries_dir(ctx), self.probe, ctx.cache_dir, error=TargetError,
                                                  busybox=busybox, modules=kernels.console_modules(self.kernel))
        self.accel = self._choose_accel(ctx) if machines.native(m.arch) else "tcg"
        self.virtualization = f"{m.qemu} ({self.accel})"

    def _choose_accel(self, ctx) -> str:
        if ctx.accel in ("kvm", "tcg"):
            return ctx.accel
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return "tcg"
        with self._accel_lock:
            key = self.machine.qemu   # KVM works for every kernel of this host or for none: one probe boot
            if key not in self._accel_cache:
                d = ctx.work_dir / "kvm-probe"
                d.mkdir(parents=True, exist_ok=True)
                out = self._boot([], d, timeout=20, accel="kvm")
                ok = (out.results / "round.done").exists()
                self._accel_cache[key] = "kvm" if ok else "tcg"
            return self._accel_cache[key]

    def run_round(self, invocations, round_dir, timeout):
        return self._boot(invocations, round_dir, timeout, self.accel)

    def _boot(self, invocations, round_dir, timeout, accel) -> RoundOutcome:
        round_dir.mkdir(parents=True, exist_ok=True)
        prologue = serial.guest_prologue(*self.machine.guest_ports) + "\nhalt_target() { sync; poweroff -f; }"
        inv = [dataclasses.replace(i, argv=[kernels.GUEST_BIN + "/" + pathlib.Path(i.argv[0]).name, *i.argv[1:]])
               for i in invocations]
        text = script.render(inv, results="/results", probe=kernels.GUEST_PROBE, run_id=self.ctx.run_id,
                             scratch="/tmp/scratch", prologue=prologue, stop_on_taint=True)
        initrd = round_dir / "initrd.img"
        kernels.round_initramfs(self.base_initrd, text, initrd, self.extra_files)
        console, results_port, live = round_dir / "console.log", round_dir / "results.serial", round_dir / "live.serial"
        console.write_bytes(b"")
        cmd = machines.command(self.machine, kernel=self.kernel, initrd=initrd, accel=accel,
                               append=machines.kernel_command_line(self.machine, self.ctx.kernel_args),
                               console_log=console, results_log=results_port, live_log=live)

        def kvm_broken() -> bool:
            try:
                return accel == "kvm" and b"KVM internal error" in (round_dir / "qemu.log").read_bytes()
            except OSError:
                return False
        with open(round_dir / "qemu.log", "wb") as log:
            rc, timed_out = supervise(cmd, timeout=timeout, stop=self.ctx.stop, stdout=log, stderr=subprocess.STDOUT,
                                      early_abort=kvm_broken)
        results = round_dir / "results"
        results.mkdir(exist_ok=True)
        serial.unframe(results_port.read_bytes() if results_port.exists() else b"", results)
        serial.unlive(live.read_bytes() if live.exists() else b"", results)
        text = console.read_text(errors="replace") + (round_dir / "qemu.log").read_text(errors="replace")
        return RoundOutcome(results, text, timed_out, rc)
