//! http_server: one OS thread per connection, blocking I/O, hand-written HTTP/1.1.

mod conn;
mod date;
mod listener;
mod signal;

use std::io::{self, Write as _};
use std::thread;
use std::time::Duration;

use crate::threads;

pub fn serve(port: u16) -> io::Result<()> {
    signal::exit_on_sigterm()?;
    let listener = listener::bind_localhost(port, 1024)?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{{\"ready\": true, \"port\": {port}}}")?;
    stdout.flush()?;
    drop(stdout);
    let mut told = false;
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of descriptors or memory: give the open connections a moment to close.
                if !matches!(
                    err.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                ) {
                    thread::sleep(Duration::from_millis(1));
                }
                continue;
            }
        };
        if stream.set_nodelay(true).is_err() {
            continue;
        }
        // If no thread can be created the connection is dropped (closed); said once, on stderr.
        if let Err(err) = threads::builder().spawn(move || conn::serve(stream)) {
            if !told {
                told = true;
                eprintln!(
                    "cmbench-rust-threads: cannot start a connection thread: {err}; connections that \
                     get no thread are closed (limits: ulimit -u, kernel.threads-max, a container's \
                     pids limit)"
                );
            }
        }
    }
}
