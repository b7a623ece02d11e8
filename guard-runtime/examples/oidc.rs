//! Identities from your provider: JWTs from a trusted OIDC issuer beside
//! opaque API keys. `cargo run -p guard-runtime --features jwt --example oidc -- http://127.0.0.1:8080 my-api`
use guard_runtime::authn::jwt::{ClaimsMapping, HttpFetcher, Issuer, Jwt};
use guard_runtime::authn::{MemoryTokenStore, Tokens};
use guard_runtime::{action, Actions, Authorized, CallerKind, Resolvers, RolePolicy};

/// Who called, and through whom: the claims reach the body.
#[action(GET "/whoami", requires = "profile:read", callers = [service, agent])]
async fn whoami(auth: Authorized) -> String {
    let p = auth.principal();
    let via = p.claims.act_chain().join(" <- ");
    format!("{} of {} (issuer {:?}, acting: [{via}])", p.id, p.tenant, p.claims.issuer())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (issuer, audience) = (args.next().ok_or("usage: oidc ISSUER AUDIENCE")?, args.next().ok_or("AUDIENCE")?);
    // The issuer's OpenID configuration names its JWKS; its keys are then
    // fetched when first needed, cached, and refreshed on rotation.
    let issuer = Issuer::discover(issuer, audience, &HttpFetcher::new())
        .await?
        .mapping(ClaimsMapping::new().kind(CallerKind::Service).tenant_claim("tenant"));
    let jwt = Jwt::builder().issuer(issuer).build();
    // API keys and JWTs side by side: each declines the other's credentials.
    let authenticator = (Tokens::new(MemoryTokenStore::new()), jwt);
    let policy = RolePolicy::new().role("member", ["profile:read"]);
    let app = Actions::new(policy, authenticator, Resolvers::new()).mount(whoami).into_router(());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
