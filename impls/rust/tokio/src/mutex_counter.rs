//! mutex_counter: T tasks increment one counter, under `tokio::sync::Mutex`, with `fetch_add`,
//! or (racy mode) with a relaxed load and a relaxed store, which loses concurrent updates on
//! purpose when tasks run on more than one worker thread.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use cmbench_common::cli::CounterMode;
use cmbench_common::report::Sample;

pub async fn run(workers: usize, increments: u64, mode: CounterMode) -> Sample {
    let start = Instant::now();
    let total = match mode {
        CounterMode::Mutex => {
            let counter = Arc::new(Mutex::new(0u64));
            let handles: Vec<JoinHandle<()>> = (0..workers)
                .map(|_| {
                    let counter = Arc::clone(&counter);
                    tokio::spawn(async move {
                        for _ in 0..increments {
                            *counter.lock().await += 1;
                        }
                    })
                })
                .collect();
            join_all(handles).await;
            Arc::into_inner(counter)
                .expect("workers joined")
                .into_inner()
        }
        CounterMode::Atomic => {
            on_atomic(workers, increments, |counter| {
                counter.fetch_add(1, Relaxed);
            })
            .await
        }
        CounterMode::Racy => {
            on_atomic(workers, increments, |counter| {
                // black_box: one real load and store per increment, not a sum folded by the
                // compiler (relaxed atomics allow merging them).
                let counter = std::hint::black_box(counter);
                counter.store(counter.load(Relaxed) + 1, Relaxed);
            })
            .await
        }
    };
    let elapsed = start.elapsed();
    let mut fields = vec![("final", total)];
    if mode == CounterMode::Racy {
        fields.push(("lost_updates", workers as u64 * increments - total));
    }
    Sample { elapsed, fields }
}

/// `workers` tasks each apply `step` `increments` times to one shared `AtomicU64`; its final value.
async fn on_atomic(
    workers: usize,
    increments: u64,
    step: impl Fn(&AtomicU64) + Copy + Send + 'static,
) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let handles: Vec<JoinHandle<()>> = (0..workers)
        .map(|_| {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                for _ in 0..increments {
                    step(&counter);
                }
            })
        })
        .collect();
    join_all(handles).await;
    Arc::into_inner(counter)
        .expect("workers joined")
        .into_inner()
}

async fn join_all(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        handle.await.expect("worker");
    }
}
