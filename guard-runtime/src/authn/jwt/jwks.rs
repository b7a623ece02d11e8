//! An issuer's signing keys: fetched from its JWKS URL, cached, refreshed.
//!
//! The key set is fetched when first needed, and again (at most once per
//! refresh interval) when a token names a key id the cache does not hold,
//! or when the cached set is older than the interval. A refresh replaces
//! the whole set, so a key the issuer removed is gone after it. While the
//! endpoint is down, cached keys keep working; a key id nobody has seen is
//! then a store failure (503), never a guess.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::{header, Request, StatusCode, Uri};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::fast_map::FastMap;
use crate::{BoxFuture, StoreError};

/// Fetches a document (a JWKS, an OpenID configuration) over HTTP(S).
///
/// [`HttpFetcher`] speaks plain HTTP on the hyper that axum already uses; for
/// an `https://` issuer, implement this trait over the app's own HTTPS
/// client (reqwest with rustls, say). Any failure, including a status other
/// than 200, is an `Err`: a token whose key cannot be fetched is refused
/// with 503, never accepted.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard JWKS fetcher",
    label = "expected a `guard_runtime::authn::jwt::JwksFetcher`, such as `HttpFetcher`",
    note = "implement `guard_runtime::authn::jwt::JwksFetcher`; its documentation (`cargo doc -p guard-runtime --open`) says what to implement"
)]
pub trait JwksFetcher: Send + Sync + 'static {
    /// The body of a `GET url` that answered 200.
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>>;
}

impl<T: JwksFetcher + ?Sized> JwksFetcher for Arc<T> {
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        (**self).get(url)
    }
}

/// The default [`JwksFetcher`]: `GET` over plain HTTP/1.1 with hyper, a
/// timeout (5 s) and a body limit (256 KiB). `https://` URLs are refused:
/// plug an HTTPS-capable fetcher for those (guard does not pick a TLS
/// stack for you).
#[derive(Clone, Debug)]
pub struct HttpFetcher {
    timeout: Duration,
    max_body: usize,
}

impl Default for HttpFetcher {
    fn default() -> Self {
        HttpFetcher { timeout: Duration::from_secs(5), max_body: 256 * 1024 }
    }
}

impl HttpFetcher {
    /// A fetcher with a 5 s timeout and a 256 KiB body limit.
    pub fn new() -> Self {
        HttpFetcher::default()
    }

    /// Sets the timeout of a whole fetch (connect, request, body).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn fetch(&self, url: &str) -> Result<Bytes, StoreError> {
        let fail = |e: &'static str| StoreError::new("jwks fetch", e);
        let uri: Uri = url.parse().map_err(|e| StoreError::new("jwks fetch", e))?;
        if uri.scheme_str() != Some("http") {
            return Err(fail("HttpFetcher speaks plain http; plug an HTTPS JwksFetcher for https URLs"));
        }
        let authority = uri.authority().ok_or_else(|| fail("no host"))?.clone();
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let stream =
            tokio::net::TcpStream::connect((host, port)).await.map_err(|e| StoreError::new("jwks fetch", e))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| StoreError::new("jwks fetch", e))?;
        let driver = AbortOnDrop(tokio::spawn(connection));
        let request = Request::get(path)
            .header(header::HOST, authority.as_str())
            .header(header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| StoreError::new("jwks fetch", e))?;
        let response = sender.send_request(request).await.map_err(|e| StoreError::new("jwks fetch", e))?;
        if response.status() != StatusCode::OK {
            return Err(fail("the endpoint did not answer 200"));
        }
        let body = Limited::new(response.into_body(), self.max_body)
            .collect()
            .await
            .map_err(|e| StoreError::new("jwks fetch", e))?
            .to_bytes();
        drop(driver);
        Ok(body)
    }
}

/// Stops the connection's task when the fetch ends, however it ends.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl JwksFetcher for HttpFetcher {
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        Box::pin(async move {
            tokio::time::timeout(self.timeout, self.fetch(url))
                .await
                .map_err(|_| StoreError::new("jwks fetch", "timed out"))?
        })
    }
}

/// One verification key of the set.
pub(super) struct Key {
    pub(super) decoding: DecodingKey,
    /// The key's family (RSA, EC, OKP): only algorithms of that family use it.
    pub(super) family: AlgorithmFamily,
    /// The algorithm the JWKS pins the key to, if it does.
    pub(super) algorithm: Option<Algorithm>,
}

impl Key {
    /// Whether a token signed with `algorithm` may be verified with this key.
    pub(super) fn admits(&self, algorithm: Algorithm) -> bool {
        algorithm.family() != AlgorithmFamily::Hmac
            && self.family == algorithm.family()
            && self.algorithm.is_none_or(|pinned| pinned == algorithm)
    }
}

#[derive(Default)]
struct State {
    keys: FastMap<String, Arc<Key>>,
    /// When the set in `keys` was fetched.
    fetched_at: Option<Instant>,
    /// When a fetch was last tried, and why it failed if it did.
    attempted_at: Option<Instant>,
    failure: Option<String>,
}

