//! The scenario file: its schema, loading with `--set` overrides, validation, and errors that
//! name the file, line and field.

pub mod budget;
pub mod checkpointing;
pub mod deserialize;
pub mod error;
pub mod faults;
pub mod infra;
pub mod live;
pub mod load;
pub mod locate;
pub mod overrides;
pub mod placement;
pub mod schema;
pub mod validate;
pub mod vms;

pub use error::InputError;
