//! Typed policy parameters, as a scenario gives them (`[policy.params]`), checked against what
//! the policy declares: an unknown name or a wrong type is rejected with the list of valid ones.

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

/// A parameter a policy declares: its name, default (which gives its type), unit and meaning.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub default: ParamValue,
    pub doc: &'static str,
}

impl ParamSpec {
    pub const fn number(name: &'static str, default: f64, doc: &'static str) -> Self {
        ParamSpec {
            name,
            default: ParamValue::Number(default),
            doc,
        }
    }

    pub const fn flag(name: &'static str, default: bool, doc: &'static str) -> Self {
        ParamSpec {
            name,
            default: ParamValue::Bool(default),
            doc,
        }
    }
}

/// Checked parameters: every declared one present (given or default), nothing else.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Params {
    values: BTreeMap<String, ParamValue>,
}

impl Params {
    /// Checks `given` against `specs`. Errors name the parameter and list the valid ones.
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
        ParamSpec::number("high", 0.6, "CPU threshold"),
        ParamSpec::flag("drain", false, "drain before stopping"),
    ];

    #[test]
    fn defaults_fill_what_is_not_given() {
        let mut given = BTreeMap::new();
        given.insert("high".to_string(), ParamValue::Number(0.8));
        let p = Params::check(SPECS, &given).unwrap();
        assert_eq!(p.number("high"), 0.8);
        assert!(!p.flag("drain"));
    }

    #[test]
    fn unknown_names_and_wrong_types_are_rejected_with_the_valid_names() {
        let mut given = BTreeMap::new();
        given.insert("hihg".to_string(), ParamValue::Number(0.8));
        let (name, msg) = Params::check(SPECS, &given).unwrap_err();
        assert_eq!(name, "hihg");
        assert!(msg.contains("valid parameters: high, drain"), "{msg}");
        let mut given = BTreeMap::new();
        given.insert("drain".to_string(), ParamValue::Number(1.0));
        let (_, msg) = Params::check(SPECS, &given).unwrap_err();
        assert!(msg.contains("true or false"), "{msg}");
    }
}
