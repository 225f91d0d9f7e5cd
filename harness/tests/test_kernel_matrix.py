"""The kernel matrix without booting anything: the architecture read from kernel
image headers, the qemu machine chosen for it, named matrices, compare's target
pairing and its "nothing compared" error, and the report's kernel-diff view."""
from __future__ import annotations

import copy
import gzip
import pathlib

import pytest

from harness import cli as harness_cli, kernels, machines, matrices, model
from harness.report import cli, kernel_diff, write_all
from harness.tests.synthetic import make_run


# --- the architecture from the image ----------------------------------------------

def header(size: int = 0x1000, **at: bytes) -> bytes:
    """A blank image head with bytes placed at offsets (at_0x38=b"ARM\\x64")."""
    data = bytearray(size)
    for key, value in at.items():
        off = int(key.removeprefix("at_"), 16)
        data[off:off + len(value)] = value
    return bytes(data)


ARM64_16K = header(at_0x18=(1 << 2 | 0).to_bytes(8, "little"), at_0x38=b"ARM\x64")


@pytest.mark.parametrize("head,arch,fmt,page", [
    (header(at_0x202=b"HdrS"), "x86_64", "bzImage", None),
    (header(at_0x18=(1 << 1).to_bytes(8, "little"), at_0x38=b"ARM\x64"), "aarch64", "arm64 Image", 4096),
    (ARM64_16K, "aarch64", "arm64 Image", 16384),
    (header(at_0x18=(3 << 1).to_bytes(8, "little"), at_0x38=b"ARM\x64"), "aarch64", "arm64 Image", 65536),
    (header(at_0x38=b"ARM\x64"), "aarch64", "arm64 Image", None),          # page size unspecified
    (header(at_0x24=b"\x18\x28\x6f\x01"), "armhf", "zImage", None),
    (header(at_0x30=b"RISCV\0\0\0", at_0x38=b"RSC\x05"), "riscv64", "riscv Image", None),
    (b"\x7fELF" + bytes(14) + (183).to_bytes(2, "little") + bytes(100), "aarch64", "ELF vmlinux", None),
    (b"\x7fELF" + bytes(14) + (62).to_bytes(2, "little") + bytes(100), "x86_64", "ELF vmlinux", None),
])
def test_kernel_architecture_is_read_from_the_image_header(head, arch, fmt, page):
    found = kernels.identify_bytes(head)
    assert (found.arch, found.format, found.page_size, found.compression) == (arch, fmt, page, "")


def test_a_gzipd_image_is_looked_into():
    found = kernels.identify_bytes(gzip.compress(ARM64_16K + bytes(8192)))
    assert (found.arch, found.page_size, found.compression) == ("aarch64", 16384, "gzip")


@pytest.mark.parametrize("head", [bytes(0x1000), b"MZ" + bytes(0x1000), b"\x1f\x8bnot gzip at all",
                                  b"\x7fELF" + bytes(14) + (3).to_bytes(2, "little") + bytes(50)])
def test_unknown_images_are_not_guessed(head):
    assert kernels.identify_bytes(head) is None


def test_a_kernel_file_of_unknown_format_is_one_clear_error(tmp_path):
    f = tmp_path / "vmlinuz-junk"
    f.write_bytes(b"not a kernel" * 100)
    with pytest.raises(RuntimeError, match="is not a kernel image the harness knows"):
        kernels.resolve(str(f), tmp_path, RuntimeError)
    g = tmp_path / "vmlinuz-arm"
    g.write_bytes(ARM64_16K)
    assert kernels.resolve(str(g), tmp_path, RuntimeError) == g   # any architecture with a machine


@pytest.mark.parametrize("spec,expected", [
    ("linux-image-6.12-arm64-16k", ("linux-image-6.12-arm64-16k", "arm64")),
    ("linux-image-cloud-arm64", ("linux-image-cloud-arm64", "arm64")),
    ("linux-image-armmp-lpae", ("linux-image-armmp-lpae", "armhf")),
    ("linux-image-6.1.0-50-armmp", ("linux-image-6.1.0-50-armmp", "armhf")),
    ("linux-image-6.12.117+deb12-amd64-unsigned", ("linux-image-6.12.117+deb12-amd64-unsigned", "amd64")),
    ("linux-image-foo:riscv64", ("linux-image-foo", "riscv64")),
])
def test_the_debian_architecture_of_a_kernel_package(spec, expected):
    assert kernels.package_arch(spec) == expected


