//! Password hashing with argon2id (`crate::argon`), off the async threads
//! because it is deliberately slow, and at most [`slots`] at once: each run
//! takes 19 MiB, so a login burst must not turn into gigabytes. A check
//! that finds every slot taken for [`QUEUE_WAIT`] answers 503
//! `unavailable` with `Retry-After`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::response::Response;
use guard_runtime::{ActionError, Code, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::argon::{self, Memory};

/// How long a hashing waits for a free slot before the request gives up.
/// Short: a client told to come back soon costs nothing, a queue of
/// waiting logins only delays everyone.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// What a client is told to wait before trying again, in seconds.
const RETRY_AFTER_SECS: u32 = 1;

/// Why a password could not be checked or hashed.
#[derive(Debug)]
pub enum Refusal {
    /// Every hashing slot stayed taken for [`QUEUE_WAIT`]: 503 with
    /// `Retry-After`.
    Busy,
    /// The hashing itself failed (no randomness, a task lost): 503.
    Failed(StoreError),
    /// Anything else an action refuses with.
    Action(ActionError),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Busy => f.write_str("every password hashing slot is taken"),
            Refusal::Failed(e) => write!(f, "{e}"),
            Refusal::Action(e) => write!(f, "refused: {}", e.code()),
        }
    }
}

impl std::error::Error for Refusal {}

impl From<ActionError> for Refusal {
    fn from(e: ActionError) -> Self {
        Refusal::Action(e)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Failed(e)
    }
}

/// An action's answer once its password work is done: a busy hasher is a
/// 503 `unavailable` problem with `Retry-After` (which `ActionError` cannot
/// carry yet), any other refusal the action's own error.
pub fn answer(result: Result<Response, Refusal>) -> Result<Response, ActionError> {
    match result {
        Ok(response) => Ok(response),
        Err(Refusal::Action(e)) => Err(e),
        Err(Refusal::Failed(e)) => Err(e.into()),
        Err(Refusal::Busy) => Err(ActionError::new(Code::Unavailable)
            .with_detail("Too many password checks at once; try again in a moment.")
            .with_retry_after(u64::from(RETRY_AFTER_SECS))),
    }
}

/// How many hashings may run at once: twice the cores (argon2 with one
/// lane keeps one core busy; two per core keep them all busy while one
/// waits to be scheduled), so at most `2 × cores × 19 MiB`.
pub fn slots() -> usize {
    2 * std::thread::available_parallelism().map_or(1, usize::from)
}

fn limiter() -> &'static Arc<Semaphore> {
    static LIMITER: OnceLock<Arc<Semaphore>> = OnceLock::new();
    LIMITER.get_or_init(|| Arc::new(Semaphore::new(slots())))
}

/// How long a hashing may wait for its slot.
#[derive(Clone, Copy)]
enum Wait {
    /// A request: [`QUEUE_WAIT`], then busy.
    Request,
    /// Startup work (seeding, the dummy hash): no client waits for it.
    AsLongAsItTakes,
}

/// Waits for a slot. The permit moves into the blocking task: a request
/// dropped meanwhile (client gone) still holds its slot until its argon2
/// run ends, so the bound holds.
async fn slot(wait: Wait) -> Result<OwnedSemaphorePermit, Refusal> {
    let acquire = limiter().clone().acquire_owned();
    let acquired = match wait {
        Wait::Request => tokio::time::timeout(QUEUE_WAIT, acquire).await.map_err(|_elapsed| Refusal::Busy)?,
        Wait::AsLongAsItTakes => acquire.await,
    };
    acquired.map_err(|closed| StoreError::new("password hashing", closed).into())
}

/// Runs `work` on the blocking pool in a hashing slot, with that slot's
/// argon2 memory.
async fn in_slot<T: Send + 'static>(
    wait: Wait,
    work: impl FnOnce(&mut Memory) -> T + Send + 'static,
) -> Result<T, Refusal> {
    let permit = slot(wait).await?;
    tokio::task::spawn_blocking(move || {
        let mut memory = argon::take();
        let done = work(&mut memory);
        argon::give_back(memory);
        drop(permit);
        done
    })
    .await
    .map_err(|e| StoreError::new("password hashing", e).into())
}

/// Hashes `password` into a PHC string with a fresh random salt, for a
/// request: busy after [`QUEUE_WAIT`].
pub async fn hash(password: String) -> Result<String, Refusal> {
    hash_waiting(Wait::Request, password).await
}

/// [`hash`] for startup work (seeding): waits for a slot as long as it takes.
pub async fn hash_at_startup(password: String) -> Result<String, Refusal> {
    hash_waiting(Wait::AsLongAsItTakes, password).await
}

async fn hash_waiting(wait: Wait, password: String) -> Result<String, Refusal> {
    in_slot(wait, move |memory| {
        argon::hash(memory, password.as_bytes()).map_err(|e| StoreError::new("password hashing", e))
    })
    .await?
    .map_err(Refusal::from)
}

/// Whether `password` matches `phc`. `None` (unknown user) is checked
/// against a dummy hash so the answer takes as long as for a real user:
/// timing cannot tell which usernames exist.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, Refusal> {
    let known = phc.is_some();
    let phc = match phc {
        Some(phc) => phc,
        None => dummy_hash().await?,
    };
    // A stored hash that does not parse verifies as "no": fail closed.
    let matches = in_slot(Wait::Request, move |memory| argon::verify(memory, password.as_bytes(), &phc)).await?;
    Ok(known && matches)
}

/// A hash of a random secret, made once with the same parameters as real ones.
async fn dummy_hash() -> Result<String, Refusal> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let made = hash_at_startup(guard_runtime::authn::random_secret()?).await?;
    Ok(DUMMY.get_or_init(|| made).clone())
}

/// Makes the dummy hash at startup, so the first unknown-user login is not
/// faster or slower than the rest.
pub async fn warm_up() -> Result<(), Refusal> {
    dummy_hash().await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::{limiter, slots, verify, Refusal, QUEUE_WAIT};

    /// With every slot taken, a check waits [`QUEUE_WAIT`] and gives up
    /// busy, without hashing; once a slot frees, checks run again.
    #[tokio::test]
    async fn a_check_finding_every_slot_taken_is_refused_busy() {
        let taken = limiter().clone().acquire_many_owned(u32::try_from(slots()).expect("slots")).await.expect("all");
        let started = tokio::time::Instant::now();
        let refused = verify("pw".into(), Some("not-a-phc".into())).await;
        assert!(matches!(refused, Err(Refusal::Busy)), "{refused:?}");
        assert!(started.elapsed() >= QUEUE_WAIT);
        drop(taken);
        assert!(matches!(verify("pw".into(), Some("not-a-phc".into())).await, Ok(false)));
    }
}
