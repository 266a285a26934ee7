//! `reconf live` without the `libvirt` feature: the subcommand exists and says how to get it.
#![cfg(not(feature = "libvirt"))]

#[test]
fn live_without_the_feature_exits_2_with_one_clear_line() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_reconf"))
        .args([
            "live",
            "scenarios/live/two-hosts.toml",
            "--uri",
            "test:///default",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: reconf was built without libvirt support; rebuild with --features libvirt\n"
    );
}
