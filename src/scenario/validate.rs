//! Semantic checks of a deserialised scenario: what types alone cannot say (positive durations
//! and capacities, increasing profile points, unique names, probabilities summing to 1, demands
//! naming real interactions). Each problem is reported with the dotted path of its field.

use super::schema::{Distribution, MixKind, Profile, Scenario};
use crate::workload::mix::Mix;

/// A problem found in a field: its path (`apps[0].tiers[1].cores`) and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// The time series is for reading and plotting: finer than a millisecond, or more than ten
/// million rows, is a mistake rather than a wish.
const MIN_REPORT_INTERVAL_S: f64 = 0.001;
const MAX_REPORT_ROWS: f64 = 1e7;

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

fn positive(path: String, x: f64) -> Result<(), Problem> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(problem(
            path,
            format!("must be a number greater than 0, got {x}"),
        ))
    }
}

fn non_negative(path: String, x: f64) -> Result<(), Problem> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(problem(path, format!("must be a number >= 0, got {x}")))
    }
}

/// Checks a distribution: a finite mean >= 0 (`strictly` > 0 when asked), a cv >= 0.
pub fn check_distribution(path: &str, d: &Distribution, strictly: bool) -> Result<(), Problem> {
    let mean = d.mean_ms();
    if strictly {
        positive(format!("{path}.mean_ms"), mean)?;
    } else {
        non_negative(format!("{path}.mean_ms"), mean)?;
    }
    if let Distribution::Lognormal { cv, .. } = d {
        non_negative(format!("{path}.cv"), *cv)?;
    }
    Ok(())
}

/// Checks profile points: at least one, times >= 0 and strictly increasing, values >= 0.
pub fn check_points(path: &str, points: &[[f64; 2]]) -> Result<(), Problem> {
    if points.is_empty() {
        return Err(problem(path, "needs at least one [time_s, value] point"));
    }
    let mut prev: Option<f64> = None;
    for (i, [t, v]) in points.iter().enumerate() {
        non_negative(format!("{path}[{i}][0]"), *t)?;
        non_negative(format!("{path}[{i}][1]"), *v)?;
        if let Some(p) = prev {
            if *t <= p {
                return Err(problem(
                    format!("{path}[{i}][0]"),
                    format!("times must increase strictly: {t} s comes after {p} s"),
                ));
            }
        }
        prev = Some(*t);
    }
    Ok(())
}

/// Checks everything but the session mixes (which need files) and the demand names (which need
/// the mixes: see [`check_demand_names`]).
pub fn check(sc: &Scenario) -> Result<(), Problem> {
    positive("duration_s".into(), sc.duration_s)?;
    non_negative("warmup_s".into(), sc.warmup_s)?;
    if sc.warmup_s >= sc.duration_s {
        return Err(problem(
            "warmup_s",
            format!("must be shorter than duration_s ({} s)", sc.duration_s),
        ));
    }
    positive("report_interval_s".into(), sc.report_interval_s)?;
    if sc.report_interval_s < MIN_REPORT_INTERVAL_S
        || sc.duration_s / sc.report_interval_s > MAX_REPORT_ROWS
    {
        return Err(problem(
            "report_interval_s",
            format!(
                "must be at least {MIN_REPORT_INTERVAL_S} s and give at most {MAX_REPORT_ROWS} \
                 rows over duration_s ({} s), got {} s",
                sc.duration_s, sc.report_interval_s
            ),
        ));
    }
    positive("sla.response_target_ms".into(), sc.sla.response_target_ms)?;
    non_negative("sla.request_timeout_s".into(), sc.sla.request_timeout_s)?;
    if sc.apps.is_empty() {
        return Err(problem("apps", "at least one application is needed"));
    }
    for (ai, app) in sc.apps.iter().enumerate() {
        let p = format!("apps[{ai}]");
        if app.name.trim().is_empty() {
            return Err(problem(format!("{p}.name"), "must not be empty"));
        }
        if let Some(j) = sc.apps[..ai].iter().position(|o| o.name == app.name) {
            return Err(problem(
                format!("{p}.name"),
                format!("`{}` is already the name of apps[{j}]", app.name),
            ));
        }
        let c = &app.clients;
        let cp = format!("{p}.clients");
        if c.max_transitions == 0 {
            return Err(problem(
                format!("{cp}.max_transitions"),
                "must be at least 1",
            ));
        }
        check_distribution(&format!("{cp}.think"), &c.think, false)?;
        match &c.profile {
            Profile::Constant { value } => non_negative(format!("{cp}.profile.value"), *value)?,
            Profile::Steps { points } | Profile::Ramp { points } => {
                check_points(&format!("{cp}.profile.points"), points)?
            }
            Profile::Trace { file, .. } => {
                if file.trim().is_empty() {
                    return Err(problem(
                        format!("{cp}.profile.file"),
                        "must name a CSV file",
                    ));
                }
            }
        }
        match c.mix {
            MixKind::Table if c.table_file.is_none() => {
                return Err(problem(
                    format!("{cp}.table_file"),
                    "mix = \"table\" needs table_file, a transition table in RUBiS's format",
                ))
            }
            MixKind::Bidding | MixKind::Browsing | MixKind::Weighted if c.table_file.is_some() => {
                return Err(problem(
                    format!("{cp}.table_file"),
                    "only used with mix = \"table\"",
                ))
            }
            _ => {}
        }
        if app.tiers.is_empty() {
            return Err(problem(format!("{p}.tiers"), "at least one tier is needed"));
        }
        for (ti, tier) in app.tiers.iter().enumerate() {
            let tp = format!("{p}.tiers[{ti}]");
            if tier.name.trim().is_empty() {
                return Err(problem(format!("{tp}.name"), "must not be empty"));
            }
            if let Some(j) = app.tiers[..ti].iter().position(|o| o.name == tier.name) {
                return Err(problem(
                    format!("{tp}.name"),
                    format!("`{}` is already the name of tiers[{j}]", tier.name),
                ));
            }
            if tier.replicas == 0 {
                return Err(problem(format!("{tp}.replicas"), "must be at least 1"));
            }
            positive(format!("{tp}.cores"), tier.cores)?;
            check_distribution(&format!("{tp}.demand"), &tier.demand, false)?;
            if let Some(w) = &tier.write_demand {
                check_distribution(&format!("{tp}.write_demand"), w, false)?;
            }
            for (name, d) in &tier.demands {
                check_distribution(&format!("{tp}.demands.\"{name}\""), d, false)?;
            }
        }
    }
    Ok(())
}

/// Checks that every per-interaction demand names an interaction of the app's mix.
pub fn check_demand_names(sc: &Scenario, mixes: &[std::sync::Arc<Mix>]) -> Result<(), Problem> {
    for (ai, (app, mix)) in sc.apps.iter().zip(mixes).enumerate() {
        let names: Vec<&str> = mix.interactions().iter().map(|i| i.name.as_str()).collect();
        for (ti, tier) in app.tiers.iter().enumerate() {
            for name in tier.demands.keys() {
                if !names.contains(&name.as_str()) {
                    return Err(problem(
                        format!("apps[{ai}].tiers[{ti}].demands.\"{name}\""),
                        format!(
                            "no interaction `{name}` in this app's mix; valid names: {}",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}
