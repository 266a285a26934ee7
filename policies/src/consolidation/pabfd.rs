//! Power-aware best-fit decreasing (PABFD), CloudSim's `findHostForVm`: for a VM with request
//! `r`, among the hosts not excluded, those that are suitable (a core of at least `r`, `r` of
//! CPU free, its RAM free) and — if they already have CPU allocated — not overloaded with the
//! VM added (empty hosts skip that check), the one whose power rises least:
//! `ΔP = P_h((A_h + r)/C_h) − P_h(U_h)`, `A_h` the CPU allocated now (tentative placements of
//! the round included), `U_h` the utilisation at the round's start (not updated by tentative
//! placements, as CloudSim's). Ties go to the lowest host id. Waking an empty host costs
//! `P(r/C) − P(0)`: no idle-power penalty (CloudSim's rule).
//!
//! **Exact arithmetic.** ΔP is computed in integers: utilisations in units of 10⁻⁸
//! ([`fixed`]), the power curve in mW, so `ΔP` is exact and two hosts in the same situation tie
//! exactly (in floating point their ΔP would differ in the last bits, and which host wins would
//! depend on rounding noise: CloudSim's choice among hosts of equal ΔP is that noise). "`r` of
//! CPU free" is `A_h/C_h + r/C_h ≤ 1` in these units: a tolerance of 10⁻⁸ of a host's capacity.
//!
//! RAM: checked against each node's `free_ram_mb` in the view, at every placement. Under
//! CloudSim's accounting (scenario key `infrastructure.ram_limit = "at-start"`) the simulator
//! reports it infinite after t = 0, as CloudSim stops counting it then (its VMs request none).
//!
//! [`HostIndex`] finds the same host as the linear scan [`find_host_naive`] without looking at
//! every host. Empty hosts of one kind (same capacity, core speed, power curve and free RAM) all
//! give the same ΔP and skip the overload check, so only the lowest-numbered one of each kind is
//! a candidate. The other hosts, beyond a few hundred, are filed by their allocated utilisation
//! `a`: for the hosts whose `a + r/C` falls in the curve's `j`-th tenth, `ΔP = s_j·a − P(U_h) +
//! c_j(r)` (`s_j` the tenth's slope), so the best of them is a range minimum of `s_j·a − P(U_h)`
//! over `a`, kept per bucket of `a` in a segment tree (one per tenth). The best candidate is
//! then checked for RAM and overload; one that fails is set aside and the next best is sought.
//!
//! The overload check is mostly answered without trying hosts one by one: each host carries its
//! slack under the detector ([`super::slack`]), each tree node the largest slack below it, and
//! the search descends only into nodes that hold a host the VM might pass on and that could beat
//! the best found so far (branch and bound). A search that finds no host, as most of the underload
//! step's do, thus costs a few tree paths instead of a history per candidate.

use super::history::VmHistories;
use super::overload::Detector;
use super::plan::Plan;
use super::slack::{HostSlack, OverloadModel, VmAsk};
use crate::api::{View, VmId};
use std::collections::{BTreeSet, HashMap};

/// What a search needs besides the plan (for one round: the histories must not change).
pub struct Search<'a> {
    pub view: &'a View,
    pub detector: &'a Detector,
    pub hist: &'a VmHistories,
    /// The detector as slacks (what the index prunes with).
    pub overload: OverloadModel,
}

impl<'a> Search<'a> {
    pub fn new(view: &'a View, detector: &'a Detector, hist: &'a VmHistories) -> Self {
        Search {
            view,
            detector,
            hist,
            overload: OverloadModel::new(view, detector, hist),
        }
    }

    /// Whether host `h` is overloaded with its VMs in `plan` (the slack's answer where it is
    /// sure, the detector's otherwise; `scratch` holds the host history).
    pub fn overloaded(&self, plan: &Plan, h: usize, scratch: &mut Vec<f64>) -> bool {
        self.overload
            .overloaded(plan, h)
            .unwrap_or_else(|| plan.overloaded(h, None, self.detector, self.hist, scratch))
    }
}

/// Utilisation 1 in fixed point.
const ONE: i64 = 100_000_000;
/// A tenth of utilisation (one segment of a power curve) in fixed point.
const TENTH: i64 = ONE / 10;

/// Utilisation `u` in fixed point (units of 10⁻⁸).
#[inline]
pub fn fixed(u: f64) -> i64 {
    (u * ONE as f64).round() as i64
}

/// A power curve in mW at each tenth of utilisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Curve([i64; 11]);

impl Curve {
    fn of(w: &[f64; 11]) -> Self {
        Curve(w.map(|w| (w * 1000.0).round() as i64))
    }

