"""reconf.live: a Python policy against libvirt's test driver (each test:///ABS/node.xml is an
independent host, no daemon), through the live backend's own run. Needs the package built with
the live backend (MATURIN_PEP517_ARGS="--features libvirt"); CI sets
RECONF_PYTHON_LIBVIRT_REQUIRED=1 so that a package built without it fails instead of skipping."""

import json
import os

import pytest

import reconf
from conftest import ROOT

DATA = ROOT / "tests/data/libvirt"
SCENARIO = DATA / "testdriver.toml"
URIS = [f"test://{DATA / 'node0.xml'}", f"test://{DATA / 'node1.xml'}"]
REQUIRED = os.environ.get("RECONF_PYTHON_LIBVIRT_REQUIRED") == "1"

needs_libvirt = pytest.mark.skipif(
    not reconf.HAS_LIBVIRT and not REQUIRED, reason="package built without the live backend"
)


def test_the_live_backend_is_there_when_required():
    if REQUIRED:
        assert reconf.HAS_LIBVIRT, "RECONF_PYTHON_LIBVIRT_REQUIRED=1 but the package has no live backend"
    elif not reconf.HAS_LIBVIRT:
        with pytest.raises(RuntimeError, match=r'MATURIN_PEP517_ARGS="--features libvirt" pip install ./python'):
            reconf.live(SCENARIO, uris=URIS)


class MigrateAppOnce:
    """At its first control instant, migrates rubis-app-0 (on node 0) to node 1; records what it
    sees."""

    def __init__(self):
        self.views = []

    def decide(self, view):
        self.views.append(view)
        if len(self.views) == 1:
            app = next(vm for vm in view.vms if vm.name == "rubis-app-0")
            assert app.node == 0
            return [reconf.Migrate(vm=app.id, to=1)]
        return []


@needs_libvirt
def test_a_python_policy_migrates_a_domain_on_the_test_driver(tmp_path):
    policy = MigrateAppOnce()
    out = tmp_path / "live"
    r = reconf.live(SCENARIO, uris=URIS, policy=policy, out=out, duration_s=2)
    # One decision per period of 0.5 s for 2 s, at 0.5, 1.0, 1.5, 2.0 s of wall-clock time.
    assert len(policy.views) == 4
    # Each view is taken at its instant (the loop sleeps until it), its period measured.
    assert all(0.5 * (k + 1) <= v.now_s < 0.5 * (k + 2) for k, v in enumerate(policy.views))
    # The migration was carried out: the test-driver hosts list the domain on node 1 only, the
    # policy saw its outcome once, and the run's files say so.
    app = next(vm.id for vm in policy.views[0].vms if vm.name == "rubis-app-0")
    outcomes = [(repr(a.action), a.outcome) for v in policy.views[1:] for a in v.actions if a.outcome != "in-progress"]
    assert outcomes == [(f"Migrate(vm={app}, to=1)", "done")]
    assert policy.views[-1].vm(app).node == 1
    assert sorted(policy.views[-1].node(1).vms) == [app]
    assert r["migrations"] == 1 and r["actions_refused"] == 0 and r["actions_failed"] == 0
    rows = r.files["actions.csv"].splitlines()[1:]
    assert len(rows) == 1 and ",migrate,rubis-app-0,node-1,done," in rows[0]
    assert list(r.actions["outcome"]) == ["done"]
    # The run folder is reconf live's: the same files, the summary written last.
    assert json.loads((out / "summary.json").read_text())["migrations"] == 1
    assert (out / "actions.csv").read_text() == r.files["actions.csv"]
    assert (out / "scenario.toml").exists()


class Raises:
    def decide(self, view):
        raise ValueError("this policy has a bug")


@needs_libvirt
def test_a_policy_that_raises_ends_the_run_cleanly_and_its_exception_propagates(tmp_path):
    out = tmp_path / "live"
    with pytest.raises(ValueError, match="this policy has a bug"):
        reconf.live(SCENARIO, uris=URIS, policy=Raises(), out=out, duration_s=60)
    # It ended at the first control instant (0.5 s), not after 60 s, and left its files.
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sim_seconds"] < 60
    assert summary["migrations"] == 0


