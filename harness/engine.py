"""Runs the suite on one target: rounds of the round script until every test
has a verdict. A binary runs once per round with gtest's JSON output; when it
crashes or hangs, the test that was running gets crash/timeout with its
output, and the next round reruns the binary with a gtest filter that skips
every test that already has a verdict. What went wrong with the kernel (a
panic, a WARNING, a taint, a VM that died) the target itself reports
(Target.incidents); the engine names the test or scenario that was running,
puts the kernel log in the report, and a VM's remaining work (conformance
binaries and stress scenarios alike) runs in a fresh boot. Requirement ids
come only from the binaries' listings (harness/testlist.py).
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import signal
import time

from harness import gtest, model, targets, testlist
from harness.script import Invocation
from harness.targets.incidents import Incident

MAX_ROUNDS = 25


@dataclasses.dataclass
class Plan:
    binaries: list[str] | None = None              # conformance binary names (None: all)
    tests: dict[str, list[str]] | None = None      # binary -> full test names to run (None: all)
    gtest_filter: str | None = None                # a user --gtest_filter-style positive pattern
    per_test_timeout: int = 120
    target_timeout: int = 3600
    stress_seconds: int | None = None
    stress_workers: int = 2
    bench_seconds: int | None = None
    seed: int = 1


@dataclasses.dataclass
class _Binary:
    name: str
    host_path: pathlib.Path
    positive: list[str] | None
    results: dict[str, model.TestResult] = dataclasses.field(default_factory=dict)
    excluded: list[str] = dataclasses.field(default_factory=list)
    incomplete_rounds: int = 0
    done: bool = False


def _signal_text(rc: int) -> str:
    if rc > 128:
        try:
            return f"killed by signal {rc - 128} ({signal.Signals(rc - 128).name})"
        except ValueError:
            return f"exit status {rc}"
    return f"exit status {rc}"


def _read(path: pathlib.Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def parse_env(text: str) -> dict:
    env: dict = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or not key.replace("_", "").isalnum():
            continue
        value = value.strip()
        env[key] = int(value) if value.isdigit() else value
    if isinstance(env.get("mem_total_kb"), int):
        env["memory_bytes"] = env.pop("mem_total_kb") * 1024
    env.pop("mem_total_kb", None)
    return env


class TargetRunner:
    def __init__(self, target: targets.Target, ctx: targets.Context, plan: Plan,
                 requirements: testlist.Requirements | None = None):
        self.target, self.ctx, self.plan = target, ctx, plan
        self.requirements = requirements or testlist.Requirements(ctx.build_dir)
        self.run = model.TargetRun(name=target.name, kind=target.kind)
        self.dir = ctx.work_dir / _safe(target.name)
        self.rounds = 0

    # -- results -----------------------------------------------------------
    def _add(self, b: _Binary, r: model.TestResult) -> None:
        full = f"{r.suite}.{r.name}"
        if r.suite not in ("<binary>", "Harness"):
            r.requirements = self.requirements.of(b.name, full)
        b.results[full] = r
        if full not in b.excluded and r.suite not in ("<binary>", "Harness"):
            b.excluded.append(full)

    def _result(self, b: _Binary, suite: str, name: str, status: str, message: str = "", output: str = "",
                duration: float = 0.0, properties: dict[str, str] | None = None) -> model.TestResult:
        # The "requirements" property is TestResult.requirements already (from the binary's listing).
        props = {k: v for k, v in (properties or {}).items() if k != "requirements"}
        return model.TestResult(target=self.target.name, binary=b.name, suite=suite, name=name, status=status,
                                duration_s=duration, message=message, output=output, properties=props)

    def _error(self, b: _Binary, message: str, output: str = "") -> None:
        self._add(b, self._result(b, "<binary>", b.name, "error", message, gtest._trim(output, 8192)))
        b.done = True

    # -- one invocation ----------------------------------------------------
    def _absorb(self, b: _Binary, inv_id: str, res: pathlib.Path, round_timed_out: bool, vm_died: bool,
                was_running: bool = False, incidents: list[Incident] = ()) -> None:
        for inc in incidents:
            if inc.kind == "taint" and inc.invocation == inv_id:
                self._add(b, self._result(b, "Harness", "KernelNotTainted", "fail",
                                          _incident_message(inc, res / f"{inv_id}.out"), inc.kernel_log))
        out = _read(res / f"{inv_id}.out") or ""
        rc_text = _read(res / f"{inv_id}.rc")
        timeout = _read(res / f"{inv_id}.timeout")
        before = len(b.results)
        if rc_text is None:
            # Never finished: the target died (panic) or the round was cut.
            if not (res / f"{inv_id}.out").exists() and not was_running:
                return  # never started: simply rescheduled
            cons = gtest.parse_console(out)
            for c in cons.finished:
                self._add(b, self._result(b, c.suite, c.name, c.status, c.message, c.output, c.duration_s))
            if cons.running:
                suite, name = gtest.split_full_name(cons.running)
                why = ("the target hit its time limit" if round_timed_out else
                       "the kernel died (see the console tail)" if vm_died else "the target stopped")
                self._add(b, self._result(b, suite, name, "timeout" if round_timed_out else "crash",
                                          f"{why} while this test ran", cons.running_output))
            b.incomplete_rounds += 1
            if len(b.results) == before and b.incomplete_rounds >= 2:
                self._error(b, "the target never finished running this binary (twice); see the console tail", out)
            return
        rc = int(rc_text.strip() or "1")
        report = _read(res / f"{inv_id}.json")
        cases, json_error = None, None
        if report is not None and not timeout:
            try:
                cases = gtest.parse_json(report)
            except gtest.GtestError as e:
                json_error = str(e)
        if cases is not None and rc in (0, 1):
            outputs = gtest.outputs_by_test(out)
            for c in cases:
                output = outputs.get(c.full_name, "") if c.status != "pass" else ""
                if c.status == "skip" and not c.message.strip():
                    # gtest's JSON has no skip reason; its console has it after "Skipped".
                    c.message = output.split("Skipped\n", 1)[-1].strip()
                self._add(b, self._result(b, c.suite, c.name, c.status, c.message, output, c.duration_s,
                                          c.properties))
            b.done = True
        else:
            cons = gtest.parse_console(out)
            for c in cons.finished:
                self._add(b, self._result(b, c.suite, c.name, c.status, c.message, c.output, c.duration_s))
            if cons.running:
                suite, name = gtest.split_full_name(cons.running)
                if timeout:
                    status, msg = "timeout", f"hung: killed by the harness ({timeout.strip()} without progress)"
                else:
                    status, msg = "crash", f"the test binary died while this test ran: {_signal_text(rc)}"
                self._add(b, self._result(b, suite, name, status, msg, cons.running_output))
                if cons.completed:
                    b.done = True
            elif not cons.started_any:
                why = f"timed out ({timeout.strip()})" if timeout else _signal_text(rc)
                first = next((ln for ln in out.splitlines() if ln.strip()), "no output")
                self._error(b, f"did not run as a GoogleTest binary ({why}): {first[:200]}", out)
            elif cons.completed or not cons.running:
                why = json_error or "no JSON report"
                self._error(b, f"finished with {_signal_text(rc)} but its gtest report is unusable: {why}", out)
        left = [ln.strip() for ln in (_read(res / f"{inv_id}.leftovers") or "").splitlines() if ln.strip()]
        if left:
            self.run.leftovers.extend(left)
            self._add(b, self._result(b, "Harness", "NoIpcObjectsLeftBehind", "fail",
                                      "the binary left IPC objects behind (the harness removed them):\n"
                                      + "\n".join(left)))

    def _incident(self, text: str) -> None:
        self.run.error = (self.run.error + "; " if self.run.error else "") + text

    # -- the whole target --------------------------------------------------
    def execute(self) -> model.TargetRun:
        t0 = time.monotonic()
        try:
            self.target.prepare(self.ctx)
            self.run.environment.update(self.target.describe())
            bins = self.target.binaries_dir(self.ctx)
            self._conformance(bins, t0)
            if self.plan.stress_seconds and not self.ctx.stop.is_set():
                self._stress(bins, t0)
            if self.plan.bench_seconds and not self.ctx.stop.is_set():
                self._bench(bins, t0)
        except targets.TargetError as e:
            self.run.status, self.run.error = "broken", str(e)
        except Exception as e:  # noqa: BLE001 - one target's bug must not lose the others' results
            self.run.status, self.run.error = "broken", f"harness error: {type(e).__name__}: {e}"
        finally:
            try:
                self.target.teardown()
            except Exception as e:  # noqa: BLE001 - a failed cleanup must not lose results
                self._incident(f"teardown failed: {e}")
            self.run.duration_s = round(time.monotonic() - t0, 3)
        unlisted = [why for binary, why in sorted(self.requirements.errors().items())
                    if any(r.binary == binary for r in self.run.results)]
        if unlisted:
            more = f" (and {len(unlisted) - 1} more binaries)" if len(unlisted) > 1 else ""
            self._incident(f"requirement ids unknown: {unlisted[0]}{more}")
        if self.ctx.stop.is_set():
            self._incident("interrupted: results so far only")
        return self.run

    def _remaining(self, t0: float) -> float:
        return self.plan.target_timeout - (time.monotonic() - t0)

    def _round(self, invs: list[Invocation], t0: float) -> tuple[targets.RoundOutcome, list[Incident]]:
        """Run one round; the round's outcome and the incidents the target reports."""
        self.rounds += 1
        rdir = self.dir / f"round-{self.rounds}"
        rdir.mkdir(parents=True, exist_ok=True)
        out = self.target.run_round(invs, rdir, timeout=max(5.0, self._remaining(t0)))
        env = _read(out.results / "env.txt")
        if env and not self.run.environment.get("kernel_release"):
            self.run.environment.update(parse_env(env))
        found = self.target.incidents(out, invs)
        for inc in found:
            self._incident(f"round {self.rounds}: {inc.summary}")
            if inc.kernel_log:
                where = f" ({inc.invocation})" if inc.invocation else ""
                self.run.console_tail = (self.run.console_tail + "\n" if self.run.console_tail else "") + \
                    f"--- round {self.rounds}: {inc.kind}{where} ---\n{inc.kernel_log}"
        if (self.rounds == 1 and not env and not (out.results / "round.done").exists() and not out.timed_out
                and not self.ctx.stop.is_set()):
            tail = (out.console or "").strip().splitlines()
            raise targets.TargetError(f"{self.target.name}: the round script did not run: "
                                      f"{tail[-1] if tail else 'exit ' + str(out.returncode)}")
        return out, found

    def _conformance(self, bins: pathlib.Path, t0: float) -> None:
        found = sorted(p for p in (bins / "conformance").glob("conformance-*") if p.is_file())
        if self.plan.binaries is not None:
            found = [p for p in found if p.name in self.plan.binaries]
        if not found:
            raise targets.TargetError(f"no conformance binaries in {bins / 'conformance'}: build first")
        states = []
        for p in found:
            pos = None
            if self.plan.tests is not None:
                if not self.plan.tests.get(p.name):
                    continue
                pos = self.plan.tests[p.name]
            elif self.plan.gtest_filter:
                if self._selects_nothing(p.name, self.plan.gtest_filter):
                    continue
                pos = [self.plan.gtest_filter]
            states.append(_Binary(p.name, p, pos))
        try:
            self._rounds(states, t0)
        finally:
            for b in states:
                self.run.results.extend(b.results.values())

    def _selects_nothing(self, binary: str, gtest_filter: str) -> bool:
        """True when the filter selects none of the binary's tests (its listing on the
        host build says so): such a binary is not started on the target at all."""
        try:
            return not testlist.list_tests(self.ctx.build_dir / "conformance" / binary, gtest_filter)
        except testlist.ListingError:
            return False  # unknown: run it and let its own output tell

    def _rounds(self, states: list[_Binary], t0: float) -> None:
        while not self.ctx.stop.is_set() and self.rounds < MAX_ROUNDS:
            pending = [b for b in states if not b.done]
            if not pending:
                break
            if self._remaining(t0) <= 0:
                for b in pending:
                    self._error(b, "not run: the target's time limit ran out")
                break
            invs = []
            for b in pending:
                iid = f"r{self.rounds + 1}-{b.name}"
                argv = [str(b.host_path), f"--gtest_output=json:{{R}}/{iid}.json", "--gtest_color=no"]
                f = gtest.filter_expr(b.positive, b.excluded)
                if f:
                    argv.append(f"--gtest_filter={f}")
                invs.append(Invocation(iid, argv, self.plan.per_test_timeout,
                                       int(max(10, self._remaining(t0)))))
            out, found = self._round(invs, t0)
            died = any(i.kind == "died" for i in found)
            # The first invocation without an exit status was running when the target
            # stopped, even if none of its output made it out (a panic drops tty buffers).
            running = next((inv.id for inv in invs if not (out.results / f"{inv.id}.rc").exists()), None)
            for b, inv in zip(pending, invs):
                self._absorb(b, inv.id, out.results, out.timed_out, died, inv.id == running, found)
            if out.timed_out:
                for b in pending:
                    if not b.done:
                        self._error(b, "not finished: the target's time limit ran out")

    def _extra(self, kind: str, bins: pathlib.Path, t0: float, seconds: int) -> list[_Extra]:
        """Each stress scenario or benchmark binary run once; rounds until each has
        finished, so what a dead or tainted kernel cut short runs in a fresh boot."""
        found = sorted(p for p in (bins / kind).glob(f"{kind}-*") if p.is_file())
        if not found:
            return []
        share = max(1, seconds // len(found))
        done: dict[str, _Extra] = {}
        cut: dict[str, int] = {}
        while len(done) < len(found) and not self.ctx.stop.is_set() and self.rounds < MAX_ROUNDS:
            pending = [p for p in found if p.name not in done]
            invs = [self._extra_invocation(kind, p, share) for p in pending]
            out, incidents = self._round(invs, t0)
            progress = False
            for p, inv in zip(pending, invs):
                res = out.results
                rc = _read(res / f"{inv.id}.rc")
                taints = [i for i in incidents if i.kind == "taint" and i.invocation == inv.id]
                if rc is not None or taints:
                    done[p.name] = _Extra(p.name, _read(res / f"{inv.id}.out"), _read(res / f"{inv.id}.err") or "",
                                          int(rc) if rc and rc.strip().lstrip("-").isdigit() else None, taints)
                    progress = True
                elif (res / f"{inv.id}.out").exists():
                    cut[p.name] = cut.get(p.name, 0) + 1
                    progress = True
                    if cut[p.name] >= 2 or out.timed_out:
                        done[p.name] = _Extra(p.name, None, _read(res / f"{inv.id}.err") or "", None, [])
            if out.timed_out or not progress:
                break
        return [done.get(p.name) or _Extra(p.name, None, "", None, []) for p in found]

    def _extra_invocation(self, kind: str, p: pathlib.Path, share: int) -> Invocation:
        if kind == "stress":
            argv = [str(p), f"--duration={share}", f"--workers={self.plan.stress_workers}",
                    f"--seed={self.plan.seed}", "--json"]
        else:
            argv = [str(p), "--benchmark_format=json", f"--benchmark_min_time={max(0.01, share / 20):.2f}"]
        return Invocation(f"{kind}-{p.name}", argv, 0, share * 3 + 30, split_stderr=True)

    def _stress(self, bins, t0):
        for x in self._extra("stress", bins, t0, self.plan.stress_seconds):
            entry = {"scenario": x.name.removeprefix("stress-"), "binary": x.name, "exit_code": x.rc,
                     "ok": x.rc == 0, "result": None, "stderr": x.stderr[-4000:]}
            try:
                entry["result"] = json.loads(x.stdout or "")
                if not isinstance(entry["result"], dict):
                    raise ValueError("not a JSON object")
            except ValueError as e:
                entry["ok"] = False
                entry["error"] = f"no JSON object on stdout ({e})" if x.rc is not None else "did not finish"
            if x.incidents:
                entry["ok"] = False
                entry["error"] = "; ".join(i.summary for i in x.incidents)
                entry["kernel_log"] = "\n".join(i.kernel_log for i in x.incidents)
                # The same record a conformance binary gets, so every report shows it.
                self.run.results.append(model.TestResult(
                    target=self.target.name, binary=x.name, suite="Harness", name="KernelNotTainted",
                    status="fail", message="\n".join(i.summary for i in x.incidents),
                    output=entry["kernel_log"]))
            self.run.stress.append(entry)

    def _bench(self, bins, t0):
        for name, stdout, stderr, rc, _ in self._extra("bench", bins, t0, self.plan.bench_seconds):
            try:
                data = json.loads(stdout or "")
                if not isinstance(data, dict) or "benchmarks" not in data:
                    raise ValueError("not a Google Benchmark report")
                data["binary"] = name
                self.run.benchmarks.append(data)
            except ValueError as e:
                self.run.benchmarks.append({"binary": name, "error": f"{e}; exit {rc}",
                                            "stderr": stderr[-4000:], "benchmarks": []})


@dataclasses.dataclass
class _Extra:
    """One stress scenario or benchmark binary's run."""
    name: str
    stdout: str | None
    stderr: str
    rc: int | None
    incidents: list[Incident]

    def __iter__(self):
        return iter((self.name, self.stdout, self.stderr, self.rc, self.incidents))


def _incident_message(inc: Incident, output: pathlib.Path) -> str:
    """The incident, and the test that was running when it happened (as the kernel
    log tells) or when the watchdog noticed it (within about a second)."""
    if inc.test:
        return f"{inc.summary}\ntest running at the first warning (kernel log): {inc.test}"
    try:
        data = output.read_bytes()
    except OSError:
        data = b""
    if inc.output_offset is not None:
        data = data[:inc.output_offset]
    cons = gtest.parse_console(data.decode(errors="replace"))
    if cons.running:
        when = f"test running when the watchdog noticed it: {cons.running}"
    elif cons.finished:
        when = f"no test running when the watchdog noticed it; the last finished: {cons.finished[-1].full_name}"
    else:
        when = "no test had started"
    return f"{inc.summary}\n{when}\n(the kernel log is below and in the target's console tail)"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]


def run_target(target, ctx, plan, requirements=None) -> model.TargetRun:
    return TargetRunner(target, ctx, plan, requirements).execute()
