//! What the backend knows of its hosts, and how it keeps it true without ever blocking:
//!
//! - **Polls on worker threads.** Each refresh asks every host (one call in flight per host at
//!   most) on its own thread, and waits for the answers up to a deadline of its choosing. An
//!   answer that comes later is taken at the next refresh. A host whose call failed, or has
//!   been waiting for longer than `call_timeout`, is *unknown*: when reconf powered it off,
//!   boots it or shuts it down, that is expected (its VMs kept where they were last seen);
//!   otherwise it is lost (see [`super::faults`]). Either way it is asked again at every
//!   refresh until it answers.
//! - **CPU over the time that really passed.** Each counter read is stamped when its answer
//!   came; a delta is divided by the time between its two reads, so a host back from an outage
//!   gives the mean over the outage, not the outage's CPU time squeezed into one period.
//! - **One copy of each VM.** A VM is where a copy of it *runs*; a paused copy is never taken
//!   for it while another runs. Copies that an interrupted migration leaves behind (reconf or a
//!   daemon killed at the instant the source is paused for its final copy: libvirt then leaves
//!   the source paused, "a third party must decide") are reconciled once seen at two refreshes
//!   in a row: a paused or defined-only copy of a domain (same UUID) that runs on another host
//!   is removed (after the hypervisor checked it does not run and no job is under way on it);
//!   a copy paused by a migration that runs nowhere, with every host answering, is resumed.
//!   VMs with an action of reconf in flight are left alone. Two running copies are reported,
//!   never touched: which one to keep is the operator's call.
//! - **Boots** (power-on): a node is on once its power-on command succeeded and its host then
//!   answered; the actions waiting for it go on then, or fail after `boot_timeout`.

