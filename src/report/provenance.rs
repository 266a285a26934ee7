//! Where a result comes from: the `provenance` object of `summary.json` and `sweep.json`.
//!
//! It names the reconf version, the git commit the binary was built from and whether the tree
//! had uncommitted changes (from `build.rs`), the SHA-256 of the scenario, the seed and the
//! command line. None of it is a result: like the wall-clock keys, the whole object is left out of
//! every byte-for-byte determinism comparison ([`super::output::UNCOMPARED_KEYS`]) and of the
//! sweep tables.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit of the build (`unknown` outside a checkout).
pub const GIT_COMMIT: &str = env!("RECONF_GIT_COMMIT");
/// `true` when tracked files differed from the commit at build time (`unknown` outside a
/// checkout).
pub const GIT_DIRTY: &str = env!("RECONF_GIT_DIRTY");

/// The `reconf --version` text: `0.1.0 (commit <40 hex digits>, clean)`.
pub const VERSION_LINE: &str = env!("RECONF_VERSION_LINE");

/// The `provenance` object of a `summary.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Provenance {
    pub reconf_version: String,
    pub git_commit: String,
    /// Whether the build's tree had uncommitted changes; `None` when unknown.
    pub git_dirty: Option<bool>,
    /// SHA-256 (hex) of the resolved scenario, the `scenario.toml` written next to the summary:
    /// the scenario file with every `--set` applied, so it identifies exactly what ran.
    pub scenario_sha256: String,
    pub seed: u64,
    /// The arguments of the reconf process that wrote the file, program name first.
    pub command_line: Vec<String>,
}

/// The build's part of a provenance: version, commit and dirty flag.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Build {
    pub reconf_version: String,
    pub git_commit: String,
    pub git_dirty: Option<bool>,
}

impl Build {
    pub fn current() -> Self {
        Build {
            reconf_version: VERSION.to_string(),
            git_commit: GIT_COMMIT.to_string(),
            git_dirty: match GIT_DIRTY {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
        }
    }
}

impl Provenance {
    /// The provenance of a run of `resolved_scenario_toml` with `seed`, written by this process.
    pub fn of_run(resolved_scenario_toml: &str, seed: u64) -> Self {
        let b = Build::current();
        Provenance {
            reconf_version: b.reconf_version,
            git_commit: b.git_commit,
            git_dirty: b.git_dirty,
            scenario_sha256: sha256_hex(resolved_scenario_toml.as_bytes()),
            seed,
            command_line: command_line(),
        }
    }
}

/// This process's arguments (lossy UTF-8), the program named by its file name alone: where
/// the binary was built is no part of what was asked (and no machine's paths belong in results
/// that are shared).
pub fn command_line() -> Vec<String> {
    std::env::args_os()
        .enumerate()
        .map(|(i, a)| {
            let a = a.to_string_lossy().into_owned();
            if i == 0 {
                std::path::Path::new(&a)
                    .file_name()
                    .map_or(a.clone(), |f| f.to_string_lossy().into_owned())
            } else {
                a
            }
        })
        .collect()
}

/// SHA-256 as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_strings() {
        // FIPS 180-2 test vectors.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn the_build_names_a_commit() {
        let b = Build::current();
        assert_eq!(b.reconf_version, env!("CARGO_PKG_VERSION"));
        // A 40-digit hash in a checkout, `unknown` outside one.
        assert!(
            b.git_commit == "unknown"
                || (b.git_commit.len() == 40
                    && b.git_commit.chars().all(|c| c.is_ascii_hexdigit())),
            "{}",
            b.git_commit
        );
        assert!(VERSION_LINE.contains(&b.git_commit) && VERSION_LINE.starts_with(VERSION));
        let p = Provenance::of_run("seed = 3\n", 3);
        assert_eq!(p.seed, 3);
        assert_eq!(p.scenario_sha256, sha256_hex(b"seed = 3\n"));
        assert!(!p.command_line.is_empty());
    }
}
