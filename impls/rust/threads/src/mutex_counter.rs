//! mutex_counter: T threads increment one counter, under a `Mutex` or with `fetch_add`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use cmbench_common::cli::CounterMode;
use cmbench_common::report::Sample;

use crate::threads;

pub fn run(workers: usize, increments: u64, mode: CounterMode) -> Sample {
    let start = Instant::now();
    let total = match mode {
        CounterMode::Mutex => {
            let counter = Mutex::new(0u64);
            thread::scope(|s| {
                for _ in 0..workers {
                    threads::spawn(s, || {
                        for _ in 0..increments {
                            *counter.lock().expect("not poisoned") += 1;
                        }
                    });
                }
            });
            counter.into_inner().expect("not poisoned")
        }
        CounterMode::Atomic => {
            let counter = AtomicU64::new(0);
            thread::scope(|s| {
                for _ in 0..workers {
                    threads::spawn(s, || {
                        for _ in 0..increments {
                            counter.fetch_add(1, Relaxed);
                        }
                    });
                }
            });
            counter.into_inner()
        }
    };
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("final", total)],
    }
}
