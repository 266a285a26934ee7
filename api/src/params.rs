//! Typed policy parameters, as a scenario gives them (`[policy.params]`), checked against what
//! the policy declares: an unknown name, a wrong type, a number out of its declared range or a
//! pair that contradicts itself (`low` above `high`) is rejected, naming the parameter, before
//! anything runs. A percentage typed for a fraction (`high = 60`) gave a policy that never
//! acted; now it is refused at load.

use std::collections::BTreeMap;
use std::fmt;

/// A parameter value.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Number(f64),
    Bool(bool),
    Text(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Number(x) => write!(f, "{x}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Text(s) => write!(f, "\"{s}\""),
        }
    }
}

impl ParamValue {
    fn kind(&self) -> &'static str {
        match self {
            ParamValue::Number(_) => "a number",
            ParamValue::Bool(_) => "true or false",
            ParamValue::Text(_) => "a string",
        }
    }
}

/// One end of a number parameter's range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// The value itself is allowed.
    Inclusive(f64),
    /// Only values strictly beyond it are.
    Exclusive(f64),
}

/// How a number parameter must compare with another one of the same policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// Strictly less than the named parameter (`low` < `high`).
    LessThan(&'static str),
    /// Less than or equal to it (`min_replicas` <= `max_replicas`).
    AtMost(&'static str),
}

/// A parameter a policy declares: its name, default (which gives its type), meaning and, for a
/// number, the values it may take. Built with [`ParamSpec::number`] or [`ParamSpec::flag`],
/// then narrowed: `ParamSpec::number("low", 0.25, "...").fraction().less_than("high")`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub default: ParamValue,
    pub doc: &'static str,
    /// Smallest allowed value (numbers only); `None`: no lower limit.
    pub min: Option<Bound>,
    /// Largest allowed value (numbers only); `None`: no upper limit.
    pub max: Option<Bound>,
    /// Whole numbers only (counts).
    pub integer: bool,
    /// How the value must compare with another parameter's, checked after the ranges.
    pub relation: Option<Relation>,
}

impl ParamSpec {
    pub const fn number(name: &'static str, default: f64, doc: &'static str) -> Self {
        ParamSpec {
            name,
            default: ParamValue::Number(default),
            doc,
            min: None,
            max: None,
            integer: false,
            relation: None,
        }
    }

    pub const fn flag(name: &'static str, default: bool, doc: &'static str) -> Self {
        ParamSpec {
            name,
            default: ParamValue::Bool(default),
            doc,
            min: None,
            max: None,
            integer: false,
            relation: None,
        }
    }

    /// At least `lo`.
    pub const fn min(self, lo: f64) -> Self {
        self.with_min(Some(Bound::Inclusive(lo)))
    }

    /// Strictly above `lo`.
    pub const fn above(self, lo: f64) -> Self {
        self.with_min(Some(Bound::Exclusive(lo)))
    }

    /// At most `hi`.
    pub const fn max(self, hi: f64) -> Self {
        self.with_max(Some(Bound::Inclusive(hi)))
    }

    /// Strictly below `hi`.
    pub const fn below(self, hi: f64) -> Self {
        self.with_max(Some(Bound::Exclusive(hi)))
    }

    /// Greater than 0 (a duration that must pass, a rate).
    pub const fn positive(self) -> Self {
        self.above(0.0)
    }

    /// 0 or more (a duration that may be 0: act at once, no cool-down).
    pub const fn non_negative(self) -> Self {
        self.min(0.0)
    }

    /// In 0..=1 (a utilisation, a fraction: 0.6, not 60).
    pub const fn fraction(self) -> Self {
        self.min(0.0).max(1.0)
    }

    /// A whole number.
    pub const fn integer(self) -> Self {
        self.with_integer()
    }

    /// Strictly less than the parameter `other`.
    pub const fn less_than(self, other: &'static str) -> Self {
        self.with_relation(Some(Relation::LessThan(other)))
    }

