//! The event queue alone, in the classic *hold* model: 10^5 pending events; each step pops the
//! earliest and pushes one at a random later time. Target: at least 10 M events/s.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::Rng as _;
use reconf::engine::{rng, EventQueue, SimTime};

const PENDING: usize = 100_000;
const STEPS: u64 = 1_000_000;

#[derive(Clone, Copy)]
#[allow(dead_code)] // the payload only gives the entries a realistic size
struct Payload(u32, u32);

fn filled() -> (EventQueue<Payload>, rng::Rng) {
    let mut r = rng::stream(1, "bench", 0, 0, 0);
    let mut q = EventQueue::with_capacity(PENDING + 1);
    for i in 0..PENDING {
        q.schedule(
            SimTime(r.random_range(0..1_000_000_000)),
            Payload(i as u32, 0),
        );
    }
    (q, r)
}

fn hold(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(STEPS));
    g.sample_size(10);
    g.bench_function("hold_1e5_pending", |b| {
        b.iter_batched(
            filled,
            |(mut q, mut r)| {
                for _ in 0..STEPS {
                    let (t, p) = q.pop().expect("never empty");
                    let dt: u64 = r.random_range(1..2_000_000_000);
                    q.schedule(SimTime(t.0 + dt), p);
                }
                q
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
