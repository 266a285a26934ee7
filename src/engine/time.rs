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
        let ns = s * NS_PER_S as f64;
        if ns >= u64::MAX as f64 {
            return u64::MAX;
        }
        // `ns.round() as u64` without the libm call (x86-64's baseline has no rounding
        // instruction): the truncation is exact, and so is the fraction `ns - whole` (below 2^52
        // both are exact in f64; above, `ns` is a whole number already). Halves round up, as
        // `round` does for positive numbers.
        let whole = ns as u64;
        if ns - whole as f64 >= 0.5 {
            whole + 1
        } else {
            whole
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
        let ns = s * NS_PER_S as f64;
        if ns >= u64::MAX as f64 {
            return u64::MAX;
        }
        // `ns.ceil() as u64` without the libm call: the truncation is exact (see `secs_to_ns`).
        let whole = ns as u64;
        if (whole as f64) < ns {
            whole + 1
        } else {
            whole
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

    /// The libm-free conversions agree with `round` and `ceil` wherever they can differ: halves,
    /// neighbours of whole numbers, the 2^52 and 2^53 boundaries, the top of the range.
    #[test]
    fn conversions_match_round_and_ceil() {
        fn reference(s: f64, f: fn(f64) -> f64) -> u64 {
            if s.is_nan() || s <= 0.0 {
                return 0;
            }
            let ns = f(s * NS_PER_S as f64);
            if ns >= u64::MAX as f64 {
                u64::MAX
            } else {
                ns as u64
            }
        }
        let mut cases = vec![
            0.0, -0.0, 1e-300, 5e-10, 1.5e-9, 2.5e-9, 0.1, 0.3, 7.0, 3600.0,
        ];
        for e in [0, 30, 51, 52, 53, 54, 63, 64, 65] {
            let ns = 2f64.powi(e);
            for x in [ns, ns + 0.5, ns - 0.5, ns + 1.0, ns - 1.0] {
                let s = x / NS_PER_S as f64;
                cases.extend([
                    s,
                    f64::from_bits(s.to_bits() + 1),
                    f64::from_bits(s.to_bits().saturating_sub(1)),
                ]);
            }
        }
        let mut r = crate::engine::rng::stream(1, "time-test", 0, 0, 0);
        for _ in 0..100_000 {
            use rand::Rng as _;
            let s: f64 = r.random::<f64>() * 10f64.powi(r.random_range(-10..12));
            let half = ((s * 1e9).floor() + 0.5) / 1e9;
            cases.extend([s, half]);
        }
        cases.extend([f64::INFINITY, f64::NAN, f64::MAX, u64::MAX as f64 / 1e9]);
        for s in cases {
            assert_eq!(secs_to_ns(s), reference(s, f64::round), "round {s:e}");
            assert_eq!(secs_to_ns_ceil(s), reference(s, f64::ceil), "ceil {s:e}");
        }
    }
}