    /// Slope of tenth `j`, in mW per tenth.
    #[inline]
    fn slope(&self, j: usize) -> i64 {
        self.0[j + 1] - self.0[j]
    }

    /// Power at fixed-point utilisation `x` (clamped to 0..1), in mW × [`TENTH`] (exact).
    #[inline]
    fn at(&self, x: i64) -> i64 {
        let x = x.clamp(0, ONE);
        let j = ((x / TENTH) as usize).min(9);
        self.0[j] * TENTH + self.slope(j) * (x - j as i64 * TENTH)
    }
}

/// Host `h`'s allocated utilisation in fixed point.
#[inline]
fn allocated_fixed(plan: &Plan, h: usize) -> i64 {
    let cap = plan.capacity[h];
    if cap > 0.0 {
        fixed(plan.allocated[h] / cap)
    } else {
        ONE
    }
}

/// `r` as a fixed-point share of host `h`'s capacity.
#[inline]
fn request_fixed(plan: &Plan, h: usize, r: f64) -> i64 {
    let cap = plan.capacity[h];
    if cap > 0.0 {
        fixed(r / cap)
    } else {
        ONE + 1
    }
}

/// ΔP of placing a VM with request `r` on host `h` (mW × [`TENTH`]), if suitable.
#[inline]
fn delta_power(plan: &Plan, s: &Search<'_>, h: usize, v: VmId, r: f64) -> Option<i64> {
    let x = allocated_fixed(plan, h) + request_fixed(plan, h, r);
    if !(plan.usable[h] && plan.core[h] >= r && x <= ONE && plan.fits_ram(h, v)) {
        return None;
    }
    let curve = Curve::of(&s.view.nodes[h].power_curve_w);
    Some(curve.at(x) - curve.at(fixed(plan.start_utilisation[h])))
}

/// Whether host `h` passes the overload check with the VM added (skipped if nothing is
/// allocated on it).
#[inline]
fn passes(plan: &Plan, s: &Search<'_>, h: usize, v: VmId, r: f64, scratch: &mut Vec<f64>) -> bool {
    plan.allocated[h] == 0.0 || !plan.overloaded(h, Some((v, r)), s.detector, s.hist, scratch)
}

/// PABFD by scanning every host in id order (the reference the index must agree with).
pub fn find_host_naive(
    plan: &Plan,
    s: &Search<'_>,
    excluded: &[bool],
    v: VmId,
    r: f64,
    scratch: &mut Vec<f64>,
) -> Option<usize> {
    let mut best: Option<(i64, usize)> = None;
    for (h, _) in excluded.iter().enumerate().filter(|(_, &x)| !x) {
        let Some(dp) = delta_power(plan, s, h, v, r) else {
            continue;
        };
        if best.is_none_or(|(b, _)| dp < b) && passes(plan, s, h, v, r, scratch) {
            best = Some((dp, h));
        }
    }
    best.map(|(_, h)| h)
}

/// Eligible hosts that are not empty below this many are scanned; beyond, filed in buckets.
const SCAN_MAX: usize = 256;

/// At most this many hosts per bucket on average (the bucket count is rounded up to a power of
/// two: 4 to 8). A bucket's hosts are looked through one by one and each tree node costs a
/// bound, so fuller buckets trade scans for a smaller, shallower tree that stays in cache. One
/// host per bucket (the first version) ran 6.5% more instructions on CloudSim's day (800 hosts)
/// and 3.1% more at 1,000 hosts; at 10,000 hosts the timings pointed the same way (62 s against
/// 52 s for the day) but are noisy, and 4, 16 and 32 per bucket fell in between.
const HOSTS_PER_BUCKET: usize = 8;

/// A candidate: (ΔP-ordering key, host id); smaller is better.
type Best = (i64, u32);
/// A subtree a search has yet to look into: (tree node, first and last bucket, its bound).
type Pending = (usize, usize, usize, Best);
const NONE: Best = (i64::MAX, u32::MAX);

/// Occupied hosts of one kind filed by allocated utilisation `a`: buckets of `a`, and per tenth
/// `j` of the power curve a segment tree of the buckets' minima of `s_j·a − P(U_h)`.
struct Buckets {
    /// Bucket of `a` is `a >> shift`; `n` buckets (a power of two).
    shift: u32,
    n: usize,
    /// Per bucket: (a, host, P(U_h), its overload slack).
    entries: Vec<Vec<Entry>>,
    /// Segment tree: node 1 the root, leaves at `n..2n`; per node the best of each tenth, and
    /// the largest slack of its hosts.
    tree: Vec<[Best; 10]>,
    tree_slack: Vec<HostSlack>,
    slopes: [i64; 10],
}

