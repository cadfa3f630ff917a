//! The tokio binary's own flag, `--runtime multi-thread|current-thread`; the rest of the command
//! line is `cmbench_common::cli`'s.

use cmbench_common::cli::{self, Args};

/// Which tokio scheduler runs the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// `worker_threads` = `--cpus`.
    MultiThread,
    /// Every task on the main thread.
    CurrentThread,
}

/// Parses the process arguments; on any error prints a message and the usage on stderr and
/// exits with status 2.
pub fn parse_args() -> Args<Runtime> {
    cli::parse_args(
        "cmbench-rust-tokio",
        " [--runtime multi-thread|current-thread]",
        |flags| match flags.take("runtime").as_deref() {
            None | Some("multi-thread") => Ok(Runtime::MultiThread),
            Some("current-thread") => Ok(Runtime::CurrentThread),
            Some(other) => Err(format!(
                "--runtime {other}: expected multi-thread or current-thread"
            )),
        },
    )
}
