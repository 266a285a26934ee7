//! Availability: the time a tier (an application) could serve, i.e. had at least one active
//! replica behind its balancer (every tier did), over the measurement window.

use crate::engine::SimTime;

/// Time spent up, counted from the end of warm-up.
#[derive(Clone, Debug)]
pub struct UpTime {
    up: bool,
    since: SimTime,
    up_ns: u64,
}

impl UpTime {
    pub fn new(up: bool) -> Self {
        UpTime {
            up,
            since: SimTime::ZERO,
            up_ns: 0,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Up (or not) from `now` on; the time up so far counts from `from`.
    #[inline]
    pub fn set(&mut self, now: SimTime, up: bool, from: SimTime) {
        if up == self.up {
            return;
        }
        self.settle(now, from);
        self.up = up;
    }

    fn settle(&mut self, now: SimTime, from: SimTime) {
        if self.up {
            let start = self.since.max(from);
            if now > start {
                self.up_ns += now.since(start);
            }
        }
        self.since = now;
    }

    /// The share of [`from`, `now`] spent up (1 for an empty window).
    pub fn fraction(&self, now: SimTime, from: SimTime) -> f64 {
        let mut t = self.clone();
        t.settle(now, from);
        let window = now.since(from);
        if window == 0 {
            return if self.up { 1.0 } else { 0.0 };
        }
        t.up_ns as f64 / window as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_time_up_after_the_window_starts() {
        let s = SimTime::from_secs;
        let mut u = UpTime::new(true);
        u.set(s(5.0), false, s(10.0)); // down before the window: nothing counted
        u.set(s(12.0), true, s(10.0));
        u.set(s(15.0), false, s(10.0));
        u.set(s(16.0), true, s(10.0));
        // Up 12..15 and 16..20 of the window 10..20.
        assert_eq!(u.fraction(s(20.0), s(10.0)), 0.7);
    }
}