/// A host as filed in a bucket.
#[derive(Clone, Copy)]
struct Entry {
    a: i64,
    host: u32,
    base: i64,
    slack: HostSlack,
}

/// A search's query for the hosts of one kind with which the VM (a share `rf` of one host)
/// lands in tenth `j` of the power curve: those of `lo ≤ a ≤ hi` (`a + rf` in that tenth),
/// whose ΔP is their key for tenth `j` plus `offset`; and what the VM asks of their slack.
struct Query<'q> {
    lo: i64,
    hi: i64,
    j: usize,
    offset: i64,
    ask: &'q VmAsk,
}

impl Buckets {
    fn new(hosts: usize, slopes: [i64; 10]) -> Self {
        let n = (hosts / HOSTS_PER_BUCKET)
            .next_power_of_two()
            .clamp(16, 4096);
        // a ranges over 0..=ONE (< 2^27).
        let bits = n.trailing_zeros();
        let shift = 27 - bits;
        Buckets {
            shift,
            n,
            entries: vec![Vec::new(); n],
            tree: vec![[NONE; 10]; 2 * n],
            tree_slack: vec![HostSlack::NONE; 2 * n],
            slopes,
        }
    }

    #[inline]
    fn bucket(&self, a: i64) -> usize {
        ((a.clamp(0, ONE) >> self.shift) as usize).min(self.n - 1)
    }

    #[inline]
    fn key(&self, j: usize, a: i64, base: i64) -> i64 {
        self.slopes[j] * a - base
    }

    /// Bucket `b`'s leaf: per tenth its best key, and its largest slack.
    fn leaf(&self, b: usize) -> ([Best; 10], HostSlack) {
        let mut leaf = [NONE; 10];
        let mut slack = HostSlack::NONE;
        for e in &self.entries[b] {
            for (j, best) in leaf.iter_mut().enumerate() {
                let k = (self.key(j, e.a, e.base), e.host);
                if k < *best {
                    *best = k;
                }
            }
            slack = slack.max(e.slack);
        }
        (leaf, slack)
    }

    /// Tree node `i` from its two children.
    #[inline]
    fn merged(&self, i: usize) -> ([Best; 10], HostSlack) {
        let (l, r) = (&self.tree[2 * i], &self.tree[2 * i + 1]);
        (
            std::array::from_fn(|j| l[j].min(r[j])),
            self.tree_slack[2 * i].max(self.tree_slack[2 * i + 1]),
        )
    }

    /// Bucket `b`'s leaf after host `h`'s entry changed (added, removed or replaced: `was` its
    /// slack before, if it was filed here; `now` its entry now, if it is), from the leaf as
    /// stored: only the tenths whose best was `h` are recomputed over the bucket, and the
    /// largest slack only if `h`'s may have been it; the others keep their best (still there)
    /// or take `h`'s new entry if it beats it. Most changes thus read no other entry. The same
    /// as [`Buckets::leaf`] (minima and maxima in a total order), for a fraction of the keys.
    fn leaf_changed(
        &self,
        b: usize,
        h: u32,
        was: Option<HostSlack>,
        now: Option<&Entry>,
    ) -> ([Best; 10], HostSlack) {
        let old = self.tree[self.n + b];
        let old_slack = self.tree_slack[self.n + b];
        let mut leaf = old;
        let mut stale = false;
        for best in leaf.iter_mut() {
            if best.1 == h {
                *best = NONE;
                stale = true;
            }
        }
        // The largest slack of the others is the stored one unless `h`'s old slack may have
        // been it in some regime (a `−∞` never is the only largest).
        let below = |w: f64, m: f64| w < m || w == f64::NEG_INFINITY;
        let slack_kept = was.is_none_or(|w| {
            below(w.threshold, old_slack.threshold)
                && below(w.predicted_own, old_slack.predicted_own)
                && below(w.predicted_any, old_slack.predicted_any)
        });
        if slack_kept && !stale {
            let mut slack = old_slack;
            if let Some(e) = now {
                slack = slack.max(e.slack);
                for (j, best) in leaf.iter_mut().enumerate() {
                    let k = (self.key(j, e.a, e.base), e.host);
                    if k < *best {
                        *best = k;
                    }
                }
            }
            return (leaf, slack);
        }
        let mut slack = HostSlack::NONE;
        for e in &self.entries[b] {
            slack = slack.max(e.slack);
            if e.host != h && !stale {
                continue;
            }
            for (j, best) in leaf.iter_mut().enumerate() {
                if e.host == h || old[j].1 == h {
                    let k = (self.key(j, e.a, e.base), e.host);
                    if k < *best {
                        *best = k;
                    }
                }
            }
        }
        (leaf, slack)
    }

