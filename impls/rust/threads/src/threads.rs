//! Every thread this program starts has the same explicit stack size.

use std::process;
use std::thread::{Builder, Scope, ScopedJoinHandle};

/// 64 KiB: ample for these threads (no recursion; buffers of at most 4 KiB).
pub const STACK_SIZE: usize = 64 * 1024;

pub fn builder() -> Builder {
    Builder::new().stack_size(STACK_SIZE)
}

/// Spawns a scoped thread with [`STACK_SIZE`]; failing to create a thread ends the process.
pub fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> ScopedJoinHandle<'scope, T> {
    builder().spawn_scoped(scope, f).unwrap_or_else(|err| {
        eprintln!(
            "cmbench-rust-threads: cannot create a thread: {err} \
             (limits: vm.max_map_count, kernel.threads-max, RLIMIT_NPROC)"
        );
        process::exit(1)
    })
}