    /// Less than or equal to the parameter `other`.
    pub const fn at_most(self, other: &'static str) -> Self {
        self.with_relation(Some(Relation::AtMost(other)))
    }

    const fn with_min(mut self, b: Option<Bound>) -> Self {
        // Field by field and returned whole: a const fn may not drop a `ParamSpec` (its default
        // may hold a `String`), which `..self` would do.
        self.min = b;
        self
    }

    const fn with_max(mut self, b: Option<Bound>) -> Self {
        self.max = b;
        self
    }

    const fn with_integer(mut self) -> Self {
        self.integer = true;
        self
    }

    const fn with_relation(mut self, r: Option<Relation>) -> Self {
        self.relation = r;
        self
    }

    /// The allowed values in words (`in [0, 1)`, `> 0`, `whole number >= 1`, `< high`), empty
    /// when anything goes: for messages and the key reference.
    pub fn range_text(&self) -> String {
        let mut parts = Vec::new();
        let interval = match (self.min, self.max) {
            (Some(lo), Some(hi)) => {
                let (open, lo) = match lo {
                    Bound::Inclusive(x) => ('[', x),
                    Bound::Exclusive(x) => ('(', x),
                };
                let (close, hi) = match hi {
                    Bound::Inclusive(x) => (']', x),
                    Bound::Exclusive(x) => (')', x),
                };
                Some(format!("in {open}{lo}, {hi}{close}"))
            }
            (Some(Bound::Inclusive(x)), None) => Some(format!(">= {x}")),
            (Some(Bound::Exclusive(x)), None) => Some(format!("> {x}")),
            (None, Some(Bound::Inclusive(x))) => Some(format!("<= {x}")),
            (None, Some(Bound::Exclusive(x))) => Some(format!("< {x}")),
            (None, None) => None,
        };
        if self.integer {
            parts.push(match interval {
                Some(i) => format!("a whole number {i}"),
                None => "a whole number".to_string(),
            });
        } else if let Some(i) = interval {
            parts.push(i);
        }
        match self.relation {
            Some(Relation::LessThan(o)) => parts.push(format!("< `{o}`")),
            Some(Relation::AtMost(o)) => parts.push(format!("<= `{o}`")),
            None => {}
        }
        parts.join(", ")
    }

    /// Whether `x` is within the declared range (not the relation, which needs the others).
    fn in_range(&self, x: f64) -> bool {
        let lo = match self.min {
            Some(Bound::Inclusive(b)) => x >= b,
            Some(Bound::Exclusive(b)) => x > b,
            None => true,
        };
        let hi = match self.max {
            Some(Bound::Inclusive(b)) => x <= b,
            Some(Bound::Exclusive(b)) => x < b,
            None => true,
        };
        lo && hi && (!self.integer || x.fract() == 0.0)
    }
}

/// Checked parameters: every declared one present (given or default), nothing else, each
/// within its range and in its declared relation to the others.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Params {
    values: BTreeMap<String, ParamValue>,
}