    /// Brings bucket `b`'s leaf up to date after host `h`'s entry changed (see
    /// [`Buckets::leaf_changed`]), and its path to the root, up to the first node that does
    /// not change (the ones above it do not either).
    fn refresh_bucket(&mut self, b: usize, h: u32, was: Option<HostSlack>, now: Option<&Entry>) {
        let mut i = self.n + b;
        let (mut node, mut slack) = self.leaf_changed(b, h, was, now);
        loop {
            if self.tree[i] == node && self.tree_slack[i] == slack {
                return;
            }
            self.tree[i] = node;
            self.tree_slack[i] = slack;
            if i == 1 {
                return;
            }
            i /= 2;
            (node, slack) = self.merged(i);
        }
    }

    /// Files `e` without updating the tree (for [`Buckets::build`]).
    fn push(&mut self, e: Entry) {
        let b = self.bucket(e.a);
        self.entries[b].push(e);
    }

    /// The whole tree from the buckets, bottom up.
    fn build(&mut self) {
        for b in 0..self.n {
            (self.tree[self.n + b], self.tree_slack[self.n + b]) = self.leaf(b);
        }
        for i in (1..self.n).rev() {
            (self.tree[i], self.tree_slack[i]) = self.merged(i);
        }
    }

    fn insert(&mut self, e: Entry) {
        let b = self.bucket(e.a);
        self.entries[b].push(e);
        self.refresh_bucket(b, e.host, None, Some(&e));
    }

    fn remove(&mut self, a: i64, h: u32) {
        let b = self.bucket(a);
        if let Some(i) = self.entries[b].iter().position(|e| e.host == h) {
            let was = self.entries[b].swap_remove(i);
            self.refresh_bucket(b, h, Some(was.slack), None);
        }
    }

    /// Re-files host `h`, filed with `a`, as `e` (one tree path if it stays in its bucket).
    fn replace(&mut self, a: i64, h: u32, e: Entry) {
        let (from, to) = (self.bucket(a), self.bucket(e.a));
        if from == to {
            if let Some(x) = self.entries[from].iter_mut().find(|x| x.host == h) {
                let was = x.slack;
                *x = e;
                self.refresh_bucket(from, h, Some(was), Some(&e));
                return;
            }
        }
        self.remove(a, h);
        self.insert(e);
    }

    /// Lowers `best` (ΔP, host) to the best host with `q.lo ≤ a ≤ q.hi` that the VM might
    /// pass on, if one beats it: branch and bound from the root, the child with the better
    /// bound first (its best tightens the bound for the other), on an explicit stack (a
    /// recursive descent spent a tenth of its instructions entering and leaving calls).
    fn improve(&self, q: &Query<'_>, best: &mut Best, stack: &mut Vec<Pending>) {
        let (bl, bh) = (self.bucket(q.lo), self.bucket(q.hi));
        let lb = self.bound(1, 0, self.n - 1, bl, bh, q);
        stack.clear();
        stack.push((1, 0, self.n - 1, lb));
        while let Some((i, from, to, lb)) = stack.pop() {
            if lb >= *best {
                continue;
            }
            if from == to {
                for e in &self.entries[from] {
                    if e.a >= q.lo && e.a <= q.hi && e.slack.admits(q.ask) {
                        let c = (self.key(q.j, e.a, e.base) + q.offset, e.host);
                        if c < *best {
                            *best = c;
                        }
                    }
                }
                continue;
            }
            let mid = (from + to) / 2;
            let (l, r) = (2 * i, 2 * i + 1);
            let lb_l = self.bound(l, from, mid, bl, bh, q);
            let lb_r = self.bound(r, mid + 1, to, bl, bh, q);
            let (first, second) = if lb_r < lb_l {
                ((r, mid + 1, to, lb_r), (l, from, mid, lb_l))
            } else {
                ((l, from, mid, lb_l), (r, mid + 1, to, lb_r))
            };
            if second.3 < *best {
                stack.push(second);
            }
            if first.3 < *best {
                stack.push(first);
            }
        }
    }

