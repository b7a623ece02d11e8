//! An unknown username and a wrong password take the same time to refuse:
//! both run argon2 (the unknown one against a dummy hash), so timing
//! cannot tell which usernames exist. Alone in its binary, so that no
//! other test's load skews the samples.

mod common;

use std::time::{Duration, Instant};

use common::*;

const SAMPLES: usize = 15;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn timed_refusal(app: &App, user: &str) -> Duration {
    let started = Instant::now();
    let answer = app.login_raw(user, "not-the-password").await;
    let took = started.elapsed();
    answer.assert_problem(401, "unauthenticated");
    took
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_take_the_same_time() {
    let app = App::start(&[]);
    timed_refusal(&app, "alice").await; // warm-up: connections, caches
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    // Interleaved, so that drift in the machine's load hits both alike.
    for i in 0..SAMPLES {
        unknown.push(timed_refusal(&app, &format!("mallory-{i}")).await);
        wrong.push(timed_refusal(&app, "alice").await);
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    let (fast, slow) = (unknown.min(wrong), unknown.max(wrong));
    println!("median refusal: unknown user {unknown:?}, wrong password {wrong:?}");
    assert!(
        slow.as_secs_f64() <= fast.as_secs_f64() * 1.2,
        "medians differ by more than 20%: unknown user {unknown:?}, wrong password {wrong:?}"
    );
}
