//! The policy's view, as Python objects: read-only wrappers over one shared copy of the
//! simulator's [`reconf_api::View`], so that building the view for Python costs one copy and one
//! object, whatever its size; `view.nodes` and the others make their element objects when asked.
//!
//! Ids are plain `int`s (a `NodeId(3)` is `3`); states are strings (`"on"`, `"booting"`, ...),
//! the same words as in `actions.csv` and `nodes.csv`.

use crate::actions::action_to_py;
use pyo3::prelude::*;
use reconf_api as api;
use std::sync::Arc;

pub fn mode_name(m: api::Mode) -> &'static str {
    match m {
        api::Mode::Dedicated => "dedicated",
        api::Mode::Bare => "bare",
        api::Mode::Virtualized => "virtualized",
    }
}

pub fn node_state_name(s: api::NodeState) -> &'static str {
    match s {
        api::NodeState::Off => "off",
        api::NodeState::Booting => "booting",
        api::NodeState::On => "on",
        api::NodeState::ShuttingDown => "shutting-down",
        api::NodeState::Failed => "failed",
    }
}

pub fn replica_state_name(s: api::ReplicaState) -> &'static str {
    match s {
        api::ReplicaState::Starting => "starting",
        api::ReplicaState::Active => "active",
        api::ReplicaState::Draining => "draining",
        api::ReplicaState::Stopped => "stopped",
        api::ReplicaState::Failed => "failed",
    }
}

fn replica_state_of(name: &str) -> PyResult<api::ReplicaState> {
    Ok(match name {
        "starting" => api::ReplicaState::Starting,
        "active" => api::ReplicaState::Active,
        "draining" => api::ReplicaState::Draining,
        "stopped" => api::ReplicaState::Stopped,
        "failed" => api::ReplicaState::Failed,
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown replica state {name:?} (starting, active, draining, stopped, failed)"
            )))
        }
    })
}

/// What a policy sees at one control instant: nodes, VMs, replicas, applications and the
/// actions in progress or just ended. CPU figures are averages over the control period.
#[pyclass(frozen, module = "reconf")]
pub struct View {
    pub inner: Arc<api::View>,
}

impl View {
    pub fn new(view: api::View) -> Self {
        View {
            inner: Arc::new(view),
        }
    }
}

fn index_error(what: &str, id: usize, len: usize) -> PyErr {
    pyo3::exceptions::PyIndexError::new_err(format!("no {what} {id} (there are {len})"))
}