    /// A lower bound of (ΔP, host) over the hosts below tree node `i` (buckets `from..=to`)
    /// that the query might take ([`NONE`] if none: out of range, or none the VM might pass
    /// on): the node's best key of the query's tenth plus its offset.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn bound(&self, i: usize, from: usize, to: usize, bl: usize, bh: usize, q: &Query<'_>) -> Best {
        if to < bl || from > bh || !self.tree_slack[i].admits(q.ask) {
            return NONE;
        }
        match self.tree[i][q.j] {
            (_, u32::MAX) => NONE,
            (key, h) => (key + q.offset, h),
        }
    }
}

/// Hosts of one kind: same capacity, core speed and power curve.
struct Kind {
    /// (capacity, core speed) bits and the curve: what makes the kind.
    key: (u64, u64, Curve),
    capacity: f64,
    core: f64,
    curve: Curve,
    /// Empty eligible hosts, by free RAM (its bits) and id.
    /// (A few free-RAM values: a list, looked through.)
    empty: Vec<(u64, BTreeSet<u32>)>,
    /// Occupied eligible hosts: listed in id order (few), or filed in buckets (many), one set
    /// of buckets per RAM class (see [`HostIndex::ram_steps`]), made when first needed.
    occupied: Vec<u32>,
    bucketed: bool,
    hosts: usize,
    classes: Vec<Option<Buckets>>,
}

impl Kind {
    /// Request `r` as a fixed-point share of one host of this kind (above [`ONE`]: never fits).
    #[inline]
    fn share(&self, r: f64) -> i64 {
        if self.capacity > 0.0 {
            fixed(r / self.capacity)
        } else {
            ONE + 1
        }
    }
}

/// The hosts a phase of a round may place on, indexed (see the module doc).
pub struct HostIndex {
    excluded: Vec<bool>,
    /// Per host: its kind (`u32::MAX` if never eligible), whether filed as empty, its `a` as
    /// filed, and `P(U_h)`.
    kind: Vec<u32>,
    is_empty: Vec<bool>,
    filed_a: Vec<i64>,
    /// Free RAM (its bits) an empty host was filed under.
    filed_ram: Vec<u64>,
    base: Vec<i64>,
    /// Its overload slack as filed.
    slack: Vec<HostSlack>,
    kinds: Vec<Kind>,
    /// RAM class of each host as filed: how many of `ram_steps` its free RAM holds.
    filed_class: Vec<u8>,
    /// The distinct RAM sizes of the VMs, ascending (empty if there are too many: RAM is then
    /// checked on the best candidates only). A VM of the `k`-th size fits exactly the hosts of
    /// class `k + 1` and above, so a search looks at those classes only.
    ram_steps: Vec<f64>,
    /// Hosts set aside during one search (failed RAM or overload), to file back.
    aside: Vec<u32>,
    /// A search's pending subtrees, kept between searches (no allocation per search).
    stack: std::cell::Cell<Vec<Pending>>,
    /// While the index is first filled: buckets take hosts without updating their trees, built
    /// once at the end.
    bulk: bool,
}

/// At most this many RAM classes are kept apart.
const MAX_RAM_STEPS: usize = 8;

/// Whether a host counts as empty: no VM, nothing allocated or requested, idle at the start.
fn empty_host(plan: &Plan, h: usize) -> bool {
    plan.vms[h].is_empty()
        && plan.allocated[h] == 0.0
        && plan.requested[h] == 0.0
        && plan.start_utilisation[h] == 0.0
}

impl HostIndex {
    /// The index of the hosts of `plan` not in `excluded`.
    pub fn new(plan: &Plan, s: &Search<'_>, excluded: &[bool]) -> Self {
        Self::with_scan_max(plan, s, excluded, SCAN_MAX)
    }