def test_a_foreign_package_index_is_private_to_the_cache(tmp_path):
    apt = kernels._Apt("arm64" if kernels.native_arch() != "arm64" else "amd64", tmp_path)
    opts = " ".join(apt.options())
    assert f"Dir::State::Lists={tmp_path}/apt/" in opts and "APT::Architectures::=" in opts


def test_console_modules_come_with_their_dependencies_in_load_order(tmp_path):
    boot, mods = tmp_path / "boot", tmp_path / "lib/modules/6.1.0-50-armmp/kernel/drivers"
    boot.mkdir()
    (boot / "vmlinuz-6.1.0-50-armmp").write_bytes(b"x")
    (boot / "config-6.1.0-50-armmp").write_text("CONFIG_VIRTIO_CONSOLE=m\nCONFIG_VIRTIO_PCI=m\n")
    (mods / "virtio").mkdir(parents=True)
    (mods / "char").mkdir()
    info = {"virtio/virtio_pci.ko": "virtio_pci_modern_dev,virtio_pci_legacy_dev",
            "virtio/virtio_pci_modern_dev.ko": "", "virtio/virtio_pci_legacy_dev.ko": "",
            "virtio/virtio_balloon.ko": "", "char/virtio_console.ko": ""}
    for rel, deps in info.items():
        (mods / rel).write_bytes(b"\x7fELF...\0license=GPL\0depends=" + deps.encode() + b"\0name=x\0")
    order = [p.name for p in kernels.console_modules(boot / "vmlinuz-6.1.0-50-armmp")]
    assert order == ["virtio_pci_modern_dev.ko", "virtio_pci_legacy_dev.ko", "virtio_pci.ko", "virtio_console.ko"]
    (boot / "config-6.1.0-50-armmp").write_text("CONFIG_VIRTIO_CONSOLE=y\nCONFIG_VIRTIO_PCI=y\n")
    assert kernels.console_modules(boot / "vmlinuz-6.1.0-50-armmp") == []


# --- the machine for an architecture ------------------------------------------------

def test_each_architecture_gets_its_emulator_console_and_ports(tmp_path):
    kw = dict(kernel=tmp_path / "k", initrd=tmp_path / "i", accel="tcg", append="a",
              console_log=tmp_path / "c", results_log=tmp_path / "r", live_log=tmp_path / "l")
    x86 = machines.command(machines.for_arch("x86_64"), **kw)
    assert x86[0] == "qemu-system-x86_64" and x86.count("-serial") == 3
    arm64 = machines.command(machines.for_arch("aarch64"), **kw)
    assert arm64[:5] == ["qemu-system-aarch64", "-M", "virt", "-cpu", "max,pauth-impdef=on"]
    assert arm64.count("-serial") == 1
    assert arm64.count("virtserialport,chardev=results,name=shmconform.results") == 1
    assert machines.command(machines.for_arch("armhf"), **kw)[0] == "qemu-system-arm"
    assert machines.for_arch("riscv64").qemu == "qemu-system-riscv64"
    assert machines.for_arch("aarch64").guest_ports == ("/dev/shmconform.results", "/dev/shmconform.live")
    assert machines.for_arch("x86_64").guest_ports == ("/dev/ttyS1", "/dev/ttyS2")
    line = machines.kernel_command_line(machines.for_arch("aarch64"), "foo=1")
    assert line.startswith("console=ttyAMA0 ") and "hugepages=2" in line and line.endswith("foo=1")
    assert "shmconform.ports=virtio" in line
    assert "shmconform.ports" not in machines.kernel_command_line(machines.for_arch("x86_64"))
    assert machines.for_arch("s390x") is None


# --- named matrices -------------------------------------------------------------------