#[pymethods]
impl View {
    /// Time of the view, in seconds since the start.
    #[getter]
    fn now_s(&self) -> f64 {
        self.inner.now_s
    }
    /// Length of the control period the averages cover, in seconds.
    #[getter]
    fn period_s(&self) -> f64 {
        self.inner.period_s
    }
    /// `"dedicated"`, `"bare"` (one replica per node) or `"virtualized"` (VMs on nodes).
    #[getter]
    fn mode(&self) -> &'static str {
        mode_name(self.inner.mode)
    }
    /// RAM every node keeps for its host (dom0), in MB.
    #[getter]
    fn host_reserved_ram_mb(&self) -> f64 {
        self.inner.host_reserved_ram_mb
    }
    /// Every node, indexed by node id.
    #[getter]
    fn nodes(&self) -> Vec<NodeView> {
        (0..self.inner.nodes.len())
            .map(|i| NodeView {
                view: self.inner.clone(),
                i,
            })
            .collect()
    }
    /// Every VM, indexed by VM id (stopped ones stay, with `alive == False`).
    #[getter]
    fn vms(&self) -> Vec<VmView> {
        (0..self.inner.vms.len())
            .map(|i| VmView {
                view: self.inner.clone(),
                i,
            })
            .collect()
    }
    /// Every replica, indexed by replica id (stopped ones stay, in state `"stopped"`).
    #[getter]
    fn replicas(&self) -> Vec<ReplicaView> {
        (0..self.inner.replicas.len())
            .map(|i| ReplicaView {
                view: self.inner.clone(),
                i,
            })
            .collect()
    }
    /// Every application, indexed by app id.
    #[getter]
    fn apps(&self) -> Vec<AppView> {
        (0..self.inner.apps.len())
            .map(|i| AppView {
                view: self.inner.clone(),
                i,
            })
            .collect()
    }
    /// Actions still in progress, and those that ended since the previous view.
    #[getter]
    fn actions(&self) -> Vec<ActionView> {
        (0..self.inner.actions.len())
            .map(|i| ActionView {
                view: self.inner.clone(),
                i,
            })
            .collect()
    }
    /// What failed since the previous view (each failure shown once; what is still down shows
    /// in the states `"failed"`).
    #[getter]
    fn failures(&self) -> Vec<FailureView> {
        self.inner
            .failures
            .iter()
            .map(|f| {
                let (kind, id) = match f.failed {
                    api::Failed::Node(n) => ("node", n.0),
                    api::Failed::Vm(v) => ("vm", v.0),
                    api::Failed::Replica(r) => ("replica", r.0),
                };
                FailureView {
                    kind,
                    id,
                    at_s: f.at_s,
                }
            })
            .collect()
    }
    /// Replicas that are down now (crashed, not yet repaired or restarted).
    fn failed_replicas(&self) -> Vec<ReplicaView> {
        self.inner
            .failed_replicas()
            .map(|r| ReplicaView {
                view: self.inner.clone(),
                i: r.id.index(),
            })
            .collect()
    }
    /// The node with id `id`.
    fn node(&self, id: usize) -> PyResult<NodeView> {
        let len = self.inner.nodes.len();
        if id >= len {
            return Err(index_error("node", id, len));
        }
        Ok(NodeView {
            view: self.inner.clone(),
            i: id,
        })
    }
    /// The VM with id `id`.
    fn vm(&self, id: usize) -> PyResult<VmView> {
        let len = self.inner.vms.len();
        if id >= len {
            return Err(index_error("VM", id, len));
        }
        Ok(VmView {
            view: self.inner.clone(),
            i: id,
        })
    }
    /// The replica with id `id`.
    fn replica(&self, id: usize) -> PyResult<ReplicaView> {
        let len = self.inner.replicas.len();
        if id >= len {
            return Err(index_error("replica", id, len));
        }
        Ok(ReplicaView {
            view: self.inner.clone(),
            i: id,
        })
    }
    /// Live VMs that no node hosts yet, waiting for a `Place`.
    fn unplaced(&self) -> Vec<VmView> {
        self.inner
            .unplaced()
            .map(|v| VmView {
                view: self.inner.clone(),
                i: v.id.index(),
            })
            .collect()
    }
    /// Actions still in progress.
    fn in_flight(&self) -> Vec<ActionView> {
        (0..self.inner.actions.len())
            .filter(|&i| self.inner.actions[i].outcome == api::Outcome::InProgress)
            .map(|i| ActionView {
                view: self.inner.clone(),
                i,
            })
            .collect()
    }
    /// The replicas of tier `tier` of app `app` in state `state` (`"active"` by default).
    #[pyo3(signature = (app, tier, state = "active"))]
    fn tier_replicas(&self, app: u32, tier: u32, state: &str) -> PyResult<Vec<ReplicaView>> {
        let state = replica_state_of(state)?;
        let t = api::TierRef {
            app: api::AppId(app),
            tier,
        };
        Ok(self
            .inner
            .tier_replicas(t, state)
            .map(|r| ReplicaView {
                view: self.inner.clone(),
                i: r.id.index(),
            })
            .collect())
    }
    /// Whether an action in progress involves node `node` (powering it, starting on it,
    /// migrating to or from it, placing on it).
    fn node_busy_with_actions(&self, node: u32) -> bool {
        self.inner.node_busy_with_actions(api::NodeId(node))
    }
    fn __repr__(&self) -> String {
        let v = &*self.inner;
        format!(
            "View(now_s={:?}, period_s={:?}, mode={}, nodes={}, vms={}, replicas={}, apps={}, \
             actions={}, failures={})",
            v.now_s,
            v.period_s,
            q(mode_name(v.mode)),
            v.nodes.len(),
            v.vms.len(),
            v.replicas.len(),
            v.apps.len(),
            v.actions.len(),
            v.failures.len()
        )
    }
}

