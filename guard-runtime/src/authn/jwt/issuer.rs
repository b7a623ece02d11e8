//! One trusted issuer: who it is, whom its tokens are for, where its keys
//! are, which algorithms it signs with, and how its claims become a
//! principal.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};

use super::jwks::{JwksFetcher, Keys};
use super::mapping::{ClaimsMapping, MapClaims};
use crate::StoreError;

/// The largest clock skew allowed for `exp`, `nbf` and `iat`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// A trusted issuer of JWTs: its `iss`, the audience its tokens must name
/// (`aud`), and the URL of its JWKS.
///
/// By default it accepts RS256, ES256 and EdDSA signatures, a clock skew of
/// 30 s, refreshes its keys at most every 60 s, and maps claims with
/// [`ClaimsMapping::default`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use guard_runtime::authn::jwt::{Algorithm, ClaimsMapping, Issuer};
/// use guard_runtime::CallerKind;
///
/// let ci = Issuer::new("https://token.actions.example", "https://api.example", "https://token.actions.example/.well-known/jwks")
///     .algorithms([Algorithm::RS256])
///     .leeway(Duration::from_secs(10))
///     .mapping(ClaimsMapping::new().kind(CallerKind::Service).tenant("acme"));
/// ```
#[derive(Clone)]
pub struct Issuer {
    pub(super) issuer: String,
    pub(super) audience: String,
    pub(super) jwks_url: String,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) leeway: Duration,
    pub(super) refresh_interval: Duration,
    pub(super) mapper: Arc<dyn MapClaims>,
    pub(super) fetcher: Option<Arc<dyn JwksFetcher>>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("jwks_url", &self.jwks_url)
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("refresh_interval", &self.refresh_interval)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// The issuer `issuer` (the exact `iss` of its tokens), whose tokens
    /// must name `audience` in `aud`, with its keys at `jwks_url`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, jwks_url: impl Into<String>) -> Self {
        Issuer {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: jwks_url.into(),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            leeway: Duration::from_secs(30),
            refresh_interval: Duration::from_secs(60),
            mapper: Arc::new(ClaimsMapping::default()),
            fetcher: None,
        }
    }

    /// The issuer whose OpenID configuration
    /// (`{issuer}/.well-known/openid-configuration`) names its JWKS URL. The
    /// configuration's `issuer` must be `issuer` exactly.
    pub async fn discover(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        fetcher: &dyn JwksFetcher,
    ) -> Result<Self, StoreError> {
        #[derive(serde::Deserialize)]
        struct Configuration {
            issuer: String,
            jwks_uri: String,
        }
        let issuer = issuer.into();
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let body = fetcher.get(&url).await?;
        let found: Configuration =
            serde_json::from_slice(&body).map_err(|e| StoreError::new("openid configuration", e))?;
        if found.issuer != issuer {
            return Err(StoreError::new("openid configuration", "its issuer is not the one asked for"));
        }
        Ok(Issuer::new(issuer, audience, found.jwks_uri))
    }

    /// The signature algorithms accepted. HMAC algorithms (`HS*`) are never
    /// accepted, whatever is listed: a public key is no shared secret.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().filter(|a| a.family() != AlgorithmFamily::Hmac).collect();
        self
    }

    /// The clock skew allowed on `exp`, `nbf` and `iat`; at most
    /// [`MAX_LEEWAY`] (a longer one is cut to it).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// How often the JWKS may be fetched: at most once per interval when an
    /// unknown key id arrives, and once the cached set is this old.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// How the claims become a principal, from the token alone.
    pub fn mapping(self, mapping: ClaimsMapping) -> Self {
        self.map_with(mapping)
    }

    /// How the claims become a principal: the app's own hook, which can
    /// look the subject up in its own data (tenant, roles, registered
    /// scopes) and narrow them with the token's scopes.
    pub fn map_with(mut self, mapper: impl MapClaims) -> Self {
        self.mapper = Arc::new(mapper);
        self
    }

    /// Fetches this issuer's JWKS with `fetcher` instead of the
    /// authenticator's.
    pub fn fetcher(mut self, fetcher: impl JwksFetcher) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }
}

/// An issuer as the authenticator runs it: its configuration and its keys.
pub(super) struct Trusted {
    pub(super) config: Issuer,
    pub(super) keys: Keys,
}

impl Trusted {
    pub(super) fn new(config: Issuer, default_fetcher: &Arc<dyn JwksFetcher>) -> Self {
        let fetcher = config.fetcher.clone().unwrap_or_else(|| default_fetcher.clone());
        let keys = Keys::new(config.jwks_url.clone(), fetcher, config.refresh_interval);
        Trusted { config, keys }
    }
}
