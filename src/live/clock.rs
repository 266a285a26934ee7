//! The live backend's time axis: seconds since the run started. Host answers, views and action
//! records are all stamped with it, when they happen (not when they were asked for), so that a
//! CPU-time delta is divided by the time that really passed between its two reads. Tests drive
//! a manual clock instead of the wall clock.

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Seconds since the start of the run.
#[derive(Clone, Debug)]
pub enum Clock {
    /// The wall clock, from `epoch`.
    Wall(Instant),
    /// A clock set by hand (tests).
    Manual(Arc<Mutex<f64>>),
}

impl Clock {
    /// The wall clock, from now.
    pub fn wall() -> Self {
        Clock::Wall(Instant::now())
    }

    /// A manual clock at 0 s.
    pub fn manual() -> Self {
        Clock::Manual(Arc::new(Mutex::new(0.0)))
    }

    pub fn now_s(&self) -> f64 {
        match self {
            Clock::Wall(epoch) => epoch.elapsed().as_secs_f64(),
            Clock::Manual(t) => *t.lock().expect("clock"),
        }
    }

    /// Sets a manual clock to `s` (a wall clock cannot be set: this does nothing to it).
    pub fn set(&self, s: f64) {
        if let Clock::Manual(t) = self {
            *t.lock().expect("clock") = s;
        }
    }
}