/// Defines a wrapper of element `$field[i]` of the shared view with plain getters.
macro_rules! element {
    ($(#[$doc:meta])* $name:ident, $field:ident, $ty:ty) => {
        $(#[$doc])*
        #[pyclass(frozen, module = "reconf")]
        pub struct $name {
            view: Arc<api::View>,
            i: usize,
        }

        impl $name {
            #[inline]
            fn get(&self) -> &$ty {
                &self.view.$field[self.i]
            }
        }
    };
}

element!(
    /// A physical node (a host).
    NodeView,
    nodes,
    api::NodeView
);
element!(
    /// A virtual machine.
    VmView,
    vms,
    api::VmView
);
element!(
    /// A server replica of a tier.
    ReplicaView,
    replicas,
    api::ReplicaView
);
element!(
    /// An application: its tiers and what its users saw over the period.
    AppView,
    apps,
    api::AppView
);
element!(
    /// An action in progress, or ended since the previous view.
    ActionView,
    actions,
    api::ActionView
);

/// A string as Python's `repr` writes it: in single quotes, unless it holds one or needs
/// escapes (a refusal's reason might).
fn q(s: &str) -> String {
    if s.contains('\'') || s.chars().any(|c| c == '\\' || c.is_control()) {
        format!("{s:?}")
    } else {
        format!("'{s}'")
    }
}

fn opt_id(id: Option<u32>) -> String {
    id.map_or("None".to_string(), |i| i.to_string())
}

#[pymethods]
impl NodeView {
    #[getter]
    fn id(&self) -> u32 {
        self.get().id.0
    }
    #[getter]
    fn name(&self) -> &str {
        &self.get().name
    }
    /// `"off"`, `"booting"`, `"on"`, `"shutting-down"` or `"failed"` (crashed).
    #[getter]
    fn state(&self) -> &'static str {
        node_state_name(self.get().state)
    }
    #[getter]
    fn cores(&self) -> f64 {
        self.get().cores
    }
    /// Capacity of one core, in the scenario's CPU units (1.0, or MIPS).
    #[getter]
    fn speed(&self) -> f64 {
        self.get().speed
    }
    #[getter]
    fn ram_mb(&self) -> f64 {
        self.get().ram_mb
    }
    /// NIC bandwidth, in Mbit/s.
    #[getter]
    fn nic_mbps(&self) -> f64 {
        self.get().nic_mbps
    }
    #[getter]
    fn boot_s(&self) -> f64 {
        self.get().boot_s
    }
    #[getter]
    fn shutdown_s(&self) -> f64 {
        self.get().shutdown_s
    }
    /// RAM free for a new VM, in MB.
    #[getter]
    fn free_ram_mb(&self) -> f64 {
        self.get().free_ram_mb
    }
    /// Busy share of its cores over the period (0..1).
    #[getter]
    fn cpu_utilisation(&self) -> f64 {
        self.get().cpu_utilisation
    }
    /// What its VMs ask for now, in CPU units.
    #[getter]
    fn cpu_demand(&self) -> f64 {
        self.get().cpu_demand
    }
    /// Mean power over the period, in W.
    #[getter]
    fn power_w(&self) -> f64 {
        self.get().power_w
    }
    /// Its power model: watts at 0, 10, ..., 100 % CPU utilisation (11 values; all zeros when
    /// the backend does not know it).
    #[getter]
    fn power_curve_w(&self) -> Vec<f64> {
        self.get().power_curve_w.to_vec()
    }
    /// Power at CPU utilisation `u` (clamped to 0..1), interpolated in `power_curve_w`, in W.
    fn power_at_w(&self, u: f64) -> f64 {
        self.get().power_at_w(u)
    }
    /// Ids of the VMs on the node (virtualized), including those migrating away.
    #[getter]
    fn vms(&self) -> Vec<u32> {
        self.get().vms.iter().map(|v| v.0).collect()
    }
    /// Id of the replica on the node (bare), or None.
    #[getter]
    fn replica(&self) -> Option<u32> {
        self.get().replica.map(|r| r.0)
    }
    /// Ids of the VMs whose checkpoint copy the node holds (it is their backup).
    #[getter]
    fn backups(&self) -> Vec<u32> {
        self.get().backups.iter().map(|v| v.0).collect()
    }
    /// Its CPU capacity, in CPU units (cores × speed).
    fn capacity(&self) -> f64 {
        self.get().capacity()
    }
    fn __repr__(&self) -> String {
        let n = self.get();
        format!(
            "NodeView(id={}, name={}, state={}, cores={:?}, cpu_utilisation={:.3}, \
             free_ram_mb={:?}, power_w={:.1}, vms={:?}, replica={})",
            n.id.0,
            q(&n.name),
            q(node_state_name(n.state)),
            n.cores,
            n.cpu_utilisation,
            n.free_ram_mb,
            n.power_w,
            n.vms.iter().map(|v| v.0).collect::<Vec<_>>(),
            opt_id(n.replica.map(|r| r.0))
        )
    }
}

#[pymethods]
impl VmView {
    #[getter]
    fn id(&self) -> u32 {
        self.get().id.0
    }
    #[getter]
    fn name(&self) -> &str {
        &self.get().name
    }
    #[getter]
    fn alive(&self) -> bool {
        self.get().alive
    }
    /// The node it runs on; None for a VM not placed yet.
    #[getter]
    fn node(&self) -> Option<u32> {
        self.get().node.map(|n| n.0)
    }
    #[getter]
    fn migrating_to(&self) -> Option<u32> {
        self.get().migrating_to.map(|n| n.0)
    }
    #[getter]
    fn vcpus(&self) -> f64 {
        self.get().vcpus
    }
    #[getter]
    fn ram_mb(&self) -> f64 {
        self.get().ram_mb
    }
    #[getter]
    fn dirty_mb_per_s(&self) -> f64 {
        self.get().dirty_mb_per_s
    }
    #[getter]
    fn dirty_mb_per_cpu_s(&self) -> f64 {
        self.get().dirty_mb_per_cpu_s
    }
    /// The replica it runs; None for a trace-driven VM.
    #[getter]
    fn replica(&self) -> Option<u32> {
        self.get().replica.map(|r| r.0)
    }
    /// Id of the node holding its checkpoint copy, or None when checkpointing does not
    /// protect it now.
    #[getter]
    fn backup(&self) -> Option<u32> {
        self.get().backup.map(|n| n.0)
    }
    /// Cores of its node it used on average over the period.
    #[getter]
    fn cpu_cores_used(&self) -> f64 {
        self.get().cpu_cores_used
    }
    /// The most CPU it can ask for, in CPU units.
    #[getter]
    fn cpu_max(&self) -> f64 {
        self.get().cpu_max
    }
    /// What it asks for now, in CPU units.
    #[getter]
    fn cpu_demand(&self) -> f64 {
        self.get().cpu_demand
    }
    /// What it is granted now, in CPU units.
    #[getter]
    fn cpu_granted(&self) -> f64 {
        self.get().cpu_granted
    }
    fn __repr__(&self) -> String {
        let v = self.get();
        format!(
            "VmView(id={}, name={}, alive={}, node={}, migrating_to={}, vcpus={:?}, \
             ram_mb={:?}, cpu_cores_used={:.3}, replica={})",
            v.id.0,
            q(&v.name),
            if v.alive { "True" } else { "False" },
            opt_id(v.node.map(|n| n.0)),
            opt_id(v.migrating_to.map(|n| n.0)),
            v.vcpus,
            v.ram_mb,
            v.cpu_cores_used,
            opt_id(v.replica.map(|r| r.0))
        )
    }
}

#[pymethods]
impl ReplicaView {
    #[getter]
    fn id(&self) -> u32 {
        self.get().id.0
    }
    /// `app.tier.k`.
    #[getter]
    fn name(&self) -> &str {
        &self.get().name
    }
    /// Id of its application.
    #[getter]
    fn app(&self) -> u32 {
        self.get().tier.app.0
    }
    /// Index of its tier in the application.
    #[getter]
    fn tier(&self) -> u32 {
        self.get().tier.tier
    }
    /// `"starting"`, `"active"`, `"draining"`, `"stopped"` or `"failed"` (crashed).
    #[getter]
    fn state(&self) -> &'static str {
        replica_state_name(self.get().state)
    }
    #[getter]
    fn node(&self) -> Option<u32> {
        self.get().node.map(|n| n.0)
    }
    #[getter]
    fn vm(&self) -> Option<u32> {
        self.get().vm.map(|v| v.0)
    }
    /// Busy share of its own CPU capacity over the period (0..1).
    #[getter]
    fn cpu_utilisation(&self) -> f64 {
        self.get().cpu_utilisation
    }
    /// Sessions pinned to it (lost if it stops at once).
    #[getter]
    fn sessions(&self) -> u64 {
        self.get().sessions
    }
    #[getter]
    fn requests_in_progress(&self) -> u64 {
        self.get().requests_in_progress
    }
    fn __repr__(&self) -> String {
        let r = self.get();
        format!(
            "ReplicaView(id={}, name={}, app={}, tier={}, state={}, node={}, vm={}, \
             cpu_utilisation={:.3}, sessions={})",
            r.id.0,
            q(&r.name),
            r.tier.app.0,
            r.tier.tier,
            q(replica_state_name(r.state)),
            opt_id(r.node.map(|n| n.0)),
            opt_id(r.vm.map(|v| v.0)),
            r.cpu_utilisation,
            r.sessions
        )
    }
}

