//! Faults: when nodes and servers crash, and when they are repaired.
//!
//! Each node draws its crashes from a random stream of its own (`node-faults[n]`), each fault
//! group from its own (`group-faults[g]`), each replica from its own (`replica-faults[app][tier]
//! [k]`, k its number in its tier), so that two strategies run with one seed face the same fault
//! times: what a crash breaks depends on what the strategy put there. A process is an alternating
//! renewal: a time to failure, a crash, a repair (queued for one of a limited number of repair
//! crews, if the scenario says so), a time to failure again.
//!
//! [`Faults`] owns this state and the record of every fault; `crash` carries out a crash's
//! consequences through the cluster, the applications and the action log; `record` is what is
//! reported of it.

mod crash;
mod record;
mod time;

pub(crate) use record::FaultRecord;

use crate::engine::{rng, Rng, SimTime};
use crate::scenario::faults::{Faults as FaultsConfig, ScriptedFault};
use std::collections::VecDeque;
use time::FaultSampler;

/// The fault subsystem's timed steps.
#[derive(Clone, Copy, Debug)]
pub enum FaultEvent {
    /// Node `node`'s class process says it crashes now (unless its `gen` moved on).
    NodeFails { node: u32, gen: u32 },
    /// Node `node`, crashed, is repaired now (unless its `gen` moved on).
    NodeRepaired { node: u32, gen: u32 },
    /// Fault group `group` crashes now.
    GroupFails { group: u32, gen: u32 },
    /// The nodes fault group `group` crashed are repaired now.
    GroupRepaired { group: u32, gen: u32 },
    /// Server `server`'s process crashes now.
    ReplicaFails { server: u32, gen: u32 },
    /// Server `server`, crashed, is restarted in place now.
    ReplicaRepaired { server: u32, gen: u32 },
    /// Scripted fault `index` is due.
    Scripted { index: u32 },
}

impl FaultEvent {
    /// The event packed in 8 bytes (three bits of kind, 29 of index, the generation), so that
    /// the queue's events stay small.
    pub fn pack(self) -> PackedFault {
        let (kind, index, gen) = match self {
            FaultEvent::NodeFails { node, gen } => (0, node, gen),
            FaultEvent::NodeRepaired { node, gen } => (1, node, gen),
            FaultEvent::GroupFails { group, gen } => (2, group, gen),
            FaultEvent::GroupRepaired { group, gen } => (3, group, gen),
            FaultEvent::ReplicaFails { server, gen } => (4, server, gen),
            FaultEvent::ReplicaRepaired { server, gen } => (5, server, gen),
            FaultEvent::Scripted { index } => (6, index, 0),
        };
        assert!(
            index < 1 << 29,
            "fewer than 2^29 nodes, groups and replicas"
        );
        PackedFault {
            code: (kind << 29) | index,
            gen,
        }
    }
}

/// A [`FaultEvent`] as the event queue holds it.
#[derive(Clone, Copy, Debug)]
pub struct PackedFault {
    code: u32,
    gen: u32,
}

impl PackedFault {
    pub fn unpack(self) -> FaultEvent {
        let (kind, index, gen) = (self.code >> 29, self.code & ((1 << 29) - 1), self.gen);
        match kind {
            0 => FaultEvent::NodeFails { node: index, gen },
            1 => FaultEvent::NodeRepaired { node: index, gen },
            2 => FaultEvent::GroupFails { group: index, gen },
            3 => FaultEvent::GroupRepaired { group: index, gen },
            4 => FaultEvent::ReplicaFails { server: index, gen },
            5 => FaultEvent::ReplicaRepaired { server: index, gen },
            _ => FaultEvent::Scripted { index },
        }
    }
}

/// What crashes and repairs of one class of things (a node group, a tier) follow.
struct Process {
    ttf: FaultSampler,
    repair: Option<FaultSampler>,
    /// Repairs that may run at once (0: no limit), those running, those waiting.
    crews: u32,
    busy: u32,
    queue: VecDeque<u32>,
}

impl Process {
    fn new(
        ttf: &crate::scenario::faults::FaultTime,
        repair: Option<&crate::scenario::faults::FaultTime>,
        crews: u32,
    ) -> Self {
        Process {
            ttf: FaultSampler::new(ttf),
            repair: repair.map(FaultSampler::new),
            crews,
            busy: 0,
            queue: VecDeque::new(),
        }
    }

    /// Whether a crew is free for one more repair.
    fn crew_free(&self) -> bool {
        self.crews == 0 || self.busy < self.crews
    }
}

/// A node's faults.
struct NodeRt {
    /// Its class (index in `Faults::node_classes`), if its group has random crashes.
    class: Option<usize>,
    rng: Rng,
    /// Bumped at every crash of the node.
    gen: u32,
    /// A crew of its class repairs it now.
    crew_held: bool,
    /// The record of its current crash.
    record: Option<usize>,
}

/// A fault group's faults.
struct GroupRt {
    name: String,
    nodes: Vec<u32>,
    ttf: Option<FaultSampler>,
    repair: Option<FaultSampler>,
    rng: Rng,
    gen: u32,
    /// The nodes its last crash took down, with their generation then.
    crashed: Vec<(u32, u32)>,
}

/// A server's faults.
#[derive(Default)]
struct ServerRt {
    rng: Option<Rng>,
    gen: u32,
    crew_held: bool,
    queued: bool,
    /// Since when it has been down, and the record of the fault that took it.
    lost: Option<(SimTime, usize)>,
}

