//! What users do: session mixes (RUBiS transition tables), load profiles and traces.

pub mod distribution;
pub mod mix;
pub mod profile;
pub mod table;
pub mod trace;
pub mod vm_trace;
