//! The pieces of a guarded request that no implementation can skip, each
//! timed alone: the floor under the pipeline benchmark.
//!
//! `cargo bench -p guard-runtime --bench floor`
//!
//! A bearer request must hash the presented key (keys are stored hashed),
//! look the hash up, read the clock for the audit record's timestamp and
//! latency, and allocate at least the request id it answers with.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};
use guard_runtime::authn::hash_secret;

fn floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("floor");
    let key = "bench-agent-token-0123456789abcdef0123456789abcdef";
    group.bench_function("SHA-256 of a 50-byte key, hex", |b| b.iter(|| hash_secret(black_box(key))));

    // As `MemoryTokenStore` keeps them: foldhash, seeded per map.
    let keys: HashMap<String, u64, foldhash::fast::RandomState> =
        (0..10_000u64).map(|i| (hash_secret(&format!("key-{i}")), i)).collect();
    let present = hash_secret("key-4242");
    group.bench_function("map lookup of a 64-character key (foldhash)", |b| {
        b.iter(|| keys.get(black_box(present.as_str())).copied())
    });

    group.bench_function("SystemTime::now", |b| b.iter(SystemTime::now));

    group.bench_function("Arc<str> of a request id, made and dropped", |b| {
        b.iter(|| Arc::<str>::from(black_box("5f2c9a1b7e04-00000000000004d2")))
    });
    group.finish();
}

criterion_group!(benches, floor);
criterion_main!(benches);
