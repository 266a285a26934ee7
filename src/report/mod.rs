//! Metrics and the files a run writes: `summary.json`, `timeseries.csv`, `scenario.toml`,
//! each written atomically.

pub mod atomic;
pub mod batched;
pub mod metrics;
pub mod output;
pub mod provenance;

pub use output::{
    ActionRow, CheckpointFigures, DatacenterFigures, FailureRow, FaultFigures, IntervalFigures,
    NodeRow, RunOutput, Summary, TimeseriesRow, UserFigures,
};