use super::{Backend, Outcome, Vm};
use crate::live::hypervisor::{DomainInfo, DomainState, HostInfo, HvError};
use crate::live::naming::parse_domain_name;
use reconf_api::{Action, NodeState};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Backend {
    /// Refreshes what the backend knows of the hosts: starts a poll of every host that has
    /// none in flight, waits up to `wait` for the answers, takes them (and any that came since
    /// the last refresh), marks unknown the hosts that failed or have not answered within the
    /// call timeout, follows boots, updates where each VM is and reconciles stray copies.
    pub fn refresh(&mut self, wait: Duration) {
        self.collect();
        for h in 0..self.nodes.len() {
            if self.nodes[h].polling_since_s.is_none() && !self.nodes[h].dark {
                self.start_poll(h);
            }
        }
        let deadline = Instant::now() + wait;
        while self.nodes.iter().any(|n| n.polling_since_s.is_some()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.poll_rx.recv_timeout(left) {
                Ok(answer) => self.take_answer(answer),
                Err(_) => break,
            }
        }
        while let Ok(answer) = self.poll_rx.try_recv() {
            self.take_answer(answer);
        }
        let now = self.clock.now_s();
        let limit = self.cfg.call_timeout.as_secs_f64();
        for h in 0..self.nodes.len() {
            if let Some(since) = self.nodes[h].polling_since_s {
                if now - since >= limit {
                    let why = format!("has not answered for {:.0} s", now - since);
                    self.mark_unknown(h, &why);
                }
            }
        }
        self.follow_boots(now);
        self.collect();
        self.place_vms();
        self.take_fixes();
        self.reconcile();
    }

    fn start_poll(&mut self, h: usize) {
        let asked_s = self.clock.now_s();
        self.nodes[h].polling_since_s = Some(asked_s);
        let hv = Arc::clone(&self.hv);
        let tx = self.poll_tx.clone();
        let clock = self.clock.clone();
        std::thread::spawn(move || {
            let answer = hv.host_info(h).and_then(|i| hv.domains(h).map(|d| (i, d)));
            let _ = tx.send((h, asked_s, clock.now_s(), answer));
        });
    }

    fn take_answer(&mut self, (h, asked_s, at_s, answer): super::PollResult) {
        self.nodes[h].polling_since_s = None;
        match answer {
            Ok((info, domains)) => {
                self.take_listing(h, at_s, info, domains);
                self.nodes[h].asked_s = asked_s;
            }
            Err(e) => self.mark_unknown(h, &format!("does not answer ({e})")),
        }
    }

    /// Host `h` answered at `at_s`: its figures, and CPU over the time since each counter's
    /// previous read.
    fn take_listing(&mut self, h: usize, at_s: f64, info: HostInfo, mut domains: Vec<DomainInfo>) {
        if self.nodes[h].dark {
            return; // An answer from before its power-off: it is off now.
        }
        domains.sort_by(|a, b| a.name.cmp(&b.name));
        let apps = self.apps_names();
        let previous_s = self.nodes[h].listed_s;
        let mut busy = 0.0;
        let mut used = std::collections::HashMap::new();
        let mut marks = Vec::new();
        for d in domains.iter().filter(|d| d.state.is_active()) {
            let key = (h, d.name.clone());
            let cores = match self.marks.get(&key).copied() {
                Some((before, t)) if d.cpu_time_ns >= before && at_s > t => {
                    (d.cpu_time_ns - before) as f64 / 1e9 / (at_s - t)
                }
                // A counter that went back (or is new) belongs to a process started since the
                // previous listing (a start, or the destination of a migration): all of it is
                // recent.
                _ => match previous_s {
                    Some(p) if at_s > p => d.cpu_time_ns as f64 / 1e9 / (at_s - p),
                    _ => 0.0,
                },
            };
            // A domain cannot use more than its vCPUs: clamp counter glitches.
            let cores = cores.min(f64::from(d.vcpus));
            marks.push((key, (d.cpu_time_ns, at_s)));
            busy += cores;
            if parse_domain_name(&d.name, &apps).is_some() {
                used.insert(d.name.clone(), cores);
            }
        }
        // The marks of its domains that went are dropped with the old ones.
        self.marks.retain(|(host, _), _| *host != h);
        self.marks.extend(marks);
        let node = &mut self.nodes[h];
        node.cpu = if previous_s.is_some() && info.cores > 0 {
            (busy / f64::from(info.cores)).min(1.0)
        } else {
            0.0
        };
        if node.warned {
            eprintln!("host {} answers again", self.hv.label(h));
        }
        if node.failed.is_some() {
            self.node_answers_again(h, at_s);
        }
        let node = &mut self.nodes[h];
        node.warned = false;
        node.info = Some(info);
        node.reachable = true;
        node.listed_s = Some(at_s);
        node.domains = domains;
        node.used = used;
    }

    /// Host `h` cannot tell what it runs now. Expected of a node reconf powers off, boots or
    /// shuts down (shown as such); otherwise the host is lost: failed until it answers again,
    /// its VMs lost with it (see [`super::faults`]). Its last listing and counter marks are
    /// kept, to tell what comes back.
    fn mark_unknown(&mut self, h: usize, why: &str) {
        let now = self.clock.now_s();
        let node = &mut self.nodes[h];
        let expected = node.dark || node.boot.is_some() || node.shutting_down || !node.usable;
        if !node.warned && !expected {
            eprintln!(
                "warning: host {} {why}: shown failed, its VMs lost, until it answers",
                self.hv.label(h)
            );
            node.warned = true;
        }
        node.reachable = false;
        node.cpu = 0.0;
        if !expected {
            self.fail_node(h, now);
        }
    }

    /// Power-on commands that ended, nodes whose host answers after theirs, boots that took too
    /// long; and the actions that waited for them.
    fn follow_boots(&mut self, now: f64) {
        while let Ok((n, at_s, result)) = self.hook_rx.try_recv() {
            match result {
                Ok(()) => {
                    if let Some(b) = &mut self.nodes[n].boot {
                        b.command_done_s = Some(at_s);
                    }
                    // Ask it now rather than at the next refresh.
                    if self.nodes[n].polling_since_s.is_none() {
                        self.start_poll(n);
                    }
                }
                Err(e) => self.end_boot(n, at_s, Err(e)),
            }
        }
        for n in 0..self.nodes.len() {
            let Some(boot) = self.nodes[n].boot.clone() else {
                continue;
            };
            let answered = match (boot.command_done_s, self.nodes[n].listed_s) {
                (Some(done), Some(listed)) => self.nodes[n].reachable && listed >= done,
                _ => false,
            };
            if answered {
                self.end_boot(n, now, Ok(()));
            } else if now - boot.since_s >= self.cfg.boot_timeout.as_secs_f64() {
                let why = format!(
                    "the node's host did not answer within {:.0} s of its power-on",
                    self.cfg.boot_timeout.as_secs_f64()
                );
                self.end_boot(n, now, Err(why));
            }
        }
        self.launch_waiting();
    }

    fn end_boot(&mut self, n: usize, at_s: f64, result: Result<(), String>) {
        self.nodes[n].boot = None;
        if result.is_ok() {
            self.nodes[n].usable = true;
        }
        for a in 0..self.actions.len() {
            let r = &self.actions[a];
            if r.outcome != Outcome::InProgress {
                continue;
            }
            let power_on = matches!(r.action, Action::PowerOn { node } if node.index() == n);
            let waiting = r.waiting_for == Some(n);
            match &result {
                Ok(()) if power_on => self.finish(a, at_s, Ok(super::Done::Powered)),
                Err(e) if power_on => self.finish(a, at_s, Err(e.clone())),
                Err(e) if waiting => {
                    let why = format!("its node did not come up: {e}");
                    self.finish(a, at_s, Err(why));
                }
                _ => {}
            }
        }
    }

    /// Updates where each managed VM is from the hosts that answer (registering new ones):
    /// where a copy runs; failing that, where it was while that host is unknown; failing that,
    /// where a paused copy is. A VM no answering host lists is gone, unless its host is unknown
    /// or it is being started.
    fn place_vms(&mut self) {
        let apps = self.apps_names();
        // New managed domains, in name order (the same hosts give the same ids), each on the
        // host where it runs if one does.
        let mut new: Vec<(String, usize, usize, usize)> = Vec::new();
        for (h, node) in self.nodes.iter().enumerate().filter(|(_, n)| n.reachable) {
            for d in node.domains.iter().filter(|d| d.state.is_active()) {
                if self.by_name.contains_key(&d.name) {
                    continue;
                }
                let Some((app, tier, _)) = parse_domain_name(&d.name, &apps) else {
                    continue;
                };
                match new.iter_mut().find(|x| x.0 == d.name) {
                    Some(x) if d.state == DomainState::Running => x.3 = h,
                    Some(_) => {}
                    None => new.push((d.name.clone(), app, tier, h)),
                }
            }
        }
        new.sort();
        for (name, app, tier, h) in new {
            self.by_name.insert(name.clone(), self.vms.len());
            self.vms.push(Vm {
                name,
                app,
                tier,
                node: h,
                alive: true,
                vcpus: 0.0,
                ram_mb: 0.0,
                migrating_to: None,
                starting: false,
                stopping: false,
                cores_used: 0.0,
                warned_twice: false,
                settled_s: 0.0,
                lost: None,
            });
        }
        let mut twice_now = HashSet::new();
        let now = self.clock.now_s();
        for i in 0..self.vms.len() {
            let name = self.vms[i].name.clone();
            // A restart decides where it is (its old host may answer again with a copy).
            if self.vms[i].starting && self.vms[i].lost.is_some() {
                continue;
            }
            // A listing asked for before its last action ended may show the VM where it was:
            // wait for fresher ones.
            let settled = self.vms[i].settled_s;
            if self
                .nodes
                .iter()
                .any(|n| n.reachable && n.asked_s < settled)
            {
                continue;
            }
            let copies: Vec<(usize, DomainState)> = (0..self.nodes.len())
                .filter(|&h| self.nodes[h].reachable)
                .filter_map(|h| {
                    self.nodes[h]
                        .domains
                        .iter()
                        .find(|d| d.name == name && d.state.is_active())
                        .map(|d| (h, d.state))
                })
                .collect();
            let running: Vec<usize> = copies
                .iter()
                .filter(|c| c.1 == DomainState::Running)
                .map(|c| c.0)
                .collect();
            if !self.vms[i].alive && !copies.is_empty() && self.vms[i].lost.is_some() {
                // Found running again (its host is back, or someone started it).
                self.restore_vm(i, now, true);
            }
            let v = &self.vms[i];
            let quiet = v.migrating_to.is_none() && !v.starting && !v.stopping;
            if running.is_empty() && v.alive && quiet {
                if self.nodes[v.node].failed.is_some() {
                    self.lose_vm(i, now, "connection lost");
                } else if copies.is_empty() && self.nodes[v.node].reachable {
                    // Its host answers, and lists it inactive, or not at all.
                    let defined = self.nodes[v.node].domains.iter().any(|d| d.name == name);
                    let cause = if defined {
                        "domain stopped outside reconf"
                    } else {
                        "domain undefined outside reconf"
                    };
                    self.lose_vm(i, now, cause);
                }
            }
            let v = &mut self.vms[i];
            if !running.is_empty() {
                if !running.contains(&v.node) {
                    v.node = running[0];
                }
                v.alive = true;
                // Listings are not simultaneous: a migration ending between two of them shows
                // two running copies. Only one that stays, with no migration in flight, counts.
                let twice = running.len() > 1 && v.migrating_to.is_none();
                let seen_before = self.twice.contains(&name);
                if twice {
                    twice_now.insert(name.clone());
                }
                if twice && seen_before && !v.warned_twice {
                    let hosts: Vec<String> = running.iter().map(|&h| self.hv.label(h)).collect();
                    eprintln!(
                        "warning: {name} runs on {} at once: reconf touches none of its copies; keep one by hand",
                        hosts.join(" and ")
                    );
                    v.warned_twice = true;
                }
            } else if v.alive && !self.nodes[v.node].reachable {
                // Unknown: it runs where it was last seen, as far as anyone knows.
            } else if let Some(&(h, _)) = copies.iter().find(|c| c.0 == v.node).or(copies.first()) {
                v.node = h;
                v.alive = true;
            } else if !v.starting {
                v.alive = false;
            }
            let node = &self.nodes[v.node];
            if let Some(d) = node
                .domains
                .iter()
                .find(|d| d.name == v.name && d.state.is_active())
            {
                v.vcpus = f64::from(d.vcpus);
                v.ram_mb = super::kib_to_mb(d.memory_kib);
            }
            if !v.alive {
                v.cores_used = 0.0;
            } else if node.reachable {
                v.cores_used = node.used.get(&v.name).copied().unwrap_or(0.0);
            }
        }
        self.twice = twice_now;
    }

    /// Results of removals and resumptions.
    pub(super) fn take_fixes(&mut self) {
        while let Ok((h, uuid, what, result)) = self.fix_rx.try_recv() {
            self.fixing.remove(&(h, uuid));
            match result {
                Ok(()) => eprintln!("reconciled: {what}"),
                Err(e) => eprintln!("warning: could not reconcile ({what}): {e}"),
            }
        }
    }

    /// Finds copies to remove or resume (see the module's doc) and acts on those seen at the
    /// previous refresh too.
    fn reconcile(&mut self) {
        let all_known = self.nodes.iter().all(|n| n.reachable || n.dark);
        let mut suspects = HashSet::new();
        let mut todo: Vec<(usize, String, bool, String)> = Vec::new();
        for v in &self.vms {
            if v.migrating_to.is_some() || v.starting || v.stopping {
                continue;
            }
            let copies: Vec<(usize, &DomainInfo)> = (0..self.nodes.len())
                .filter(|&h| self.nodes[h].reachable)
                .filter_map(|h| {
                    self.nodes[h]
                        .domains
                        .iter()
                        .find(|d| d.name == v.name)
                        .map(|d| (h, d))
                })
                .collect();
            let running: Vec<&(usize, &DomainInfo)> = copies
                .iter()
                .filter(|c| c.1.state == DomainState::Running)
                .collect();
            match running.as_slice() {
                [(r, live)] => {
                    for (h, d) in &copies {
                        let stale = d.uuid == live.uuid
                            && *h != *r
                            && ((d.state.is_paused() && !d.job)
                                || (d.state == DomainState::Inactive && d.persistent));
                        if stale {
                            let state = if d.state.is_paused() {
                                "paused"
                            } else {
                                "defined but stopped"
                            };
                            let what = format!(
                                "{} runs on {}; its stale {state} copy on {} removed",
                                v.name,
                                self.hv.label(*r),
                                self.hv.label(*h)
                            );
                            suspects.insert((*h, d.uuid.clone()));
                            todo.push((*h, d.uuid.clone(), false, what));
                        }
                    }
                }
                [] if all_known => {
                    let active: Vec<&(usize, &DomainInfo)> =
                        copies.iter().filter(|c| c.1.state.is_active()).collect();
                    if let [(h, d)] = active.as_slice() {
                        if d.state == DomainState::PausedByMigration && !d.job {
                            let what = format!(
                                "{} was left paused on {} by an interrupted migration, and no other host runs it: resumed",
                                v.name,
                                self.hv.label(*h)
                            );
                            suspects.insert((*h, d.uuid.clone()));
                            todo.push((*h, d.uuid.clone(), true, what));
                        }
                    }
                }
                _ => {}
            }
        }
        for (h, uuid, resume, what) in todo {
            let key = (h, uuid.clone());
            if !self.suspects.contains(&key) || self.fixing.contains(&key) {
                continue;
            }
            self.fixing.insert(key);
            let hv = Arc::clone(&self.hv);
            let tx = self.fix_tx.clone();
            std::thread::spawn(move || {
                let result = if resume {
                    hv.resume(h, &uuid)
                } else {
                    hv.remove_copy(h, &uuid)
                };
                let _ = tx.send((h, uuid, what, result.map_err(|e: HvError| e.0)));
            });
        }
        self.suspects = suspects;
    }

    /// Whether host `h` answers (its last call succeeded in time).
    pub fn reachable(&self, h: usize) -> bool {
        self.nodes[h].reachable
    }

    /// Node `n`'s state as the policy sees it.
    pub fn state_of(&self, n: usize) -> NodeState {
        self.node_state(n)
    }
}
