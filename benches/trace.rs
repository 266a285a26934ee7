//! Reading load traces: a `time_s,clients` CSV of 10k, 100k and 604,800 rows (a week at 1 s).
//! Reading must stay linear in the number of rows (issue 11: it was quadratic, 100k rows took
//! over 40 s); target: a week at 1 s well under 2 s.
//!
//! `cargo bench --bench trace`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use reconf::workload::trace::parse_trace;

fn trace(rows: usize) -> Vec<u8> {
    let mut text = String::from("# a measured load\ntime_s,clients\n");
    for i in 0..rows {
        text.push_str(&format!("{i},{}\n", 100 + i % 50));
    }
    text.into_bytes()
}

fn read(c: &mut Criterion) {
    let mut g = c.benchmark_group("trace");
    g.sample_size(10);
    for rows in [10_000, 100_000, 604_800] {
        let bytes = trace(rows);
        g.throughput(Throughput::Elements(rows as u64));
        g.bench_function(format!("parse_{rows}_rows"), |b| {
            b.iter(|| parse_trace(&bytes, "bench.csv", "clients").expect("valid trace"))
        });
    }
    g.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
