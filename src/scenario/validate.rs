//! Semantic checks of a deserialised scenario: what types alone cannot say (positive durations
//! and capacities, increasing profile points, unique names, probabilities summing to 1, demands
//! naming real interactions). Each problem is reported with the dotted path of its field.

use super::schema::{Distribution, MixKind, Power, Profile, Scenario};
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

/// A control period shorter than a millisecond, or more than ten million of them, is a mistake:
/// `policy.period_s = 1e-9` made a run that never ended.
const MIN_PERIOD_S: f64 = 0.001;
const MAX_PERIODS: f64 = 1e7;

/// Simulated time is counted in whole nanoseconds: a mean duration below half of one rounds
/// every draw of a deterministic duration to 0, and nearly every draw of a random one.
const RESOLUTION_MS: f64 = 0.5e-6;

/// An open loop whose arrivals are closer than the time resolution on average never gets
/// past its first instant.
const MAX_SESSIONS_PER_S: f64 = 1e9;

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

/// The name at `path` (`<item>.name`) is not blank and differs from the `earlier` names of its
/// list, named `list` in the message (`apps`, `tiers`, ...).
fn unique_name<'a>(
    path: &str,
    name: &str,
    list: &str,
    earlier: impl Iterator<Item = &'a str>,
) -> Result<(), Problem> {
    if name.trim().is_empty() {
        return Err(problem(format!("{path}.name"), "must not be empty"));
    }
    if let Some(j) = earlier.into_iter().position(|o| o == name) {
        return Err(problem(
            format!("{path}.name"),
            format!("`{name}` is already the name of {list}[{j}]"),
        ));
    }
    Ok(())
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

/// Checks profile points: at least one, the first at 0 s (what the load is before a later first
/// point would be made up), times strictly increasing, values >= 0.
pub fn check_points(path: &str, points: &[[f64; 2]]) -> Result<(), Problem> {
    if points.is_empty() {
        return Err(problem(path, "needs at least one [time_s, value] point"));
    }
    let first = points[0][0];
    if first.is_finite() && first > 0.0 {
        return Err(problem(
            format!("{path}[0][0]"),
            format!(
                "the first point is at {first} s, but a profile must start at 0 s: add a point \
                 [0, value] saying the load before {first} s"
            ),
        ));
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
    if sc.apps.is_empty() && sc.vms.is_empty() {
        return Err(problem(
            "apps",
            "at least one application (or one group of trace-driven `vms`) is needed",
        ));
    }
    super::vms::check(sc)?;
    for (ai, app) in sc.apps.iter().enumerate() {
        let p = format!("apps[{ai}]");
        unique_name(
            &p,
            &app.name,
            "apps",
            sc.apps[..ai].iter().map(|o| o.name.as_str()),
        )?;
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
            let earlier = app.tiers[..ti].iter().map(|o| o.name.as_str());
            unique_name(&tp, &tier.name, "tiers", earlier)?;
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

/// Checks the infrastructure, the infrastructure keys of the tiers, the initial placement and
/// the scripted actions.
pub fn check_infrastructure(sc: &Scenario) -> Result<(), Problem> {
    use super::placement::{initial_placement, node_names};
    use super::schema::{DeployMode, ScriptedAction};
    let Some(infra) = &sc.infrastructure else {
        if !sc.actions.is_empty() {
            return Err(problem(
                "actions",
                "scripted actions need an [infrastructure] section (nodes to act on)",
            ));
        }
        return Ok(());
    };
    let p = "infrastructure";
    if infra.nodes.is_empty() {
        return Err(problem(
            format!("{p}.nodes"),
            "at least one node group is needed",
        ));
    }
    for (gi, g) in infra.nodes.iter().enumerate() {
        let gp = format!("{p}.nodes[{gi}]");
        let earlier = infra.nodes[..gi].iter().map(|o| o.name.as_str());
        unique_name(&gp, &g.name, "nodes", earlier)?;
        if g.count == 0 {
            return Err(problem(format!("{gp}.count"), "must be at least 1"));
        }
        if let Some(on) = g.on_at_start {
            if on > g.count {
                return Err(problem(
                    format!("{gp}.on_at_start"),
                    format!("{on} nodes on at start, but the group has {}", g.count),
                ));
            }
        }
        positive(format!("{gp}.cores"), g.cores)?;
        positive(format!("{gp}.speed"), g.speed)?;
        positive(format!("{gp}.ram_mb"), g.ram_mb)?;
        positive(format!("{gp}.nic_mbps"), g.nic_mbps)?;
        non_negative(format!("{gp}.boot_s"), g.boot_s)?;
        non_negative(format!("{gp}.shutdown_s"), g.shutdown_s)?;
        check_power(&format!("{gp}.power"), &g.power)?;
        if infra.mode == DeployMode::Virtualized && infra.host_reserved_ram_mb >= g.ram_mb {
            return Err(problem(
                format!("{p}.host_reserved_ram_mb"),
                format!(
                    "{} MB leaves no RAM for VMs on the {} MB nodes of group `{}`",
                    infra.host_reserved_ram_mb, g.ram_mb, g.name
                ),
            ));
        }
    }
    non_negative(
        format!("{p}.host_reserved_ram_mb"),
        infra.host_reserved_ram_mb,
    )?;
    non_negative(
        format!("{p}.hypervisor_overhead"),
        infra.hypervisor_overhead,
    )?;
    non_negative(format!("{p}.drain_timeout_s"), infra.drain_timeout_s)?;
    check_distribution(&format!("{p}.vm_boot"), &infra.vm_boot, false)?;
    let m = &infra.migration;
    let mp = format!("{p}.migration");
    positive(format!("{mp}.max_downtime_ms"), m.max_downtime_ms)?;
    if m.max_rounds == 0 {
        return Err(problem(
            format!("{mp}.max_rounds"),
            "must be at least 1: it counts every round, the stop-and-copy included \
             (1 is a cold migration), got 0",
        ));
    }
    if !(m.max_total_factor.is_finite() && m.max_total_factor >= 1.0) {
        return Err(problem(
            format!("{mp}.max_total_factor"),
            format!("must be a number >= 1, got {}", m.max_total_factor),
        ));
    }
    non_negative(format!("{mp}.resume_ms"), m.resume_ms)?;
    non_negative(format!("{mp}.bandwidth_mbps"), m.bandwidth_mbps)?;
    non_negative(format!("{mp}.cpu_source_cores"), m.cpu_source_cores)?;
    non_negative(format!("{mp}.cpu_dest_cores"), m.cpu_dest_cores)?;

    for (ai, app) in sc.apps.iter().enumerate() {
        for (ti, t) in app.tiers.iter().enumerate() {
            let tp = format!("apps[{ai}].tiers[{ti}]");
            positive(format!("{tp}.vm_ram_mb"), t.vm_ram_mb)?;
            non_negative(format!("{tp}.dirty_mb_per_s"), t.dirty_mb_per_s)?;
            non_negative(format!("{tp}.dirty_mb_per_cpu_s"), t.dirty_mb_per_cpu_s)?;
            non_negative(format!("{tp}.data_mb"), t.data_mb)?;
            check_distribution(&format!("{tp}.deploy_time"), &t.deploy_time, false)?;
            check_distribution(&format!("{tp}.start_time"), &t.start_time, false)?;
        }
    }
    initial_placement(sc, infra)?;

    let names = node_names(infra);
    let node = |path: String, n: &str| -> Result<(), Problem> {
        if names.iter().any(|x| x == n) {
            Ok(())
        } else {
            Err(problem(
                path,
                format!("no node `{n}`; nodes are named like `{}`", names[0]),
            ))
        }
    };
    let replica = |path: String, r: &str| -> Result<(), Problem> {
        let parts: Vec<&str> = r.split('.').collect();
        let ok = parts.len() == 3
            && parts[2].parse::<u32>().is_ok()
            && sc
                .apps
                .iter()
                .any(|a| a.name == parts[0] && a.tiers.iter().any(|t| t.name == parts[1]));
        if ok {
            Ok(())
        } else {
            Err(problem(
                path,
                format!("`{r}` is not a replica name `app.tier.k` of this scenario"),
            ))
        }
    };
    for (i, a) in sc.actions.iter().enumerate() {
        let ap = format!("actions[{i}]");
        non_negative(format!("{ap}.at_s"), a.at_s())?;
        if a.at_s() >= sc.duration_s {
            return Err(problem(
                format!("{ap}.at_s"),
                format!(
                    "{} s is not before the end of the run ({} s)",
                    a.at_s(),
                    sc.duration_s
                ),
            ));
        }
        match a {
            ScriptedAction::PowerOn { node: n, .. } | ScriptedAction::PowerOff { node: n, .. } => {
                node(format!("{ap}.node"), n)?
            }
            ScriptedAction::StartReplica {
                app, tier, node: n, ..
            } => {
                node(format!("{ap}.node"), n)?;
                let Some(a) = sc.apps.iter().find(|x| &x.name == app) else {
                    return Err(problem(format!("{ap}.app"), format!("no app `{app}`")));
                };
                if !a.tiers.iter().any(|t| &t.name == tier) {
                    return Err(problem(
                        format!("{ap}.tier"),
                        format!("app `{app}` has no tier `{tier}`"),
                    ));
                }
            }
            ScriptedAction::StopReplica { replica: r, .. } => replica(format!("{ap}.replica"), r)?,
            ScriptedAction::Migrate { vm, to, .. } => {
                if infra.mode != DeployMode::Virtualized {
                    return Err(problem(
                        format!("{ap}.kind"),
                        "migrate needs infrastructure.mode = \"virtualized\"",
                    ));
                }
                // A replica's VM, or a trace-driven VM `<group>.<trace vm>` (whose trace
                // names are checked when the trace is read, at load).
                let trace_vm = sc
                    .vms
                    .iter()
                    .any(|g| vm.strip_prefix(&g.name).is_some_and(|r| r.starts_with('.')));
                if !trace_vm {
                    replica(format!("{ap}.vm"), vm)?;
                }
                node(format!("{ap}.to"), to)?;
            }
        }
    }
    Ok(())
}

/// The policy's parameters as the policy crate takes them.
pub fn policy_params(
    cfg: &super::schema::PolicyConfig,
) -> std::collections::BTreeMap<String, reconf_api::ParamValue> {
    params_of(&cfg.params)
}

fn params_of(
    params: &std::collections::BTreeMap<String, super::schema::ParamToml>,
) -> std::collections::BTreeMap<String, reconf_api::ParamValue> {
    use super::schema::ParamToml;
    use reconf_api::ParamValue;
    params
        .iter()
        .map(|(k, v)| {
            let v = match v {
                ParamToml::Bool(b) => ParamValue::Bool(*b),
                ParamToml::Number(x) => ParamValue::Number(*x),
                ParamToml::Text(t) => ParamValue::Text(t.clone()),
            };
            (k.clone(), v)
        })
        .collect()
}

/// The scenario's policy, composed with its `policy.compose` ones if any, each built with the
/// seed `seed(i)` (i = 0 for `policy.name`, then 1, 2, ... in order). An unknown policy, a bad
/// parameter or a policy composed with itself is a problem at its field.
pub fn build_policy(
    cfg: &super::schema::PolicyConfig,
    seed: &dyn Fn(usize) -> u64,
) -> Result<Box<dyn reconf_api::Policy>, Problem> {
    let context = |i: usize| reconf_api::PolicyContext { seed: seed(i) };
    let first = reconf_policies::build(&cfg.name, &policy_params(cfg), &context(0))
        .map_err(|e| problem(policy_field(&e), e.message))?;
    if cfg.compose.is_empty() {
        return Ok(first);
    }
    let mut policies = vec![first];
    for (i, c) in cfg.compose.iter().enumerate() {
        let p = format!("policy.compose[{i}]");
        let earlier = std::iter::once(cfg.name.as_str())
            .chain(cfg.compose[..i].iter().map(|o| o.name.as_str()))
            .position(|n| n == c.name);
        if let Some(j) = earlier {
            let other = if j == 0 {
                "policy.name".to_string()
            } else {
                format!("policy.compose[{}].name", j - 1)
            };
            return Err(problem(
                format!("{p}.name"),
                format!(
                    "policy `{}` is composed with itself (it is already {other}): each policy \
                     may appear once",
                    c.name
                ),
            ));
        }
        let built = reconf_policies::build(&c.name, &params_of(&c.params), &context(i + 1))
            .map_err(|e| {
                let field = if e.field == "name" {
                    format!("{p}.name")
                } else {
                    format!("{p}.params.{}", e.field)
                };
                problem(field, e.message)
            })?;
        policies.push(built);
    }
    Ok(Box::new(reconf_api::Composed::new(policies)))
}

/// Refuses what would make simulated time stand still (issue 11: such runs never ended):
/// a closed loop whose think time and every CPU demand are 0 (each user's requests complete at
/// the instant they are issued, and the next one is issued at that same instant, forever), and
/// an open loop whose arrivals come faster than one per nanosecond. A control period that is too
/// short is refused by [`check_policy`]; a run that stalls in a way no load-time check sees is
/// stopped at run time by the simulator.
pub fn check_progress(sc: &Scenario) -> Result<(), Problem> {
    use super::schema::LoopKind;
    for (ai, app) in sc.apps.iter().enumerate() {
        let cp = format!("apps[{ai}].clients");
        match app.clients.loop_kind {
            LoopKind::Closed => {
                let think_ms = app.clients.think.mean_ms();
                let some_demand = app.tiers.iter().any(|t| {
                    std::iter::once(&t.demand)
                        .chain(t.write_demand.as_ref())
                        .chain(t.demands.values())
                        .any(|d| d.mean_ms() >= RESOLUTION_MS)
                });
                if think_ms < RESOLUTION_MS && !some_demand {
                    return Err(problem(
                        format!("{cp}.think"),
                        format!(
                            "the think time and every CPU demand of app `{}` are 0 (below the \
                             1 ns time resolution): its users would issue requests that complete \
                             at once, forever, and simulated time would stand still; give the \
                             think time or some demand a mean above 0",
                            app.name
                        ),
                    ));
                }
            }
            LoopKind::Open => {
                let peak = match &app.clients.profile {
                    Profile::Constant { value } => *value,
                    Profile::Steps { points } | Profile::Ramp { points } => {
                        points.iter().map(|p| p[1]).fold(0.0, f64::max)
                    }
                    Profile::Trace { .. } => 0.0,
                };
                if peak > MAX_SESSIONS_PER_S {
                    return Err(problem(
                        format!("{cp}.profile"),
                        format!(
                            "{peak} sessions per second: arrivals closer than the 1 ns time \
                             resolution would never let simulated time move; at most \
                             {MAX_SESSIONS_PER_S:e}"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Checks the policy section: a known policy, valid parameters, a positive period.
pub fn check_policy(sc: &Scenario) -> Result<(), Problem> {
    let Some(cfg) = &sc.policy else { return Ok(()) };
    positive("policy.period_s".into(), cfg.period_s)?;
    if cfg.period_s < MIN_PERIOD_S || sc.duration_s / cfg.period_s > MAX_PERIODS {
        return Err(problem(
            "policy.period_s",
            format!(
                "must be at least {MIN_PERIOD_S} s and give at most {MAX_PERIODS} control periods \
                 over duration_s ({} s), got {} s: a shorter period would have the simulation do \
                 little but call the policy",
                sc.duration_s, cfg.period_s
            ),
        ));
    }
    non_negative("policy.monitoring_noise".into(), cfg.monitoring_noise)?;
    build_policy(cfg, &|_| 0)?;
    Ok(())
}

/// The scenario field a policy build error is about: `policy.name` or `policy.params.<name>`.
pub fn policy_field(e: &reconf_policies::PolicyError) -> String {
    if e.field == "name" {
        "policy.name".to_string()
    } else {
        format!("policy.params.{}", e.field)
    }
}

/// Checks a time to failure or to repair: a mean > 0 (a zero mean would crash a node at every
/// instant), a Weibull shape > 0, a cv >= 0.
fn check_fault_time(path: &str, t: &super::faults::FaultTime) -> Result<(), Problem> {
    use super::faults::FaultTime;
    positive(format!("{path}.mean_s"), t.mean_s())?;
    match t {
        FaultTime::Weibull { shape, .. } => positive(format!("{path}.shape"), *shape),
        FaultTime::Lognormal { cv, .. } => non_negative(format!("{path}.cv"), *cv),
        FaultTime::Exponential { .. } | FaultTime::Deterministic { .. } => Ok(()),
    }
}

/// Checks a power model at `path`: figures finite and >= 0 W, a linear model's maximum not
/// below its idle power (a table may fall with load: some measured ones do).
fn check_power(path: &str, power: &Power) -> Result<(), Problem> {
    match power {
        Power::Table { watts } => {
            for (i, w) in watts.iter().enumerate() {
                non_negative(format!("{path}.watts[{i}]"), *w)?;
            }
        }
        Power::Linear { idle_w, max_w } => {
            non_negative(format!("{path}.idle_w"), *idle_w)?;
            non_negative(format!("{path}.max_w"), *max_w)?;
            if max_w < idle_w {
                return Err(problem(
                    format!("{path}.max_w"),
                    format!("{max_w} W is below idle_w ({idle_w} W)"),
                ));
            }
        }
        Power::Constant { watts } => non_negative(format!("{path}.watts"), *watts)?,
        Power::HpMl110G4 | Power::HpMl110G5 => {}
    }
    Ok(())
}

/// Checks the `[live]` section's power models (as the node groups' are checked).
pub fn check_live(sc: &Scenario) -> Result<(), Problem> {
    let Some(live) = &sc.live else { return Ok(()) };
    for (host, power) in &live.power {
        let mut path = "live.power".to_string();
        super::locate::push_key(&mut path, host);
        check_power(&path, power)?;
    }
    Ok(())
}

/// Checks the `[faults]` section: positive means, node groups, nodes, apps, tiers and replicas
/// that exist, unique fault group names, scripted faults within the run naming one thing.
pub fn check_faults(sc: &Scenario) -> Result<(), Problem> {
    let Some(f) = &sc.faults else { return Ok(()) };
    let names = sc
        .infrastructure
        .as_ref()
        .map(super::placement::node_names)
        .unwrap_or_default();
    let needs_nodes = |path: String| -> Result<(), Problem> {
        if sc.infrastructure.is_none() {
            Err(problem(
                path,
                "node faults need an [infrastructure] section (nodes to crash)",
            ))
        } else {
            Ok(())
        }
    };
    let node = |path: String, n: &str| -> Result<(), Problem> {
        if names.iter().any(|x| x == n) {
            Ok(())
        } else {
            Err(problem(
                path,
                format!(
                    "no node `{n}`; nodes are named like `{}`",
                    names.first().map_or("group-0", String::as_str)
                ),
            ))
        }
    };
    for (i, nf) in f.nodes.iter().enumerate() {
        let p = format!("faults.nodes[{i}]");
        needs_nodes(format!("{p}.group"))?;
        let groups = &sc.infrastructure.as_ref().expect("checked").nodes;
        if !groups.iter().any(|g| g.name == nf.group) {
            return Err(problem(
                format!("{p}.group"),
                format!(
                    "no node group `{}`; groups: {}",
                    nf.group,
                    groups
                        .iter()
                        .map(|g| g.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if let Some(j) = f.nodes[..i].iter().position(|o| o.group == nf.group) {
            return Err(problem(
                format!("{p}.group"),
                format!(
                    "node group `{}` already has faults in faults.nodes[{j}]",
                    nf.group
                ),
            ));
        }
        check_fault_time(&format!("{p}.time_to_failure"), &nf.time_to_failure)?;
        if let Some(r) = &nf.repair {
            check_fault_time(&format!("{p}.repair"), r)?;
        }
    }
    for (i, g) in f.groups.iter().enumerate() {
        let p = format!("faults.groups[{i}]");
        let earlier = f.groups[..i].iter().map(|o| o.name.as_str());
        unique_name(&p, &g.name, "faults.groups", earlier)?;
        needs_nodes(format!("{p}.nodes"))?;
        if g.nodes.is_empty() {
            return Err(problem(format!("{p}.nodes"), "at least one node is needed"));
        }
        for (j, n) in g.nodes.iter().enumerate() {
            node(format!("{p}.nodes[{j}]"), n)?;
            if g.nodes[..j].contains(n) {
                return Err(problem(
                    format!("{p}.nodes[{j}]"),
                    format!("node `{n}` is listed twice"),
                ));
            }
        }
        if let Some(t) = &g.time_to_failure {
            check_fault_time(&format!("{p}.time_to_failure"), t)?;
        }
        if let Some(r) = &g.repair {
            check_fault_time(&format!("{p}.repair"), r)?;
        }
    }
    let tier_of = |path: &str, app: &str, tier: &str| -> Result<(), Problem> {
        let Some(a) = sc.apps.iter().find(|a| a.name == app) else {
            return Err(problem(format!("{path}.app"), format!("no app `{app}`")));
        };
        if !a.tiers.iter().any(|t| t.name == tier) {
            return Err(problem(
                format!("{path}.tier"),
                format!("app `{app}` has no tier `{tier}`"),
            ));
        }
        Ok(())
    };
    for (i, rf) in f.replicas.iter().enumerate() {
        let p = format!("faults.replicas[{i}]");
        tier_of(&p, &rf.app, &rf.tier)?;
        if let Some(j) = f.replicas[..i]
            .iter()
            .position(|o| o.app == rf.app && o.tier == rf.tier)
        {
            return Err(problem(
                format!("{p}.tier"),
                format!(
                    "tier `{}.{}` already has faults in faults.replicas[{j}]",
                    rf.app, rf.tier
                ),
            ));
        }
        check_fault_time(&format!("{p}.time_to_failure"), &rf.time_to_failure)?;
        if let Some(r) = &rf.repair {
            check_fault_time(&format!("{p}.repair"), r)?;
        }
    }
    for (i, s) in f.scripted.iter().enumerate() {
        let p = format!("faults.scripted[{i}]");
        non_negative(format!("{p}.at_s"), s.at_s)?;
        if s.at_s >= sc.duration_s {
            return Err(problem(
                format!("{p}.at_s"),
                format!(
                    "{} s is not before the end of the run ({} s)",
                    s.at_s, sc.duration_s
                ),
            ));
        }
        let targets = [s.node.is_some(), s.group.is_some(), s.replica.is_some()];
        if targets.iter().filter(|&&t| t).count() != 1 {
            return Err(problem(
                p,
                "name exactly one of `node`, `group` or `replica` (what fails)",
            ));
        }
        if let Some(n) = &s.node {
            needs_nodes(format!("{p}.node"))?;
            node(format!("{p}.node"), n)?;
        }
        if let Some(g) = &s.group {
            if !f.groups.iter().any(|x| &x.name == g) {
                return Err(problem(
                    format!("{p}.group"),
                    format!("no fault group `{g}` in faults.groups"),
                ));
            }
        }
        if let Some(r) = &s.replica {
            let parts: Vec<&str> = r.rsplitn(3, '.').collect();
            let ok = parts.len() == 3
                && parts[0].parse::<u32>().is_ok()
                && tier_of(&p, parts[2], parts[1]).is_ok();
            if !ok {
                return Err(problem(
                    format!("{p}.replica"),
                    format!("`{r}` is not a replica name `app.tier.k` of this scenario"),
                ));
            }
        }
        if let Some(d) = s.repair_after_s {
            positive(format!("{p}.repair_after_s"), d)?;
        }
    }
    Ok(())
}

/// Checks the `[checkpointing]` section: a virtualized infrastructure, an epoch of at least the
/// clock's resolution, costs >= 0, tiers that exist, a backup node that exists and is not the
/// node a protected VM starts on (a VM cannot be checkpointed onto its own host).
pub fn check_checkpointing(sc: &Scenario) -> Result<(), Problem> {
    use super::schema::DeployMode;
    let Some(c) = &sc.checkpointing else {
        return Ok(());
    };
    let Some(infra) = sc
        .infrastructure
        .as_ref()
        .filter(|i| i.mode == DeployMode::Virtualized)
    else {
        return Err(problem(
            "checkpointing",
            "checkpointing VMs needs infrastructure.mode = \"virtualized\"",
        ));
    };
    positive("checkpointing.period_ms".into(), c.period_ms)?;
    if c.period_ms < 1e-3 {
        return Err(problem(
            "checkpointing.period_ms",
            format!("must be at least 1 µs (0.001 ms), got {} ms", c.period_ms),
        ));
    }
    non_negative("checkpointing.failover_ms".into(), c.failover_ms)?;
    non_negative("checkpointing.cpu_cores".into(), c.cpu_cores)?;
    non_negative(
        "checkpointing.cpu_core_s_per_mb".into(),
        c.cpu_core_s_per_mb,
    )?;
    if let Some(tiers) = &c.tiers {
        for (i, t) in tiers.iter().enumerate() {
            let found = t.split_once('.').is_some_and(|(a, tier)| {
                sc.apps
                    .iter()
                    .any(|x| x.name == a && x.tiers.iter().any(|y| y.name == tier))
            });
            if !found {
                return Err(problem(
                    format!("checkpointing.tiers[{i}]"),
                    format!("`{t}` is not a tier `app.tier` of this scenario"),
                ));
            }
        }
    }
    if c.backup != "auto" {
        let names = super::placement::node_names(infra);
        let Some(b) = names.iter().position(|n| *n == c.backup) else {
            return Err(problem(
                "checkpointing.backup",
                format!(
                    "no node `{}`: give `auto` or a node named like `{}`",
                    c.backup,
                    names.first().map_or("group-0", String::as_str)
                ),
            ));
        };
        // The initial placement is checked elsewhere; here only whether it puts a protected VM
        // on its own backup.
        if let Ok(placement) = super::placement::initial_placement(sc, infra) {
            for (app, tiers) in sc.apps.iter().zip(&placement) {
                for (tier, nodes) in app.tiers.iter().zip(tiers) {
                    if !c.protects(&app.name, &tier.name) {
                        continue;
                    }
                    if let Some(k) = nodes.iter().position(|&n| n == b) {
                        return Err(problem(
                            "checkpointing.backup",
                            format!(
                                "`{}` is the node {}.{}.{k} starts on: a VM cannot be \
                                 checkpointed onto its own host",
                                c.backup, app.name, tier.name
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
