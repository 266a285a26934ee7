//! A processor-sharing server that never touches every job at each event.
//!
//! The server keeps a *virtual time* `V` that advances at the rate one job receives:
//! `r = speed · min(1, cores / n)` seconds of work per second with `n` jobs. A job arriving at
//! virtual time `V_a` with demand `d` (seconds of work on one reference core) finishes when
//! `V` reaches its tag `V_a + d`; a min-heap of tags gives the next departure, and only that one
//! is ever scheduled as an event. When `n` or the capacity changes, only that single event is
//! moved. Events made stale by a move are recognised by a generation counter.
//!
//! The caller owns the event queue: methods return what to schedule.

use crate::engine::time::{ns_to_secs, secs_to_ns_ceil};
use crate::engine::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A job in a server, identified by an opaque token chosen by the caller.
#[derive(Clone, Copy, Debug)]
struct Job {
    tag: f64,
    seq: u64,
    token: u64,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Job {
    /// Reversed (min-heap on tag, then arrival order) for `BinaryHeap`.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .tag
            .total_cmp(&self.tag)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// What the caller must do after a change: schedule a departure check at `at` carrying `gen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wakeup {
    pub at: SimTime,
    pub gen: u32,
}

/// A processor-sharing server with `cores` cores of relative speed `speed`.
#[derive(Clone, Debug)]
pub struct PsServer {
    cores: f64,
    speed: f64,
    vtime: f64,
    last_update: SimTime,
    jobs: BinaryHeap<Job>,
    next_seq: u64,
    /// Generation of the departure event currently considered valid.
    gen: u32,
    /// Time of the valid scheduled departure check, if any. It may be *earlier* than the true
    /// departure (an arrival slowed every job down): it then re-checks and moves itself.
    scheduled: Option<SimTime>,
    /// ∫ min(n, cores) dt, in core·nanoseconds: the work capacity in use.
    busy_core_ns: f64,
    /// ∫ cores dt, in core·nanoseconds: the capacity available (changes with `set_capacity`).
    capacity_core_ns: f64,
    /// Seconds of work completed.
    work_done_s: f64,
}

/// Remaining work below which a job counts as finished: one nanosecond at full speed.
const DONE_EPS_S: f64 = 1e-9;

impl PsServer {
    pub fn new(cores: f64, speed: f64, now: SimTime) -> Self {
        PsServer {
            cores,
            speed,
            vtime: 0.0,
            last_update: now,
            jobs: BinaryHeap::new(),
            next_seq: 0,
            gen: 0,
            scheduled: None,
            busy_core_ns: 0.0,
            capacity_core_ns: 0.0,
            work_done_s: 0.0,
        }
    }

    /// Number of jobs in service.
    #[inline]
    pub fn jobs(&self) -> usize {
        self.jobs.len()
    }

