"""reconf from Python: run and sweep scenarios, write policies in Python, train agents.

>>> import reconf
>>> r = reconf.run("scenarios/examples/rubis.toml", seed=3, set={"duration_s": 600})
>>> r["p95_response_ms"]          # the summary is a dict (summary.json)
>>> r.timeseries                  # timeseries.csv as a pandas DataFrame

A scenario is a path (``str`` or ``pathlib.Path``), TOML text, or a ``dict`` of the same tables.
Bad input raises :class:`ScenarioError` with the CLI's one-line message (file, line, field).

A policy is any object with ``decide(view) -> list of actions`` (see :class:`View` and the
action classes :class:`PowerOn`, :class:`PowerOff`, :class:`StartReplica`,
:class:`StopReplica`, :class:`Migrate`, :class:`Place`, :class:`RestartReplica`,
:class:`RestartVm`): ``reconf.run(scenario, policy=obj)``, ``reconf.sweep(..., policy=Class)``,
and against libvirt hosts ``reconf.live(scenario, uris=[...], policy=obj)`` (the package built
with the live backend: ``HAS_LIBVIRT``).

The Gymnasium environment is :class:`reconf.gym.ReconfEnv`.
"""

from ._reconf import (
    HAS_LIBVIRT,
    VERSION,
    ActionView,
    AppView,
    FailureView,
    Migrate,
    NodeView,
    Place,
    PowerOff,
    PowerOn,
    ReplicaView,
    RestartReplica,
    RestartVm,
    Scenario,
    ScenarioError,
    SimulationError,
    StartReplica,
    StopReplica,
    TierView,
    View,
    VmView,
)
from ._core import RunResult, SweepResult, live, load, run, sweep

__version__ = VERSION.split(" ")[0]

__all__ = [
    "HAS_LIBVIRT",
    "VERSION",
    "ActionView",
    "AppView",
    "FailureView",
    "Migrate",
    "NodeView",
    "Place",
    "PowerOff",
    "PowerOn",
    "ReplicaView",
    "RestartReplica",
    "RestartVm",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "StartReplica",
    "StopReplica",
    "SweepResult",
    "TierView",
    "View",
    "VmView",
    "live",
    "load",
    "run",
    "sweep",
]
