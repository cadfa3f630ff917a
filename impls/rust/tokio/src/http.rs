//! http_server: hyper 1.x HTTP/1.1 connections, one task each, on the tokio runtime.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::process;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Runtime;
use tokio::signal::unix::{signal, SignalKind};

pub fn serve(runtime: &Runtime, port: u16) -> io::Result<()> {
    runtime.block_on(async {
        let mut sigterm = signal(SignalKind::terminate())?;
        let listener = listen(port)?;
        announce(port)?;
        tokio::spawn(accept_loop(listener, service_fn(respond)));
        sigterm.recv().await;
        process::exit(0)
    })
}

/// The contract's listener on 127.0.0.1:`port`: a `TcpSocket` rather than `TcpListener::bind`,
/// for `SO_REUSEADDR` and a backlog of 1024. Call it inside the runtime.
pub fn listen(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(1024)
}

/// Prints the ready line the harness waits for, once the socket accepts connections.
pub fn announce(port: u16) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{{\"ready\": true, \"port\": {port}}}")?;
    stdout.flush()
}

/// Serves every connection `listener` accepts with its own task and a clone of `service`.
pub async fn accept_loop<S, B>(listener: TcpListener, service: S)
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut http = http1::Builder::new();
    // Answers to pipelined requests go out in one write per burst instead of one each, as
    // TechEmpower's hyper entry does for its plaintext test.
    http.pipeline_flush(true);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of descriptors or memory: give the open connections a moment to close.
                if !matches!(
                    err.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                continue;
            }
        };
        if stream.set_nodelay(true).is_err() {
            continue;
        }
        // Keep-alive is hyper's default; it also writes Content-Length (from the body) and
        // Date (rendered at most once a second per worker thread).
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

async fn respond(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = if request.method() == Method::GET && request.uri().path() == "/plaintext" {
        let mut response = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
    } else {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_FOUND;
        response
    };
    response
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static("cmbench-rust-tokio"));
    Ok(response)
}
