//! What one audit line costs the writer, per record, in batches as the
//! writer hands them over: `JsonLinesSink` writing to `/dev/null` (its
//! formatting plus one `write` a batch), and the generic `Serialize` impl
//! through serde_json for comparison.
//!
//! `cargo bench -p guard-runtime --bench audit_line`

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use axum::http::Method;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use guard_runtime::audit::{Decision, DecisionRecord, JsonLinesSink};
use guard_runtime::AuditSink;
use guard_runtime::RequestId;
use guard_runtime::{Delegation, Principal};

fn record() -> DecisionRecord {
    let delegation = Delegation { user: "alice".into(), roles: vec!["customer".into()] };
    let agent = Principal::agent("assistant", "acme", ["orders:*"], delegation);
    DecisionRecord {
        ts: SystemTime::now(),
        request_id: RequestId::new("5f2c9a1b7e04-00000000000004d2"),
        client_request_id: None,
        claim: None,
        caller: Some(Arc::new(agent)),
        action: "read_order",
        method: Method::GET,
        path: Arc::from("/orders/42"),
        permission: Some(Arc::from("orders:read")),
        resource: Some(Arc::from("orders/42")),
        decision: Decision::Allow,
        code: "ok",
        via: None,
        latency_us: 3,
    }
}

fn audit_line(c: &mut Criterion) {
    let batch: Vec<DecisionRecord> = (0..256).map(|_| record()).collect();
    let mut group = c.benchmark_group("audit_line");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("serde_json, 256 records", |b| {
        let mut buf = Vec::with_capacity(batch.len() * 320);
        b.iter(|| {
            buf.clear();
            for record in &batch {
                serde_json::to_writer(&mut buf, record).expect("serializes");
                buf.push(b'\n');
            }
            black_box(buf.len())
        })
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let sink = JsonLinesSink::new("/dev/null");
    group.bench_function("JsonLinesSink to /dev/null, 256 records", |b| {
        b.to_async(&runtime).iter(|| async { sink.write(black_box(&batch)).await.expect("writes") })
    });
    group.finish();
}

criterion_group!(benches, audit_line);
criterion_main!(benches);
