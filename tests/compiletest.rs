//! Compile-time guarantees: every mistake in `ui/action/fail` must fail to
//! build with the reviewed message in its `.stderr`; every file in
//! `ui/action/pass` must build.
//!
//! The snapshots are pinned to the machine's stable toolchain. After an
//! intended change: `TRYBUILD=overwrite cargo test -p guard-tests --test
//! compiletest`, then read every changed `.stderr` as a user would.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/action/pass/*.rs");
    t.compile_fail("ui/action/fail/*.rs");
}
