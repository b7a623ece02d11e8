//! JWT authentication, one request's worth: a token verified from scratch
//! (signature, issuer, audience, times, claims mapping) against a token the
//! authenticator verified before (a hash and a cache lookup).
//!
//! `cargo bench -p guard-runtime --features jwt --bench jwt`
//!
//! The keys are made at start-up; the JWKS is served from memory (it is
//! fetched once either way, so the network is not what is measured).

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::request::Parts;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use guard_runtime::authn::jwt::{Algorithm, Issuer, JwksFetcher, Jwt};
use guard_runtime::authn::Authentication;
use guard_runtime::{Authenticator, BoxFuture, StoreError};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{EncodingKey, Header};

const ISSUER: &str = "https://id.bench";

/// A JWKS held in memory.
struct Static(Bytes);

impl JwksFetcher for Static {
    fn get<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

fn keys() -> Vec<(&'static str, Algorithm, EncodingKey)> {
    use p256::pkcs8::EncodePrivateKey;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let rsa = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).expect("rsa key");
    let rsa = EncodingKey::from_rsa_der(rsa.to_pkcs1_der().expect("pkcs1").as_bytes());
    let mut bytes = [0u8; 32];
    let ec = loop {
        getrandom::fill(&mut bytes).expect("randomness");
        if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
            break key;
        }
    };
    let ec = EncodingKey::from_ec_der(ec.to_pkcs8_der().expect("pkcs8").as_bytes());
    vec![("rsa", Algorithm::RS256, rsa), ("ec", Algorithm::ES256, ec)]
}

fn request(token: &str) -> Parts {
    let request = axum::http::Request::get("/").header("authorization", format!("Bearer {token}"));
    request.body(()).expect("request").into_parts().0
}

fn jwt(c: &mut Criterion) {
    let keys = keys();
    let set = JwkSet {
        keys: keys
            .iter()
            .map(|(kid, alg, key)| {
                let mut jwk = Jwk::from_encoding_key(key, *alg).expect("jwk");
                jwk.common.key_id = Some((*kid).to_owned());
                jwk
            })
            .collect(),
    };
    let jwks = Bytes::from(serde_json::to_vec(&set).expect("jwks"));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": "bench", "sub": "svc-bench", "tenant": "acme", "jti": "bench-1",
        "scope": "orders:read orders:write", "iat": now, "exp": now + 3600,
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("jwt");
    for (kid, alg, key) in &keys {
        let mut header = Header::new(*alg);
        header.kid = Some((*kid).to_owned());
        let token = jsonwebtoken::encode(&header, &claims, key).expect("token");
        let parts = request(&token);
        for (cached, capacity) in [("uncached", 0), ("cached", 1024)] {
            let authenticator = Jwt::builder()
                .issuer(Issuer::new(ISSUER, "bench", "memory:jwks"))
                .fetcher(Static(jwks.clone()))
                .cache_capacity(capacity)
                .build();
            // The first call fetches the keys (and fills the cache).
            let first = runtime.block_on(authenticator.authenticate(&parts));
            assert!(matches!(first, Ok(Authentication::Authenticated(_))), "the bench token authenticates");
            group.bench_function(format!("{alg:?} {cached}"), |b| {
                b.iter(|| runtime.block_on(authenticator.authenticate(black_box(&parts))))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, jwt);
criterion_main!(benches);
