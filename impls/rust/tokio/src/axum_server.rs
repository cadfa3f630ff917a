//! http_server with axum: a `Router` with one route and a fallback, served by the hyper server's
//! connection loop on the same tokio runtime (and the same sizing).

use std::io;
use std::process;

use axum::http::header::SERVER;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hyper_util::service::TowerToHyperService;
use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, SignalKind};

use crate::http;

const SERVER_NAME: &str = "cmbench-rust-axum";

pub fn serve(runtime: &Runtime, port: u16) -> io::Result<()> {
    runtime.block_on(async {
        let mut sigterm = signal(SignalKind::terminate())?;
        let listener = http::listen(port)?;
        let app = Router::new()
            .route("/plaintext", get(plaintext))
            .fallback(not_found);
        http::announce(port)?;
        // The Router is served by the hyper server's own accept loop (TCP_NODELAY, pipelined
        // answers flushed once per burst), as TechEmpower's axum entry serves it, rather than by
        // `axum::serve`, which offers no way to set that. hyper drives keep-alive, Content-Length
        // and Date; on SIGTERM the process exits at once, without draining.
        tokio::spawn(http::accept_loop(listener, TowerToHyperService::new(app)));
        sigterm.recv().await;
        process::exit(0)
    })
}

/// `&'static str` answers `text/plain; charset=utf-8`, which the contract accepts.
async fn plaintext() -> impl IntoResponse {
    ([(SERVER, SERVER_NAME)], "Hello, World!")
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, [(SERVER, SERVER_NAME)])
}