/// Every fault process of a run, and what the faults did.
pub(crate) struct Faults {
    /// The scenario has a `[faults]` section: the fault figures and `failures.csv` are reported.
    pub enabled: bool,
    seed: u64,
    node_classes: Vec<Process>,
    nodes: Vec<NodeRt>,
    groups: Vec<GroupRt>,
    /// Per app, per tier: its process (index in `tier_classes`).
    tiers: Vec<Vec<Option<usize>>>,
    tier_classes: Vec<Process>,
    servers: Vec<ServerRt>,
    scripted: Vec<ScriptedFault>,
    pub records: Vec<FaultRecord>,
    /// Replica outages ended (back behind their balancer) and their total length.
    pub repairs: u64,
    pub repair_ns: u64,
    pub nodes_repaired: u64,
}

/// Names to resolve a `[faults]` section against.
pub(crate) struct FaultNames<'a> {
    /// Per node: its name and its group's name.
    pub nodes: Vec<(String, &'a str)>,
    /// Per app: its name and its tiers' names.
    pub apps: Vec<(&'a str, Vec<&'a str>)>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults {
            enabled: false,
            seed: 0,
            node_classes: Vec::new(),
            nodes: Vec::new(),
            groups: Vec::new(),
            tiers: Vec::new(),
            tier_classes: Vec::new(),
            servers: Vec::new(),
            scripted: Vec::new(),
            records: Vec::new(),
            repairs: 0,
            repair_ns: 0,
            nodes_repaired: 0,
        }
    }

    /// The fault processes of a validated `[faults]` section.
    pub fn new(seed: u64, cfg: &FaultsConfig, names: &FaultNames<'_>) -> Self {
        let mut f = Faults::none();
        f.enabled = true;
        f.seed = seed;
        let mut class_of_group = std::collections::BTreeMap::new();
        for nf in &cfg.nodes {
            class_of_group.insert(nf.group.as_str(), f.node_classes.len());
            f.node_classes.push(Process::new(
                &nf.time_to_failure,
                nf.repair.as_ref(),
                nf.repair_crews,
            ));
        }
        f.nodes = names
            .nodes
            .iter()
            .enumerate()
            .map(|(n, (_, group))| NodeRt {
                class: class_of_group.get(group).copied(),
                rng: rng::stream(seed, "node-faults", n as u64, 0, 0),
                gen: 0,
                crew_held: false,
                record: None,
            })
            .collect();
        f.groups = cfg
            .groups
            .iter()
            .enumerate()
            .map(|(g, fg)| GroupRt {
                name: fg.name.clone(),
                nodes: fg
                    .nodes
                    .iter()
                    .map(|name| {
                        names
                            .nodes
                            .iter()
                            .position(|(x, _)| x == name)
                            .expect("validated: the group's nodes exist")
                            as u32
                    })
                    .collect(),
                ttf: fg.time_to_failure.as_ref().map(FaultSampler::new),
                repair: fg.repair.as_ref().map(FaultSampler::new),
                rng: rng::stream(seed, "group-faults", g as u64, 0, 0),
                gen: 0,
                crashed: Vec::new(),
            })
            .collect();
        f.tiers = names
            .apps
            .iter()
            .map(|(_, tiers)| vec![None; tiers.len()])
            .collect();
        for rf in &cfg.replicas {
            let ai = names
                .apps
                .iter()
                .position(|(a, _)| *a == rf.app)
                .expect("validated: the app exists");
            let ti = names.apps[ai]
                .1
                .iter()
                .position(|t| *t == rf.tier)
                .expect("validated: the tier exists");
            f.tiers[ai][ti] = Some(f.tier_classes.len());
            f.tier_classes.push(Process::new(
                &rf.time_to_failure,
                rf.repair.as_ref(),
                rf.repair_crews,
            ));
        }
        f.scripted = cfg.scripted.clone();
        f
    }

    /// The first events of every fault process: node and group crashes, scripted faults
    /// (replicas' processes start when they become active).
    pub fn first_events(&mut self) -> Vec<(SimTime, FaultEvent)> {
        let mut out = Vec::new();
        for n in 0..self.nodes.len() {
            if let Some(c) = self.nodes[n].class {
                let t = self.node_classes[c].ttf.sample_s(&mut self.nodes[n].rng);
                out.push((
                    SimTime::from_secs(t),
                    FaultEvent::NodeFails {
                        node: n as u32,
                        gen: 0,
                    },
                ));
            }
        }
        for (g, group) in self.groups.iter_mut().enumerate() {
            if let Some(ttf) = group.ttf {
                let t = ttf.sample_s(&mut group.rng);
                out.push((
                    SimTime::from_secs(t),
                    FaultEvent::GroupFails {
                        group: g as u32,
                        gen: 0,
                    },
                ));
            }
        }
        for (i, s) in self.scripted.iter().enumerate() {
            out.push((
                SimTime::from_secs(s.at_s),
                FaultEvent::Scripted { index: i as u32 },
            ));
        }
        out
    }

    fn server(&mut self, s: u32) -> &mut ServerRt {
        let s = s as usize;
        if self.servers.len() <= s {
            self.servers.resize_with(s + 1, ServerRt::default);
        }
        &mut self.servers[s]
    }

    /// The mean length of the replica outages that ended, in seconds (0 if none).
    pub fn mean_time_to_repair_s(&self) -> f64 {
        if self.repairs == 0 {
            0.0
        } else {
            crate::engine::time::ns_to_secs(self.repair_ns) / self.repairs as f64
        }
    }
}
