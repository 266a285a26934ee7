//! The applications of a run or a sweep, read from column names (convention 3).
//!
//! `timeseries.csv` has the totals (`active_clients`, `throughput_rps`, ...), then per
//! application `apps.<app>.active_clients`, `apps.<app>.throughput_rps`,
//! `apps.<app>.mean_response_ms`, `apps.<app>.p95_response_ms`, `apps.<app>.failures`, and
//! `tier_utilisation.<app>.<tier>`. Files written before that layout have no `apps.` columns
//! and `util.<app>.<tier>` instead: both are read, by name, whatever the column order.

use super::Table;

/// The per-application time-series metrics, as in `apps.<app>.<metric>`.
pub const RUN_METRICS: [&str; 5] = [
    "active_clients",
    "throughput_rps",
    "mean_response_ms",
    "p95_response_ms",
    "failures",
];

/// The prefixes of tier utilisation columns: the current one, then the one before it.
const TIER_PREFIXES: [&str; 2] = ["tier_utilisation.", "util."];

/// One application of a run: its name and where its columns are.
#[derive(Clone, Debug, PartialEq)]
pub struct RunApp {
    /// Empty when the file names no application at all.
    pub name: String,
    /// The columns of [`RUN_METRICS`] for this application, if the file has them.
    pub metrics: Option<[usize; 5]>,
    /// (tier, column) in column order.
    pub tiers: Vec<(String, usize)>,
}

impl RunApp {
    /// The column of a per-application metric, or the total's when the file has none.
    pub fn col(&self, t: &Table, metric: &str) -> Option<usize> {
        match (self.metrics, RUN_METRICS.iter().position(|m| *m == metric)) {
            (Some(cols), Some(i)) => Some(cols[i]),
            _ => t.col(metric),
        }
    }
}

/// The applications of a time series, in column order.
pub fn run_apps(t: &Table) -> Vec<RunApp> {
    let mut apps: Vec<RunApp> = Vec::new();
    for h in &t.header {
        if let Some(name) = h
            .strip_prefix("apps.")
            .and_then(|r| r.strip_suffix(".active_clients"))
        {
            let cols = RUN_METRICS.map(|m| t.col(&format!("apps.{name}.{m}")));
            apps.push(RunApp {
                name: name.to_string(),
                metrics: cols
                    .iter()
                    .all(Option::is_some)
                    .then(|| cols.map(|c| c.unwrap_or(0))),
                tiers: Vec::new(),
            });
        }
    }
    for (c, h) in t.header.iter().enumerate() {
        let Some(rest) = TIER_PREFIXES.iter().find_map(|p| h.strip_prefix(p)) else {
            continue;
        };
        // The longest known application name that prefixes the rest, else up to the first dot.
        let known = apps
            .iter()
            .filter(|a| rest.len() > a.name.len() + 1 && rest.starts_with(&format!("{}.", a.name)))
            .map(|a| a.name.clone())
            .max_by_key(|n| n.len());
        let (app, tier) = match known {
            Some(a) => {
                let tier = rest[a.len() + 1..].to_string();
                (a, tier)
            }
            None => match rest.split_once('.') {
                Some((a, t)) => (a.to_string(), t.to_string()),
                None => (String::new(), rest.to_string()),
            },
        };
        let i = match apps.iter().position(|a| a.name == app) {
            Some(i) => i,
            None => {
                apps.push(RunApp {
                    name: app,
                    metrics: None,
                    tiers: Vec::new(),
                });
                apps.len() - 1
            }
        };
        apps[i].tiers.push((tier, c));
    }
    if apps.is_empty() {
        apps.push(RunApp {
            name: String::new(),
            metrics: None,
            tiers: Vec::new(),
        });
    }
    apps
}

/// The applications of a sweep aggregate: from `apps.<app>.<key>.mean` columns, or (older
/// aggregates) from `tier_utilisation.<app>.<tier>.mean`; in column order.
pub fn sweep_apps(t: &Table) -> Vec<String> {
    let from = |prefix: &str| {
        let mut apps: Vec<String> = Vec::new();
        for h in t.header.iter().filter(|h| h.ends_with(".mean")) {
            if let Some((a, _)) = h.strip_prefix(prefix).and_then(|r| r.split_once('.')) {
                if !a.is_empty() && !apps.iter().any(|x| x == a) {
                    apps.push(a.to_string());
                }
            }
        }
        apps
    };
    let apps = from("apps.");
    if apps.is_empty() {
        from("tier_utilisation.")
    } else {
        apps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(header: &str) -> Table {
        Table::new(
            "t.csv".into(),
            header.split(',').map(String::from).collect(),
            Vec::new(),
        )
    }

    #[test]
    fn the_new_layout_gives_each_application_its_columns() {
        let t = table(
            "time_s,active_clients,throughput_rps,mean_response_ms,p95_response_ms,failures,\
apps.shop.active_clients,apps.shop.throughput_rps,apps.shop.mean_response_ms,\
apps.shop.p95_response_ms,apps.shop.failures,apps.blog.active_clients,apps.blog.throughput_rps,\
apps.blog.mean_response_ms,apps.blog.p95_response_ms,apps.blog.failures,\
tier_utilisation.shop.web,tier_utilisation.shop.db,tier_utilisation.blog.web,nodes_up",
        );
        let apps = run_apps(&t);
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].name, "shop");
        assert_eq!(apps[0].metrics, Some([6, 7, 8, 9, 10]));
        assert_eq!(apps[0].col(&t, "p95_response_ms"), Some(9));
        assert_eq!(
            apps[0].tiers,
            [("web".to_string(), 16), ("db".to_string(), 17)]
        );
        assert_eq!(apps[1].name, "blog");
        assert_eq!(apps[1].tiers, [("web".to_string(), 18)]);
    }

    #[test]
    fn the_old_layout_reads_tiers_from_util_columns() {
        let t = table(
            "time_s,active_clients,throughput_rps,mean_response_ms,p95_response_ms,failures,\
util.rubis.web,util.rubis.app,util.rubis.db,nodes_up,power_w,energy_kwh",
        );
        let apps = run_apps(&t);
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].name, "rubis");
        assert_eq!(apps[0].metrics, None);
        // Per-application metrics fall back to the totals.
        assert_eq!(apps[0].col(&t, "p95_response_ms"), Some(4));
        assert_eq!(apps[0].tiers.len(), 3);
        assert_eq!(apps[0].tiers[2], ("db".to_string(), 8));
    }

    #[test]
    fn sweep_applications_come_from_their_columns() {
        let t = table(
            "config,label,p95_response_ms.mean,apps.shop.p95_response_ms.mean,\
apps.shop.p95_response_ms.sd,apps.blog.p95_response_ms.mean,tier_utilisation.shop.web.mean",
        );
        assert_eq!(sweep_apps(&t), ["shop", "blog"]);
        let t = table("config,label,p95_response_ms.mean,tier_utilisation.rubis.app.mean");
        assert_eq!(sweep_apps(&t), ["rubis"]);
        assert!(sweep_apps(&table("config,label")).is_empty());
    }
}
