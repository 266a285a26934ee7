//! Node power and exact energy.
//!
//! A node's power depends on its CPU utilisation only: the SPECpower benchmark publishes watts at
//! 0, 10, …, 100% load, and linear interpolation between those points is what CloudSim and the
//! consolidation literature use. An off node draws 0 W and a booting one its idle power: the
//! caller decides which figure applies and tells the meter.
//!
//! Power is piecewise constant in the simulator (it changes only at events), so energy is an exact
//! sum of `watts × duration` over the pieces, not a sampled estimate.

/// Nanoseconds in one second, as a float divisor.
const NS_PER_S_F64: f64 = 1e9;

/// How a node's power depends on its CPU utilisation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PowerModel {
    /// SPECpower points: watts at 0, 10, …, 100% load, linearly interpolated.
    Table { watts: [f64; 11] },
    /// Idle power plus a share of the dynamic range proportional to the load.
    Linear { idle_w: f64, max_w: f64 },
}

/// Distance (in tenths of full load) within which a utilisation counts as a table point. `0.7`
/// times 10 is not 7 in binary; without this, `watts(0.7)` would miss the 70% figure by an ulp.
const TABLE_POINT_EPS: f64 = 1e-9;

impl PowerModel {
    /// The model a scenario's `power` table describes (node groups', `[live] power`'s).
    pub fn of(p: &crate::scenario::infra::Power) -> Self {
        use crate::scenario::infra::Power;
        match p {
            Power::Table { watts } => PowerModel::Table { watts: *watts },
            Power::Linear { idle_w, max_w } => PowerModel::Linear {
                idle_w: *idle_w,
                max_w: *max_w,
            },
            Power::HpMl110G4 => PowerModel::hp_proliant_ml110_g4(),
            Power::HpMl110G5 => PowerModel::hp_proliant_ml110_g5(),
            Power::Constant { watts } => PowerModel::Linear {
                idle_w: *watts,
                max_w: *watts,
            },
        }
    }

    /// HP ProLiant ML110 G4 (Intel Xeon 3040, 2 cores × 1860 MHz), SPECpower_ssj2008.
    pub fn hp_proliant_ml110_g4() -> Self {
        PowerModel::Table {
            watts: [
                86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0,
            ],
        }
    }

    /// HP ProLiant ML110 G5 (Intel Xeon 3075, 2 cores × 2660 MHz), SPECpower_ssj2008.
    pub fn hp_proliant_ml110_g5() -> Self {
        PowerModel::Table {
            watts: [
                93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0,
            ],
        }
    }

    /// Power at `utilisation` (fraction of the node's CPU capacity in use), clamped to [0, 1]; NaN
    /// counts as 0. Table points and both ends are returned exactly as given.
    pub fn watts(&self, utilisation: f64) -> f64 {
        let u = if utilisation > 0.0 {
            utilisation.min(1.0)
        } else {
            0.0
        };
        match *self {
            PowerModel::Table { ref watts } => {
                let x = u * 10.0;
                // `x.round()` and `x.floor()` without the libm calls (x86-64's baseline has no
                // rounding instruction; this runs at every change of a node's load), through
                // i32, which converts in one instruction: x is in 0..=10, where truncation is
                // `floor`. `x + 0.5` may round up across a whole number only when x is a half
                // below it, far from any table point, where `nearest` is not used.
                let nearest = (x + 0.5) as i32;
                if (x - f64::from(nearest)).abs() <= TABLE_POINT_EPS {
                    return watts[nearest as usize];
                }
                let i = (x as i32).min(9) as usize;
                let frac = x - i as f64;
                watts[i] + (watts[i + 1] - watts[i]) * frac
            }
            PowerModel::Linear { idle_w, max_w } => {
                if u >= 1.0 {
                    max_w
                } else {
                    idle_w + (max_w - idle_w) * u
                }
            }
        }
    }

    /// Watts at 0, 10, …, 100 % load: the table itself, or the linear model's 11 points (which
    /// interpolate back to it exactly). What a power-aware policy is shown of the node.
    pub fn curve_w(&self) -> [f64; 11] {
        match *self {
            PowerModel::Table { watts } => watts,
            PowerModel::Linear { idle_w, max_w } => {
                std::array::from_fn(|i| idle_w + (max_w - idle_w) * i as f64 / 10.0)
            }
        }
    }

