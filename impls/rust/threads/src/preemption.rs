//! preemption: the main thread sleeps S times while K threads spin, all pinned to one CPU, and
//! records how late each sleep ends.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use cmbench_common::preempt::{fields, lateness, spin};
use cmbench_common::report::Sample;

use crate::threads;

pub fn run(sleeps: usize, sleep_us: u64, spinners: usize, spin_limit_ms: u64) -> Sample {
    let nap = Duration::from_micros(sleep_us);
    let limit = Duration::from_millis(spin_limit_ms);
    let mut late = Vec::with_capacity(sleeps);
    let done = AtomicBool::new(false);
    // One worker: the main thread moves to the first CPU it may use, and the spinners it starts
    // inherit that affinity. Its own affinity is restored after the iteration.
    let allowed = threads::affinity();
    threads::set_affinity(&threads::first_cpu(&allowed));

    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..spinners {
            threads::spawn(s, || spin(&done, limit));
        }
        for _ in 0..sleeps {
            let before = Instant::now();
            thread::sleep(nap);
            late.push(lateness(before.elapsed(), nap));
        }
        done.store(true, Relaxed);
    });
    let elapsed = start.elapsed();

    threads::set_affinity(&allowed);
    Sample {
        elapsed,
        fields: fields(sleeps, late),
    }
}
