"""Python policies behind the Policy seam: the view and actions as Python objects, and a port
of threshold-migration that gives exactly the built-in policy's run."""

import pytest

import reconf
from reconf.policies import Noop, ThresholdMigration

NOT_COMPARED = {"provenance", "wall_seconds", "events_per_s"}


def comparable(summary):
    return {k: v for k, v in summary.items() if k not in NOT_COMPARED}


@pytest.mark.parametrize("name", ["migration-steps", "migration-ramp"])
def test_the_python_port_of_threshold_migration_gives_the_rust_policys_run(scenarios, name):
    path = scenarios / f"paper/{name}.toml"
    rust = reconf.run(path)
    python = reconf.run(path, policy=ThresholdMigration(high=0.6, low=0.25, for_s=30, window_s=60, cooldown_s=60))
    assert rust["migrations"] > 5  # the policy does act on this scenario
    assert comparable(python) == comparable(rust)
    for f in ("timeseries.csv", "actions.csv", "nodes.csv"):
        assert python.files[f] == rust.files[f]


class Recorder:
    """Records what it sees; acts once."""

    def __init__(self):
        self.times = []
        self.views = []

    def decide(self, view):
        self.times.append(view.now_s)
        self.views.append(view)
        if len(self.times) == 2:
            return [reconf.PowerOn(node=3)]
        return []


def test_a_policy_sees_the_view_every_control_period(scenarios):
    rec = Recorder()
    r = reconf.run(scenarios / "paper/migration-steps.toml", set={"duration_s": 300}, policy=rec)
    assert rec.times == [30.0 * k for k in range(1, 10)]
    v = rec.views[0]
    assert v.mode == "virtualized" and v.period_s == 30.0
    assert len(v.nodes) == 8 and [n.state for n in v.nodes] == ["on"] + ["off"] * 7
    assert sorted(vm for n in v.nodes for vm in n.vms) == list(range(len(v.vms)))
    assert v.node(0).vms == [vm.id for vm in v.vms]
    assert 0 < v.node(0).cpu_utilisation < 1
    # The HP ML110 G5's SPECpower table.
    curve = v.node(0).power_curve_w
    assert len(curve) == 11 and curve[0] < curve[10]
    assert v.node(0).power_at_w(0.05) == pytest.approx((curve[0] + curve[1]) / 2)
    app = v.apps[0]
    assert app.name == "rubis" and [t.name for t in app.tiers] == ["web", "app", "proxy", "db"]
    assert app.sla_target_ms == 500
    assert [r.name for r in v.tier_replicas(0, 1)] == ["rubis.app.0", "rubis.app.1"]
    # The power-on asked for at the second instant shows, in progress, in the third view.
    third = rec.views[2]
    assert [repr(a.action) for a in third.actions] == ["PowerOn(node=3)"]
    assert third.actions[0].outcome == "in-progress" and third.node(3).state == "booting"
    assert r["actions_refused"] == 0
    # Readable reprs.
    assert repr(v).startswith("View(now_s=30.0, period_s=30.0, mode='virtualized', nodes=8")
    assert repr(v.node(0)).startswith("NodeView(id=0, name=")
    assert "rubis" in repr(app)
    with pytest.raises(IndexError):
        v.node(8)


def test_actions_are_values():
    assert reconf.Migrate(vm=1, to=2) == reconf.Migrate(1, 2)
    assert reconf.Migrate(vm=1, to=2) != reconf.Migrate(vm=1, to=3)
    assert len({reconf.PowerOff(node=1), reconf.PowerOff(node=1)}) == 1
    assert repr(reconf.StopReplica(replica=4)) == "StopReplica(replica=4, drain=False)"
    assert repr(reconf.StartReplica(app=0, tier=1, node=2)) == "StartReplica(app=0, tier=1, node=2)"
    assert reconf.Place(vm=3, node=0).node == 0
    assert repr(reconf.RestartReplica(replica=2, node=1)) == "RestartReplica(replica=2, node=1)"
    assert reconf.RestartVm(vm=0, node=4) == reconf.RestartVm(vm=0, node=4)


def test_a_refused_action_is_seen_with_its_reason(scenarios):
    seen = []

    class PowerOffTheBusyNode:
        def decide(self, view):
            seen.extend(a for a in view.actions if a.outcome == "refused")
            return [reconf.PowerOff(node=0)] if view.now_s == 30 else []

    r = reconf.run(scenarios / "paper/migration-steps.toml", set={"duration_s": 120}, policy=PowerOffTheBusyNode())
    assert r["actions_refused"] == 1
    assert len(seen) == 1 and seen[0].reason != "" and repr(seen[0]).startswith("ActionView(id=0, action=PowerOff(node=0)")


def test_an_exception_in_decide_stops_the_run_and_propagates(scenarios):
    class Broken:
        calls = 0

        def decide(self, view):
            Broken.calls += 1
            if view.now_s >= 60:
                raise ZeroDivisionError("policy bug")
            return []

    with pytest.raises(ZeroDivisionError, match="policy bug"):
        reconf.run(scenarios / "paper/migration-steps.toml", policy=Broken())
    assert Broken.calls == 2


def test_what_is_not_an_action_is_a_type_error(scenarios):
    class Wrong:
        def decide(self, view):
            return ["migrate vm 1"]

    with pytest.raises(TypeError, match="not 'migrate vm 1'"):
        reconf.run(scenarios / "paper/migration-steps.toml", set={"duration_s": 60}, policy=Wrong())
    with pytest.raises(TypeError, match="decide"):
        reconf.run(scenarios / "paper/migration-steps.toml", policy=object())


def test_a_policy_that_never_acts_matches_a_run_without_actions(scenarios):
    path = scenarios / "paper/migration-steps.toml"
    noop = reconf.run(path, set={"duration_s": 600}, policy=Noop())
    static = reconf.run(path, set={"duration_s": 600, "policy.name": "static", "policy.params": {}})
    assert comparable(noop) == comparable(static)


def test_a_policy_sees_faults(scenarios):
    """Replica crashes show once each in `view.failures`, and as the state "failed" while down."""
    seen, down = [], []

    class Watch:
        def decide(self, view):
            seen.extend((f.kind, f.id, f.at_s, view.now_s) for f in view.failures)
            down.extend((r.id, view.now_s) for r in view.failed_replicas())
            assert all(r.state == "failed" for r in view.failed_replicas())
            return []

    reconf.run(
        scenarios / "validation/availability.toml",
        set={"duration_s": 20000, "warmup_s": 0, "report_interval_s": 1000},
        policy=Watch(),
    )
    assert len(seen) > 5 and {k for k, *_ in seen} == {"replica"}
    assert len({(i, at) for _, i, at, _ in seen}) == len(seen)  # each failure shown once
    assert all(now - 30 <= at <= now for _, _, at, now in seen)  # in the first view after it
    assert down and {i for i, _ in down} <= {0, 1, 2}