    /// Power at 0% load (also drawn while booting).
    pub fn idle_w(&self) -> f64 {
        match *self {
            PowerModel::Table { ref watts } => watts[0],
            PowerModel::Linear { idle_w, .. } => idle_w,
        }
    }

    /// Power at 100% load.
    pub fn max_w(&self) -> f64 {
        match *self {
            PowerModel::Table { ref watts } => watts[10],
            PowerModel::Linear { max_w, .. } => max_w,
        }
    }

    /// Checks that every figure is a finite number of watts >= 0 (for a scenario loader). Figures
    /// that fall with load are allowed: some measured tables are not monotone.
    pub fn validate(&self) -> Result<(), String> {
        let figures: &[f64] = match self {
            PowerModel::Table { watts } => watts,
            PowerModel::Linear { idle_w, max_w } => &[*idle_w, *max_w],
        };
        match figures.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            Some(w) => Err(format!(
                "power figures must be finite and >= 0 W, found {w}"
            )),
            None => Ok(()),
        }
    }
}

/// Integrates piecewise-constant power exactly: energy += watts × dt at each change.
///
/// Each piece contributes `watts × dt_ns / 1e9` joules, multiplied before dividing so that whole
/// watts over whole seconds stay integers in `f64` (exact up to 2^53 W·ns, e.g. 1 kW for 2.5 h
/// in one piece): 123 W for 3600 s is exactly 442800 J. Pieces are summed with Neumaier's
/// compensated summation, so millions of small pieces lose no more than one rounding in all.
#[derive(Clone, Copy, Debug)]
pub struct EnergyMeter {
    last_ns: u64,
    watts: f64,
    sum_j: f64,
    /// Rounding error of `sum_j` carried apart (Neumaier).
    comp_j: f64,
}

impl EnergyMeter {
    /// A meter at 0 W and 0 J from `now_ns`.
    pub fn new(now_ns: u64) -> Self {
        EnergyMeter {
            last_ns: now_ns,
            watts: 0.0,
            sum_j: 0.0,
            comp_j: 0.0,
        }
    }

    /// From `now_ns` on, power is `watts`; the energy up to `now_ns` is counted at the old power.
    /// A `now_ns` earlier than the last change counts as no time passed.
    ///
    /// # Panics
    /// If `watts` is NaN, infinite or negative: a power model bug, better caught than integrated.
    pub fn set_watts(&mut self, now_ns: u64, watts: f64) {
        assert!(
            watts.is_finite() && watts >= 0.0,
            "power must be finite and >= 0 W, got {watts}"
        );
        debug_assert!(now_ns >= self.last_ns, "energy meter went back in time");
        let (sum, comp) = self.sum_to(now_ns);
        self.sum_j = sum;
        self.comp_j = comp;
        self.last_ns = self.last_ns.max(now_ns);
        self.watts = watts;
    }

    /// Energy drawn from creation up to `now_ns`.
    pub fn joules(&self, now_ns: u64) -> f64 {
        let (sum, comp) = self.sum_to(now_ns);
        sum + comp
    }

    /// The current power.
    pub fn watts(&self) -> f64 {
        self.watts
    }

