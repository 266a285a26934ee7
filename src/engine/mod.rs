//! The discrete-event engine: integer simulated time, an event queue ordered by
//! (time, insertion sequence), and named random streams. It knows nothing of servers or clients.

pub mod prefetch;
pub mod queue;
pub mod rng;
pub mod time;

pub use queue::EventQueue;
pub use rng::{stream, Rng};
pub use time::SimTime;