    /// [`HostIndex::new`] filing occupied hosts in buckets once a kind has more than
    /// `scan_max` eligible hosts (tests force either way).
    pub fn with_scan_max(plan: &Plan, s: &Search<'_>, excluded: &[bool], scan_max: usize) -> Self {
        let view = s.view;
        let n = plan.hosts();
        let mut by_key: HashMap<(u64, u64, Curve), u32> = HashMap::new();
        let mut kinds: Vec<Kind> = Vec::new();
        let mut kind = vec![u32::MAX; n];
        let mut base = vec![0; n];
        let mut count: Vec<usize> = Vec::new();
        for h in 0..n {
            if excluded[h] || !plan.usable[h] {
                continue;
            }
            let curve = Curve::of(&view.nodes[h].power_curve_w);
            let key = (plan.capacity[h].to_bits(), plan.core[h].to_bits(), curve);
            // A few kinds (two in CloudSim's setup) are looked through; many, hashed.
            let known = if kinds.len() <= 8 {
                kinds.iter().position(|k| k.key == key).map(|i| i as u32)
            } else {
                by_key.get(&key).copied()
            };
            let k = known.unwrap_or_else(|| {
                kinds.push(Kind {
                    key,
                    capacity: plan.capacity[h],
                    core: plan.core[h],
                    curve,
                    empty: Vec::new(),
                    occupied: Vec::new(),
                    bucketed: false,
                    hosts: 0,
                    classes: Vec::new(),
                });
                count.push(0);
                by_key.insert(key, kinds.len() as u32 - 1);
                kinds.len() as u32 - 1
            });
            kind[h] = k;
            count[k as usize] += 1;
            base[h] = curve.at(fixed(plan.start_utilisation[h]));
        }
        let mut ram_steps: Vec<f64> = Vec::new();
        for &ram in &plan.ram_mb {
            if let Err(i) = ram_steps.binary_search_by(|x| x.total_cmp(&ram)) {
                ram_steps.insert(i, ram);
                if ram_steps.len() > MAX_RAM_STEPS {
                    break;
                }
            }
        }
        if ram_steps.len() > MAX_RAM_STEPS {
            ram_steps.clear();
        }
        for (k, c) in kinds.iter_mut().zip(&count) {
            k.hosts = *c;
            k.bucketed = *c > scan_max;
            k.classes = (0..=ram_steps.len()).map(|_| None).collect();
        }
        let mut idx = HostIndex {
            excluded: excluded.to_vec(),
            kind,
            is_empty: vec![false; n],
            filed_a: vec![0; n],
            filed_ram: vec![0; n],
            base,
            slack: vec![HostSlack::OPEN; n],
            kinds,
            filed_class: vec![0; n],
            ram_steps,
            aside: Vec::new(),
            stack: std::cell::Cell::new(Vec::new()),
            bulk: true,
        };
        for h in 0..n {
            if idx.kind[h] != u32::MAX {
                idx.file(plan, s, h);
            }
        }
        idx.bulk = false;
        for k in &mut idx.kinds {
            for b in k.classes.iter_mut().flatten() {
                b.build();
            }
        }
        idx
    }

    /// Files eligible host `h` as its plan state says.
    fn file(&mut self, plan: &Plan, s: &Search<'_>, h: usize) {
        let k = &mut self.kinds[self.kind[h] as usize];
        if empty_host(plan, h) {
            self.is_empty[h] = true;
            self.filed_ram[h] = plan.free_ram_mb[h].to_bits();
            let ram = self.filed_ram[h];
            let i = match k.empty.iter().position(|(r, _)| *r == ram) {
                Some(i) => i,
                None => {
                    k.empty.push((ram, BTreeSet::new()));
                    k.empty.len() - 1
                }
            };
            k.empty[i].1.insert(h as u32);
        } else {
            self.is_empty[h] = false;
            let a = allocated_fixed(plan, h);
            self.filed_a[h] = a;
            self.slack[h] = s.overload.host(plan, h);
            if k.bucketed {
                let class = self.ram_class(plan, h) as usize;
                let k = &mut self.kinds[self.kind[h] as usize];
                self.filed_class[h] = class as u8;
                let (hosts, curve) = (k.hosts, k.curve);
                let b = k.classes[class].get_or_insert_with(|| {
                    Buckets::new(hosts, std::array::from_fn(|j| curve.slope(j)))
                });
                let e = Entry {
                    a,
                    host: h as u32,
                    base: self.base[h],
                    slack: self.slack[h],
                };
                if self.bulk {
                    b.push(e);
                } else {
                    b.insert(e);
                }
            } else if let Err(i) = k.occupied.binary_search(&(h as u32)) {
                k.occupied.insert(i, h as u32);
            }
        }
    }

    /// Takes eligible host `h` out of its kind's sets (as filed).
    fn unfile(&mut self, h: usize) {
        let k = &mut self.kinds[self.kind[h] as usize];
        if self.is_empty[h] {
            let ram = self.filed_ram[h];
            if let Some((_, set)) = k.empty.iter_mut().find(|(r, _)| *r == ram) {
                set.remove(&(h as u32));
            }
        } else if k.bucketed {
            if let Some(b) = &mut k.classes[self.filed_class[h] as usize] {
                b.remove(self.filed_a[h], h as u32);
            }
        } else if let Ok(i) = k.occupied.binary_search(&(h as u32)) {
            k.occupied.remove(i);
        }
    }

    /// The exclusion flags it honours.
    pub fn excluded(&self) -> &[bool] {
        &self.excluded
    }

    /// Excludes host `h` from now on.
    pub fn exclude(&mut self, h: usize) {
        if self.excluded[h] {
            return;
        }
        self.excluded[h] = true;
        if self.kind[h] != u32::MAX {
            self.unfile(h);
        }
    }

