//! Reconfiguration policies for reconf: pure decision code over a read-only view.
//!
//! A policy depends on `reconf-api` alone: it reads a [`View`](api::View) and returns
//! [`Action`](api::Action)s, and never touches an engine or a hypervisor, so the same policy
//! value runs against the simulator and against libvirt.
//!
//! One file per policy. To add one: write `my_policy.rs` with a `pub const INFO: PolicyInfo`,
//! declare the module below and add `my_policy::INFO` to [`REGISTRY`]: that single line is all
//! the rest of reconf needs (scenarios then select it by name, with typed parameters).

pub use reconf_api as api;

pub mod placement;
pub mod sustained;
pub mod testing;

pub mod response_time;
pub mod static_policy;
pub mod threshold_migration;
pub mod threshold_replication;

use api::{ParamSpec, ParamValue, Params, Policy, PolicyContext};
use std::collections::BTreeMap;

/// What reconf needs to know of a policy: its name, what it does, its parameters, and how to
/// build it from checked parameters.
pub struct PolicyInfo {
    pub name: &'static str,
    pub about: &'static str,
    pub params: &'static [ParamSpec],
    pub build: fn(&Params, &PolicyContext) -> Box<dyn Policy>,
}

/// Every policy a scenario can name.
pub const REGISTRY: &[PolicyInfo] = &[
    static_policy::INFO,
    threshold_replication::INFO,
    threshold_migration::INFO,
    response_time::INFO,
];

/// Why a policy could not be built: the offending field (`name`, or the parameter's name) and
/// a message listing what is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub field: String,
    pub message: String,
}

/// Builds the policy `name` with parameters `given` (unknown names, wrong types rejected) and
/// its context (its own seed).
pub fn build(
    name: &str,
    given: &BTreeMap<String, ParamValue>,
    context: &PolicyContext,
) -> Result<Box<dyn Policy>, PolicyError> {
    let Some(info) = REGISTRY.iter().find(|p| p.name == name) else {
        let valid: Vec<&str> = REGISTRY.iter().map(|p| p.name).collect();
        return Err(PolicyError {
            field: "name".into(),
            message: format!(
                "unknown policy `{name}`; valid policies: {}",
                valid.join(", ")
            ),
        });
    };
    let params = Params::check(info.params, given)
        .map_err(|(field, message)| PolicyError { field, message })?;
    Ok((info.build)(&params, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: PolicyContext = PolicyContext { seed: 1 };

    #[test]
    fn names_are_unique_and_unknown_ones_list_the_valid_ones() {
        let mut names: Vec<&str> = REGISTRY.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
        let err = build("nope", &BTreeMap::new(), &CTX).err().unwrap();
        assert_eq!(err.field, "name");
        assert!(
            err.message.contains("threshold-migration"),
            "{}",
            err.message
        );
        for p in REGISTRY {
            let built = build(p.name, &BTreeMap::new(), &CTX).unwrap();
            assert_eq!(built.name(), p.name);
        }
    }

    #[test]
    fn unknown_parameters_are_rejected() {
        let mut given = BTreeMap::new();
        given.insert("hgih".to_string(), ParamValue::Number(1.0));
        let err = build("threshold-migration", &given, &CTX).err().unwrap();
        assert_eq!(err.field, "hgih");
        assert!(
            err.message.contains("valid parameters: high"),
            "{}",
            err.message
        );
    }
}
