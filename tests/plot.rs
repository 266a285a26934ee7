//! `reconf plot`: the figures exist, are valid SVG and PNG of the expected size, are not blank,
//! carry their axis labels; bad input is one line, exit 2, and no figure folder.

mod common;
use common::{reconf, stderr};
use std::collections::HashSet;
use std::path::Path;

fn repo(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .display()
        .to_string()
}

/// Decodes a PNG; returns (width, height, number of distinct colours, share of non-white pixels).
fn png_stats(path: &Path) -> (u32, u32, usize, f64) {
    let file = std::fs::File::open(path).unwrap();
    let mut dec = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; dec.output_buffer_size()];
    let info = dec.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let px = info.color_type.samples();
    let mut colours = HashSet::new();
    let mut inked = 0usize;
    for p in bytes.chunks(px) {
        colours.insert(p[..3].to_vec());
        if p[..3] != [255, 255, 255] {
            inked += 1;
        }
    }
    let total = (info.width * info.height) as f64;
    (info.width, info.height, colours.len(), inked as f64 / total)
}

fn check_figure(dir: &Path, name: &str, label: &str) {
    let svg = std::fs::read_to_string(dir.join(format!("{name}.svg")))
        .unwrap_or_else(|e| panic!("{name}.svg: {e}"));
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{name}.svg"
    );
    assert!(
        svg.contains("width=\"800\"") && svg.contains("height=\"500\""),
        "{name}.svg size"
    );
    assert!(svg.contains(label), "{name}.svg lacks `{label}`");
    assert!(
        svg.matches("<polyline").count() + svg.matches("<rect").count() > 3,
        "{name}.svg is empty"
    );
    let (w, h, colours, inked) = png_stats(&dir.join(format!("{name}.png")));
    assert_eq!((w, h), (800, 500), "{name}.png");
    assert!(colours > 10, "{name}.png has {colours} colours");
    assert!(
        inked > 0.02 && inked < 0.9,
        "{name}.png: {inked} of the pixels inked"
    );
}

#[test]
fn a_run_folder_gives_time_series_with_actions_marked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = reconf(
        &[
            "run",
            &repo("scenarios/examples/scripted-restart.toml"),
            "--out",
            "run",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = reconf(&["plot", "run"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let figs = d.join("run/figures");
    check_figure(&figs, "clients", "active clients");
    check_figure(&figs, "response", "response time (ms)");
    check_figure(&figs, "cpu_tiers", "utilisation");
    check_figure(&figs, "nodes", "nodes up");
    check_figure(&figs, "power", "energy (kWh)");
    check_figure(&figs, "cpu_nodes", "node-0");
    // The scripted replica start and stop are marked, with a legend entry.
    let svg = std::fs::read_to_string(figs.join("response.svg")).unwrap();
    assert!(svg.contains("start-replica") && svg.contains("stop-replica"));
    assert!(svg.contains("time (min)"));
    // Atomic writes leave no temporary.
    for e in std::fs::read_dir(&figs).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(n.ends_with(".svg") || n.ends_with(".png"), "{n}");
    }
}

#[test]
fn a_sweep_folder_gives_comparisons_with_confidence_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = reconf(
        &[
            "sweep",
            &repo("scenarios/examples/rubis.toml"),
            "--seeds",
            "3",
            "--set",
            "duration_s=300",
            "--set",
            "apps[0].tiers[1].replicas=1,2,3",
            "--baseline",
            "replicas=2",
            "--out",
            "sw",
            "-q",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = reconf(&["plot", "sw", "--out", "figs"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let figs = d.join("figs");
    check_figure(&figs, "bars_p95_response_ms", "replicas=3");
    check_figure(&figs, "diff_p95_response_ms", "paired by seed");
    check_figure(&figs, "response_percentiles", "p99");
    check_figure(
        &figs,
        "p95_response_ms_vs_replicas",
        "apps[0].tiers[1].replicas",
    );
    check_figure(&figs, "bars_energy_kwh", "energy (kWh)");
    // --metric narrows the figures.
    let o = reconf(
        &["plot", "sw", "--out", "one", "--metric", "throughput_rps"],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("one/bars_throughput_rps.png").is_file());
    assert!(!d.join("one/bars_p95_response_ms.png").exists());
}

fn assert_bad(d: &Path, args: &[&str], expected: &str, no_dir: &str) {
    let o = reconf(args, d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(expected), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!d.join(no_dir).exists(), "{args:?} wrote {no_dir}");
}

#[test]
fn bad_input_is_one_line_exit_2_and_draws_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_bad(d, &["plot", "nowhere"], "nowhere: not a folder", "nowhere");
    std::fs::create_dir_all(d.join("empty")).unwrap();
    assert_bad(
        d,
        &["plot", "empty"],
        "neither a run folder",
        "empty/figures",
    );
    // A malformed time series names its file, line and column.
    std::fs::create_dir_all(d.join("run")).unwrap();
    std::fs::write(
        d.join("run/timeseries.csv"),
        "time_s,active_clients,throughput_rps,mean_response_ms,p95_response_ms,failures\n\
10,5,1,2,3,0\n20,5,x,2,3,0\n",
    )
    .unwrap();
    assert_bad(
        d,
        &["plot", "run"],
        "timeseries.csv:3: field `throughput_rps`",
        "run/figures",
    );
    std::fs::write(
        d.join("run/timeseries.csv"),
        "time_s,active_clients\n10,5\n",
    )
    .unwrap();
    assert_bad(
        d,
        &["plot", "run"],
        "no `throughput_rps` column",
        "run/figures",
    );
    std::fs::create_dir_all(d.join("sw")).unwrap();
    std::fs::write(
        d.join("sw/aggregate.csv"),
        "config,label,scenario,runs\n0,a,a,2\n",
    )
    .unwrap();
    assert_bad(
        d,
        &["plot", "sw", "--metric", "nope"],
        "`nope` is not a column",
        "sw/figures",
    );
}
