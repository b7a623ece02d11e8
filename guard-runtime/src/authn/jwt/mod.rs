//! JWT bearer credentials from trusted issuers (OIDC): feature `jwt`.
//!
//! [`Jwt`] authenticates `Authorization: Bearer <jwt>` for the issuers it
//! trusts. Per issuer ([`Issuer`]): its `iss`, the audience its tokens must
//! name, its JWKS URL. Signatures are checked with the issuer's published
//! keys (RS256, ES256 and EdDSA by default; HMAC and `none` never), `exp`,
//! `nbf` and `iat` with a leeway of at most 60 s. The keys are cached and
//! refreshed ([`JwksFetcher`]); verified tokens are cached until they
//! expire.
//!
//! A token's claims become a principal through [`MapClaims`]: by default
//! [`ClaimsMapping`], from the token alone; an app with its own accounts
//! plugs its own mapping there. An RFC 8693 `act` claim makes the principal
//! the acting agent, on behalf of the user `sub`.
//!
//! In a chain, [`Jwt`] declines (`Unrecognized`) what is not a JWT and a JWT
//! from an issuer it does not trust, so `(Tokens, Jwt, Sessions)` serves
//! opaque API keys and JWTs side by side. A token from a trusted issuer that
//! fails any check is invalid (401), never passed on.

mod cache;
mod issuer;
mod jwks;
mod mapping;
mod mint;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::http::request::Parts;
use jsonwebtoken::{AlgorithmFamily, Validation};
use sha2::{Digest, Sha256};

pub use issuer::{Issuer, MAX_LEEWAY};
pub use jsonwebtoken::Algorithm;
pub use jwks::{HttpFetcher, JwksFetcher};
pub use mapping::{ClaimsMapping, MapClaims, VerifiedToken};
pub use mint::{MintError, Minter, JWKS_PATH, MAX_LIFETIME, OBJECT_CLAIM};

use self::cache::{Entry, VerifiedCache};
use self::issuer::Trusted;
use self::jwks::Cached;
use super::chain::looks_like_jwt;
use super::token::{bearer, BearerHeader};
use super::{Authenticated, Authentication, Authenticator, Via};
use crate::{Claims, Principal, StoreError, StoreFuture};

/// Authenticates `Authorization: Bearer <jwt>` from trusted issuers.
///
/// Built with [`Jwt::builder`].
///
/// # Example
///
/// ```
/// use guard_runtime::authn::jwt::{ClaimsMapping, Issuer, Jwt};
/// use guard_runtime::authn::{MemoryTokenStore, Tokens};
/// use guard_runtime::{Actions, Resolvers, RolePolicy};
///
/// let jwt = Jwt::builder()
///     .issuer(
///         Issuer::new("http://id.internal", "orders-api", "http://id.internal/jwks.json")
///             .mapping(ClaimsMapping::new().tenant("acme")),
///     )
///     .cache_capacity(10_000)
///     .build();
/// // API keys first, then JWTs: each declines the other's credentials.
/// let authenticator = (Tokens::new(MemoryTokenStore::new()), jwt);
/// let app: axum::Router = Actions::new(RolePolicy::new(), authenticator, Resolvers::new()).into_router(());
/// # let _ = app;
/// ```
pub struct Jwt {
    issuers: Vec<Trusted>,
    cache: VerifiedCache,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<&Issuer> = self.issuers.iter().map(|t| &t.config).collect();
        f.debug_struct("Jwt").field("issuers", &issuers).finish_non_exhaustive()
    }
}

/// Configures a [`Jwt`]: its issuers, its default fetcher, its cache.
pub struct JwtBuilder {
    issuers: Vec<Issuer>,
    fetcher: Arc<dyn JwksFetcher>,
    cache_capacity: usize,
}

impl std::fmt::Debug for JwtBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtBuilder")
            .field("issuers", &self.issuers)
            .field("cache_capacity", &self.cache_capacity)
            .finish_non_exhaustive()
    }
}

impl JwtBuilder {
    /// Trusts `issuer`. Its `iss` must differ from the others'.
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuers.retain(|i| i.issuer != issuer.issuer);
        self.issuers.push(issuer);
        self
    }

    /// Fetches JWKS documents with `fetcher` (default [`HttpFetcher`],
    /// plain HTTP): plug an HTTPS client here.
    pub fn fetcher(mut self, fetcher: impl JwksFetcher) -> Self {
        self.fetcher = Arc::new(fetcher);
        self
    }

    /// How many verified tokens are kept (default 10 000; 0 turns the cache
    /// off).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The authenticator.
    pub fn build(self) -> Jwt {
        let fetcher = self.fetcher;
        Jwt {
            issuers: self.issuers.into_iter().map(|config| Trusted::new(config, &fetcher)).collect(),
            cache: VerifiedCache::new(self.cache_capacity),
        }
    }
}

