//! Simulated time as an integer number of nanoseconds since the start of the run.
//!
//! Integer time makes event order exact and runs byte-for-byte reproducible; nanoseconds leave
//! 584 years of range, far beyond any scenario.

use std::fmt;

/// Nanoseconds in one second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `s` seconds after the start, rounded to the nearest nanosecond.
    pub fn from_secs(s: f64) -> SimTime {
        SimTime(secs_to_ns(s))
    }

    pub fn as_secs(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }

    /// This instant plus `ns` nanoseconds, saturating at `SimTime::MAX`.
    #[inline]
    pub fn plus_ns(self, ns: u64) -> SimTime {
        SimTime(self.0.saturating_add(ns))
    }

    /// Nanoseconds from `earlier` to `self` (0 if `earlier` is later).
    #[inline]
    pub fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9} s", self.as_secs())
    }
}

/// A non-negative duration in seconds converted to nanoseconds (rounded to nearest, saturating).
#[inline]
pub fn secs_to_ns(s: f64) -> u64 {
    if s.is_nan() || s <= 0.0 {
        0
    } else {
        let ns = (s * NS_PER_S as f64).round();
        if ns >= u64::MAX as f64 {
            u64::MAX
        } else {
            ns as u64
        }
    }
}

/// A non-negative duration in seconds converted to nanoseconds, rounded *up*: used for
/// departures, so that a job is never declared finished before its work is done.
#[inline]
pub fn secs_to_ns_ceil(s: f64) -> u64 {
    if s.is_nan() || s <= 0.0 {
        0
    } else {
        let ns = (s * NS_PER_S as f64).ceil();
        if ns >= u64::MAX as f64 {
            u64::MAX
        } else {
            ns as u64
        }
    }
}

/// Nanoseconds as seconds.
#[inline]
pub fn ns_to_secs(ns: u64) -> f64 {
    ns as f64 / NS_PER_S as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        assert_eq!(SimTime::from_secs(1.5).0, 1_500_000_000);
        assert_eq!(SimTime(2_500_000_000).as_secs(), 2.5);
        assert_eq!(secs_to_ns(-1.0), 0);
        assert_eq!(secs_to_ns(f64::NAN), 0);
        assert_eq!(secs_to_ns_ceil(1e-10), 1);
        assert_eq!(secs_to_ns(1e30), u64::MAX);
        assert_eq!(SimTime(5).since(SimTime(7)), 0);
    }
}
