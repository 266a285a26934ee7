//! Load balancers: which replica of a tier serves a request.

use crate::scenario::schema::Balancer;

/// The per-tier state of a load balancer over the replicas `0..n` of the tier's replica list.
#[derive(Clone, Debug)]
pub struct LoadBalancer {
    pub kind: Balancer,
    next: usize,
}

impl LoadBalancer {
    pub fn new(kind: Balancer) -> Self {
        LoadBalancer { kind, next: 0 }
    }

    /// Round-robin pick among `n` replicas.
    #[inline]
    pub fn round_robin(&mut self, n: usize) -> usize {
        let i = self.next % n;
        self.next = (i + 1) % n;
        i
    }

    /// Picks a replica index among `n` (> 0). `outstanding(i)` gives replica i's requests in
    /// progress; `sticky` is the session's pinned replica index in this tier, if any and still
    /// valid. Returns the index and whether the session should pin it.
    pub fn pick(
        &mut self,
        n: usize,
        outstanding: impl Fn(usize) -> usize,
        sticky: Option<usize>,
    ) -> (usize, bool) {
        debug_assert!(n > 0);
        match self.kind {
            Balancer::RoundRobin => (self.round_robin(n), false),
            Balancer::LeastOutstanding => {
                let mut best = 0;
                let mut best_load = usize::MAX;
                for i in 0..n {
                    let load = outstanding(i);
                    if load < best_load {
                        best = i;
                        best_load = load;
                    }
                }
                (best, false)
            }
            Balancer::Sticky => match sticky {
                Some(i) if i < n => (i, false),
                _ => (self.round_robin(n), true),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_cycles() {
        let mut lb = LoadBalancer::new(Balancer::RoundRobin);
        let picks: Vec<usize> = (0..7).map(|_| lb.pick(3, |_| 0, None).0).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn least_outstanding_takes_the_least_loaded_lowest_index_on_ties() {
        let mut lb = LoadBalancer::new(Balancer::LeastOutstanding);
        let loads = [3, 1, 1, 2];
        assert_eq!(lb.pick(4, |i| loads[i], None), (1, false));
    }

    #[test]
    fn sticky_keeps_the_pinned_replica_and_pins_new_sessions_round_robin() {
        let mut lb = LoadBalancer::new(Balancer::Sticky);
        assert_eq!(lb.pick(3, |_| 0, None), (0, true));
        assert_eq!(lb.pick(3, |_| 0, None), (1, true));
        assert_eq!(lb.pick(3, |_| 0, Some(0)), (0, false));
        // A pinned replica that no longer exists: re-pin.
        assert_eq!(lb.pick(2, |_| 0, Some(5)), (0, true));
    }
}