/// One thing a fault broke, shown once, in the first view after it happened.
#[pyclass(frozen, module = "reconf")]
pub struct FailureView {
    /// `"node"` (a node crashed), `"vm"` (a VM was lost with its node) or `"replica"` (a
    /// replica's server went down).
    #[pyo3(get)]
    kind: &'static str,
    /// The id of the node, VM or replica.
    #[pyo3(get)]
    id: u32,
    /// When, in seconds since the start.
    #[pyo3(get)]
    at_s: f64,
}

#[pymethods]
impl FailureView {
    fn __repr__(&self) -> String {
        format!(
            "FailureView(kind={}, id={}, at_s={:?})",
            q(self.kind),
            self.id,
            self.at_s
        )
    }
}

/// A tier of an application and its replicas.
#[pyclass(frozen, module = "reconf")]
pub struct TierView {
    /// Id of its application.
    #[pyo3(get)]
    app: u32,
    /// Index of the tier in the application.
    #[pyo3(get)]
    tier: u32,
    #[pyo3(get)]
    name: String,
    /// Ids of its replicas, in order of creation, whatever their state.
    #[pyo3(get)]
    replicas: Vec<u32>,
}

#[pymethods]
impl TierView {
    fn __repr__(&self) -> String {
        format!(
            "TierView(app={}, tier={}, name={}, replicas={:?})",
            self.app,
            self.tier,
            q(&self.name),
            self.replicas
        )
    }
}

