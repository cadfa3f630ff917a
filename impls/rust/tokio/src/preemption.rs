//! preemption: a task sleeps S times while K tasks spin, all on a current-thread runtime built
//! for the iteration (tokio's one-worker scheduler), and records how late each sleep ends.
//!
//! tokio never preempts a task: a task that does not reach an `.await` keeps the thread, and the
//! timer of the sleeping task is only looked at once the spinners return (at the spin limit).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cmbench_common::preempt::{fields, lateness, spin};
use cmbench_common::report::Sample;

pub fn run(sleeps: usize, sleep_us: u64, spinners: usize, spin_limit_ms: u64) -> Sample {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|err| {
            eprintln!("cmbench-rust-tokio: cannot build a current-thread runtime: {err}");
            std::process::exit(1)
        });
    let nap = Duration::from_micros(sleep_us);
    let limit = Duration::from_millis(spin_limit_ms);
    runtime.block_on(async move {
        let done = Arc::new(AtomicBool::new(false));
        let mut late = Vec::with_capacity(sleeps);
        let start = Instant::now();
        let handles: Vec<_> = (0..spinners)
            .map(|_| {
                let done = Arc::clone(&done);
                tokio::spawn(async move { spin(&done, limit) })
            })
            .collect();
        for _ in 0..sleeps {
            let before = Instant::now();
            tokio::time::sleep(nap).await;
            late.push(lateness(before.elapsed(), nap));
        }
        done.store(true, Relaxed);
        for handle in handles {
            handle.await.expect("spinner");
        }
        Sample {
            elapsed: start.elapsed(),
            fields: fields(sleeps, late),
        }
    })
}
