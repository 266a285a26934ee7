//! Provenance: the git commit the binary is built from, and whether the work tree had changes,
//! for `reconf --version` and the `provenance` object of every summary.json and sweep.json.
//! Built outside a git checkout (a source tarball), the commit is `unknown`.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // Tracked files that differ from the commit (untracked files do not change the build).
    let dirty = match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if s.is_empty() => "false",
        Some(_) => "true",
        None => "unknown",
    };
    println!("cargo:rustc-env=RECONF_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=RECONF_GIT_DIRTY={dirty}");
    let state = match dirty {
        "true" => "with uncommitted changes",
        "false" => "clean",
        _ => "tree state unknown",
    };
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=RECONF_VERSION_LINE={version} (commit {commit}, {state})");
    // Rerun when the commit moves or a source changes (which may make the tree dirty or clean).
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        for f in ["HEAD", "index"] {
            let p = Path::new(&git_dir).join(f);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
        let refs = Path::new(&common).join("refs");
        if refs.exists() {
            println!("cargo:rerun-if-changed={}", refs.display());
        }
    }
    for p in [
        "src",
        "api",
        "policies",
        "benches",
        "tests",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
}
