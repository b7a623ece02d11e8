//! A login burst: password hashing (19 MiB of argon2 each) runs in a
//! bounded number of slots, and a login that finds them all taken for a
//! while answers 503 `unavailable` with `Retry-After` instead of queuing
//! without bound. Alone in its binary: the burst would slow other tests.

mod common;

use common::*;
use futures_util::future::join_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_burst_is_bounded_and_the_excess_answers_503_with_retry_after() {
    let app = App::start(&[]);
    let burst = (0..32).map(|_| app.login_raw("alice", "wrong-pass"));
    let answers = join_all(burst).await;
    let mut busy = 0;
    for answer in &answers {
        if answer.status == 503 {
            answer.assert_problem(503, "unavailable");
            assert_eq!(answer.header("retry-after"), Some("1"));
            assert!(answer.header("set-cookie").is_none());
            busy += 1;
        } else {
            answer.assert_problem(401, "unauthenticated");
        }
    }
    println!("{busy} of {} logins answered 503", answers.len());
    assert!(busy > 0, "32 logins at once all ran argon2 at once: nothing bounds the hashing");
    // Once the burst is over, logins work again.
    app.login("alice", "alice-pass").await;
}
