//! The tokio binary's own flags, `--runtime multi-thread|current-thread` and
//! `--server hyper|axum`; the rest of the command line is `cmbench_common::cli`'s.

use cmbench_common::cli::{self, Args};

/// Which tokio scheduler runs the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// `worker_threads` = `--cpus`.
    MultiThread,
    /// Every task on the main thread.
    CurrentThread,
}

/// Which HTTP stack serves `http_server`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// hyper's `server::conn::http1` with a `service_fn` (the default).
    Hyper,
    /// An axum `Router` served by the hyper server's connection loop.
    Axum,
}

/// The model's flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub runtime: Runtime,
    pub server: Server,
}

/// Parses the process arguments; on any error prints a message and the usage on stderr and
/// exits with status 2.
pub fn parse_args() -> Args<Options> {
    cli::parse_args(
        "cmbench-rust-tokio",
        " [--runtime multi-thread|current-thread] [--server hyper|axum]",
        |flags| {
            let runtime = match flags.take("runtime").as_deref() {
                None | Some("multi-thread") => Runtime::MultiThread,
                Some("current-thread") => Runtime::CurrentThread,
                Some(other) => {
                    return Err(format!(
                        "--runtime {other}: expected multi-thread or current-thread"
                    ))
                }
            };
            let server = match flags.take("server").as_deref() {
                None | Some("hyper") => Server::Hyper,
                Some("axum") => Server::Axum,
                Some(other) => return Err(format!("--server {other}: expected hyper or axum")),
            };
            Ok(Options { runtime, server })
        },
    )
}