/// What the cache can say about a key id without fetching.
pub(super) enum Cached {
    /// The key, from a set younger than the refresh interval.
    Current(Arc<Key>),
    /// Fetching is due (or the key is unknown): ask [`Keys::key`].
    Ask,
}

/// An issuer's key set, as cached.
pub(super) struct Keys {
    url: String,
    fetcher: Arc<dyn JwksFetcher>,
    interval: Duration,
    state: RwLock<State>,
    refreshing: tokio::sync::Mutex<()>,
}

fn poisoned() -> StoreError {
    StoreError::new("jwks cache", "lock poisoned")
}

impl Keys {
    pub(super) fn new(url: String, fetcher: Arc<dyn JwksFetcher>, interval: Duration) -> Self {
        Keys { url, fetcher, interval, state: RwLock::default(), refreshing: tokio::sync::Mutex::new(()) }
    }

    /// The key `kid` if the cached set holds it and is not due a refresh.
    pub(super) fn cached(&self, kid: &str) -> Result<Cached, StoreError> {
        let state = self.state.read().map_err(|_| poisoned())?;
        let fresh = state.fetched_at.is_some_and(|at| at.elapsed() < self.interval);
        Ok(match state.keys.get(kid) {
            Some(key) if fresh => Cached::Current(key.clone()),
            _ => Cached::Ask,
        })
    }

    /// The key `kid`: from the cache, or after a refresh if one is allowed
    /// now. `Ok(None)`: the issuer does not publish it. `Err`: it is not
    /// cached and the set cannot be fetched.
    pub(super) async fn key(&self, kid: &str) -> Result<Option<Arc<Key>>, StoreError> {
        let (found, due) = self.look(kid)?;
        if let (Some(key), false) = (&found, self.stale()?) {
            return Ok(Some(key.clone()));
        }
        if !due {
            return match (found, self.failure()?) {
                (Some(key), _) => Ok(Some(key)),
                (None, Some(failure)) => Err(StoreError::new("jwks fetch", failure)),
                (None, None) => Ok(None),
            };
        }
        match self.refresh().await {
            Ok(()) => Ok(self.look(kid)?.0),
            // Cached keys keep working while the endpoint is down.
            Err(_) if found.is_some() => Ok(found),
            Err(e) => Err(e),
        }
    }

    /// The cached key, and whether a fetch may be tried now.
    fn look(&self, kid: &str) -> Result<(Option<Arc<Key>>, bool), StoreError> {
        let state = self.state.read().map_err(|_| poisoned())?;
        let due = state.attempted_at.is_none_or(|at| at.elapsed() >= self.interval);
        Ok((state.keys.get(kid).cloned(), due))
    }

    fn stale(&self) -> Result<bool, StoreError> {
        let state = self.state.read().map_err(|_| poisoned())?;
        Ok(state.fetched_at.is_none_or(|at| at.elapsed() >= self.interval))
    }

    fn failure(&self) -> Result<Option<String>, StoreError> {
        Ok(self.state.read().map_err(|_| poisoned())?.failure.clone())
    }

    /// Fetches the set and replaces the cached one. One fetch at a time;
    /// a caller that waited for another's fetch takes its result.
    async fn refresh(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let _one_at_a_time = self.refreshing.lock().await;
        {
            let state = self.state.read().map_err(|_| poisoned())?;
            if state.attempted_at.is_some_and(|at| at >= started) {
                return match &state.failure {
                    Some(failure) => Err(StoreError::new("jwks fetch", failure.clone())),
                    None => Ok(()),
                };
            }
        }
        let fetched = self.fetcher.get(&self.url).await.and_then(|body| parse(&body));
        let mut state = self.state.write().map_err(|_| poisoned())?;
        state.attempted_at = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                state.keys = keys;
                state.fetched_at = state.attempted_at;
                state.failure = None;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(target: "guard::jwt", url = %self.url, error = %e, "JWKS fetch failed");
                state.failure = Some(e.to_string());
                Err(e)
            }
        }
    }
}

/// The verification keys of a JWKS document: keys with an id, for signing,
/// of an asymmetric type. Symmetric (`oct`) keys are never taken from a
/// JWKS, and a key that does not parse is left out.
fn parse(body: &[u8]) -> Result<FastMap<String, Arc<Key>>, StoreError> {
    let set: JwkSet = serde_json::from_slice(body).map_err(|e| StoreError::new("jwks parse", e))?;
    let mut keys = FastMap::default();
    for jwk in &set.keys {
        let Some(kid) = &jwk.common.key_id else { continue };
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let family = match jwk.algorithm {
            AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
            AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
            AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
            _ => continue,
        };
        let algorithm = match jwk.common.key_algorithm {
            Some(alg) => match Algorithm::try_from(alg) {
                Ok(alg) => Some(alg),
                Err(_) => continue,
            },
            None => None,
        };
        let Ok(decoding) = DecodingKey::from_jwk(jwk) else { continue };
        keys.insert(kid.clone(), Arc::new(Key { decoding, family, algorithm }));
    }
    Ok(keys)
}