    pub fn cores(&self) -> f64 {
        self.cores
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Seconds of work each job receives per second of real time.
    #[inline]
    fn rate(&self) -> f64 {
        let n = self.jobs.len() as f64;
        if n == 0.0 {
            0.0
        } else {
            self.speed * (self.cores / n).min(1.0)
        }
    }

    /// Brings virtual time and the utilisation integrals up to `now`.
    #[inline]
    fn advance(&mut self, now: SimTime) {
        let dt_ns = now.since(self.last_update);
        if dt_ns == 0 {
            return;
        }
        let n = self.jobs.len() as f64;
        let dt = dt_ns as f64;
        self.capacity_core_ns += self.cores * dt;
        if n > 0.0 {
            let in_use = n.min(self.cores);
            self.busy_core_ns += in_use * dt;
            self.vtime += self.rate() * ns_to_secs(dt_ns);
            self.work_done_s += in_use * self.speed * ns_to_secs(dt_ns);
        }
        self.last_update = now;
    }

    /// When the job with the smallest tag will finish at the current rate.
    fn next_departure(&self, now: SimTime) -> Option<SimTime> {
        let head = self.jobs.peek()?;
        let rate = self.rate();
        if rate <= 0.0 {
            return None;
        }
        let remaining_s = (head.tag - self.vtime).max(0.0);
        Some(now.plus_ns(secs_to_ns_ceil(remaining_s / rate)))
    }

    /// Reschedules the departure check if the true departure is now earlier than the scheduled
    /// one (or none is scheduled). A later true departure keeps the early check, which will
    /// re-check and move itself: this saves one event per arrival on a busy server.
    fn reschedule(&mut self, now: SimTime) -> Option<Wakeup> {
        let next = self.next_departure(now);
        match (next, self.scheduled) {
            (None, _) => {
                // Nothing to do or no capacity: invalidate any scheduled check.
                if self.scheduled.take().is_some() {
                    self.gen = self.gen.wrapping_add(1);
                }
                None
            }
            (Some(at), Some(s)) if s <= at => None,
            (Some(at), _) => {
                self.gen = self.gen.wrapping_add(1);
                self.scheduled = Some(at);
                Some(Wakeup { at, gen: self.gen })
            }
        }
    }

    /// A job of `demand_s` seconds of work arrives.
    pub fn arrive(&mut self, now: SimTime, demand_s: f64, token: u64) -> Option<Wakeup> {
        self.advance(now);
        if self.jobs.is_empty() {
            // Keep virtual time small: precision does not degrade over long runs.
            self.vtime = 0.0;
        }
        let job = Job {
            tag: self.vtime + demand_s.max(0.0),
            seq: self.next_seq,
            token,
        };
        self.next_seq += 1;
        self.jobs.push(job);
        self.reschedule(now)
    }

    /// Handles a departure check. Returns the finished job's token (if one finished) and the next
    /// check to schedule. A stale check (`gen` no longer valid) does nothing.
    pub fn on_wakeup(&mut self, now: SimTime, gen: u32) -> (Option<u64>, Option<Wakeup>) {
        if gen != self.gen || self.scheduled.is_none() {
            return (None, None);
        }
        self.advance(now);
        self.scheduled = None;
        let Some(head) = self.jobs.peek() else {
            return (None, None);
        };
        let rate = self.rate();
        let remaining_s = head.tag - self.vtime;
        if remaining_s <= DONE_EPS_S * rate.max(1e-300) || remaining_s <= 0.0 {
            let job = self.jobs.pop().expect("peeked");
            if self.jobs.is_empty() {
                self.vtime = 0.0;
            }
            (Some(job.token), self.reschedule(now))
        } else {
            // Fired early (arrivals slowed the head job down): move the check.
            (None, self.reschedule(now))
        }
    }

    /// Removes a job without finishing it (its replica stopped, or the caller abandons it).
    /// Returns whether it was present.
    pub fn remove(&mut self, now: SimTime, token: u64) -> (bool, Option<Wakeup>) {
        self.advance(now);
        let before = self.jobs.len();
        let kept: Vec<Job> = self.jobs.drain().filter(|j| j.token != token).collect();
        self.jobs = kept.into();
        let removed = self.jobs.len() != before;
        if self.jobs.is_empty() {
            self.vtime = 0.0;
        }
        // The head may have changed to a later job: force a fresh check.
        if self.scheduled.take().is_some() {
            self.gen = self.gen.wrapping_add(1);
        }
        (removed, self.reschedule(now))
    }

    /// Removes every job (the server stops): returns their tokens, in no particular order, and
    /// invalidates any scheduled departure check.
    pub fn drain_all(&mut self, now: SimTime) -> Vec<u64> {
        self.advance(now);
        let tokens = self.jobs.drain().map(|j| j.token).collect();
        self.vtime = 0.0;
        if self.scheduled.take().is_some() {
            self.gen = self.gen.wrapping_add(1);
        }
        tokens
    }

    /// Changes the capacity (a VM's share of its node, a migration's CPU cost, a downtime at 0).
    pub fn set_capacity(&mut self, now: SimTime, cores: f64, speed: f64) -> Option<Wakeup> {
        self.advance(now);
        self.cores = cores.max(0.0);
        self.speed = speed.max(0.0);
        if self.scheduled.take().is_some() {
            self.gen = self.gen.wrapping_add(1);
        }
        self.reschedule(now)
    }

    /// Utilisation integrals up to `now`: (busy core·ns, capacity core·ns).
    pub fn busy_and_capacity(&mut self, now: SimTime) -> (f64, f64) {
        self.advance(now);
        (self.busy_core_ns, self.capacity_core_ns)
    }

    /// Seconds of work completed up to `now` (a probe's "CPU time consumed").
    pub fn work_done_s(&mut self, now: SimTime) -> f64 {
        self.advance(now);
        self.work_done_s
    }

    /// Tokens of the jobs in service, in no particular order.
    pub fn tokens(&self) -> impl Iterator<Item = u64> + '_ {
        self.jobs.iter().map(|j| j.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::NS_PER_S;

    enum Ev {
        Arrive(u64, f64),
        Wake(u32),
    }

    /// Drives a server alone from (arrival time ns, demand s) pairs; the token is the index.
    /// Returns (token, finish time ns) in finish order.
    fn run(server: &mut PsServer, arrivals: &[(u64, f64)]) -> Vec<(u64, u64)> {
        let mut q = crate::engine::EventQueue::new();
        for (i, (t, d)) in arrivals.iter().enumerate() {
            q.schedule(SimTime(*t), Ev::Arrive(i as u64, *d));
        }
        let mut out = Vec::new();
        while let Some((now, ev)) = q.pop() {
            let next = match ev {
                Ev::Arrive(token, demand) => server.arrive(now, demand, token),
                Ev::Wake(gen) => {
                    let (done, next) = server.on_wakeup(now, gen);
                    out.extend(done.map(|t| (t, now.0)));
                    next
                }
            };
            if let Some(w) = next {
                q.schedule(w.at, Ev::Wake(w.gen));
            }
        }
        out
    }

    #[test]
    fn single_job_takes_its_demand_over_speed() {
        let mut s = PsServer::new(1.0, 2.0, SimTime::ZERO);
        let out = run(&mut s, &[(0, 1.0)]);
        assert_eq!(out, vec![(0, NS_PER_S / 2)]);
    }

    #[test]
    fn two_jobs_share_one_core() {
        // Job A (2 s) at 0, job B (1 s) at 0: both at half speed; B ends at 2 s, A at 3 s.
        let mut s = PsServer::new(1.0, 1.0, SimTime::ZERO);
        let out = run(&mut s, &[(0, 2.0), (0, 1.0)]);
        assert_eq!(out, vec![(1, 2 * NS_PER_S), (0, 3 * NS_PER_S)]);
        let (busy, cap) = s.busy_and_capacity(SimTime(3 * NS_PER_S));
        assert_eq!(busy, 3.0e9);
        assert_eq!(cap, 3.0e9);
    }

    #[test]
    fn a_late_arrival_slows_the_running_job() {
        // A: 2 s at t=0. B: 0.5 s at t=1. From 1 s both at half speed: B ends at 2 s,
        // A has 1 − 0.5 = 0.5 s left at 2 s, ends at 2.5 s.
        let mut s = PsServer::new(1.0, 1.0, SimTime::ZERO);
        let out = run(&mut s, &[(0, 2.0), (NS_PER_S, 0.5)]);
        assert_eq!(
            out,
            vec![(1, 2 * NS_PER_S), (0, 2 * NS_PER_S + NS_PER_S / 2)]
        );
    }

    #[test]
    fn two_cores_serve_two_jobs_at_full_speed() {
        let mut s = PsServer::new(2.0, 1.0, SimTime::ZERO);
        let out = run(&mut s, &[(0, 1.0), (0, 1.0), (0, 1.0)]);
        // Three jobs on two cores: each at 2/3 speed, all end at 1.5 s.
        assert_eq!(out.len(), 3);
        for (_, t) in out {
            assert!((t as i64 - 3 * NS_PER_S as i64 / 2).abs() <= 2, "{t}");
        }
    }

    #[test]
    fn zero_capacity_stops_service_and_restoring_it_resumes() {
        let mut s = PsServer::new(1.0, 1.0, SimTime::ZERO);
        let w = s.arrive(SimTime::ZERO, 1.0, 7).unwrap();
        assert_eq!(w.at, SimTime(NS_PER_S));
        // Downtime from 0.5 s to 0.8 s: the job ends 0.3 s late.
        assert_eq!(s.set_capacity(SimTime(NS_PER_S / 2), 1.0, 0.0), None);
        let (done, next) = s.on_wakeup(SimTime(NS_PER_S), w.gen);
        assert_eq!((done, next), (None, None), "the old check is stale");
        let w2 = s.set_capacity(SimTime(800_000_000), 1.0, 1.0).unwrap();
        assert_eq!(w2.at, SimTime(1_300_000_000));
        assert_eq!(s.on_wakeup(w2.at, w2.gen).0, Some(7));
    }

    #[test]
    fn draining_all_jobs_invalidates_the_scheduled_departure() {
        let mut s = PsServer::new(1.0, 1.0, SimTime::ZERO);
        let w = s.arrive(SimTime::ZERO, 1.0, 1).unwrap();
        s.arrive(SimTime::ZERO, 1.0, 2);
        let mut tokens = s.drain_all(SimTime(NS_PER_S / 2));
        tokens.sort();
        assert_eq!(tokens, vec![1, 2]);
        assert_eq!(s.jobs(), 0);
        assert_eq!(s.on_wakeup(SimTime(NS_PER_S), w.gen), (None, None));
    }

    #[test]
    fn removing_a_job_frees_its_share() {
        let mut s = PsServer::new(1.0, 1.0, SimTime::ZERO);
        s.arrive(SimTime::ZERO, 1.0, 1);
        s.arrive(SimTime::ZERO, 1.0, 2);
        // At 1 s each has 0.5 s left; remove job 2: job 1 ends at 1.5 s.
        let (removed, w) = s.remove(SimTime(NS_PER_S), 2);
        assert!(removed);
        let w = w.unwrap();
        assert_eq!(w.at, SimTime(1_500_000_000));
        assert_eq!(s.on_wakeup(w.at, w.gen).0, Some(1));
        assert_eq!(s.jobs(), 0);
    }
}
