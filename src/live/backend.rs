//! The live backend: builds the policy's [`View`] from a [`Hypervisor`] and carries out the
//! policy's actions on it, with the simulator's semantics (see `src/sim/control.rs`):
//!
//! - CPU figures are busy time over the time that really passed between two reads of a
//!   domain's CPU-time counter: a replica's utilisation is its domain's CPU time / (elapsed ×
//!   vCPUs), a node's is the sum over all its active domains (managed or not: they all load the
//!   host) / cores;
//! - a node's free RAM is its memory − `host_reserved_ram_mb` − the memory of its active
//!   domains − what accepted actions still in flight will bring (incoming migrations, starts);
//! - the view lists the actions in progress, and those that ended since the previous view, each
//!   ended action exactly once;
//! - ids are never reused: a domain keeps its `VmId` (= its `ReplicaId`) for the whole run.
//!
//! The control loop never waits on a host for longer than it chooses ([`Backend::refresh`]):
//! every hypervisor call runs on a worker thread (see [`hosts`]), a host that does not answer
//! in time is lost (`failed`, its VMs lost with it; see [`faults`]) and asked again at the next
//! period. Impossible actions are refused at once with the simulator's
//! words; possible ones run on worker threads (a migration takes seconds) and end as done or
//! failed, seen by the policy in a later view. Whatever fails, a VM runs on exactly one host:
//! libvirt aborts an incomplete pre-copy migration with the VM still running on its source, and
//! the copies an interrupted migration leaves behind are reconciled (see [`hosts`]).
//!
//! `migrate` to a node that is off, and `start-replica` on one, power it on first (its
//! `[live] power_on_command`) and go on once its host answers: the action stays in progress
//! through the boot (convention 5 of the simulator).
//!
//! Units: libvirt reports KiB; the view uses the scenario's MB (10^6 bytes).

mod faults;
mod hosts;

use super::clock::Clock;
use super::hypervisor::{DomainInfo, HostInfo, Hypervisor, MigrateOptions};
use super::naming::{domain_name, parse_domain_name};
use super::template::template_vcpus;
pub use super::template::{instantiate_template, template_memory_kib};
use crate::model::power::PowerModel;
use crate::report::output::ActionRow;
use reconf_api::{
    Action, ActionId, ActionView, AppId, AppView, Mode, NodeId, NodeState, NodeView, Outcome,
    ReplicaId, ReplicaState, ReplicaView, TierRef, TierView, View, VmId, VmView,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// KiB (libvirt's unit) to MB (10^6 bytes, the scenario's unit).
pub fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// One application as the backend needs it.
#[derive(Clone, Debug)]
pub struct AppSpec {
    pub name: String,
    pub tiers: Vec<String>,
    pub sla_target_ms: f64,
}

/// What the backend needs from the scenario and the command line.
#[derive(Clone, Debug)]
pub struct Config {
    /// One name per host, in `--uri` order.
    pub node_names: Vec<String>,
    pub apps: Vec<AppSpec>,
    pub host_reserved_ram_mb: f64,
    /// Domain XML per (app, tier) index.
    pub templates: BTreeMap<(usize, usize), String>,
    pub migrate: MigrateOptions,
    pub stop_timeout: Duration,
    /// Shell command templates of the power hooks (`{node}`, `{index}`, `{uri}`).
    pub power_on_command: Option<String>,
    pub power_off_command: Option<String>,
    /// Print the actions instead of carrying them out.
    pub dry_run: bool,
    /// A host whose libvirt calls have not answered for this long is shown off (unknown).
    pub call_timeout: Duration,
    /// Longest wait, after a power-on command, for the node's host to answer.
    pub boot_timeout: Duration,
    /// Longest wait of a view for the hosts' answers (the control loop uses a fraction of its
    /// period); a host answering later is used at the next view.
    pub poll_wait: Duration,
    /// Each host's power model (`[live] power`), by node index; a host beyond the list, or
    /// `None`, has none (0 W).
    pub power: Vec<Option<PowerModel>>,
}

impl Config {
    /// The timeouts `reconf live` uses unless the scenario says otherwise.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_BOOT_TIMEOUT: Duration = Duration::from_secs(300);
}

/// A managed domain, i.e. a replica (one per VM).
#[derive(Clone, Debug)]
struct Vm {
    name: String,
    app: usize,
    tier: usize,
    node: usize,
    alive: bool,
    vcpus: f64,
    ram_mb: f64,
    migrating_to: Option<usize>,
    starting: bool,
    stopping: bool,
    /// Cores used over the last interval.
    cores_used: f64,
    /// A warning that it runs on two hosts at once was printed.
    warned_twice: bool,
    /// When its last action ended: listings asked for before then may predate its outcome,
    /// and say nothing about where it is.
    settled_s: f64,
    /// Lost to a fault (its domain gone behind reconf's back, or its host lost), not back yet.
    lost: Option<faults::Loss>,
}

/// A power-on under way.
#[derive(Clone, Debug)]
struct Boot {
    since_s: f64,
    /// When the power-on command succeeded (`None` while it runs): the node is on once its
    /// host answers a call made after that.
    command_done_s: Option<f64>,
}

#[derive(Clone, Debug, Default)]
struct Node {
    /// Marked usable (power-on) or not (power-off): reconf's own power state.
    usable: bool,
    /// Powered off by its power-off command: not asked anything until it is powered on.
    dark: bool,
    boot: Option<Boot>,
    shutting_down: bool,
    /// Last answer of the host (kept while it is unreachable).
    info: Option<HostInfo>,
    /// Its last call succeeded, and none has been waiting longer than the call timeout.
    reachable: bool,
    /// A poll of this host is in flight, since then.
    polling_since_s: Option<f64>,
    /// When its domains were last listed (the answer came).
    listed_s: Option<f64>,
    /// When that listing was asked for.
    asked_s: f64,
    /// Its domains at the last listing (kept while unreachable), in name order.
    domains: Vec<DomainInfo>,
    cpu: f64,
    /// Cores used by each domain over the interval before the last listing.
    used: HashMap<String, f64>,
    /// A warning that it does not answer was printed (and not yet its return).
    warned: bool,
    /// Lost (it stopped answering when it was expected to): the index of its fault record,
    /// until it answers again.
    failed: Option<usize>,
}

/// An action and what became of it.
#[derive(Clone, Debug)]
struct Record {
    action: Action,
    target: String,
    destination: String,
    start_s: f64,
    end_s: Option<f64>,
    outcome: Outcome,
    shown: bool,
    mb_sent: f64,
    downtime_ms: f64,
    rounds: u32,
    /// The VM it acts on (migrate, start, stop).
    vm: Option<usize>,
    /// Waits for this node to come up (a migration to, or a start on, a node being booted).
    waiting_for: Option<usize>,
    /// Set to abort a migration in flight.
    cancel: Option<Arc<AtomicBool>>,
}

/// How a worker's job ended.
#[derive(Debug)]
pub(crate) enum Done {
    Migrated {
        mb: f64,
        downtime_ms: f64,
        rounds: u32,
    },
    Started,
    Stopped,
    Powered,
}

/// Run totals, for `summary.json`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub migrations: u64,
    pub migration_time_s: f64,
    pub migration_mb: f64,
    pub migration_downtime_s: f64,
    pub replicas_started: u64,
    pub replicas_stopped: u64,
    pub actions_refused: u64,
    pub actions_failed: u64,
    /// Replica outages that ended (back active: restarted, or found running again).
    pub repairs: u64,
    /// Their summed length, from the fault to the replica's return, in seconds.
    pub repair_time_s: f64,
    /// Lost hosts that answered again.
    pub nodes_repaired: u64,
}

