//! Narrowed tokens for downstream calls: see [`Minter`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Map, Value};

use crate::permission::{covers, is_valid_pattern};
use crate::{Authorized, CallerKind};

/// The longest a narrowed token lives.
pub const MAX_LIFETIME: Duration = Duration::from_secs(60);

/// The claim naming the one object a narrowed token is for; the
/// pipeline's object step enforces it on any credential.
pub const OBJECT_CLAIM: &str = crate::checks::narrowed::CLAIM;

/// Where [`Minter::jwks_router`] serves the app's keys.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Narrowed tokens for downstream calls: inside an action, a JWT for one
/// downstream service that carries the least identity the call needs.
///
/// [`Minter::mint`] takes the body's [`Authorized`] and makes a token
/// narrowed to:
///
/// - this caller: `sub` is the user (the one an agent acts for), and the
///   delegation chain is `act` (RFC 8693), nested, with this app as the
///   party acting now: `{"sub": app, "act": {"sub": agent, ...}}`, so a
///   chain of hops keeps the original user and every actor;
/// - one permission (`scope`) among those the guard checked for this
///   request: a permission the caller was not checked for is refused;
/// - this object (`guard_object`: `resource/key`, as the audit records name
///   it): the action must name one;
/// - this request (`txn`: its request id);
/// - a lifetime of at most 60 s (`exp`).
///
/// It is signed with the app's own key (ES256 or EdDSA), published in the
/// app's JWKS ([`Minter::jwks_router`] serves `/.well-known/jwks.json`).
///
/// Downstream, a guarded app trusts the upstream app as an [`Issuer`]
/// whose audience is the downstream's name: the default [`ClaimsMapping`]
/// makes the token an agent (the acting app) for the user, whose
/// permissions are the one `scope` intersected with the user's `roles`;
/// and the pipeline's object step refuses a credential with a
/// `guard_object` claim for any other object (404) or for an action that
/// names none (403). So the token does no more than the narrowed grant.
///
/// [`Issuer`]: crate::authn::jwt::Issuer
/// [`ClaimsMapping`]: crate::authn::jwt::ClaimsMapping
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use axum::extract::State;
/// use guard_runtime::authn::jwt::Minter;
/// use guard_runtime::{action, ActionError, Authorized};
///
/// # fn key() -> Vec<u8> { Vec::new() }
/// // Made once at startup, shared with the actions as router state.
/// let minter = Arc::new(Minter::es256("https://orders.internal", "orders-api", "key-1", &key()).expect("a P-256 key"));
///
/// #[action(GET "/orders/{id}/label", requires = "orders:read", owner = "id")]
/// async fn label(auth: Authorized, State(minter): State<Arc<Minter>>) -> Result<String, ActionError> {
///     let token = minter
///         .mint(&auth, "shipping-api", "orders:read", Duration::from_secs(30))
///         .map_err(ActionError::unavailable)?;
///     // GET the shipping service with `Authorization: Bearer {token}`.
///     Ok(token)
/// }
/// ```
pub struct Minter {
    issuer: String,
    actor: String,
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
    public: Jwk,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("issuer", &self.issuer)
            .field("actor", &self.actor)
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Why no token was minted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The signing key is not usable for the algorithm.
    #[error("the signing key is not a PKCS#8 {0} private key")]
    Key(&'static str),
    /// The permission is not one the guard checked for this request (or
    /// not one exact permission).
    #[error(
        "`{0}` is not a permission this request was checked for: a narrowed token carries only one the caller holds"
    )]
    NotHeld(String),
    /// The action names no object: a narrowed token is for one.
    #[error("the action names no object: a narrowed token is for one object")]
    NoObject,
    /// The lifetime is zero or longer than [`MAX_LIFETIME`].
    #[error("a narrowed token lives 1 to 60 seconds")]
    Lifetime,
    /// Signing failed.
    #[error("signing the token failed: {0}")]
    Sign(jsonwebtoken::errors::Error),
}

impl Minter {
    /// An ES256 minter: `issuer` is its `iss` (and what downstream apps
    /// trust), `actor` the name this app goes by in `act`, `kid` its key's
    /// id, `pkcs8_der` a P-256 private key as PKCS#8 DER.
    pub fn es256(
        issuer: impl Into<String>,
        actor: impl Into<String>,
        kid: impl Into<String>,
        pkcs8_der: &[u8],
    ) -> Result<Self, MintError> {
        Self::new(
            issuer.into(),
            actor.into(),
            kid.into(),
            Algorithm::ES256,
            EncodingKey::from_ec_der(pkcs8_der),
            "P-256",
        )
    }

