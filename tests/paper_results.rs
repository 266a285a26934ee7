//! The committed results of the seed's experiment (`results/paper/`) are reproducible: every
//! committed run, rerun from its own resolved `scenario.toml`, gives exactly its committed
//! `summary.json` (wall-clock keys and provenance aside).

mod common;
use rayon::prelude::*;
use reconf::scenario::load::load;
use reconf::sim::Simulation;

#[test]
fn committed_paper_summaries_are_reproduced_exactly() {
    let mut runs = Vec::new();
    for shape in ["ramp", "steps"] {
        let dir = common::repo(&format!("results/paper/{shape}/runs"));
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            runs.push(e.unwrap().path());
        }
    }
    runs.sort();
    assert_eq!(runs.len(), 50, "2 shapes x 5 strategies x 5 seeds");
    let mismatches: Vec<String> = runs
        .par_iter()
        .filter_map(|run| {
            let loaded = load(&run.join("scenario.toml"), &[]).expect("committed scenario loads");
            let out = Simulation::from_loaded(&loaded).run();
            let strip = common::comparable_json;
            let committed = std::fs::read_to_string(run.join("summary.json")).expect("summary");
            (strip(&committed) != strip(&out.summary_json())).then(|| run.display().to_string())
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "runs no longer reproduced (regenerate with scripts/paper.sh if the change is intended): {mismatches:?}"
    );
}