    /// Host `h` changed in the plan (a tentative placement or its undo): re-file it.
    pub fn refresh(&mut self, plan: &Plan, s: &Search<'_>, h: usize) {
        if self.excluded[h] || self.kind[h] == u32::MAX {
            return;
        }
        // An occupied bucketed host that stays occupied in its RAM class: re-filed in place.
        let k = &self.kinds[self.kind[h] as usize];
        if k.bucketed && !self.is_empty[h] && !empty_host(plan, h) {
            let class = self.ram_class(plan, h);
            if class == self.filed_class[h] {
                let a = allocated_fixed(plan, h);
                let slack = s.overload.host(plan, h);
                let e = Entry {
                    a,
                    host: h as u32,
                    base: self.base[h],
                    slack,
                };
                let k = &mut self.kinds[self.kind[h] as usize];
                if let Some(b) = &mut k.classes[class as usize] {
                    b.replace(self.filed_a[h], h as u32, e);
                    self.filed_a[h] = a;
                    self.slack[h] = slack;
                    return;
                }
            }
        }
        self.unfile(h);
        self.file(plan, s, h);
    }

    /// Host `h`'s RAM class now: how many of `ram_steps` its free RAM holds.
    fn ram_class(&self, plan: &Plan, h: usize) -> u8 {
        let f = plan.free_ram_mb[h];
        self.ram_steps
            .iter()
            .filter(|&&ram| f + super::plan::RAM_EPS_MB >= ram)
            .count() as u8
    }

    /// PABFD's host for VM `v` with request `r` (the same as [`find_host_naive`]'s).
    pub fn find(
        &mut self,
        plan: &Plan,
        s: &Search<'_>,
        v: VmId,
        r: f64,
        scratch: &mut Vec<f64>,
    ) -> Option<usize> {
        let ram = plan.ram_mb[v.index()];
        // Best empty host: per kind and free RAM, the lowest id (all give the same ΔP).
        let mut best: Option<(i64, usize)> = None;
        let better = |dp: i64, h: usize, best: Option<(i64, usize)>| {
            best.is_none_or(|(b, bh)| (dp, h) < (b, bh))
        };
        for k in &self.kinds {
            if k.core < r {
                continue;
            }
            let rf = k.share(r);
            if rf > ONE {
                continue;
            }
            let dp = k.curve.at(rf) - k.curve.at(0);
            for (ram_bits, set) in &k.empty {
                if f64::from_bits(*ram_bits) + super::plan::RAM_EPS_MB < ram {
                    continue;
                }
                if let Some(&h) = set.first() {
                    if better(dp, h as usize, best) {
                        best = Some((dp, h as usize));
                    }
                }
            }
        }
        // Occupied hosts: best first; one that fails RAM or the overload check is set aside.
        let found = loop {
            let Some((dp, h)) = self.best_occupied(plan, s, v, r, best) else {
                break best;
            };
            let sure = self.slack[h].surely_admits(&s.overload.ask(v, r, plan.capacity[h]));
            if plan.fits_ram(h, v) && (sure || passes(plan, s, h, v, r, scratch)) {
                break Some((dp, h));
            }
            self.set_aside(h);
        };
        self.file_back();
        found.map(|(_, h)| h)
    }

