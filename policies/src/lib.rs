//! Reconfiguration policies for reconf: pure decision code over a read-only view.
//!
//! A policy depends on `reconf-api` alone: it reads a view and returns actions, and never
//! touches an engine or a hypervisor. The `Policy` trait, the view and the built-in policies
//! arrive with the policy issue; until then scenarios script their actions.

pub use reconf_api as api;
