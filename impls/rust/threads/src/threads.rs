//! Every thread this program starts has the same explicit stack size.

use std::process;
use std::thread::{Builder, Scope, ScopedJoinHandle};

use cmbench_common::placement::Pinning;

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

/// [`spawn`], for a thread with a placement slot: under `--placement spread` the thread pins
/// itself to the slot's CPU as its first action. std creates the thread with the creator's
/// affinity, and the contract times thread creation, so this pinning is inside the timed
/// region; the thread runs none of the workload's code before it.
pub fn spawn_on<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    pinning: &'scope Pinning,
    slot: usize,
    f: impl FnOnce() -> T + Send + 'scope,
) -> ScopedJoinHandle<'scope, T> {
    spawn(scope, move || {
        pinning.pin_current(slot);
        f()
    })
}

/// The stack of a thread started with std's defaults (`thread::spawn`, no `stack_size`), read
/// inside that thread with `pthread_getattr_np`: std asks for 2 MiB unless `RUST_MIN_STACK`
/// says otherwise. 0 if the C library cannot tell.
pub fn default_stack_bytes() -> u64 {
    std::thread::spawn(own_stack_bytes)
        .join()
        .expect("the probe thread returns")
}

fn own_stack_bytes() -> u64 {
    // SAFETY: `attr` is initialised by pthread_getattr_np before it is read, and destroyed once.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 0;
        }
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstacksize(&attr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if rc == 0 {
            size as u64
        } else {
            0
        }
    }
}

/// The calling thread's CPU affinity, to restore with [`set_affinity`].
pub fn affinity() -> libc::cpu_set_t {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            fail_affinity("sched_getaffinity");
        }
        set
    }
}

/// Sets the calling thread's CPU affinity; threads it starts afterwards inherit it.
pub fn set_affinity(set: &libc::cpu_set_t) {
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) } != 0 {
        fail_affinity("sched_setaffinity");
    }
}

/// A set holding only the lowest CPU of `allowed`.
pub fn first_cpu(allowed: &libc::cpu_set_t) -> libc::cpu_set_t {
    let cpu = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET reads a bit of a valid set, below CPU_SETSIZE.
        .find(|&c| unsafe { libc::CPU_ISSET(c, allowed) })
        .unwrap_or(0);
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes a bit below CPU_SETSIZE.
    unsafe {
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        one
    }
}

fn fail_affinity(call: &str) -> ! {
    eprintln!(
        "cmbench-rust-threads: {call}: {}",
        std::io::Error::last_os_error()
    );
    process::exit(1)
}