#[pymethods]
impl AppView {
    #[getter]
    fn id(&self) -> u32 {
        self.get().id.0
    }
    #[getter]
    fn name(&self) -> &str {
        &self.get().name
    }
    #[getter]
    fn tiers(&self) -> Vec<TierView> {
        self.get()
            .tiers
            .iter()
            .map(|t| TierView {
                app: t.tier.app.0,
                tier: t.tier.tier,
                name: t.name.clone(),
                replicas: t.replicas.iter().map(|r| r.0).collect(),
            })
            .collect()
    }
    /// Clients in the loop now.
    #[getter]
    fn clients(&self) -> u64 {
        self.get().clients
    }
    /// Completed requests per second over the period.
    #[getter]
    fn throughput_rps(&self) -> f64 {
        self.get().throughput_rps
    }
    #[getter]
    fn mean_response_ms(&self) -> f64 {
        self.get().mean_response_ms
    }
    #[getter]
    fn p95_response_ms(&self) -> f64 {
        self.get().p95_response_ms
    }
    /// Requests that failed over the period.
    #[getter]
    fn failed_requests(&self) -> u64 {
        self.get().failed_requests
    }
    /// The response-time target of its SLA, in ms.
    #[getter]
    fn sla_target_ms(&self) -> f64 {
        self.get().sla_target_ms
    }
    fn __repr__(&self) -> String {
        let a = self.get();
        format!(
            "AppView(id={}, name={}, tiers=[{}], clients={}, throughput_rps={:.1}, \
             mean_response_ms={:.1}, p95_response_ms={:.1}, failed_requests={}, \
             sla_target_ms={:?})",
            a.id.0,
            q(&a.name),
            a.tiers
                .iter()
                .map(|t| q(&t.name))
                .collect::<Vec<_>>()
                .join(", "),
            a.clients,
            a.throughput_rps,
            a.mean_response_ms,
            a.p95_response_ms,
            a.failed_requests,
            a.sla_target_ms
        )
    }
}

#[pymethods]
impl ActionView {
    /// Its number, in the order the backend received the actions.
    #[getter]
    fn id(&self) -> u32 {
        self.get().id.0
    }
    /// The action asked for (`Migrate(vm=1, to=2)`, ...).
    #[getter]
    fn action<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        action_to_py(py, &self.get().action)
    }
    #[getter]
    fn started_s(&self) -> f64 {
        self.get().started_s
    }
    #[getter]
    fn ended_s(&self) -> Option<f64> {
        self.get().ended_s
    }
    /// `"in-progress"`, `"done"`, `"refused"` or `"failed"`.
    #[getter]
    fn outcome(&self) -> &'static str {
        self.get().outcome.label()
    }
    /// Why it was refused or failed (empty otherwise).
    #[getter]
    fn reason(&self) -> &str {
        self.get().outcome.reason()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let a = self.get();
        let action = action_to_py(py, &a.action)?.repr()?.to_string();
        Ok(format!(
            "ActionView(id={}, action={}, started_s={:?}, ended_s={}, outcome={}{})",
            a.id.0,
            action,
            a.started_s,
            a.ended_s.map_or("None".to_string(), |e| format!("{e:?}")),
            q(a.outcome.label()),
            if a.outcome.reason().is_empty() {
                String::new()
            } else {
                format!(", reason={}", q(a.outcome.reason()))
            }
        ))
    }
}

/// Registers the view's classes in the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<View>()?;
    m.add_class::<NodeView>()?;
    m.add_class::<VmView>()?;
    m.add_class::<ReplicaView>()?;
    m.add_class::<AppView>()?;
    m.add_class::<TierView>()?;
    m.add_class::<FailureView>()?;
    m.add_class::<ActionView>()?;
    Ok(())
}