    /// An EdDSA minter, with an Ed25519 private key as a PKCS#8 v1 DER
    /// document (48 bytes: the form jsonwebtoken derives the public key from).
    pub fn ed25519(
        issuer: impl Into<String>,
        actor: impl Into<String>,
        kid: impl Into<String>,
        pkcs8_der: &[u8],
    ) -> Result<Self, MintError> {
        Self::new(
            issuer.into(),
            actor.into(),
            kid.into(),
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(pkcs8_der),
            "Ed25519",
        )
    }

    fn new(
        issuer: String,
        actor: String,
        kid: String,
        algorithm: Algorithm,
        key: EncodingKey,
        kind: &'static str,
    ) -> Result<Self, MintError> {
        let mut public = Jwk::from_encoding_key(&key, algorithm).map_err(|_| MintError::Key(kind))?;
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        // Sign once now: a key that cannot sign fails at startup, not per call.
        jsonwebtoken::encode(&Header::new(algorithm), &json!({}), &key).map_err(|_| MintError::Key(kind))?;
        Ok(Minter { issuer, actor, kid, algorithm, key, public })
    }

    /// The `iss` of the tokens it mints.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The app's public keys, as its JWKS publishes them.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.public.clone()] }
    }

    /// A router serving [`Minter::jwks`] at `/.well-known/jwks.json`, to
    /// merge into the app's router: public key material, readable by anyone.
    pub fn jwks_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let jwks = self.jwks();
        Router::new().route(JWKS_PATH, get(move || std::future::ready(Json(jwks.clone()))))
    }

    /// A token for `audience`, narrowed to this caller, `permission`, this
    /// object, this request and `lifetime` (1 to 60 s). See the
    /// [`Minter`] for its claims.
    pub fn mint(
        &self,
        auth: &Authorized,
        audience: &str,
        permission: &str,
        lifetime: Duration,
    ) -> Result<String, MintError> {
        let claims = self.claims(auth, audience, permission, lifetime, SystemTime::now())?;
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(MintError::Sign)
    }

    fn claims(
        &self,
        auth: &Authorized,
        audience: &str,
        permission: &str,
        lifetime: Duration,
        now: SystemTime,
    ) -> Result<Value, MintError> {
        // One exact permission, among those the guard checked: `orders:*`
        // checked may mint `orders:read`, never the other way round.
        let held = auth.checked_permissions().iter().any(|checked| covers(checked, permission));
        if !is_valid_pattern(permission) || permission.contains('*') || !held {
            return Err(MintError::NotHeld(permission.to_owned()));
        }
        let object = auth.resource().ok_or(MintError::NoObject)?;
        if lifetime.is_zero() || lifetime > MAX_LIFETIME {
            return Err(MintError::Lifetime);
        }
        let principal = auth.principal();
        // The user, and the roles its permissions come from: an agent's
        // user, or the caller itself.
        let (subject, roles) = match (&principal.on_behalf_of, principal.kind) {
            (Some(delegation), _) => (delegation.user.as_str(), delegation.roles.clone()),
            (None, CallerKind::User) => (principal.id.as_str(), principal.roles.clone()),
            (None, _) => (principal.id.as_str(), Vec::new()),
        };
        // Who acted before this app: the chain the caller's credential
        // carries (a narrowed token from upstream), else the caller if it
        // is an agent.
        let before = match principal.claims.get("act") {
            Some(act @ Value::Object(_)) => Some(act.clone()),
            _ if principal.kind == CallerKind::Agent => Some(json!({ "sub": principal.id })),
            _ => None,
        };
        let mut act = Map::from_iter([("sub".to_owned(), Value::from(self.actor.as_str()))]);
        if let Some(before) = before {
            act.insert("act".to_owned(), before);
        }
        let issued = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        Ok(json!({
            "iss": self.issuer,
            "aud": audience,
            "sub": subject,
            "act": act,
            "tenant": principal.tenant,
            "roles": roles,
            "scope": permission,
            OBJECT_CLAIM: object,
            "txn": auth.request_id(),
            "iat": issued,
            "exp": issued + lifetime.as_secs(),
            "jti": random_id(),
        }))
    }
}

/// 128 random bits, hex: each token's `jti`.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the `jti` is still unique enough to correlate
    // (it is not a secret): fall back to the time.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        bytes = nanos.to_be_bytes();
    }
    crate::hex::hex(&bytes)
}