impl Jwt {
    /// A builder with no issuer, [`HttpFetcher`], and a cache of 10 000
    /// verified tokens.
    pub fn builder() -> JwtBuilder {
        JwtBuilder { issuers: Vec::new(), fetcher: Arc::new(HttpFetcher::new()), cache_capacity: 10_000 }
    }

    /// Verifies `token` from scratch (the cache only gains from it).
    async fn verify(&self, token: &str, hash: [u8; 32]) -> Result<Authentication, StoreError> {
        // Which issuer: read from the unverified payload only to pick the
        // keys; nothing else of it is believed before the signature is.
        #[derive(serde::Deserialize)]
        struct Peek {
            iss: String,
        }
        let Ok(header) = jsonwebtoken::decode_header(token) else { return Ok(Authentication::Unrecognized) };
        let Ok(peek) = jsonwebtoken::dangerous::insecure_decode_claims::<Peek>(token) else {
            return Ok(Authentication::Unrecognized);
        };
        let Some(index) = self.issuers.iter().position(|t| t.config.issuer == peek.iss) else {
            return Ok(Authentication::Unrecognized);
        };
        // From here on the token is a trusted issuer's: any fault refuses it.
        let trusted = &self.issuers[index];
        let config = &trusted.config;
        let refuse = |why: &str| {
            tracing::trace!(target: "guard::jwt", issuer = %config.issuer, why, "JWT refused");
            Ok(Authentication::Invalid)
        };
        let alg = header.alg;
        if alg.family() == AlgorithmFamily::Hmac || !config.algorithms.contains(&alg) {
            return refuse("algorithm not accepted");
        }
        let Some(kid) = header.kid else { return refuse("no key id") };
        let Some(key) = trusted.keys.key(&kid).await? else { return refuse("unknown key id") };
        if !key.admits(alg) {
            return refuse("key does not match the algorithm");
        }
        let mut validation = Validation::new(alg);
        validation.leeway = config.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims =
            match jsonwebtoken::decode::<BTreeMap<String, serde_json::Value>>(token, &key.decoding, &validation) {
                Ok(data) => Claims::from(data.claims),
                Err(e) => {
                    tracing::trace!(target: "guard::jwt", issuer = %config.issuer, error = %e, "JWT refused");
                    return Ok(Authentication::Invalid);
                }
            };
        let now = SystemTime::now();
        if let Some(iat) = claims.get("iat") {
            match mapping::seconds(iat) {
                Some(issued) if issued <= now + config.leeway => {}
                _ => return refuse("issued in the future"),
            }
        }
        let Some(verified) = VerifiedToken::new(claims, &crate::hex::hex(&hash)) else {
            return refuse("no subject");
        };
        let verified = Arc::new(verified);
        let Some(principal) = map(config, &verified).await? else { return refuse("no principal for its claims") };
        let cached = config.mapper.depends_on_token_alone().then(|| principal.clone());
        self.cache.insert(hash, Entry { issuer: index, kid: kid.into(), key, token: verified, principal: cached }, now);
        Ok(authenticated(principal))
    }
}

/// The principal `config`'s mapping makes of `token`, with the token's
/// claims and id whatever the mapping set.
async fn map(config: &Issuer, token: &VerifiedToken) -> Result<Option<Arc<Principal>>, StoreError> {
    let Some(mut principal) = config.mapper.map(token).await? else { return Ok(None) };
    principal.claims = token.claims().clone();
    principal.credential_id = token.credential_id().to_owned();
    Ok(Some(Arc::new(principal)))
}

fn authenticated(principal: Arc<Principal>) -> Authentication {
    Authentication::Authenticated(Authenticated { principal, via: Via::Bearer })
}

impl Authenticator for Jwt {
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> StoreFuture<'a, Result<Authentication, StoreError>> {
        let token = match bearer(parts) {
            BearerHeader::Absent => return StoreFuture::ready(Ok(Authentication::Missing)),
            BearerHeader::Malformed => return StoreFuture::ready(Ok(Authentication::Invalid)),
            BearerHeader::Token(token) if !looks_like_jwt(token) => {
                return StoreFuture::ready(Ok(Authentication::Unrecognized))
            }
            BearerHeader::Token(token) => token,
        };
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(entry) = self.cache.get(&hash, SystemTime::now()) {
            let trusted = &self.issuers[entry.issuer];
            // Still signed by a key the issuer publishes (and not due a
            // refresh that might drop it): no signature check needed.
            if let Ok(Cached::Current(key)) = trusted.keys.cached(&entry.kid) {
                if Arc::ptr_eq(&key, &entry.key) {
                    return match entry.principal {
                        Some(principal) => StoreFuture::ready(Ok(authenticated(principal))),
                        None => StoreFuture::new(async move {
                            Ok(match map(&trusted.config, &entry.token).await? {
                                Some(principal) => authenticated(principal),
                                None => Authentication::Invalid,
                            })
                        }),
                    };
                }
            }
        }
        StoreFuture::new(self.verify(token, hash))
    }
}
