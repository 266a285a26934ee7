//! The scenario file: its schema, loading with `--set` overrides, validation, and errors that
//! name the file, line and field.

pub mod error;

pub use error::InputError;
