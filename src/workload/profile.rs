//! A load curve: how many clients are active (closed loop), or how many sessions arrive per
//! second (open loop), as a function of simulated time.

use crate::engine::time::{secs_to_ns, NS_PER_S};
use crate::engine::SimTime;

/// A piecewise curve over time: steps or linear segments between points, held after the last
/// point; before the first point, the first point's value.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadCurve {
    /// (time, value), strictly increasing in time, at least one point.
    points: Vec<(SimTime, f64)>,
    linear: bool,
}

impl LoadCurve {
    /// `points` in seconds; must be non-empty with strictly increasing times (checked by the
    /// scenario validation, which reports the offending line).
    pub fn new(points_s: &[(f64, f64)], linear: bool) -> Self {
        assert!(
            !points_s.is_empty(),
            "a load curve needs at least one point"
        );
        let points = points_s
            .iter()
            .map(|&(t, v)| (SimTime(secs_to_ns(t)), v))
            .collect();
        LoadCurve { points, linear }
    }

    pub fn constant(value: f64) -> Self {
        LoadCurve::new(&[(0.0, value)], false)
    }

    pub fn value_at(&self, t: SimTime) -> f64 {
        let i = self.points.partition_point(|&(pt, _)| pt <= t);
        if i == 0 {
            return self.points[0].1;
        }
        let (t0, v0) = self.points[i - 1];
        if !self.linear || i == self.points.len() {
            return v0;
        }
        let (t1, v1) = self.points[i];
        let f = (t.0 - t0.0) as f64 / (t1.0 - t0.0) as f64;
        v0 + (v1 - v0) * f
    }

    /// The largest value the curve takes (the bound used to thin a Poisson process).
    pub fn max_value(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(0.0, f64::max)
    }

    /// A population size: the value rounded to the nearest integer.
    pub fn count_at(&self, t: SimTime) -> u32 {
        let v = self.value_at(t).max(0.0);
        (v + 0.5).floor().min(u32::MAX as f64) as u32
    }

    /// The first instant after `t` at which `count_at` may change, if any. It may return an
    /// instant at which the count turns out unchanged (a breakpoint): the caller just asks again.
    pub fn next_count_change(&self, t: SimTime) -> Option<SimTime> {
        let i = self.points.partition_point(|&(pt, _)| pt <= t);
        if i == self.points.len() {
            return None;
        }
        let next_point = self.points[i].0;
        if !self.linear || i == 0 {
            return Some(next_point);
        }
        let (t0, v0) = self.points[i - 1];
        let (t1, v1) = self.points[i];
        if v1 == v0 {
            return Some(next_point);
        }
        // The count changes when the value crosses the next half-integer in the slope's direction.
        let count = f64::from(self.count_at(t));
        let boundary = if v1 > v0 { count + 0.5 } else { count - 0.5 };
        let frac = (boundary - v0) / (v1 - v0);
        let at_ns = t0.0 as f64 + frac * (t1.0 - t0.0) as f64;
        let at = if at_ns.is_finite() && at_ns > t.0 as f64 {
            SimTime(at_ns.ceil() as u64)
        } else {
            SimTime(t.0 + 1)
        };
        Some(at.min(next_point).max(SimTime(t.0 + 1)))
    }

    /// ∫ value dt over [0, end], in value·seconds (e.g. expected arrivals of an open loop).
    pub fn integral(&self, end: SimTime) -> f64 {
        let mut total = 0.0;
        let mut prev_t = SimTime::ZERO;
        let mut prev_v = self.value_at(SimTime::ZERO);
        let mut knots: Vec<SimTime> = self
            .points
            .iter()
            .map(|p| p.0)
            .filter(|&k| k < end)
            .collect();
        knots.push(end);
        for k in knots {
            if k <= prev_t {
                continue;
            }
            let v_end = if self.linear {
                self.value_at(k)
            } else {
                prev_v
            };
            total += (prev_v + v_end) / 2.0 * (k.0 - prev_t.0) as f64 / NS_PER_S as f64;
            prev_t = k;
            prev_v = self.value_at(k);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> SimTime {
        SimTime::from_secs(x)
    }

    #[test]
    fn steps_hold_until_the_next_point() {
        let c = LoadCurve::new(&[(10.0, 5.0), (20.0, 8.0)], false);
        assert_eq!(c.value_at(s(0.0)), 5.0);
        assert_eq!(c.value_at(s(19.999)), 5.0);
        assert_eq!(c.value_at(s(20.0)), 8.0);
        assert_eq!(c.value_at(s(1e6)), 8.0);
        assert_eq!(c.next_count_change(s(0.0)), Some(s(10.0)));
        assert_eq!(c.next_count_change(s(10.0)), Some(s(20.0)));
        assert_eq!(c.next_count_change(s(20.0)), None);
    }

    #[test]
    fn ramps_interpolate_and_change_count_at_half_integers() {
        let c = LoadCurve::new(&[(0.0, 0.0), (10.0, 10.0)], true);
        assert_eq!(c.value_at(s(2.5)), 2.5);
        assert_eq!(c.count_at(s(2.4)), 2);
        assert_eq!(c.count_at(s(2.5)), 3);
        // From 0 (count 0) the count becomes 1 when the value reaches 0.5, at 0.5 s.
        assert_eq!(c.next_count_change(s(0.0)), Some(s(0.5)));
        assert_eq!(c.next_count_change(s(0.5)), Some(s(1.5)));
    }

    #[test]
    fn walking_a_ramp_visits_every_count_once() {
        for (a, b) in [(3.0, 17.0), (17.0, 3.0)] {
            let c = LoadCurve::new(&[(0.0, a), (7.0, b)], true);
            let mut t = SimTime::ZERO;
            let mut seen = vec![c.count_at(t)];
            while let Some(next) = c.next_count_change(t) {
                assert!(next > t);
                t = next;
                let n = c.count_at(t);
                if *seen.last().unwrap() != n {
                    seen.push(n);
                }
            }
            let expected: Vec<u32> = if a < b {
                (3..=17).collect()
            } else {
                (3..=17).rev().collect()
            };
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn integral_of_steps_and_ramps() {
        let steps = LoadCurve::new(&[(0.0, 2.0), (10.0, 4.0)], false);
        assert!((steps.integral(s(20.0)) - 60.0).abs() < 1e-9);
        let ramp = LoadCurve::new(&[(0.0, 0.0), (10.0, 10.0)], true);
        assert!((ramp.integral(s(10.0)) - 50.0).abs() < 1e-9);
        assert!((ramp.integral(s(20.0)) - 150.0).abs() < 1e-9);
        assert_eq!(LoadCurve::constant(3.0).max_value(), 3.0);
    }
}
