//! What the users saw: request and session counters and response-time statistics, for each
//! application and in total, over the whole run, the measurement window (after warm-up), the
//! current reporting interval and the current control period.

use crate::report::metrics::{Counters, ResponseStats};

/// What a set of users saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Over the whole run.
    pub counters: Counters,
    /// Requests a client still waits for (issued, neither completed nor failed).
    pub in_flight: u64,
    /// Response times over the measurement window (after warm-up).
    pub window: ResponseStats,
    /// Response times of the current reporting interval (reset by each report).
    pub interval: ResponseStats,
}

impl Seen {
    #[inline]
    pub fn issued(&mut self) {
        self.counters.requests_issued += 1;
        self.in_flight += 1;
    }

    #[inline]
    pub fn completed(&mut self, response_ns: u64, target_ns: u64, in_window: bool) {
        self.in_flight -= 1;
        self.counters.requests_completed += 1;
        self.interval.record(response_ns, target_ns);
        if in_window {
            self.window.record(response_ns, target_ns);
        }
    }

    #[inline]
    pub fn failed(&mut self, in_window: bool) {
        self.in_flight -= 1;
        self.counters.requests_failed += 1;
        self.interval.record_failure();
        if in_window {
            self.window.record_failure();
        }
    }
}
