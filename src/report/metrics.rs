//! What the users saw, accumulated as the run goes: counters for the whole run, response-time
//! statistics over the measurement window (after warm-up), and per-interval figures for the time
//! series. Percentiles come from streaming HDR histograms, never from stored samples.

use super::batched::BatchedHistogram;
use hdrhistogram::Histogram;

/// Largest response time the histograms resolve, in microseconds (one day); above it, saturate.
const MAX_RESPONSE_US: u64 = 86_400_000_000;

fn new_histogram() -> BatchedHistogram {
    BatchedHistogram::new(
        Histogram::new_with_bounds(1, MAX_RESPONSE_US, 3).expect("valid histogram bounds"),
    )
}

/// Response-time statistics of a set of requests.
#[derive(Clone, Debug)]
pub struct ResponseStats {
    pub completed: u64,
    pub failed: u64,
    /// Completed requests slower than the SLA target.
    pub slow: u64,
    pub sum_ns: u128,
    /// Response times in µs, counted in batches (see `BatchedHistogram`).
    hist: BatchedHistogram,
}

impl Default for ResponseStats {
    fn default() -> Self {
        ResponseStats {
            completed: 0,
            failed: 0,
            slow: 0,
            sum_ns: 0,
            hist: new_histogram(),
        }
    }
}

impl ResponseStats {
    #[inline]
    pub fn record(&mut self, response_ns: u64, target_ns: u64) {
        self.completed += 1;
        self.sum_ns += u128::from(response_ns);
        if response_ns > target_ns {
            self.slow += 1;
        }
        let us = (response_ns / 1000).clamp(1, MAX_RESPONSE_US);
        self.hist.record(us);
    }

    #[inline]
    pub fn record_failure(&mut self) {
        self.failed += 1;
    }

    pub fn mean_ms(&self) -> f64 {
        if self.completed == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.completed as f64 / 1e6
        }
    }

    /// The `q` quantile (0..1) of completed requests' response times, in ms (0 if none).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.completed == 0 {
            0.0
        } else {
            self.hist.read(|h| h.value_at_quantile(q)) as f64 / 1000.0
        }
    }

    /// The slowest completed request, in ms (0 if none).
    pub fn max_ms(&self) -> f64 {
        if self.completed == 0 {
            0.0
        } else {
            self.hist.read(|h| h.max()) as f64 / 1000.0
        }
    }

    /// Share of requests that missed the SLA: slower than the target, or failed.
    pub fn sla_violation_fraction(&self) -> f64 {
        let all = self.completed + self.failed;
        if all == 0 {
            0.0
        } else {
            (self.slow + self.failed) as f64 / all as f64
        }
    }

    pub fn reset(&mut self) {
        self.completed = 0;
        self.failed = 0;
        self.slow = 0;
        self.sum_ns = 0;
        self.hist.reset();
    }
}

/// Counters over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests_issued: u64,
    pub requests_completed: u64,
    pub requests_failed: u64,
    pub sessions_started: u64,
    pub sessions_completed: u64,
    pub sessions_lost: u64,
    /// Of those failed: because of a fault (a crashed server or node, a tier with no replica
    /// left).
    pub requests_failed_to_faults: u64,
    /// Of those lost: because the replica holding them crashed.
    pub sessions_lost_to_failures: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_known_samples() {
        let mut s = ResponseStats::default();
        for ms in 1..=100u64 {
            s.record(ms * 1_000_000, 90_000_000);
        }
        s.record_failure();
        assert_eq!(s.mean_ms(), 50.5);
        assert!((s.quantile_ms(0.95) - 95.0).abs() <= 0.1);
        assert!((s.quantile_ms(0.5) - 50.0).abs() <= 0.1);
        // 10 slower than 90 ms, plus one failure, out of 101.
        assert_eq!(s.sla_violation_fraction(), 11.0 / 101.0);
        s.reset();
        assert_eq!(s.quantile_ms(0.99), 0.0);
    }
}
