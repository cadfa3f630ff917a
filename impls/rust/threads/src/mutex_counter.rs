//! mutex_counter: T threads increment one counter, under a `Mutex`, with `fetch_add`, or (racy
//! mode) with a relaxed load and a relaxed store, which loses concurrent updates on purpose.
//!
//! `--placement spread`: worker t has slot t; the main thread, which only starts and joins
//! them, slot 0, pinned before the timed region.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use cmbench_common::cli::CounterMode;
use cmbench_common::placement::Pinning;
use cmbench_common::report::Sample;

use crate::threads;

pub fn run(workers: usize, increments: u64, mode: CounterMode, pinning: &Pinning) -> Sample {
    pinning.pin_current(0);
    let start = Instant::now();
    let total = match mode {
        CounterMode::Mutex => {
            let counter = Mutex::new(0u64);
            on_workers(workers, pinning, || {
                for _ in 0..increments {
                    *counter.lock().expect("not poisoned") += 1;
                }
            });
            counter.into_inner().expect("not poisoned")
        }
        CounterMode::Atomic => {
            let counter = AtomicU64::new(0);
            on_workers(workers, pinning, || {
                for _ in 0..increments {
                    counter.fetch_add(1, Relaxed);
                }
            });
            counter.into_inner()
        }
        CounterMode::Racy => {
            // Read, add, write with no atomic read-modify-write: another thread's store between
            // this load and this store is overwritten. Atomics keep it free of undefined
            // behaviour; relaxed ordering adds no synchronisation.
            let counter = AtomicU64::new(0);
            on_workers(workers, pinning, || {
                for _ in 0..increments {
                    // black_box: one real load and store per increment, not a sum folded by
                    // the compiler (relaxed atomics allow merging them).
                    let counter = std::hint::black_box(&counter);
                    counter.store(counter.load(Relaxed) + 1, Relaxed);
                }
            });
            counter.into_inner()
        }
    };
    let elapsed = start.elapsed();
    let mut fields = vec![("final", total)];
    if mode == CounterMode::Racy {
        fields.push(("lost_updates", workers as u64 * increments - total));
    }
    Sample { elapsed, fields }
}

/// Runs `work` on each of `workers` scoped threads, worker t in slot t, and joins them all.
fn on_workers(workers: usize, pinning: &Pinning, work: impl Fn() + Sync) {
    thread::scope(|s| {
        for t in 0..workers {
            threads::spawn_on(s, pinning, t, &work);
        }
    });
}
