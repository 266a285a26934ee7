//! Which domains are replicas: a domain named `<app>-<tier>-<k>` is replica `k` of tier `tier`
//! of application `app`. Dashes, not dots: a dot in a domain name is legal for libvirt but not
//! in every host name, file name and shell context a domain name ends up in. Since app and tier
//! names may themselves contain dashes, a name is matched against the scenario's own app and
//! tier names (never split blindly); every other domain is ignored and never touched.

/// The domain name of replica `k` of `app`'s tier `tier`.
pub fn domain_name(app: &str, tier: &str, k: u32) -> String {
    format!("{app}-{tier}-{k}")
}

/// The (app index, tier index, k) a domain name stands for, given the scenario's apps as
/// `(name, [tier names])`; `None` for a domain reconf does not manage. The first app and tier
/// in scenario order win should two readings be possible (`a-b` + `c` versus `a` + `b-c`).
pub fn parse_domain_name(
    name: &str,
    apps: &[(String, Vec<String>)],
) -> Option<(usize, usize, u32)> {
    for (ai, (app, tiers)) in apps.iter().enumerate() {
        let Some(rest) = name
            .strip_prefix(app.as_str())
            .and_then(|r| r.strip_prefix('-'))
        else {
            continue;
        };
        for (ti, tier) in tiers.iter().enumerate() {
            let Some(k) = rest
                .strip_prefix(tier.as_str())
                .and_then(|r| r.strip_prefix('-'))
            else {
                continue;
            };
            if !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_digit())
                && (k == "0" || !k.starts_with('0'))
            {
                if let Ok(k) = k.parse() {
                    return Some((ai, ti, k));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apps() -> Vec<(String, Vec<String>)> {
        vec![
            (
                "rubis".into(),
                vec!["web".into(), "app".into(), "db".into()],
            ),
            ("my-shop".into(), vec!["front-end".into()]),
        ]
    }

    #[test]
    fn names_round_trip_and_others_are_ignored() {
        assert_eq!(
            parse_domain_name(&domain_name("rubis", "app", 2), &apps()),
            Some((0, 1, 2))
        );
        assert_eq!(
            parse_domain_name("my-shop-front-end-10", &apps()),
            Some((1, 0, 10))
        );
        for other in [
            "rubis-app",
            "rubis-app-",
            "rubis-app-x",
            "rubis-app-01",
            "rubis-cache-0",
            "vm1",
            "rubis.app.0",
        ] {
            assert_eq!(parse_domain_name(other, &apps()), None, "{other}");
        }
    }
}
