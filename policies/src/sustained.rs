//! "Above the threshold for `for_s` seconds": a condition must hold at every control period
//! for a while before a policy acts on it, so that one noisy period does not trigger a
//! reconfiguration.

/// Tracks since when a condition has held.
#[derive(Clone, Debug, Default)]
pub struct Sustained {
    since_s: Option<f64>,
}

impl Sustained {
    /// Records the condition's value at `now_s`; returns whether it has held for `for_s`.
    pub fn update(&mut self, now_s: f64, holds: bool, for_s: f64) -> bool {
        if !holds {
            self.since_s = None;
            return false;
        }
        let since = *self.since_s.get_or_insert(now_s);
        now_s - since >= for_s
    }

    pub fn reset(&mut self) {
        self.since_s = None;
    }
}

/// The mean of the values seen over the last `window_s` seconds.
#[derive(Clone, Debug, Default)]
pub struct Window {
    samples: std::collections::VecDeque<(f64, f64)>,
}

impl Window {
    pub fn push(&mut self, now_s: f64, value: f64, window_s: f64) -> f64 {
        self.samples.push_back((now_s, value));
        while let Some(&(t, _)) = self.samples.front() {
            if t <= now_s - window_s && self.samples.len() > 1 {
                self.samples.pop_front();
            } else {
                break;
            }
        }
        self.samples.iter().map(|s| s.1).sum::<f64>() / self.samples.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_must_hold_for_the_whole_duration() {
        let mut s = Sustained::default();
        assert!(!s.update(0.0, true, 60.0));
        assert!(!s.update(30.0, true, 60.0));
        assert!(s.update(60.0, true, 60.0));
        assert!(!s.update(90.0, false, 60.0));
        assert!(!s.update(120.0, true, 60.0));
        assert!(Sustained::default().update(0.0, true, 0.0));
    }

    #[test]
    fn the_window_averages_the_recent_samples() {
        let mut w = Window::default();
        assert_eq!(w.push(0.0, 1.0, 60.0), 1.0);
        assert_eq!(w.push(30.0, 3.0, 60.0), 2.0);
        // The sample at 0 s leaves the 60 s window at 60 s.
        assert_eq!(w.push(60.0, 5.0, 60.0), 4.0);
    }
}
