//! http_server with axum: a `Router` with one route and a fallback, served by `axum::serve` on
//! the same tokio runtime (and the same sizing) as the hyper server.

use std::io;
use std::process;

use axum::http::header::SERVER;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, SignalKind};

use crate::http;

const SERVER_NAME: &str = "cmbench-rust-axum";

pub fn serve(runtime: &Runtime, port: u16) -> io::Result<()> {
    runtime.block_on(async {
        let mut sigterm = signal(SignalKind::terminate())?;
        let listener = http::listen(port)?.tap_io(|stream| {
            // A connection whose option cannot be set is served anyway, only slower.
            let _ = stream.set_nodelay(true);
        });
        let app = Router::new()
            .route("/plaintext", get(plaintext))
            .fallback(not_found);
        http::announce(port)?;
        // axum::serve drives keep-alive, pipelining, Content-Length and Date (hyper's); on
        // SIGTERM the process exits at once, as the hyper server does, without draining.
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        tokio::select! {
            _ = sigterm.recv() => process::exit(0),
            served = server => match served {
                Ok(result) => result,
                Err(err) => Err(io::Error::other(err)),
            },
        }
    })
}

/// `&'static str` answers `text/plain; charset=utf-8`, which the contract accepts.
async fn plaintext() -> impl IntoResponse {
    ([(SERVER, SERVER_NAME)], "Hello, World!")
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, [(SERVER, SERVER_NAME)])
}