def test_the_repository_matrices_name_real_targets():
    table = matrices.load()
    assert {"kernels", "kernels-wide", "containers", "emulators", "all"} <= set(table)
    kernels_matrix = table["kernels"]["targets"]
    assert "uml" in kernels_matrix and "qemu:linux-image-6.12-arm64-16k" in kernels_matrix
    assert set(kernels_matrix) <= set(table["all"]["targets"])
    for spec in table["all"]["targets"]:
        harness_cli.targets.parse(spec)   # every spec is one the harness understands


def test_matrix_file_errors_are_one_line(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('[a]\ntargets = ["local", "uml"]\n[b]\ninclude = ["a"]\ntargets = ["ns", "local"]\n')
    assert matrices.targets(["b"], f) == ["local", "uml", "ns"]
    assert matrices.targets(["a", "b"], f) == ["local", "uml", "ns"]
    with pytest.raises(matrices.MatrixError, match=r"unknown matrix 'c' \(known: a, b;"):
        matrices.targets(["c"], f)
    for text, msg in [('[a]\ninclude = ["a"]\n', "includes itself"), ('[a]\ninclude = ["z"]\n', "unknown matrix 'z'"),
                      ("[a]\ntargets = 3\n", "must be a list of strings"), ("[a]\n", "lists no targets"),
                      ('[a]\ntarget = ["x"]\n', "unknown key"), ("[a\n", "m.toml")]:
        f.write_text(text)
        with pytest.raises(matrices.MatrixError, match=msg):
            matrices.load(f)


def test_run_with_an_unknown_matrix_is_a_usage_error(capsys, tmp_path):
    assert harness_cli.main(["run", "--matrix", "no-such-matrix", "--reports-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown matrix 'no-such-matrix'" in err and "kernels" in err


def test_list_matrices(capsys):
    assert harness_cli.main(["list", "matrices"]) == 0
    out = capsys.readouterr().out
    assert "kernels " in out and "    qemu:linux-image-6.12-arm64-16k" in out


# --- compare: pairing targets ---------------------------------------------------------

def one_kernel_run(name: str, release: str, seed: int = 7) -> model.Run:
    run = make_run(3, 30, seed=seed, benchmarks=False)
    t = run.targets[2]   # the synthetic qemu target
    run.targets = [t]
    t.name = name
    t.environment = {**t.environment, "kernel_release": release}
    for r in t.results:
        r.target = name
    return run


def test_runs_of_one_target_each_are_paired_and_kernel_changes_listed(tmp_path, capsys):
    old = one_kernel_run("uml:/old/linux", "6.1.0")
    new = one_kernel_run("uml:/new/linux", "6.12.117")
    passing = next(r for r in old.targets[0].results if r.status == "pass")
    regressed = next(r for r in new.targets[0].results if r.test_id == passing.test_id)
    regressed.status = "fail"
    write_all(old, tmp_path / "old")
    write_all(new, tmp_path / "new")
    assert cli.main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    out = capsys.readouterr().out
    assert "target uml:/old/linux -> uml:/new/linux: 1 regression(s)" in out
    assert f"REGRESSION {passing.test_id}: pass -> fail" in out
    rid = passing.requirements[0]
    assert "requirements whose verdict differs between the kernels" in out
    line = next(x for x in out.splitlines() if x.strip().startswith(f"{rid}:"))
    assert "passes on 6.1.0 (uml:/old/linux" in line and "fails on 6.12.117 (uml:/new/linux" in line
    assert line.endswith("[6.1.0:pass → 6.12.117:fail]")


def test_nothing_compared_is_an_error_and_pair_fixes_it(tmp_path, capsys):
    a, b = make_run(2, 20, benchmarks=False), make_run(2, 20, benchmarks=False)
    for t in b.targets:
        t.name = "other-" + t.name
    write_all(a, tmp_path / "a")
    write_all(b, tmp_path / "b")
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    captured = capsys.readouterr()
    assert "nothing compared" in captured.err and "--pair" in captured.err
    assert "0 regression(s)" not in captured.out
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--pair", "uml=other-uml"]) == 0
    assert "target uml -> other-uml: 0 regression(s)" in capsys.readouterr().out
    for bad, msg in [("uml", "wants BASE-TARGET=NEW-TARGET"), ("nope=other-uml", "no target 'nope' in BASE"),
                     ("uml=nope", "no target 'nope' in NEW")]:
        assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--pair", bad]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1


# --- the report's kernel view -----------------------------------------------------------

def kernels_run() -> model.Run:
    """Three x86_64 kernels (6.18 local, 6.1 and 6.12 under qemu) and a UML, one
    requirement fixed in 6.12 (xfail on 6.1), one broken only on 6.12."""
    run = make_run(3, 24, benchmarks=False)
    local, uml, q61 = run.targets
    q612 = copy.deepcopy(q61)
    q612.name = "qemu:linux-image-6.12-cloud-amd64"
    q612.environment["kernel_release"] = "6.12.117+deb12-cloud-amd64"
    run.targets = [q612, local, uml, q61]   # not in version order on purpose
    for t in run.targets:
        for r in t.results:
            r.status, r.message, r.target = "pass", "", t.name
    fixed, broken = q61.results[0], q612.results[5]
    fixed.status = "xfail"
    broken.status = "fail"
    return run


def test_kernel_changes_per_architecture_in_version_order():
    run = kernels_run()
    groups = kernel_diff.by_architecture(run)
    assert [g.arch for g in groups] == ["x86_64"]            # UML (um) alone: no comparison
    g = groups[0]
    assert [k.release for k in g.kernels] == ["6.1.0-28-amd64", "6.12.117+deb12-cloud-amd64", "6.18.0-1-amd64"]
    by_rid = {c.rid: c for c in g.changes}
    fixed_rid = run.targets[3].results[0].requirements[0]
    broken_rid = run.targets[0].results[5].requirements[0]
    assert [s for _, s in by_rid[fixed_rid].statuses] == ["xfail", "pass", "pass"]
    assert [s for _, s in by_rid[broken_rid].statuses] == ["pass", "fail", "pass"]
    assert len(g.changes) == len({fixed_rid, broken_rid})
    text = kernel_diff.render_text(by_rid[broken_rid])
    assert text.startswith(f"{broken_rid}: passes on 6.1.0-28-amd64 (") and "fails on 6.12.117+deb12-cloud-amd64 (" in text


def test_version_order():
    releases = ["6.18.0", "6.1.0-50-cloud-amd64", "6.12.117+deb12-arm64-16k", "6.12.117+deb12-arm64", "5.10.0-30-amd64"]
    assert sorted(releases, key=kernel_diff.version_key) == [
        "5.10.0-30-amd64", "6.1.0-50-cloud-amd64", "6.12.117+deb12-arm64", "6.12.117+deb12-arm64-16k", "6.18.0"]


def test_report_page_shows_the_kernel_view(tmp_path):
    run = kernels_run()
    run.targets[0].environment.update({"huge_page_sizes": "2M,1G", "huge_pages_free": 2})
    page = pathlib.Path(write_all(run, tmp_path)["report.html"]).read_text()
    assert '<a href="#kernels">Kernels (2)</a>' in page
    section = page[page.index('<section id="kernels">'):]
    section = section[:section.index("</section>")]
    assert "x86_64: 2 requirement(s) differ across 3 kernels" in section
    heads = [section.index(r) for r in ("6.1.0-28-amd64", "6.12.117+deb12-cloud-amd64", "6.18.0-1-amd64")]
    assert heads == sorted(heads)
    assert section.count('class="badge s-xfail"') == 1 and section.count('class="badge s-fail"') == 1
    assert "huge pages 2M,1G, 2 free" in page
    summary = (tmp_path / "summary.md").read_text()
    assert "### What changed between kernels (2 requirement(s))" in summary
    assert "- x86_64: " in summary and "[6.1.0-28-amd64:xfail → 6.12.117+deb12-cloud-amd64:pass → 6.18.0-1-amd64:pass]" in summary
    # One kernel per architecture: no section at all.
    run.targets = run.targets[:1]
    assert 'id="kernels"' not in pathlib.Path(write_all(run, tmp_path / "one")["report.html"]).read_text()