impl Params {
    /// Checks `given` against `specs`. An error is the parameter to blame (one that was given,
    /// when a relation between a given and a default value fails) and a message saying what is
    /// valid.
    pub fn check(
        specs: &[ParamSpec],
        given: &BTreeMap<String, ParamValue>,
    ) -> Result<Params, (String, String)> {
        let mut values = BTreeMap::new();
        for (name, v) in given {
            let Some(spec) = specs.iter().find(|s| s.name == name) else {
                let valid: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err((
                    name.clone(),
                    format!(
                        "unknown parameter `{name}`; valid parameters: {}",
                        if valid.is_empty() {
                            "none".to_string()
                        } else {
                            valid.join(", ")
                        }
                    ),
                ));
            };
            if std::mem::discriminant(v) != std::mem::discriminant(&spec.default) {
                return Err((
                    name.clone(),
                    format!("`{name}` must be {}, got {v}", spec.default.kind()),
                ));
            }
            if let ParamValue::Number(x) = v {
                if !x.is_finite() {
                    return Err((name.clone(), format!("`{name}` must be a finite number")));
                }
            }
            values.insert(name.clone(), v.clone());
        }
        for s in specs {
            values
                .entry(s.name.to_string())
                .or_insert_with(|| s.default.clone());
        }
        let number = |name: &str| match values.get(name) {
            Some(ParamValue::Number(x)) => Some(*x),
            _ => None,
        };
        for s in specs {
            let Some(x) = number(s.name) else { continue };
            if !s.in_range(x) {
                let upper_is_one =
                    matches!(s.max, Some(Bound::Inclusive(m) | Bound::Exclusive(m)) if m == 1.0);
                let hint = if upper_is_one && x > 1.0 && x <= 100.0 {
                    format!(" (a fraction: {} for {x}%)", x / 100.0)
                } else {
                    String::new()
                };
                return Err((
                    s.name.to_string(),
                    format!("`{}` must be {}, got {x}{hint}", s.name, s.range_text()),
                ));
            }
        }
        for s in specs {
            let Some(relation) = s.relation else { continue };
            let (other, holds, words) = match relation {
                Relation::LessThan(o) => (
                    o,
                    (|a: f64, b: f64| a < b) as fn(f64, f64) -> bool,
                    "less than",
                ),
                Relation::AtMost(o) => (
                    o,
                    (|a: f64, b: f64| a <= b) as fn(f64, f64) -> bool,
                    "at most",
                ),
            };
            let (Some(a), Some(b)) = (number(s.name), number(other)) else {
                return Err((
                    s.name.to_string(),
                    format!(
                        "`{}` is declared against `{other}`, which is not a number parameter",
                        s.name
                    ),
                ));
            };
            if !holds(a, b) {
                // Blame what the user wrote: the parameter itself if given, else the other.
                let blamed = if given.contains_key(s.name) || !given.contains_key(other) {
                    s.name
                } else {
                    other
                };
                let origin = |n: &str| {
                    if given.contains_key(n) {
                        ""
                    } else {
                        ", its default"
                    }
                };
                return Err((
                    blamed.to_string(),
                    format!(
                        "`{}` ({a}{}) must be {words} `{other}` ({b}{})",
                        s.name,
                        origin(s.name),
                        origin(other)
                    ),
                ));
            }
        }
        Ok(Params { values })
    }

    /// A number parameter (declared, so present).
    pub fn number(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(ParamValue::Number(x)) => *x,
            other => panic!("parameter `{name}` is not a declared number: {other:?}"),
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(ParamValue::Bool(b)) => *b,
            other => panic!("parameter `{name}` is not a declared flag: {other:?}"),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &ParamValue)> {
        self.values.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::number("high", 0.6, "CPU threshold")
            .above(0.0)
            .below(1.0),
        ParamSpec::number("low", 0.2, "CPU threshold")
            .min(0.0)
            .below(1.0)
            .less_than("high"),
        ParamSpec::number("min_replicas", 1.0, "fewest")
            .min(1.0)
            .integer()
            .at_most("max_replicas"),
        ParamSpec::number("max_replicas", 8.0, "most")
            .min(1.0)
            .integer(),
        ParamSpec::number("for_s", 30.0, "hold").non_negative(),
        ParamSpec::flag("drain", false, "drain before stopping"),
    ];

