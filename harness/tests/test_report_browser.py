"""report.html in a real browser: headless Chromium opens it without console
errors, the page's self-check runs, and a screenshot shows the coloured matrix.
Skipped (with the reason) only where Chromium is not installed."""
from __future__ import annotations

import collections
import pathlib
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

from harness import report as report_pkg
from harness.tests.synthetic import make_run


def write_all(run, out_dir, waivers_file=None, **kw):
    """write_all on the run as given (the harness attaches the catalog to a run, not the report)."""
    return report_pkg.write_all(run, out_dir, waivers_file, **kw)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

# Colours of the matrix cells (report.css): pass and fail backgrounds.
PASS_BG, FAIL_BG = (0xda, 0xfb, 0xe1), (0xff, 0xeb, 0xe9)


def chromium(*args: str, url: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", *args, url], capture_output=True, text=True, timeout=120, check=False)


def console_errors(stderr: str) -> list[str]:
    """Lines where the page logged to the console or threw (Chromium logs them as CONSOLE(line))."""
    return [l for l in stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]


def png_pixels(path: pathlib.Path) -> tuple[int, int, list[bytes]]:
    """A minimal PNG decoder (8-bit RGB/RGBA, non-interlaced, as Chromium writes): (width, height, rows)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def colours(path: pathlib.Path) -> collections.Counter:
    """How many pixels of each RGB colour the screenshot holds."""
    width, bpp, rows = png_pixels(path)
    counts: collections.Counter = collections.Counter()
    for row in rows:
        counts.update(row[x:x + 3] for x in range(0, width * bpp, bpp))
    return collections.Counter({tuple(k): v for k, v in counts.items()})


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> pathlib.Path:
    run = make_run(5, 500)
    evil = run.targets[3].results[11]
    # Were it not escaped, this would run and mark the page (and its image would fetch).
    evil.output += "<script>document.documentElement.setAttribute('data-pwned','yes')</script><img src=x onerror=1>"
    return write_all(run, tmp_path_factory.mktemp("html"))["report.html"]


def open_page(url: str, shot: pathlib.Path) -> subprocess.CompletedProcess:
    """One page load: the DOM after the page's script ran (stdout), its console (stderr), and a screenshot."""
    return chromium("--dump-dom", f"--screenshot={shot}", "--window-size=1400,1000", url=url)


def check_page(proc: subprocess.CompletedProcess) -> None:
    m = re.search(r'data-selfcheck="([^"]*)"', proc.stdout)
    assert m, proc.stderr[-2000:]
    assert m.group(1) == "ok: 502 rows, 5 targets"
    assert console_errors(proc.stderr) == []
    assert 'data-pwned="yes"' not in proc.stdout and "<img src=" not in proc.stdout  # shown as text, never run


def test_page_opens_without_errors_and_shows_the_filtered_matrix(report, tmp_path):
    shot = tmp_path / "matrix.png"
    proc = open_page(report.as_uri() + "#only=matrix;mx:failing", shot)
    check_page(proc)
    assert '<span id="shown" class="muted">8 of 502 requirements</span>' in proc.stdout  # the 8 failing tests
    seen = colours(shot)
    # Several pass cells and several fail cells of the filtered matrix are visible.
    assert seen[PASS_BG] > 20000 and seen[FAIL_BG] > 5000, (seen[PASS_BG], seen[FAIL_BG])


def test_search_covers_test_names_and_filters_combine(report, tmp_path):
    proc = open_page(report.as_uri() + "#q=behaviour0108holds;mx:failing:4", tmp_path / "search.png")
    check_page(proc)
    assert '<span id="shown" class="muted">1 of 502 requirements</span>' in proc.stdout


def test_console_error_detection_works(tmp_path):
    """The check above could pass vacuously; prove a broken page is noticed."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>")
    proc = chromium("--dump-dom", url=page.as_uri())
    assert any("undefinedFunction" in l for l in console_errors(proc.stderr)), proc.stderr[-2000:]


def test_screenshot_of_a_passing_run_has_no_failure_colour(tmp_path):
    run = make_run(2, 20, benchmarks=False)
    for t in run.targets:
        for r in t.results:
            if r.status != "skip":
                r.status, r.message = "pass", ""
    html = write_all(run, tmp_path)["report.html"]
    shot = tmp_path / "pass.png"
    chromium(f"--screenshot={shot}", "--window-size=1400,1000", url=html.as_uri() + "#only=matrix")
    seen = colours(shot)
    assert seen[PASS_BG] > 20000 and seen[FAIL_BG] == 0, (seen[PASS_BG], seen[FAIL_BG])


