//! The attacker's site: a page on another origin that, once opened by a
//! signed-in victim, sends two `fetch` POSTs with the victim's cookies
//! (`credentials: 'include'`) and then auto-submits a form, all to the
//! victim's order. It knows everything but the session's CSRF token.

use std::net::{IpAddr, SocketAddr};

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

/// A server on `ip` (port chosen by the OS) serving the attack page at
/// `/`; stops when the test's runtime ends.
pub struct Attacker {
    pub base: String,
}

/// What the page attacks: the order's change-address action, as a form
/// post and as the JSON API.
pub struct Target {
    pub app_base: String,
    pub order_id: i64,
    pub address: &'static str,
}

impl Attacker {
    pub async fn serve(ip: IpAddr, target: &Target) -> Attacker {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await.expect("bind the attacker's server");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let page = page(target);
        let router = Router::new().route("/", get(move || async move { Html(page) }));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Attacker { base }
    }
}

/// The attack. The fetches are "simple" requests (form and plain-text
/// bodies, `no-cors`), so the browser sends them without a preflight, with
/// whatever cookies its SameSite rules allow; the page cannot read the
/// answers, and does not need to. Then the form goes, as a top-level
/// navigation the test can see the answer of.
fn page(target: &Target) -> String {
    let Target { app_base, order_id, address } = target;
    let form_action = format!("{app_base}/orders/{order_id}/address/form");
    let json_action = format!("{app_base}/orders/{order_id}/address");
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>You won a prize</title></head>
<body>
<h1>Claim your prize</h1>
<form id="attack" method="post" action="{form_action}">
  <input type="hidden" name="address" value="{address} (form)">
  <input type="hidden" name="csrf_token" value="guessed-token">
</form>
<script>
  const sent = [
    fetch("{form_action}", {{
      method: "POST", mode: "no-cors", credentials: "include",
      headers: {{ "content-type": "application/x-www-form-urlencoded" }},
      body: "address=" + encodeURIComponent("{address} (fetch)") + "&csrf_token=guessed-token",
    }}),
    fetch("{json_action}", {{
      method: "POST", mode: "no-cors", credentials: "include",
      headers: {{ "content-type": "text/plain" }},
      body: JSON.stringify({{ address: "{address} (json)" }}),
    }}),
  ];
  Promise.allSettled(sent).then(() => {{
    document.title = "sent";
    document.getElementById("attack").submit();
  }});
</script>
</body></html>"#
    )
}
