//! The first node, in node order, with room for a VM — without scanning every node.
//!
//! A datacenter's initial placement puts 100,000 VMs on 10,000 nodes: a linear scan per VM
//! costs 10^9 node checks once most nodes are full. This segment tree keeps, for each range of
//! nodes, the most free CPU and the most free RAM of one of its nodes, and descends only into
//! ranges that might hold a node with enough of both. It is a filter: whether a node fits is
//! still decided by the caller's exact test, so the answer is the linear scan's, node for node.

/// Slack of the filter, in CPU units and MB: ranges are skipped only when clearly too small, so
/// that rounding in the caller's test can never make the filter hide a node it would accept.
const SLACK: f64 = 1e-6;

pub(crate) struct FirstFit {
    /// Leaves from `base`; inner node `i` covers its children `2i`, `2i + 1`.
    base: usize,
    cpu: Vec<f64>,
    ram: Vec<f64>,
}

impl FirstFit {
    /// `free[n]` = (free CPU, free RAM) of node `n`; `f64::NEG_INFINITY` for a node that may take
    /// nothing (off).
    pub fn new(free: &[(f64, f64)]) -> Self {
        let base = free.len().next_power_of_two().max(1);
        let mut ff = FirstFit {
            base,
            cpu: vec![f64::NEG_INFINITY; 2 * base],
            ram: vec![f64::NEG_INFINITY; 2 * base],
        };
        for (n, &(c, r)) in free.iter().enumerate() {
            ff.cpu[base + n] = c;
            ff.ram[base + n] = r;
        }
        for i in (1..base).rev() {
            ff.pull(i);
        }
        ff
    }

    fn pull(&mut self, i: usize) {
        self.cpu[i] = self.cpu[2 * i].max(self.cpu[2 * i + 1]);
        self.ram[i] = self.ram[2 * i].max(self.ram[2 * i + 1]);
    }

    /// Node `n` now has `cpu` and `ram` free.
    pub fn update(&mut self, n: usize, cpu: f64, ram: f64) {
        let mut i = self.base + n;
        self.cpu[i] = cpu;
        self.ram[i] = ram;
        while i > 1 {
            i /= 2;
            self.pull(i);
        }
    }

    /// The first node with at least `cpu` and `ram` free (up to the slack) for which `fits`
    /// says yes.
    pub fn first(&self, cpu: f64, ram: f64, mut fits: impl FnMut(usize) -> bool) -> Option<usize> {
        self.descend(1, cpu, ram, &mut fits)
    }

    fn descend(
        &self,
        i: usize,
        cpu: f64,
        ram: f64,
        fits: &mut impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        if self.cpu[i] + SLACK < cpu || self.ram[i] + SLACK < ram {
            return None;
        }
        if i >= self.base {
            let n = i - self.base;
            return fits(n).then_some(n);
        }
        self.descend(2 * i, cpu, ram, fits)
            .or_else(|| self.descend(2 * i + 1, cpu, ram, fits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// On random fills, the tree's answer is the linear scan's.
    #[test]
    fn the_first_fit_is_the_linear_scans() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        for _ in 0..50 {
            let n = rng.random_range(1..40);
            let mut free: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    if rng.random_bool(0.1) {
                        (f64::NEG_INFINITY, f64::NEG_INFINITY)
                    } else {
                        (rng.random_range(0.0..4000.0), rng.random_range(0.0..4096.0))
                    }
                })
                .collect();
            let mut ff = FirstFit::new(&free);
            for _ in 0..200 {
                let (c, r) = (rng.random_range(0.0..3000.0), rng.random_range(0.0..2000.0));
                let linear = (0..n).find(|&k| free[k].0 >= c && free[k].1 >= r);
                let tree = ff.first(c, r, |k| free[k].0 >= c && free[k].1 >= r);
                assert_eq!(tree, linear);
                if let Some(k) = tree {
                    free[k].0 -= c;
                    free[k].1 -= r;
                    ff.update(k, free[k].0, free[k].1);
                }
            }
        }
    }
}