type WorkerResult = (usize, f64, Result<Done, String>);
/// A host's answer: (host, when asked, when answered, the answer).
type PollResult = (
    usize,
    f64,
    f64,
    Result<(HostInfo, Vec<DomainInfo>), super::hypervisor::HvError>,
);
/// A reconciliation done on a host: (host, domain UUID, what was done, its result).
type FixResult = (usize, String, String, Result<(), String>);

/// The live backend over a hypervisor.
pub struct Backend {
    hv: Arc<dyn Hypervisor>,
    cfg: Config,
    nodes: Vec<Node>,
    vms: Vec<Vm>,
    by_name: HashMap<String, usize>,
    actions: Vec<Record>,
    /// CPU-time counter of each domain, keyed (host, name), and when it was read.
    marks: HashMap<(usize, String), (u64, f64)>,
    last_view_s: Option<f64>,
    tx: Sender<WorkerResult>,
    rx: Receiver<WorkerResult>,
    poll_tx: Sender<PollResult>,
    poll_rx: Receiver<PollResult>,
    hook_tx: Sender<(usize, f64, Result<(), String>)>,
    hook_rx: Receiver<(usize, f64, Result<(), String>)>,
    fix_tx: Sender<FixResult>,
    fix_rx: Receiver<FixResult>,
    /// Copies (host, UUID) being removed or resumed.
    fixing: HashSet<(usize, String)>,
    /// Copies found stale (or orphaned) at the previous refresh: acted on when seen twice.
    suspects: HashSet<(usize, String)>,
    /// VMs seen running on two hosts at the previous refresh.
    twice: HashSet<String>,
    clock: Clock,
    pub totals: Totals,
    /// Every fault noticed, as rows of `failures.csv`, with how many of the replicas each took
    /// down are not back yet.
    faults: Vec<faults::Fault>,
    /// What failed since the previous view (shown once).
    new_failures: Vec<reconf_api::FailureView>,
}

impl Backend {
    /// A backend over `hv`, whose hosts are `cfg.node_names` in order; `clock` gives the
    /// run's time (views and action records are stamped with it).
    pub fn new(hv: Arc<dyn Hypervisor>, cfg: Config, clock: Clock) -> Self {
        let (tx, rx) = channel();
        let (poll_tx, poll_rx) = channel();
        let (hook_tx, hook_rx) = channel();
        let (fix_tx, fix_rx) = channel();
        let nodes = (0..hv.hosts())
            .map(|_| Node {
                usable: true,
                ..Node::default()
            })
            .collect();
        Backend {
            hv,
            cfg,
            nodes,
            vms: Vec::new(),
            by_name: HashMap::new(),
            actions: Vec::new(),
            marks: HashMap::new(),
            last_view_s: None,
            tx,
            rx,
            poll_tx,
            poll_rx,
            hook_tx,
            hook_rx,
            fix_tx,
            fix_rx,
            fixing: HashSet::new(),
            suspects: HashSet::new(),
            twice: HashSet::new(),
            clock,
            totals: Totals::default(),
            faults: Vec::new(),
            new_failures: Vec::new(),
        }
    }

