//! The live backend: builds the policy's [`View`] from a [`Hypervisor`] and carries out the
//! policy's actions on it, with the simulator's semantics (see `src/sim/control.rs`):
//!
//! - CPU figures are busy time over the control period, from CPU-time counter deltas: a
//!   replica's utilisation is its domain's CPU time / (period × vCPUs), a node's is the sum over
//!   all its active domains (managed or not: they all load the host) / (period × cores);
//! - a node's free RAM is its memory − `host_reserved_ram_mb` − the memory of its active
//!   domains − what accepted actions still in flight will bring (incoming migrations, starts);
//! - the view lists the actions in progress, and those that ended since the previous view, each
//!   ended action exactly once;
//! - ids are never reused: a domain keeps its `VmId` (= its `ReplicaId`) for the whole run.
//!
//! Impossible actions are refused at once with the simulator's words; possible ones run on a
//! worker thread (a migration takes seconds; the control loop keeps its period) and end as done
//! or failed, seen by the policy in a later view. Whatever fails, a VM stays on exactly one host:
//! libvirt aborts an incomplete pre-copy migration with the VM still running on its source.
//!
//! Units: libvirt reports KiB; the view uses the scenario's MB (10^6 bytes).

use super::hypervisor::{DomainInfo, DomainState, HostInfo, Hypervisor, MigrateOptions};
use super::naming::{domain_name, parse_domain_name};
use crate::report::output::ActionRow;
use reconf_api::{
    Action, ActionId, ActionView, AppId, AppView, Mode, NodeId, NodeState, NodeView, Outcome,
    ReplicaId, ReplicaState, ReplicaView, TierRef, TierView, View, VmId, VmView,
};
use std::collections::{BTreeMap, HashMap};
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
    /// Cores used over the last period.
    cores_used: f64,
}

#[derive(Clone, Debug, Default)]
struct Node {
    /// Marked usable (power-on) or not (power-off).
    usable: bool,
    /// A power hook is running.
    booting: bool,
    shutting_down: bool,
    /// Last answer of the host; `None` while unreachable.
    info: Option<HostInfo>,
    /// Its domains at the last refresh (kept while unreachable).
    domains: Vec<DomainInfo>,
    cpu: f64,
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
}

/// The live backend over a hypervisor.
pub struct Backend {
    hv: Arc<dyn Hypervisor>,
    cfg: Config,
    nodes: Vec<Node>,
    vms: Vec<Vm>,
    by_name: HashMap<String, usize>,
    actions: Vec<Record>,
    /// CPU-time counter of each domain, keyed (host, name), at the previous sample.
    marks: HashMap<(usize, String), u64>,
    last_sample_s: Option<f64>,
    tx: Sender<(usize, f64, Result<Done, String>)>,
    rx: Receiver<(usize, f64, Result<Done, String>)>,
    /// When the run started: workers stamp their end with seconds since then.
    epoch: Instant,
    pub totals: Totals,
}

impl Backend {
    /// A backend over `hv`, whose hosts are `cfg.node_names` in order; `epoch` is time 0 of
    /// the run (views and action records are stamped in seconds since then).
    pub fn new(hv: Arc<dyn Hypervisor>, cfg: Config, epoch: Instant) -> Self {
        let (tx, rx) = channel();
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
            last_sample_s: None,
            tx,
            rx,
            epoch,
            totals: Totals::default(),
        }
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

    /// State of node `n` as the policy sees it. An unreachable host is shown `off`: nothing can
    /// be placed on it, and its VMs keep their last known figures.
    fn node_state(&self, n: usize) -> NodeState {
        let node = &self.nodes[n];
        if node.booting {
            NodeState::Booting
        } else if node.shutting_down {
            NodeState::ShuttingDown
        } else if !node.usable || node.info.is_none() {
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
        }
    }