@needs_libvirt
def test_live_errors_carry_the_clis_messages(tmp_path):
    with pytest.raises(reconf.ScenarioError, match="live.bogus"):
        reconf.live(SCENARIO, uris=URIS, set={"live.bogus": 1}, out=tmp_path / "a")
    with pytest.raises(reconf.ScenarioError, match="--duration-s: must be a positive number"):
        reconf.live(SCENARIO, uris=URIS, duration_s=-1, out=tmp_path / "b")
    with pytest.raises(
        reconf.SimulationError,
        match=r"^cannot connect to --uri qemu\+unix:///system \(node 1\): ",
    ):
        reconf.live(
            SCENARIO,
            uris=[URIS[0], "qemu+unix:///system?socket=/nonexistent/libvirt-sock"],
            out=tmp_path / "c",
        )
    assert not (tmp_path / "c").exists()


# A child Python process runs reconf.live for 60 s with a policy that writes a marker at its
# first decision (and, with "decide", spends 1 s in that decision); the test sends it SIGINT
# once the marker is there, as Ctrl-C in a terminal would.
CTRL_C_CHILD = r"""
import sys, time
from pathlib import Path
import reconf

scenario, uri0, uri1, out, marker, where = sys.argv[1:]

class MarksItsFirstDecision:
    def __init__(self):
        self.decisions = 0

    def decide(self, view):
        self.decisions += 1
        if self.decisions == 1:
            Path(marker).write_text("deciding")
            if where == "decide":
                time.sleep(1.0)
        return []

policy = MarksItsFirstDecision()
try:
    reconf.live(scenario, uris=[uri0, uri1], policy=policy, out=out, duration_s=60)
except KeyboardInterrupt:
    print(f"KeyboardInterrupt after {policy.decisions} decision(s)", flush=True)
    sys.exit(0)
print("the run was not interrupted", flush=True)
sys.exit(3)
"""


@needs_libvirt
@pytest.mark.parametrize("where", ["between-decisions", "decide"])
def test_ctrl_c_ends_a_live_run_cleanly_and_raises_keyboard_interrupt(tmp_path, where):
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "child.py"
    script.write_text(CTRL_C_CHILD)
    out = tmp_path / "live"
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, str(script), str(SCENARIO), *URIS, str(out), str(marker), where],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, f"the child ended first: {child.communicate()}"
            assert time.monotonic() < deadline, "no decision within 60 s"
            time.sleep(0.02)
        if where == "between-decisions":
            # The first decision has returned (it only wrote the marker): the run waits for
            # the next instant, 0.5 s later.
            time.sleep(0.2)
        signalled = time.monotonic()
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=30)
        ended_after_s = time.monotonic() - signalled
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, (stdout, stderr)
    # KeyboardInterrupt reached the caller, after the one decision that was under way (the
    # run took no other) ...
    assert stdout.strip() == "KeyboardInterrupt after 1 decision(s)", (stdout, stderr)
    # ... soon: the watcher sees Ctrl-C within 50 ms, a decision under way is let finish
    # (1 s), and the files are written once more. Generous for a loaded CI machine, and far
    # below the run's 60 s.
    assert ended_after_s < 15, ended_after_s
    # The run folder is whole: every file of a run, the summary written last, the run ended
    # early, nothing migrated, no temporary left beside it.
    summary = json.loads((out / "summary.json").read_text())
    # Signalled between decisions, it ends before the second one (at 1.0 s); in the first
    # one, once that decision returns (at 0.5 + 1 s).
    if where == "between-decisions":
        assert 0.5 <= summary["sim_seconds"] < 1.0, summary["sim_seconds"]
    else:
        assert 1.5 <= summary["sim_seconds"] < 15, summary["sim_seconds"]
    assert summary["migrations"] == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "actions.csv",
        "failures.csv",
        "nodes.csv",
        "scenario.toml",
        "summary.json",
        "timeseries.csv",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.py", "live", "marker"]
