//! reconf: a deterministic discrete-event simulator of server clusters that reconfigure
//! themselves under varying load.
//!
//! Layers, each depending only on the ones before it:
//! - [`engine`]: simulated time, the event queue, named random streams;
//! - [`workload`]: what users do (RUBiS sessions, think times, load profiles, demands);
//! - [`scenario`]: the scenario file: schema, loading, `--set` overrides, validation;
//! - [`model`]: servers (processor sharing), load balancers;
//! - [`sim`]: the simulated backend that builds the world from a scenario and runs it;
//! - [`report`]: metrics, `summary.json`, `timeseries.csv`, atomic writes;
//! - [`batch`]: scenario batches (`reconf sweep`): parallel, resumable, with confidence intervals;
//! - [`plot`]: figures of runs and sweeps (`reconf plot`);
//! - [`compare`]: the regression gate (`reconf compare`);
//! - [`live`]: the real backend: the same policies against libvirt hosts (`reconf live`);
//! - [`cli`]: the `reconf` command.

pub mod batch;
pub mod cli;
pub mod compare;
pub mod engine;
pub mod live;
pub mod model;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod workload;
