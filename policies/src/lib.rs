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

pub mod consolidation;
pub mod repair;
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
    threshold_migration::BATCH_INFO,
    response_time::INFO,
    repair::INFO,
    consolidation::THR_MMT,
    consolidation::IQR_MMT,
    consolidation::MAD_MMT,
    consolidation::LR_MMT,
    consolidation::LRR_MMT,
    consolidation::LR_MC,
    consolidation::LR_RS,
    consolidation::LR_MU,
    consolidation::THR_MC,
    consolidation::THR_RS,
    consolidation::THR_MU,
    consolidation::IQR_MC,
    consolidation::IQR_RS,
    consolidation::IQR_MU,
    consolidation::MAD_MC,
    consolidation::MAD_RS,
    consolidation::MAD_MU,
    consolidation::LRR_MC,
    consolidation::LRR_RS,
    consolidation::LRR_MU,
    consolidation::baseline::NPA,
    consolidation::baseline::DVFS,
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
    fn every_default_is_in_range_and_every_relation_names_a_number_parameter() {
        for p in REGISTRY {
            for spec in p.params {
                if let Some(api::Relation::LessThan(o) | api::Relation::AtMost(o)) = spec.relation {
                    let other = p.params.iter().find(|s| s.name == o);
                    assert!(
                        other.is_some_and(|s| matches!(s.default, ParamValue::Number(_))),
                        "{}.{} is declared against `{o}`",
                        p.name,
                        spec.name
                    );
                }
            }
            Params::check(p.params, &BTreeMap::new())
                .unwrap_or_else(|e| panic!("{}: defaults rejected: {e:?}", p.name));
        }
    }

    /// The ranges issue 10 asked for, policy by policy: what a user could type by mistake.
    #[test]
    fn out_of_range_and_contradictory_parameters_are_rejected_naming_the_parameter() {
        /// Policy, parameters given, the parameter blamed, words the message must contain.
        type Case = (
            &'static str,
            &'static [(&'static str, f64)],
            &'static str,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "threshold-migration",
                &[("high", 60.0)],
                "high",
                "a fraction: 0.6 for 60%",
            ),
            (
                "threshold-migration",
                &[("low", 0.9), ("high", 0.6)],
                "low",
                "must be less than `high`",
            ),
            (
                "threshold-migration",
                &[("high", 0.2)],
                "high",
                "`low` (0.25, its default)",
            ),
            ("threshold-migration", &[("for_s", -30.0)], "for_s", ">= 0"),
            (
                "threshold-migration",
                &[("cooldown_s", -1.0)],
                "cooldown_s",
                ">= 0",
            ),
            (
                "threshold-replication",
                &[("high", 70.0)],
                "high",
                "in (0, 1)",
            ),
            (
                "threshold-replication",
                &[("low", 0.8)],
                "low",
                "must be less than `high` (0.7, its default)",
            ),
            (
                "threshold-replication",
                &[("min_replicas", 3.0), ("max_replicas", 2.0)],
                "min_replicas",
                "at most `max_replicas`",
            ),
            (
                "threshold-replication",
                &[("max_replicas", 0.0)],
                "max_replicas",
                "a whole number >= 1",
            ),
            (
                "threshold-replication",
                &[("max_replicas", 2.5)],
                "max_replicas",
                "a whole number",
            ),
            (
                "threshold-replication",
                &[("window_s", -60.0)],
                "window_s",
                ">= 0",
            ),
            (
                "response-time-target",
                &[("low_fraction", 1.5)],
                "low_fraction",
                "in [0, 1)",
            ),
            (
                "response-time-target",
                &[("idle_cpu", 30.0)],
                "idle_cpu",
                "a fraction: 0.3 for 30%",
            ),
            (
                "response-time-target",
                &[("max_replicas", 0.0)],
                "max_replicas",
                ">= 1",
            ),
        ];
        for (policy, given, field, words) in cases {
            let given: BTreeMap<String, ParamValue> = given
                .iter()
                .map(|(k, v)| (k.to_string(), ParamValue::Number(*v)))
                .collect();
            let err = build(policy, &given, &CTX).err().unwrap_or_else(|| {
                panic!("{policy} {given:?} accepted");
            });
            assert_eq!(&err.field, field, "{policy} {given:?}: {}", err.message);
            assert!(err.message.contains(words), "{policy}: {}", err.message);
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
