//! `cargo run -p minimal-example`, then:
//!
//! ```sh
//! curl -H 'authorization: Bearer minimal-demo-key' localhost:3000/hello   # 200 hello, reporter
//! curl -i localhost:3000/hello                                            # 401 unauthenticated
//! ```

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = minimal_example::app().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    // The peer address is what unauthenticated denials are counted under
    // (the probing limit); without it they all share one counter.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