    /// The best occupied host by (ΔP, id) for request `r` that beats `bound`, passing over the
    /// hosts whose slack rules the VM out (RAM and overload otherwise not checked).
    fn best_occupied(
        &self,
        plan: &Plan,
        s: &Search<'_>,
        v: VmId,
        r: f64,
        bound: Option<(i64, usize)>,
    ) -> Option<(i64, usize)> {
        let mut best: Best = bound.map_or(NONE, |(dp, h)| (dp, h as u32));
        let mut stack = self.stack.take();
        // The RAM classes that hold this VM's RAM (all, if RAM is not classed).
        let ram = plan.ram_mb[v.index()];
        let min_class = self
            .ram_steps
            .binary_search_by(|x| x.total_cmp(&ram))
            .map_or(0, |k| k + 1);
        for k in &self.kinds {
            if k.core < r {
                continue;
            }
            let ask = s.overload.ask(v, r, k.capacity);
            match k.bucketed {
                false => {
                    for &h in &k.occupied {
                        let hu = h as usize;
                        if !self.slack[hu].admits(&ask)
                            || !plan.fits_ram(hu, v)
                            || self.aside.contains(&h)
                        {
                            continue;
                        }
                        let x = allocated_fixed(plan, hu) + request_fixed(plan, hu, r);
                        if x > ONE {
                            continue;
                        }
                        let c = (k.curve.at(x) - self.base[hu], h);
                        if c < best {
                            best = c;
                        }
                    }
                }
                true => {
                    let rf = k.share(r);
                    if rf > ONE {
                        continue;
                    }
                    // One search per tenth: its bound uses that tenth's slope only, tight
                    // (one search over all tenths bounds a node by its cheapest tenth: loose,
                    // slower at 10,000 hosts).
                    for j in 0..10 {
                        let lo = (j as i64 * TENTH - rf).max(0);
                        let hi = (j as i64 + 1) * TENTH - rf;
                        if hi < lo {
                            continue;
                        }
                        // ΔP = s_j·a − P(U) + w_j·TENTH + s_j·(rf − j·TENTH) in tenth j (at
                        // `a + rf` = (j + 1)·TENTH both tenths give the same ΔP).
                        let q = Query {
                            lo,
                            hi,
                            j,
                            offset: k.curve.0[j] * TENTH
                                + k.curve.slope(j) * (rf - j as i64 * TENTH),
                            ask: &ask,
                        };
                        for b in k.classes[min_class..].iter().flatten() {
                            b.improve(&q, &mut best, &mut stack);
                        }
                    }
                }
            }
        }
        self.stack.set(stack);
        let found = (best != NONE).then_some((best.0, best.1 as usize));
        (found != bound).then_some(found).flatten()
    }

    /// Checks that every bucket tree agrees with its buckets (each leaf from its entries, each
    /// node from its children) and returns what the index holds, independent of how it was
    /// filled: per kind (its key) and RAM class, the hosts filed (host, a, slack bits) sorted,
    /// and the root's bests and slack; then the empty hosts per kind and free RAM.
    #[cfg(test)]
    #[allow(clippy::type_complexity)]
    pub fn checked_contents(&self) -> Vec<(String, Vec<(u32, i64, [u64; 3])>)> {
        let mut out = Vec::new();
        for k in &self.kinds {
            for (c, b) in k.classes.iter().enumerate() {
                let Some(b) = b else { continue };
                for i in 0..b.n {
                    assert!(b.tree[b.n + i] == b.leaf(i).0, "leaf {i}");
                    assert!(b.tree_slack[b.n + i] == b.leaf(i).1, "leaf {i}");
                }
                for i in 1..b.n {
                    assert!(b.tree[i] == b.merged(i).0, "node {i}");
                    assert!(b.tree_slack[i] == b.merged(i).1, "node {i}");
                }
                let mut hosts: Vec<(u32, i64, [u64; 3])> = b
                    .entries
                    .iter()
                    .flatten()
                    .map(|e| {
                        let s = e.slack;
                        let bits =
                            [s.threshold, s.predicted_own, s.predicted_any].map(f64::to_bits);
                        (e.host, e.a, bits)
                    })
                    .collect();
                hosts.sort_unstable();
                let root = if hosts.is_empty() {
                    String::new()
                } else {
                    format!("{:?} {:?}", b.tree[1], b.tree_slack[1])
                };
                out.push((format!("{:?} class {c} root {root}", k.key), hosts));
            }
            for (ram, set) in &k.empty {
                if !set.is_empty() {
                    let hosts = set.iter().map(|&h| (h, 0, [0; 3])).collect();
                    out.push((format!("{:?} empty {ram}", k.key), hosts));
                }
            }
            if !k.occupied.is_empty() {
                let hosts = k.occupied.iter().map(|&h| (h, 0, [0; 3])).collect();
                out.push((format!("{:?} occupied", k.key), hosts));
            }
        }
        out.retain(|(_, hosts)| !hosts.is_empty());
        out.sort();
        out
    }

    /// Takes occupied host `h` out of the search until [`HostIndex::file_back`].
    fn set_aside(&mut self, h: usize) {
        self.aside.push(h as u32);
        let k = &mut self.kinds[self.kind[h] as usize];
        if k.bucketed {
            if let Some(b) = &mut k.classes[self.filed_class[h] as usize] {
                b.remove(self.filed_a[h], h as u32);
            }
        }
    }

    fn file_back(&mut self) {
        while let Some(h) = self.aside.pop() {
            let h = h as usize;
            let k = &mut self.kinds[self.kind[h] as usize];
            if k.bucketed {
                if let Some(b) = &mut k.classes[self.filed_class[h] as usize] {
                    b.insert(Entry {
                        a: self.filed_a[h],
                        host: h as u32,
                        base: self.base[h],
                        slack: self.slack[h],
                    });
                }
            }
        }
    }
}