    fn given(pairs: &[(&str, f64)]) -> BTreeMap<String, ParamValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ParamValue::Number(*v)))
            .collect()
    }

    #[test]
    fn defaults_fill_what_is_not_given() {
        let p = Params::check(SPECS, &given(&[("high", 0.8)])).unwrap();
        assert_eq!(p.number("high"), 0.8);
        assert_eq!(p.number("low"), 0.2);
        assert!(!p.flag("drain"));
    }

    #[test]
    fn unknown_names_and_wrong_types_are_rejected_with_the_valid_names() {
        let (name, msg) = Params::check(SPECS, &given(&[("hihg", 0.8)])).unwrap_err();
        assert_eq!(name, "hihg");
        assert!(
            msg.contains("valid parameters: high, low, min_replicas"),
            "{msg}"
        );
        let (_, msg) = Params::check(SPECS, &given(&[("drain", 1.0)])).unwrap_err();
        assert!(msg.contains("true or false"), "{msg}");
    }

    #[test]
    fn a_percentage_for_a_fraction_is_refused_with_the_range_and_a_hint() {
        let (name, msg) = Params::check(SPECS, &given(&[("high", 60.0)])).unwrap_err();
        assert_eq!(name, "high");
        assert_eq!(
            msg,
            "`high` must be in (0, 1), got 60 (a fraction: 0.6 for 60%)"
        );
        let fraction = [ParamSpec::number("x", 0.5, "").fraction()];
        let (_, msg) = Params::check(&fraction, &given(&[("x", 60.0)])).unwrap_err();
        assert_eq!(
            msg,
            "`x` must be in [0, 1], got 60 (a fraction: 0.6 for 60%)"
        );
        // Both ends of an open interval are outside it, both of a closed one inside.
        assert!(Params::check(SPECS, &given(&[("high", 0.0)])).is_err());
        assert!(Params::check(SPECS, &given(&[("high", 1.0)])).is_err());
        assert!(Params::check(&fraction, &given(&[("x", 0.0)])).is_ok());
        assert!(Params::check(&fraction, &given(&[("x", 1.0)])).is_ok());
    }

    #[test]
    fn negative_durations_and_fractional_counts_are_refused() {
        let (name, msg) = Params::check(SPECS, &given(&[("for_s", -1.0)])).unwrap_err();
        assert_eq!(
            (name.as_str(), msg.as_str()),
            ("for_s", "`for_s` must be >= 0, got -1")
        );
        assert!(Params::check(SPECS, &given(&[("for_s", 0.0)])).is_ok());
        let (name, msg) = Params::check(SPECS, &given(&[("max_replicas", 2.5)])).unwrap_err();
        assert_eq!(name, "max_replicas");
        assert_eq!(msg, "`max_replicas` must be a whole number >= 1, got 2.5");
        assert!(Params::check(SPECS, &given(&[("max_replicas", 0.0)])).is_err());
    }

    #[test]
    fn relations_blame_the_parameter_the_user_gave() {
        // Both given: the declaring one is blamed.
        let (name, msg) = Params::check(SPECS, &given(&[("low", 0.9), ("high", 0.6)])).unwrap_err();
        assert_eq!(name, "low");
        assert_eq!(msg, "`low` (0.9) must be less than `high` (0.6)");
        // Equal is not less.
        assert!(Params::check(SPECS, &given(&[("low", 0.6), ("high", 0.6)])).is_err());
        // Only `high` given, below the default `low`: `high` is what the user got wrong.
        let (name, msg) = Params::check(SPECS, &given(&[("high", 0.1)])).unwrap_err();
        assert_eq!(name, "high");
        assert_eq!(
            msg,
            "`low` (0.2, its default) must be less than `high` (0.1)"
        );
        // At most: equal is fine, above is not.
        assert!(Params::check(SPECS, &given(&[("min_replicas", 8.0)])).is_ok());
        let (name, msg) = Params::check(
            SPECS,
            &given(&[("min_replicas", 3.0), ("max_replicas", 2.0)]),
        )
        .unwrap_err();
        assert_eq!(name, "min_replicas");
        assert_eq!(msg, "`min_replicas` (3) must be at most `max_replicas` (2)");
    }

    #[test]
    fn ranges_read_as_intervals() {
        assert_eq!(SPECS[0].range_text(), "in (0, 1)");
        assert_eq!(SPECS[1].range_text(), "in [0, 1), < `high`");
        assert_eq!(
            SPECS[2].range_text(),
            "a whole number >= 1, <= `max_replicas`"
        );
        assert_eq!(SPECS[4].range_text(), ">= 0");
        assert_eq!(SPECS[5].range_text(), "");
    }
}