    /// The running sum with the current piece added up to `now_ns`.
    fn sum_to(&self, now_ns: u64) -> (f64, f64) {
        let dt_ns = now_ns.saturating_sub(self.last_ns);
        if dt_ns == 0 || self.watts == 0.0 {
            return (self.sum_j, self.comp_j);
        }
        let piece = self.watts * dt_ns as f64 / NS_PER_S_F64;
        let sum = self.sum_j + piece;
        let err = if self.sum_j.abs() >= piece.abs() {
            (self.sum_j - sum) + piece
        } else {
            (piece - sum) + self.sum_j
        };
        (sum, self.comp_j + err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: u64 = 1_000_000_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    /// The table lookup as first written, with libm's `round` and `floor`: the lookup without
    /// them gives the very same watts, at table points, within their tolerance, at the halves
    /// between them and one ulp either side of each.
    fn watts_with_libm(watts: &[f64; 11], utilisation: f64) -> f64 {
        let u = utilisation.clamp(0.0, 1.0);
        let x = u * 10.0;
        let nearest = x.round();
        if (x - nearest).abs() <= TABLE_POINT_EPS {
            return watts[nearest as usize];
        }
        let i = (x.floor() as usize).min(9);
        let frac = x - i as f64;
        watts[i] + (watts[i + 1] - watts[i]) * frac
    }

    #[test]
    fn table_lookup_matches_the_libm_rounding_everywhere() {
        let g4 = PowerModel::hp_proliant_ml110_g4();
        let PowerModel::Table { watts } = g4 else {
            unreachable!()
        };
        let mut points = vec![0.0, 1.0];
        for k in 0..=20 {
            // Table points and the halves between them, in utilisation and in x = 10·u.
            for x in [
                k as f64 * 0.5,
                k as f64 * 0.5 + TABLE_POINT_EPS,
                k as f64 * 0.5 - TABLE_POINT_EPS,
            ] {
                let u = x / 10.0;
                points.extend([
                    u,
                    f64::from_bits(u.to_bits() + 1),
                    f64::from_bits(u.to_bits().saturating_sub(1)),
                ]);
            }
        }
        points.extend((0..10_000).map(|i| i as f64 / 9_999.0));
        for u in points.into_iter().filter(|u| (0.0..=1.0).contains(u)) {
            assert_eq!(
                g4.watts(u).to_bits(),
                watts_with_libm(&watts, u).to_bits(),
                "at {u:e}"
            );
        }
    }

    #[test]
    fn table_points_are_exact() {
        let g4 = PowerModel::hp_proliant_ml110_g4();
        let g5 = PowerModel::hp_proliant_ml110_g5();
        let g4_w = [
            86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0,
        ];
        let g5_w = [
            93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0,
        ];
        for k in 0..=10 {
            // Both k/10 and k×0.1 (which differ in binary for some k) give the table figure.
            for u in [k as f64 / 10.0, k as f64 * 0.1] {
                assert_eq!(g4.watts(u), g4_w[k], "G4 at {u}");
                assert_eq!(g5.watts(u), g5_w[k], "G5 at {u}");
            }
        }
        assert_eq!((g4.idle_w(), g4.max_w()), (86.0, 117.0));
        assert_eq!((g5.idle_w(), g5.max_w()), (93.7, 135.0));
    }

    #[test]
    fn table_interpolates_linearly_between_points() {
        let g4 = PowerModel::hp_proliant_ml110_g4();
        let g5 = PowerModel::hp_proliant_ml110_g5();
        // G4 at 25%: halfway from 92.6 (20%) to 96 (30%) = 94.3.
        assert!(close(g4.watts(0.25), 94.3), "{}", g4.watts(0.25));
        // G4 at 5%: 86 + 0.5 × 3.4 = 87.7; at 97.5%: 114 + 0.75 × 3 = 116.25.
        assert!(close(g4.watts(0.05), 87.7));
        assert_eq!(g4.watts(0.975), 116.25);
        // G5 at 62%: 121 + 0.2 × 4 = 121.8; at 45%: 110 + 0.5 × 6 = 113.
        assert!(close(g5.watts(0.62), 121.8), "{}", g5.watts(0.62));
        assert_eq!(g5.watts(0.45), 113.0);
        // G5 at 1%: 93.7 + 0.1 × 3.3 = 94.03.
        assert!(close(g5.watts(0.01), 94.03), "{}", g5.watts(0.01));
    }

    #[test]
    fn utilisation_is_clamped() {
        let g4 = PowerModel::hp_proliant_ml110_g4();
        assert_eq!(g4.watts(-0.5), 86.0);
        assert_eq!(g4.watts(1.5), 117.0);
        assert_eq!(g4.watts(f64::INFINITY), 117.0);
        assert_eq!(g4.watts(f64::NEG_INFINITY), 86.0);
        assert_eq!(g4.watts(f64::NAN), 86.0);
        // Just below full load interpolates in the last segment.
        assert!(g4.watts(1.0 - 1e-6) < 117.0);
    }

    #[test]
    fn linear_model() {
        let m = PowerModel::Linear {
            idle_w: 100.0,
            max_w: 250.0,
        };
        assert_eq!(m.watts(0.0), 100.0);
        assert_eq!(m.watts(0.5), 175.0);
        assert_eq!(m.watts(0.2), 130.0);
        assert_eq!(m.watts(1.0), 250.0);
        assert_eq!(m.watts(2.0), 250.0);
        assert_eq!(m.watts(f64::NAN), 100.0);
        assert_eq!((m.idle_w(), m.max_w()), (100.0, 250.0));
        // An awkward range still ends exactly at max_w.
        let m = PowerModel::Linear {
            idle_w: 93.7,
            max_w: 135.1,
        };
        assert_eq!(m.watts(1.0), 135.1);
    }

    #[test]
    fn validation() {
        assert!(PowerModel::hp_proliant_ml110_g4().validate().is_ok());
        assert!(PowerModel::Linear {
            idle_w: 0.0,
            max_w: 10.0
        }
        .validate()
        .is_ok());
        let mut watts = [100.0; 11];
        watts[4] = f64::NAN;
        assert!(PowerModel::Table { watts }.validate().is_err());
        assert!(PowerModel::Linear {
            idle_w: -1.0,
            max_w: 10.0
        }
        .validate()
        .is_err());
    }

    #[test]
    fn constant_power_for_an_hour_is_exact() {
        let mut m = EnergyMeter::new(0);
        m.set_watts(0, 123.0);
        assert_eq!(m.joules(3600 * NS), 442_800.0);
        assert_eq!(m.watts(), 123.0);
        // Starting late and reading twice changes nothing.
        let mut m = EnergyMeter::new(5 * NS);
        assert_eq!(m.joules(7 * NS), 0.0);
        m.set_watts(10 * NS, 123.0);
        assert_eq!(m.joules(10 * NS), 0.0);
        assert_eq!(m.joules(3610 * NS), 442_800.0);
        assert_eq!(m.joules(3610 * NS), 442_800.0);
    }

    #[test]
    fn many_pieces_sum_exactly() {
        // One change per second for an hour, alternating 123 W and 86 W: 1800 × 209 J.
        let mut m = EnergyMeter::new(0);
        for s in 0..3600u64 {
            m.set_watts(s * NS, if s % 2 == 0 { 123.0 } else { 86.0 });
        }
        assert_eq!(m.joules(3600 * NS), 376_200.0);
        // Half-second pieces of 94.3 W (not a binary fraction): one hour gives 339480 J within
        // a few ulps, thanks to compensated summation.
        let mut m = EnergyMeter::new(0);
        for k in 0..7200u64 {
            m.set_watts(k * NS / 2, 94.3);
        }
        let j = m.joules(3600 * NS);
        assert!(
            (j - 339_480.0).abs() <= 4.0 * f64::EPSILON * 339_480.0,
            "{j}"
        );
    }

    #[test]
    fn power_changes_are_integrated_piecewise() {
        // 0 W for 10 s (node off), idle 86 W for 30 s (booting), 117 W for 1.5 s, 0 W after.
        let mut m = EnergyMeter::new(0);
        m.set_watts(10 * NS, 86.0);
        m.set_watts(40 * NS, 117.0);
        assert_eq!(m.joules(40 * NS), 2580.0);
        assert_eq!(m.joules(40 * NS + NS / 2), 2638.5);
        m.set_watts(40 * NS + 3 * NS / 2, 0.0);
        assert_eq!(m.joules(40 * NS + 3 * NS / 2), 2755.5);
        assert_eq!(m.joules(1000 * NS), 2755.5);
        assert_eq!(m.watts(), 0.0);
        // One nanosecond at 1 W.
        let mut m = EnergyMeter::new(0);
        m.set_watts(0, 1.0);
        assert_eq!(m.joules(1), 1e-9);
    }

    #[test]
    #[should_panic(expected = "power must be finite")]
    fn nan_power_panics() {
        EnergyMeter::new(0).set_watts(0, f64::NAN);
    }
}
