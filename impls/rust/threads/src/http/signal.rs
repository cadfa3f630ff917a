//! SIGTERM (and SIGINT) end the process with status 0.

use std::io;
use std::{mem, process, ptr};

use crate::threads;

/// Blocks SIGTERM and SIGINT in the calling thread, so in every thread started after it, and
/// starts one thread that waits for them and exits. Call before any other thread is started.
pub fn exit_on_sigterm() -> io::Result<()> {
    // SAFETY: plain libc calls on a local, initialised signal set.
    let set = unsafe {
        let mut set: libc::sigset_t = mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut());
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        set
    };
    threads::builder().spawn(move || {
        let mut signal = 0;
        // SAFETY: `set` is initialised and `signal` is a valid out pointer.
        while unsafe { libc::sigwait(&set, &mut signal) } != 0 {}
        process::exit(0)
    })?;
    Ok(())
}