    /// The run's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn apps_names(&self) -> Vec<(String, Vec<String>)> {
        self.cfg
            .apps
            .iter()
            .map(|a| (a.name.clone(), a.tiers.clone()))
            .collect()
    }

    fn node_name(&self, n: usize) -> String {
        self.cfg
            .node_names
            .get(n)
            .cloned()
            .unwrap_or_else(|| format!("node#{n}"))
    }

    /// State of node `n` as the policy sees it. A host that stopped answering when it should
    /// (not powered off, booting or shutting down by reconf) is `failed` until it answers again
    /// (see [`faults`]); one not answering yet, or marked unusable, is `off`.
    fn node_state(&self, n: usize) -> NodeState {
        let node = &self.nodes[n];
        if node.boot.is_some() {
            NodeState::Booting
        } else if node.shutting_down {
            NodeState::ShuttingDown
        } else if node.failed.is_some() {
            NodeState::Failed
        } else if !node.usable || !node.reachable {
            NodeState::Off
        } else {
            NodeState::On
        }
    }

    fn state_label(s: NodeState) -> &'static str {
        match s {
            NodeState::Off => "off",
            NodeState::Booting => "booting",
            NodeState::On => "on",
            NodeState::ShuttingDown => "shutting-down",
            NodeState::Failed => "failed",
        }
    }

    /// RAM free for a new VM on node `n`, in MB: memory − host reserve − its active domains
    /// (at its last listing) − VMs on their way to it (migrations and starts accepted, not yet
    /// listed on it).
    pub fn node_free_ram_mb(&self, n: usize) -> f64 {
        let node = &self.nodes[n];
        let Some(info) = &node.info else {
            return 0.0;
        };
        let listed: f64 = node
            .domains
            .iter()
            .filter(|d| d.state.is_active())
            .map(|d| kib_to_mb(d.memory_kib))
            .sum();
        (kib_to_mb(info.memory_kib) - self.cfg.host_reserved_ram_mb - listed - self.on_its_way(n))
            .max(0.0)
    }

    /// RAM of the VMs on their way to node `n` and not yet listed there, in MB.
    fn on_its_way(&self, n: usize) -> f64 {
        let node = &self.nodes[n];
        self.vms
            .iter()
            .filter(|v| v.alive)
            .filter(|v| v.migrating_to == Some(n) || (v.starting && v.node == n))
            .filter(|v| {
                !node
                    .domains
                    .iter()
                    .any(|d| d.name == v.name && d.state.is_active())
            })
            .map(|v| v.ram_mb)
            .sum()
    }

    /// Takes the results of finished workers.
    fn collect(&mut self) {
        while let Ok((a, end_s, result)) = self.rx.try_recv() {
            self.finish(a, end_s, result);
        }
    }

    fn finish(&mut self, a: usize, end_s: f64, result: Result<Done, String>) {
        let action = self.actions[a].action.clone();
        let vm = self.actions[a].vm;
        self.actions[a].waiting_for = None;
        if let Some(v) = vm {
            self.vms[v].settled_s = end_s;
        }
        match (&action, &result) {
            (
                Action::Migrate { to, .. },
                Ok(Done::Migrated {
                    mb,
                    downtime_ms,
                    rounds,
                }),
            ) => {
                let v = &mut self.vms[vm.expect("migration of a VM")];
                v.node = to.index();
                v.migrating_to = None;
                v.alive = true;
                let r = &mut self.actions[a];
                r.mb_sent = *mb;
                r.downtime_ms = *downtime_ms;
                r.rounds = *rounds;
                self.totals.migrations += 1;
                self.totals.migration_time_s += end_s - r.start_s;
                self.totals.migration_mb += mb;
                self.totals.migration_downtime_s += downtime_ms / 1000.0;
            }
            (Action::Migrate { .. }, _) => {
                if let Some(v) = vm {
                    self.vms[v].migrating_to = None;
                }
            }
            (Action::StartReplica { .. }, Ok(_)) => {
                self.vms[vm.expect("a new VM")].starting = false;
                self.totals.replicas_started += 1;
            }
            (Action::StartReplica { .. }, Err(_)) => {
                if let Some(v) = vm {
                    let v = &mut self.vms[v];
                    v.starting = false;
                    v.alive = false;
                }
            }
            (Action::RestartReplica { .. } | Action::RestartVm { .. }, r) => {
                self.restart_ended(vm.expect("a restarted VM"), end_s, r.is_ok());
            }
            (Action::StopReplica { .. }, Ok(_)) => {
                let v = &mut self.vms[vm.expect("a stopped VM")];
                v.stopping = false;
                v.alive = false;
                self.totals.replicas_stopped += 1;
            }
            (Action::StopReplica { .. }, Err(_)) => {
                self.vms[vm.expect("a stopped VM")].stopping = false;
            }
            (Action::PowerOff { node }, r) => {
                let n = &mut self.nodes[node.index()];
                n.shutting_down = false;
                if r.is_ok() {
                    n.usable = false;
                    if self.cfg.power_off_command.is_some() {
                        // Really off: its host will not answer; it has no domains (checked).
                        n.dark = true;
                        n.reachable = false;
                        n.domains.clear();
                        n.cpu = 0.0;
                    }
                }
            }
            _ => {}
        }
        let r = &mut self.actions[a];
        r.end_s = Some(end_s);
        r.outcome = match result {
            Ok(_) => Outcome::Done,
            Err(e) => {
                self.totals.actions_failed += 1;
                Outcome::Failed(e)
            }
        };
    }

    /// Asks every host for its figures and waits for the answers up to `cfg.poll_wait` (see
    /// [`Backend::refresh`]); the first call takes the baseline counters.
    pub fn sample(&mut self) {
        self.refresh(self.cfg.poll_wait);
        self.last_view_s = Some(self.clock.now_s());
    }

    /// Refreshes the hosts' figures and builds the view, stamped when it is built.
    pub fn view(&mut self) -> View {
        self.refresh(self.cfg.poll_wait);
        let now_s = self.clock.now_s();
        let period_s = self.last_view_s.map_or(0.0, |t| now_s - t);
        self.last_view_s = Some(now_s);
        let nodes = (0..self.nodes.len())
            .map(|n| {
                let node = &self.nodes[n];
                NodeView {
                    id: NodeId(n as u32),
                    name: self.node_name(n),
                    state: self.node_state(n),
                    cores: node.info.as_ref().map_or(0.0, |i| f64::from(i.cores)),
                    speed: 1.0,
                    ram_mb: node.info.as_ref().map_or(0.0, |i| kib_to_mb(i.memory_kib)),
                    // libvirt knows neither the NIC nor how long a host takes to boot.
                    nic_mbps: 0.0,
                    boot_s: 0.0,
                    shutdown_s: 0.0,
                    free_ram_mb: self.node_free_ram_mb(n),
                    cpu_utilisation: node.cpu,
                    cpu_demand: self
                        .vms
                        .iter()
                        .filter(|v| v.alive && v.node == n)
                        .map(|v| v.cores_used)
                        .sum::<f64>()
                        + 0.0,
                    power_w: self.node_power_w(n),
                    // libvirt measures no power: the scenario's model, if any, to plan with.
                    power_curve_w: self.power_model(n).map_or([0.0; 11], PowerModel::curve_w),
                    vms: self
                        .vms
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.alive && v.node == n)
                        .map(|(i, _)| VmId(i as u32))
                        .collect(),
                    replica: None,
                    backups: Vec::new(),
                }
            })
            .collect();
        let vms = self
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| VmView {
                id: VmId(i as u32),
                name: v.name.clone(),
                alive: v.alive,
                node: Some(NodeId(v.node as u32)),
                migrating_to: v.migrating_to.map(|n| NodeId(n as u32)),
                vcpus: v.vcpus,
                ram_mb: v.ram_mb,
                dirty_mb_per_s: 0.0,
                dirty_mb_per_cpu_s: 0.0,
                replica: Some(ReplicaId(i as u32)),
                cpu_cores_used: v.cores_used,
                // A probe sees what a guest used, not what it wanted: demand = use.
                cpu_max: v.vcpus,
                cpu_demand: v.cores_used,
                cpu_granted: v.cores_used,
                backup: None,
            })
            .collect();
        let replicas: Vec<ReplicaView> = self
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| ReplicaView {
                id: ReplicaId(i as u32),
                name: v.name.clone(),
                tier: TierRef {
                    app: AppId(v.app as u32),
                    tier: v.tier as u32,
                },
                state: self.replica_state(v),
                node: v.alive.then_some(NodeId(v.node as u32)),
                vm: Some(VmId(i as u32)),
                cpu_utilisation: if v.vcpus > 0.0 {
                    v.cores_used / v.vcpus
                } else {
                    0.0
                },
                sessions: 0,
                requests_in_progress: 0,
            })
            .collect();
        let apps = self
            .cfg
            .apps
            .iter()
            .enumerate()
            .map(|(ai, a)| AppView {
                id: AppId(ai as u32),
                name: a.name.clone(),
                tiers: TierView::of_app(
                    AppId(ai as u32),
                    a.tiers.iter().map(String::as_str),
                    &replicas,
                ),
                // libvirt knows nothing of the application: no clients, requests or response
                // times (zeros, never NaN, so policies and reports stay well defined).
                clients: 0,
                throughput_rps: 0.0,
                mean_response_ms: 0.0,
                p95_response_ms: 0.0,
                failed_requests: 0,
                sla_target_ms: a.sla_target_ms,
            })
            .collect();
        let mut actions = Vec::new();
        for (i, r) in self.actions.iter_mut().enumerate() {
            let ended = r.outcome != Outcome::InProgress;
            if ended && r.shown {
                continue;
            }
            r.shown = ended;
            actions.push(ActionView {
                id: ActionId(i as u32),
                action: r.action.clone(),
                started_s: r.start_s,
                ended_s: r.end_s,
                outcome: r.outcome.clone(),
            });
        }
        View {
            now_s,
            period_s,
            mode: Mode::Virtualized,
            host_reserved_ram_mb: self.cfg.host_reserved_ram_mb,
            nodes,
            vms,
            replicas,
            apps,
            actions,
            failures: std::mem::take(&mut self.new_failures),
        }
    }

    fn power_model(&self, n: usize) -> Option<&PowerModel> {
        self.cfg.power.get(n).and_then(Option::as_ref)
    }

    /// Node `n`'s power now by its model, in W (0 without one): its model at its measured CPU
    /// utilisation while its host runs (shown off without a power-off command too: it is only
    /// marked unusable), its idle power while it boots, 0 once powered off by its command, and
    /// 0 while lost (what it draws then is unknown; the simulator's failed nodes draw 0).
    fn node_power_w(&self, n: usize) -> f64 {
        let Some(model) = self.power_model(n) else {
            return 0.0;
        };
        let node = &self.nodes[n];
        if node.boot.is_some() {
            model.idle_w()
        } else if node.dark || node.failed.is_some() {
            0.0
        } else {
            model.watts(node.cpu)
        }
    }

    fn replica_state(&self, v: &Vm) -> ReplicaState {
        if !v.alive && v.lost.is_some() {
            ReplicaState::Failed
        } else if !v.alive {
            ReplicaState::Stopped
        } else if v.starting {
            ReplicaState::Starting
        } else if v.stopping {
            ReplicaState::Draining
        } else {
            ReplicaState::Active
        }
    }

    fn record(&mut self, now_s: f64, action: &Action) -> usize {
        let (target, destination) = match action {
            Action::PowerOn { node } | Action::PowerOff { node } => {
                (self.node_name(node.index()), String::new())
            }
            Action::StartReplica { tier, node } => (
                self.cfg
                    .apps
                    .get(tier.app.index())
                    .and_then(|a| {
                        a.tiers
                            .get(tier.tier as usize)
                            .map(|t| format!("{}.{}", a.name, t))
                    })
                    .unwrap_or_else(|| format!("tier#{}.{}", tier.app.0, tier.tier)),
                self.node_name(node.index()),
            ),
            Action::StopReplica { replica, .. } => (
                self.vms
                    .get(replica.index())
                    .map_or_else(|| format!("replica#{}", replica.0), |v| v.name.clone()),
                String::new(),
            ),
            Action::RestartReplica { replica, node } => (
                self.vms
                    .get(replica.index())
                    .map_or_else(|| format!("replica#{}", replica.0), |v| v.name.clone()),
                self.node_name(node.index()),
            ),
            Action::Migrate { vm, to: node }
            | Action::Place { vm, node }
            | Action::RestartVm { vm, node } => (
                self.vms
                    .get(vm.index())
                    .map_or_else(|| format!("vm#{}", vm.0), |v| v.name.clone()),
                self.node_name(node.index()),
            ),
        };
        self.actions.push(Record {
            action: action.clone(),
            target,
            destination,
            start_s: now_s,
            end_s: None,
            outcome: Outcome::InProgress,
            shown: false,
            mb_sent: 0.0,
            downtime_ms: 0.0,
            rounds: 0,
            vm: None,
            waiting_for: None,
            cancel: None,
        });
        self.actions.len() - 1
    }

    fn refuse(&mut self, a: usize, reason: impl Into<String>) -> ActionId {
        self.totals.actions_refused += 1;
        let r = &mut self.actions[a];
        r.end_s = Some(r.start_s);
        r.outcome = Outcome::Refused(reason.into());
        ActionId(a as u32)
    }

    /// Carries out `action` now: refuses it at once if impossible, otherwise starts it on a
    /// worker thread, or waits for its node's boot (or, with `dry_run`, prints it and records
    /// it refused as not carried out). Never waits on a host. Returns its id.
    pub fn execute(&mut self, action: Action) -> ActionId {
        self.collect();
        let now_s = self.clock.now_s();
        let a = self.record(now_s, &action);
        let checked = match &action {
            Action::PowerOn { node } => self.check_power_on(*node),
            Action::PowerOff { node } => self.check_power_off(*node),
            Action::StartReplica { tier, node } => self.check_start(*tier, *node).map(|_| ()),
            Action::StopReplica { replica, .. } => self.check_stop(*replica),
            Action::Migrate { vm, to } => self.check_migrate(*vm, *to),
            // Every domain reconf sees already runs somewhere.
            Action::Place { .. } => Err("every VM is already placed (live VMs are domains)".into()),
            Action::RestartReplica { replica, node } => {
                self.check_restart(replica.index(), *node, false)
            }
            Action::RestartVm { vm, node } => self.check_restart(vm.index(), *node, true),
        };
        if let Err(reason) = checked {
            return self.refuse(a, reason);
        }
        if self.cfg.dry_run {
            let r = &self.actions[a];
            println!(
                "dry run: t={:.1}s {} {}{}",
                now_s,
                action.kind(),
                r.target,
                if r.destination.is_empty() {
                    String::new()
                } else {
                    format!(" -> {}", r.destination)
                }
            );
            return self.refuse(a, "dry run: not carried out");
        }
        match action {
            Action::PowerOn { node } => self.power_on(a, node.index()),
            Action::PowerOff { node } => self.power_off(a, node.index()),
            Action::StartReplica { tier, node } => self.start(a, tier, node.index()),
            Action::StopReplica { replica, .. } => self.stop(a, replica.index()),
            Action::Migrate { vm, to } => self.migrate(a, vm.index(), to.index()),
            Action::RestartReplica { replica: r, node } => self.restart(a, r.index(), node.index()),
            Action::RestartVm { vm, node } => self.restart(a, vm.index(), node.index()),
            Action::Place { .. } => unreachable!("refused above"),
        }
        ActionId(a as u32)
    }

    fn check_node(&self, node: NodeId) -> Result<NodeState, String> {
        if node.index() >= self.nodes.len() {
            return Err("no such node".into());
        }
        Ok(self.node_state(node.index()))
    }

    /// Whether off node `n` can be powered on: by its command, or (none given) by marking it
    /// usable, which only makes sense if its host answers.
    fn check_can_boot(&self, n: usize) -> Result<(), String> {
        if self.cfg.power_on_command.is_none() && !self.nodes[n].reachable {
            return Err(
                "the node's host does not answer, and no [live] power_on_command is set to power it on"
                    .into(),
            );
        }
        Ok(())
    }

    fn check_power_on(&self, node: NodeId) -> Result<(), String> {
        let state = self.check_node(node)?;
        if state != NodeState::Off {
            return Err(format!("node is {}, not off", Self::state_label(state)));
        }
        self.check_can_boot(node.index())
    }

    fn check_power_off(&self, node: NodeId) -> Result<(), String> {
        let state = self.check_node(node)?;
        if state != NodeState::On {
            return Err(format!("node is {}, not on", Self::state_label(state)));
        }
        let n = node.index();
        let vms = self.vms.iter().filter(|v| v.alive && v.node == n).count();
        if vms > 0 {
            return Err(format!("node is busy: it hosts {vms} VM(s)"));
        }
        let others = self.nodes[n]
            .domains
            .iter()
            .filter(|d| d.state.is_active())
            .count();
        if others > 0 {
            return Err(format!(
                "node is busy: it runs {others} domain(s) reconf does not manage"
            ));
        }
        if self.vms.iter().any(|v| v.migrating_to == Some(n)) {
            return Err("node is busy: a migration or a replica start involves it".into());
        }
        Ok(())
    }

    /// RAM node `n` could ever give a new VM, in MB: its memory − the host reserve − what is
    /// already on its way to it (for a node that is off or booting, whose domains are none).
    fn capacity_free_ram_mb(&self, n: usize) -> f64 {
        let Some(info) = &self.nodes[n].info else {
            return 0.0;
        };
        (kib_to_mb(info.memory_kib) - self.cfg.host_reserved_ram_mb - self.on_its_way(n)).max(0.0)
    }

    fn check_start(&self, tier: TierRef, node: NodeId) -> Result<&str, String> {
        let (ai, ti) = (tier.app.index(), tier.tier as usize);
        let Some(app) = self.cfg.apps.get(ai).filter(|a| ti < a.tiers.len()) else {
            return Err("no such tier".into());
        };
        let state = self.check_node(node)?;
        let n = node.index();
        match state {
            NodeState::On | NodeState::Booting => {}
            NodeState::ShuttingDown => return Err("node is shutting down".into()),
            NodeState::Failed => return Err("node has failed".into()),
            // Powered on first, as the simulator does.
            NodeState::Off => self.check_can_boot(n)?,
        }
        let Some(template) = self.cfg.templates.get(&(ai, ti)) else {
            return Err(format!(
                "no template for tier `{}.{}` in [live] templates",
                app.name, app.tiers[ti]
            ));
        };
        if let Some(kib) = template_memory_kib(template) {
            let free = if state == NodeState::On {
                self.node_free_ram_mb(n)
            } else {
                self.capacity_free_ram_mb(n)
            };
            let ram = kib_to_mb(kib);
            if free + 1e-9 < ram {
                return Err(format!(
                    "node has {free:.0} MB of RAM free, the VM needs {ram:.0} MB"
                ));
            }
        }
        Ok(template)
    }

    fn check_stop(&self, replica: ReplicaId) -> Result<(), String> {
        let Some(v) = self.vms.get(replica.index()) else {
            return Err("no such replica".into());
        };
        match self.replica_state(v) {
            ReplicaState::Starting => return Err("replica is still starting".into()),
            ReplicaState::Draining => return Err("replica is already draining".into()),
            ReplicaState::Stopped => return Err("replica is already stopped".into()),
            ReplicaState::Failed => return Err("replica has failed".into()),
            ReplicaState::Active => {}
        }
        if v.migrating_to.is_some() {
            return Err("its VM is migrating".into());
        }
        if !self.nodes[v.node].reachable {
            return Err("its host does not answer".into());
        }
        let active = self
            .vms
            .iter()
            .filter(|o| o.app == v.app && o.tier == v.tier)
            .filter(|o| self.replica_state(o) == ReplicaState::Active)
            .count();
        if active <= 1 {
            return Err("it is the last active replica of its tier".into());
        }
        Ok(())
    }

    fn check_migrate(&self, vm: VmId, to: NodeId) -> Result<(), String> {
        let Some(v) = self.vms.get(vm.index()) else {
            return Err("no such VM".into());
        };
        if !v.alive {
            return Err("the VM no longer exists".into());
        }
        if v.migrating_to.is_some() {
            return Err("the VM is already migrating".into());
        }
        if v.starting {
            return Err("the VM is still starting".into());
        }
        if v.stopping {
            return Err("the VM is stopping".into());
        }
        let state = self.check_node(to)?;
        if to.index() == v.node {
            return Err("the VM is already on that node".into());
        }
        if !self.nodes[v.node].reachable {
            return Err("the VM's host does not answer".into());
        }
        let free = match state {
            NodeState::On => self.node_free_ram_mb(to.index()),
            NodeState::ShuttingDown => return Err("destination node is shutting-down".into()),
            NodeState::Failed => return Err("destination node has failed".into()),
            // Powered on first (convention 5); refused now if the VM could never fit there.
            NodeState::Off => {
                self.check_can_boot(to.index())?;
                self.capacity_free_ram_mb(to.index())
            }
            NodeState::Booting => self.capacity_free_ram_mb(to.index()),
        };
        if free + 1e-9 < v.ram_mb {
            return Err(format!(
                "destination has {free:.0} MB of RAM free, the VM needs {:.0} MB",
                v.ram_mb
            ));
        }
        Ok(())
    }

    /// Runs `job` on a worker thread; its result comes back through the channel.
    fn spawn(
        &self,
        a: usize,
        job: impl FnOnce(&dyn Hypervisor) -> Result<Done, String> + Send + 'static,
    ) {
        let hv = Arc::clone(&self.hv);
        let tx = self.tx.clone();
        let clock = self.clock.clone();
        std::thread::spawn(move || {
            let result = job(hv.as_ref());
            let _ = tx.send((a, clock.now_s(), result));
        });
    }

    fn migrate(&mut self, a: usize, v: usize, to: usize) {
        self.actions[a].vm = Some(v);
        self.vms[v].migrating_to = Some(to);
        if self.node_state(to) == NodeState::On {
            self.launch_migration(a);
        } else {
            self.wait_for_boot(a, to);
        }
    }

    /// Starts the migration of record `a` (its VM already marked migrating).
    fn launch_migration(&mut self, a: usize) {
        let Action::Migrate { to, .. } = self.actions[a].action else {
            unreachable!("a migration")
        };
        let to = to.index();
        let vm = &self.vms[self.actions[a].vm.expect("migration of a VM")];
        let (name, from, ram_mb) = (vm.name.clone(), vm.node, vm.ram_mb);
        let opts = self.cfg.migrate.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        self.actions[a].cancel = Some(cancel.clone());
        let to_label = self.hv.label(to);
        self.spawn(a, move |hv| {
            match hv.migrate(&name, from, to, &opts, &cancel) {
                Ok(stats) => Ok(Done::Migrated {
                    mb: stats.bytes.map_or(ram_mb, |b| b as f64 / 1e6),
                    downtime_ms: stats.downtime_ms.unwrap_or(0) as f64,
                    rounds: stats.rounds.unwrap_or(0),
                }),
                Err(e) => {
                    // An error after the destination took over (the source lost during its
                    // confirmation) is still a migration done: look before saying it failed.
                    let runs_there = hv.domains(to).is_ok_and(|ds| {
                        ds.iter().any(|d| {
                            d.name == name && d.state == super::hypervisor::DomainState::Running
                        })
                    });
                    if runs_there {
                        eprintln!(
                            "note: the migration of {name} ended with an error ({e}), but it runs on {to_label}: counted done"
                        );
                        Ok(Done::Migrated {
                            mb: ram_mb,
                            downtime_ms: 0.0,
                            rounds: 0,
                        })
                    } else {
                        Err(format!("migration failed: {e}"))
                    }
                }
            }
        });
    }

    /// Record `a` waits for node `n` to come up, which is powered on if it is off.
    fn wait_for_boot(&mut self, a: usize, n: usize) {
        self.actions[a].waiting_for = Some(n);
        if self.node_state(n) == NodeState::Off {
            self.begin_boot(n);
        }
        // Powered on at once (no command, and the host answers): go on now.
        self.launch_waiting();
    }

    fn start(&mut self, a: usize, tier: TierRef, node: usize) {
        let template = self.cfg.templates[&(tier.app.index(), tier.tier as usize)].clone();
        let app = &self.cfg.apps[tier.app.index()];
        let tier_name = &app.tiers[tier.tier as usize];
        // The next k of the tier: never one a previous replica had.
        let apps = self.apps_names();
        let mut k = 0;
        for name in self.by_name.keys().chain(
            self.nodes
                .iter()
                .flat_map(|n| n.domains.iter().map(|d| &d.name)),
        ) {
            if let Some((ai, ti, kk)) = parse_domain_name(name, &apps) {
                if ai == tier.app.index() && ti == tier.tier as usize {
                    k = k.max(kk + 1);
                }
            }
        }
        let name = domain_name(&app.name, tier_name, k);
        let ram_mb = template_memory_kib(&template).map_or(0.0, kib_to_mb);
        let vcpus = template_vcpus(&template).unwrap_or(1.0);
        let v = self.vms.len();
        self.by_name.insert(name.clone(), v);
        self.vms.push(Vm {
            name: name.clone(),
            app: tier.app.index(),
            tier: tier.tier as usize,
            node,
            alive: true,
            vcpus,
            ram_mb,
            migrating_to: None,
            starting: true,
            stopping: false,
            cores_used: 0.0,
            warned_twice: false,
            settled_s: 0.0,
            lost: None,
        });
        self.actions[a].vm = Some(v);
        self.actions[a].target = name;
        if self.node_state(node) == NodeState::On {
            self.launch_start(a);
        } else {
            self.wait_for_boot(a, node);
        }
    }

    /// Defines and starts the domain of record `a` (its VM already registered as starting).
    fn launch_start(&mut self, a: usize) {
        let Action::StartReplica { tier, node } = self.actions[a].action else {
            unreachable!("a start")
        };
        let template = &self.cfg.templates[&(tier.app.index(), tier.tier as usize)];
        let xml = instantiate_template(template, &self.actions[a].target);
        let node = node.index();
        self.spawn(a, move |hv| {
            hv.start(node, &xml)
                .map(|()| Done::Started)
                .map_err(|e| format!("start failed: {e}"))
        });
    }

    /// Carries out the actions that waited for a node now on.
    fn launch_waiting(&mut self) {
        for a in 0..self.actions.len() {
            let Some(n) = self.actions[a].waiting_for else {
                continue;
            };
            if self.actions[a].outcome != Outcome::InProgress || self.node_state(n) != NodeState::On
            {
                continue;
            }
            self.actions[a].waiting_for = None;
            match self.actions[a].action {
                Action::Migrate { .. } => {
                    let v = self.actions[a].vm.expect("migration of a VM");
                    if !self.vms[v].alive {
                        let now = self.clock.now_s();
                        self.finish(a, now, Err("the VM no longer exists".into()));
                    } else {
                        self.launch_migration(a);
                    }
                }
                Action::StartReplica { .. } => self.launch_start(a),
                Action::RestartReplica { .. } | Action::RestartVm { .. } => self.launch_restart(a),
                _ => {}
            }
        }
    }

    fn stop(&mut self, a: usize, v: usize) {
        self.actions[a].vm = Some(v);
        let vm = &mut self.vms[v];
        vm.stopping = true;
        let (name, node) = (vm.name.clone(), vm.node);
        let timeout = self.cfg.stop_timeout;
        self.spawn(a, move |hv| {
            hv.stop(node, &name, timeout)
                .map(|()| Done::Stopped)
                .map_err(|e| format!("stop failed: {e}"))
        });
    }

    fn power_on(&mut self, a: usize, n: usize) {
        self.begin_boot(n);
        if self.node_state(n) == NodeState::On {
            let r = &mut self.actions[a];
            r.end_s = Some(r.start_s);
            r.outcome = Outcome::Done;
        }
        // Otherwise it ends with the boot (see `hosts`).
    }

    /// Powers off node `n` on: runs its power-on command (it is then booting until its host
    /// answers), or, without one, only marks it usable.
    fn begin_boot(&mut self, n: usize) {
        if self.nodes[n].boot.is_some() {
            return;
        }
        let Some(command) = self.cfg.power_on_command.clone() else {
            self.nodes[n].usable = true;
            return;
        };
        let now = self.clock.now_s();
        let node = &mut self.nodes[n];
        node.boot = Some(Boot {
            since_s: now,
            command_done_s: None,
        });
        node.dark = false;
        let command = self.hook_command(&command, n);
        let tx = self.hook_tx.clone();
        let clock = self.clock.clone();
        std::thread::spawn(move || {
            let result = run_hook(&command, "power-on");
            let _ = tx.send((n, clock.now_s(), result));
        });
    }

    fn hook_command(&self, template: &str, n: usize) -> String {
        template
            .replace("{node}", &self.node_name(n))
            .replace("{index}", &n.to_string())
            .replace("{uri}", &self.hv.label(n))
    }

    fn power_off(&mut self, a: usize, n: usize) {
        let Some(command) = self.cfg.power_off_command.clone() else {
            // No hook: the node is only marked unusable, at once.
            self.nodes[n].usable = false;
            let r = &mut self.actions[a];
            r.end_s = Some(r.start_s);
            r.outcome = Outcome::Done;
            return;
        };
        self.nodes[n].shutting_down = true;
        let command = self.hook_command(&command, n);
        self.spawn(a, move |_| {
            run_hook(&command, "power-off").map(|()| Done::Powered)
        });
    }

    /// Whether actions (or reconciliations) are still being carried out.
    pub fn busy(&mut self) -> bool {
        self.collect();
        self.take_fixes();
        !self.fixing.is_empty()
            || self
                .actions
                .iter()
                .any(|r| r.outcome == Outcome::InProgress)
    }

    /// Waits up to `limit` for the actions in flight to end (boots go on being followed), or
    /// until `give_up` says to stop waiting.
    pub fn drain(&mut self, limit: Duration, give_up: impl Fn() -> bool) {
        let until = Instant::now() + limit;
        while self.busy() && Instant::now() < until && !give_up() {
            if self.actions.iter().any(|r| r.waiting_for.is_some())
                || self.nodes.iter().any(|n| n.boot.is_some())
            {
                self.refresh(Duration::from_millis(200));
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.collect();
    }

    /// Stops what is in flight as far as it can be stopped, because the run is interrupted:
    /// migrations are aborted (libvirt then resumes the VM on its source; one past the point
    /// of no return completes), actions waiting for a boot fail. Starts, stops and power
    /// commands run to their end. [`Backend::drain`] then waits for them.
    pub fn interrupt(&mut self) {
        self.collect();
        let now = self.clock.now_s();
        for a in 0..self.actions.len() {
            if self.actions[a].outcome != Outcome::InProgress {
                continue;
            }
            if let Some(c) = &self.actions[a].cancel {
                c.store(true, Ordering::SeqCst);
            }
            if self.actions[a].waiting_for.is_some() {
                self.finish(
                    a,
                    now,
                    Err("cancelled: reconf was interrupted before its node came up".into()),
                );
            }
        }
    }

    /// Every action so far, as rows of `actions.csv`.
    pub fn action_rows(&self) -> Vec<ActionRow> {
        self.actions
            .iter()
            .enumerate()
            .map(|(i, r)| ActionRow {
                id: i as u32,
                start_s: round_ms(r.start_s),
                end_s: r.end_s.map(round_ms),
                kind: r.action.kind(),
                target: r.target.as_str().into(),
                destination: r.destination.as_str().into(),
                outcome: r.outcome.label(),
                reason: r.outcome.reason().to_string(),
                mb_sent: r.mb_sent,
                downtime_ms: r.downtime_ms,
                rounds: r.rounds,
            })
            .collect()
    }

    /// Node names and state labels now, for `nodes.csv`.
    pub fn node_states(&self) -> Vec<(String, &'static str, f64)> {
        (0..self.nodes.len())
            .map(|n| {
                (
                    self.node_name(n),
                    Self::state_label(self.node_state(n)),
                    self.nodes[n].cpu,
                )
            })
            .collect()
    }

    /// The SLA target of the first app (the summary has one figure).
    pub fn sla_target_ms(&self) -> f64 {
        self.cfg.apps.first().map_or(0.0, |a| a.sla_target_ms)
    }

    /// Where the managed domain `name` is now, by the backend's registry.
    pub fn location(&self, name: &str) -> Option<(usize, bool)> {
        self.by_name
            .get(name)
            .map(|&v| (self.vms[v].node, self.vms[v].alive))
    }

    /// The node named `name` (as the scenario names nodes), if any.
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        (0..self.nodes.len())
            .find(|&n| self.node_name(n) == name)
            .map(|n| NodeId(n as u32))
    }

    /// The tier `tier` of application `app`, if both exist.
    pub fn tier_by_name(&self, app: &str, tier: &str) -> Option<TierRef> {
        let ai = self.cfg.apps.iter().position(|a| a.name == app)?;
        let ti = self.cfg.apps[ai].tiers.iter().position(|t| t == tier)?;
        Some(TierRef {
            app: AppId(ai as u32),
            tier: ti as u32,
        })
    }

    /// Every (application, tier) name pair.
    pub fn app_tier_names(&self) -> Vec<(String, String)> {
        self.cfg
            .apps
            .iter()
            .flat_map(|a| a.tiers.iter().map(|t| (a.name.clone(), t.clone())))
            .collect()
    }

    /// The VM of managed domain `name`, if it was ever seen.
    pub fn vm_by_name(&self, name: &str) -> Option<VmId> {
        self.by_name.get(name).map(|&v| VmId(v as u32))
    }
}

/// Runs a power hook. The command may hold secrets (from the environment): never print it,
/// nor its output; only its exit status.
fn run_hook(command: &str, what: &str) -> Result<(), String> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{what} command could not run: {}", e.kind()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} command failed ({status})"))
    }
}

/// Wall-clock times to the millisecond: finer digits are noise and clutter the CSVs.
pub(crate) fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