    /// RAM free for a new VM on node `n`, in MB: memory − host reserve − its active domains −
    /// VMs on their way to it (migrations and starts in flight not yet listed on it).
    pub fn node_free_ram_mb(&self, n: usize) -> f64 {
        let node = &self.nodes[n];
        let Some(info) = &node.info else {
            return 0.0;
        };
        let listed: f64 = node
            .domains
            .iter()
            .filter(|d| d.state == DomainState::Active)
            .map(|d| kib_to_mb(d.memory_kib))
            .sum();
        let on_its_way: f64 = self
            .vms
            .iter()
            .filter(|v| v.alive)
            .filter(|v| v.migrating_to == Some(n) || (v.starting && v.node == n))
            .filter(|v| !node.domains.iter().any(|d| d.name == v.name))
            .map(|v| v.ram_mb)
            .sum();
        (kib_to_mb(info.memory_kib) - self.cfg.host_reserved_ram_mb - listed - on_its_way).max(0.0)
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
                let r = &mut self.actions[a];
                r.mb_sent = *mb;
                r.downtime_ms = *downtime_ms;
                r.rounds = *rounds;
                self.totals.migrations += 1;
                self.totals.migration_time_s += end_s - r.start_s;
                self.totals.migration_mb += mb;
                self.totals.migration_downtime_s += downtime_ms / 1000.0;
            }
            (Action::Migrate { .. }, Err(_)) => {
                self.vms[vm.expect("migration of a VM")].migrating_to = None;
            }
            (Action::StartReplica { .. }, Ok(_)) => {
                self.vms[vm.expect("a new VM")].starting = false;
                self.totals.replicas_started += 1;
            }
            (Action::StartReplica { .. }, Err(_)) => {
                let v = &mut self.vms[vm.expect("a new VM")];
                v.starting = false;
                v.alive = false;
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
            (Action::PowerOn { node }, r) => {
                let n = &mut self.nodes[node.index()];
                n.booting = false;
                if r.is_ok() {
                    n.usable = true;
                }
            }
            (Action::PowerOff { node }, r) => {
                let n = &mut self.nodes[node.index()];
                n.shutting_down = false;
                if r.is_ok() {
                    n.usable = false;
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

    /// Reads every host and updates the registry of managed domains and the CPU figures over
    /// the period ending at `now_s`. The first call only takes the baseline counters.
    pub fn sample(&mut self, now_s: f64) {
        self.collect();
        let period = self.last_sample_s.map(|t| now_s - t);
        let apps = self.apps_names();
        let mut marks = HashMap::new();
        let mut used: HashMap<String, f64> = HashMap::new();
        let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
        for h in 0..self.nodes.len() {
            let answer = self
                .hv
                .host_info(h)
                .and_then(|i| self.hv.domains(h).map(|d| (i, d)));
            let (info, mut domains) = match answer {
                Ok(x) => x,
                Err(e) => {
                    if self.nodes[h].info.is_some() {
                        eprintln!("warning: host {} unreachable: {e}", self.hv.label(h));
                    }
                    self.nodes[h].info = None;
                    self.nodes[h].cpu = 0.0;
                    // Its VMs keep their last figures: they still run, as far as we know.
                    for v in self.vms.iter().filter(|v| v.node == h && v.alive) {
                        seen.entry(v.name.clone()).or_default().push(h);
                    }
                    continue;
                }
            };
            // New domains get their ids in name order: the same hosts give the same ids.
            domains.sort_by(|a, b| a.name.cmp(&b.name));
            let mut busy = 0.0;
            for d in domains.iter().filter(|d| d.state == DomainState::Active) {
                let key = (h, d.name.clone());
                // A counter that went back (or is new) belongs to a process started during the
                // period (a start, or the destination of a migration): all of it is recent.
                let delta = match self.marks.get(&key) {
                    Some(&before) if d.cpu_time_ns >= before => d.cpu_time_ns - before,
                    _ => d.cpu_time_ns,
                };
                marks.insert(key, d.cpu_time_ns);
                let cores = match period {
                    // A domain cannot use more than its vCPUs: clamp counter glitches.
                    Some(p) if p > 0.0 => (delta as f64 / 1e9 / p).min(f64::from(d.vcpus)),
                    _ => 0.0,
                };
                busy += cores;
                if parse_domain_name(&d.name, &apps).is_some() {
                    *used.entry(d.name.clone()).or_default() += cores;
                    seen.entry(d.name.clone()).or_default().push(h);
                }
            }
            for d in &domains {
                if let Some((app, tier, _)) = parse_domain_name(&d.name, &apps) {
                    if d.state == DomainState::Active && !self.by_name.contains_key(&d.name) {
                        self.by_name.insert(d.name.clone(), self.vms.len());
                        self.vms.push(Vm {
                            name: d.name.clone(),
                            app,
                            tier,
                            node: h,
                            alive: true,
                            vcpus: f64::from(d.vcpus),
                            ram_mb: kib_to_mb(d.memory_kib),
                            migrating_to: None,
                            starting: false,
                            stopping: false,
                            cores_used: 0.0,
                        });
                    }
                }
            }
            self.nodes[h].cpu = match period {
                Some(p) if p > 0.0 && info.cores > 0 => (busy / f64::from(info.cores)).min(1.0),
                _ => 0.0,
            };
            self.nodes[h].info = Some(info);
            self.nodes[h].domains = domains;
        }
        // Where each managed VM is: the node it was on while it is still listed there (the
        // source, during a migration), otherwise the one it appeared on.
        for v in &mut self.vms {
            let hosts = seen.get(&v.name).cloned().unwrap_or_default();
            if hosts.contains(&v.node) {
                v.alive = true;
            } else if let Some(&h) = hosts.first() {
                v.node = h;
                v.alive = true;
            } else if !v.starting {
                v.alive = false;
            }
            if let Some(d) = self.nodes[v.node]
                .domains
                .iter()
                .find(|d| d.name == v.name && d.state == DomainState::Active)
            {
                v.vcpus = f64::from(d.vcpus);
                v.ram_mb = kib_to_mb(d.memory_kib);
            }
            v.cores_used = if v.alive {
                used.get(&v.name).copied().unwrap_or(0.0)
            } else {
                0.0
            };
        }
        // Keep the marks of unreachable hosts: their counters continue.
        for ((h, name), m) in &self.marks {
            if self.nodes[*h].info.is_none() {
                marks.insert((*h, name.clone()), *m);
            }
        }
        self.marks = marks;
        self.last_sample_s = Some(now_s);
    }

    /// Samples the hosts and builds the view at `now_s` (seconds since the run started).
    pub fn view(&mut self, now_s: f64) -> View {
        let period_s = self.last_sample_s.map_or(0.0, |t| now_s - t);
        self.sample(now_s);
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
                    free_ram_mb: self.node_free_ram_mb(n),
                    cpu_utilisation: node.cpu,
                    power_w: 0.0,
                    vms: self
                        .vms
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.alive && v.node == n)
                        .map(|(i, _)| VmId(i as u32))
                        .collect(),
                    replica: None,
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
                node: NodeId(v.node as u32),
                migrating_to: v.migrating_to.map(|n| NodeId(n as u32)),
                vcpus: v.vcpus,
                ram_mb: v.ram_mb,
                replica: ReplicaId(i as u32),
                cpu_cores_used: v.cores_used,
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
        }
    }

    fn replica_state(&self, v: &Vm) -> ReplicaState {
        if !v.alive {
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
            Action::Migrate { vm, to } => (
                self.vms
                    .get(vm.index())
                    .map_or_else(|| format!("vm#{}", vm.0), |v| v.name.clone()),
                self.node_name(to.index()),
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

    /// Carries out `action` at `now_s`: refuses it at once if impossible, otherwise starts it
    /// on a worker thread (or, with `dry_run`, prints it and records it refused as not carried
    /// out). Returns its id.
    pub fn execute(&mut self, now_s: f64, action: Action) -> ActionId {
        self.collect();
        let a = self.record(now_s, &action);
        let checked = match &action {
            Action::PowerOn { node } => self.check_power_on(*node),
            Action::PowerOff { node } => self.check_power_off(*node),
            Action::StartReplica { tier, node } => self.check_start(*tier, *node).map(|_| ()),
            Action::StopReplica { replica, .. } => self.check_stop(*replica),
            Action::Migrate { vm, to } => self.check_migrate(*vm, *to),
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
            Action::PowerOn { node } => self.power(a, node.index(), true),
            Action::PowerOff { node } => self.power(a, node.index(), false),
            Action::StartReplica { tier, node } => self.start(a, tier, node.index()),
            Action::StopReplica { replica, .. } => self.stop(a, replica.index()),
            Action::Migrate { vm, to } => self.migrate(a, vm.index(), to.index()),
        }
        ActionId(a as u32)
    }

    fn check_node(&self, node: NodeId) -> Result<NodeState, String> {
        if node.index() >= self.nodes.len() {
            return Err("no such node".into());
        }
        Ok(self.node_state(node.index()))
    }

    fn check_power_on(&self, node: NodeId) -> Result<(), String> {
        let state = self.check_node(node)?;
        if state != NodeState::Off {
            return Err(format!("node is {}, not off", Self::state_label(state)));
        }
        Ok(())
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
            .filter(|d| d.state == DomainState::Active)
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

    fn check_start(&self, tier: TierRef, node: NodeId) -> Result<&str, String> {
        let (ai, ti) = (tier.app.index(), tier.tier as usize);
        let Some(app) = self.cfg.apps.get(ai).filter(|a| ti < a.tiers.len()) else {
            return Err("no such tier".into());
        };
        match self.check_node(node)? {
            NodeState::On => {}
            NodeState::ShuttingDown => return Err("node is shutting down".into()),
            // The simulator boots an off node first; a real node is powered on by a separate
            // `power-on` (its hook), so a start on it waits for the policy to ask for that.
            s => return Err(format!("node is {}, not on", Self::state_label(s))),
        }
        let Some(template) = self.cfg.templates.get(&(ai, ti)) else {
            return Err(format!(
                "no template for tier `{}.{}` in [live] templates",
                app.name, app.tiers[ti]
            ));
        };
        if let Some(kib) = template_memory_kib(template) {
            let free = self.node_free_ram_mb(node.index());
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
            ReplicaState::Active => {}
        }
        if v.migrating_to.is_some() {
            return Err("its VM is migrating".into());
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
        if state != NodeState::On {
            return Err(format!("destination node is {}", Self::state_label(state)));
        }
        let free = self.node_free_ram_mb(to.index());
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
        let epoch = self.epoch;
        std::thread::spawn(move || {
            let result = job(hv.as_ref());
            let _ = tx.send((a, epoch.elapsed().as_secs_f64(), result));
        });
    }

    fn migrate(&mut self, a: usize, v: usize, to: usize) {
        self.actions[a].vm = Some(v);
        let vm = &mut self.vms[v];
        vm.migrating_to = Some(to);
        let (name, from, ram_mb) = (vm.name.clone(), vm.node, vm.ram_mb);
        let opts = self.cfg.migrate.clone();
        self.spawn(a, move |hv| {
            let stats = hv
                .migrate(&name, from, to, &opts)
                .map_err(|e| format!("migration failed: {e}"))?;
            Ok(Done::Migrated {
                mb: stats.bytes.map_or(ram_mb, |b| b as f64 / 1e6),
                downtime_ms: stats.downtime_ms.unwrap_or(0) as f64,
                rounds: stats.rounds.unwrap_or(0),
            })
        });
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
        let xml = instantiate_template(&template, &name);
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
        });
        self.actions[a].vm = Some(v);
        self.actions[a].target = name;
        self.spawn(a, move |hv| {
            hv.start(node, &xml)
                .map(|()| Done::Started)
                .map_err(|e| format!("start failed: {e}"))
        });
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

    fn power(&mut self, a: usize, n: usize, on: bool) {
        let command = if on {
            self.cfg.power_on_command.clone()
        } else {
            self.cfg.power_off_command.clone()
        };
        let Some(command) = command else {
            // No hook: the node is only marked usable or not, at once.
            self.nodes[n].usable = on;
            let r = &mut self.actions[a];
            r.end_s = Some(r.start_s);
            r.outcome = Outcome::Done;
            return;
        };
        if on {
            self.nodes[n].booting = true;
        } else {
            self.nodes[n].shutting_down = true;
        }
        let command = command
            .replace("{node}", &self.node_name(n))
            .replace("{index}", &n.to_string())
            .replace("{uri}", &self.hv.label(n));
        let what = if on { "power-on" } else { "power-off" };
        self.spawn(a, move |_| {
            // The command may hold secrets (from the environment): never print it, nor its
            // output; only its exit status.
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .map_err(|e| format!("{what} command could not run: {}", e.kind()))?;
            if status.success() {
                Ok(Done::Powered)
            } else {
                Err(format!("{what} command failed ({status})"))
            }
        });
    }

    /// Whether actions are still being carried out.
    pub fn busy(&mut self) -> bool {
        self.collect();
        self.actions
            .iter()
            .any(|r| r.outcome == Outcome::InProgress)
    }

    /// Waits up to `limit` for the actions in flight to end.
    pub fn drain(&mut self, limit: Duration) {
        let until = Instant::now() + limit;
        while self.busy() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
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
                kind: r.action.kind().to_string(),
                target: r.target.clone(),
                destination: r.destination.clone(),
                outcome: r.outcome.label().to_string(),
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
}

/// Wall-clock times to the millisecond: finer digits are noise and clutter the CSVs.
pub(crate) fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The `<memory>` of a domain XML, in KiB (honouring its `unit`).
pub fn template_memory_kib(xml: &str) -> Option<u64> {
    let (attrs, text) = element(xml, "memory")?;
    let value: f64 = text.trim().parse().ok()?;
    let unit = attr(attrs, "unit").unwrap_or("KiB");
    let bytes = match unit {
        "b" | "bytes" => 1.0,
        "KB" => 1e3,
        "k" | "KiB" => 1024.0,
        "MB" => 1e6,
        "M" | "MiB" => 1024.0 * 1024.0,
        "GB" => 1e9,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((value * bytes / 1024.0).round() as u64)
}

fn template_vcpus(xml: &str) -> Option<f64> {
    element(xml, "vcpu")?.1.trim().parse().ok()
}

/// The attributes and text of the first `<tag ...>text</tag>` in `xml` (enough for the flat
/// elements of a domain's top level; not a general XML parser).
fn element<'a>(xml: &'a str, tag: &str) -> Option<(&'a str, &'a str)> {
    let xml = &xml[xml.find("<domain").unwrap_or(0)..];
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let start = from + i + open.len();
        let rest = &xml[start..];
        if rest.starts_with(['>', ' ', '\t', '\n', '\r']) {
            let gt = rest.find('>')?;
            let attrs = &rest[..gt];
            let body = &rest[gt + 1..];
            let end = body.find(&format!("</{tag}>"))?;
            return Some((attrs, &body[..end]));
        }
        from = start;
    }
    None
}

fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    for q in ['\'', '"'] {
        let key = format!("{name}={q}");
        if let Some(i) = attrs.find(&key) {
            let v = &attrs[i + key.len()..];
            return v.find(q).map(|e| &v[..e]);
        }
    }
    None
}

/// A template with its `<name>` set to `name` and its `<uuid>` removed (libvirt then makes a
/// fresh one, so two replicas from one template never clash).
pub fn instantiate_template(template: &str, name: &str) -> String {
    // From the root element on: a comment before it may well mention `<name>`.
    let root = template.find("<domain").unwrap_or(0);
    let (head, body) = template.split_at(root);
    let mut xml = body.to_string();
    if let (Some(s), Some(e)) = (xml.find("<name>"), xml.find("</name>")) {
        if s < e {
            xml.replace_range(s..e + "</name>".len(), &format!("<name>{name}</name>"));
        }
    }
    if let (Some(s), Some(e)) = (xml.find("<uuid>"), xml.find("</uuid>")) {
        if s < e {
            xml.replace_range(s..e + "</uuid>".len(), "");
        }
    }
    format!("{head}{xml}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_instantiated_and_read() {
        let t = "<!-- reconf sets <name> and <memory> -->\n<domain type='qemu'>\n  <name>x</name>\n  <uuid>1234</uuid>\n  <memory unit='MiB'>128</memory>\n  <vcpu placement='static'>2</vcpu>\n</domain>";
        let x = instantiate_template(t, "rubis-app-3");
        assert!(x.contains("<name>rubis-app-3</name>"));
        assert!(!x.contains("uuid"));
        assert_eq!(template_memory_kib(t), Some(131072));
        assert_eq!(template_vcpus(t), Some(2.0));
        assert_eq!(template_memory_kib("<memory>65536</memory>"), Some(65536));
    }
}
