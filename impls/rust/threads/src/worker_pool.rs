//! worker_pool: a bounded queue feeding N threads, or one thread per task.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::Instant;

use crate::report::Sample;
use crate::threads;
use crate::work::task_value;

pub fn run(tasks: u64, queue: usize, workers: usize, rounds: u64) -> Sample {
    let start = Instant::now();
    let (count, checksum) = if workers == 0 {
        spawn_per_task(tasks, rounds)
    } else {
        pool(tasks, queue, workers, rounds)
    };
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("count", count), ("checksum", checksum)],
    }
}

/// Pool mode: crossbeam's bounded MPMC channel. Every worker owns a clone of the receiver and
/// blocks in the channel itself (`std::sync::mpsc` has one receiver only, and sharing it behind
/// a `Mutex` makes the idle workers queue on the lock while one of them waits in `recv`).
fn pool(tasks: u64, queue: usize, workers: usize, rounds: u64) -> (u64, u64) {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(queue);
    thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                threads::spawn(s, move || {
                    let (mut count, mut sum) = (0u64, 0u64);
                    for id in rx {
                        sum = sum.wrapping_add(task_value(id, rounds));
                        count += 1;
                    }
                    (count, sum)
                })
            })
            .collect();
        drop(rx);
        for id in 0..tasks {
            tx.send(id).expect("workers alive");
        }
        drop(tx);
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .fold((0u64, 0u64), |(c, s), (count, sum)| {
                (c + count, s.wrapping_add(sum))
            })
    })
}

/// Spawn mode: one OS thread per task. The handles are dropped (the threads are detached
/// and release their stacks as they finish); the scope still waits for every one of them.
fn spawn_per_task(tasks: u64, rounds: u64) -> (u64, u64) {
    let count = AtomicU64::new(0);
    let sum = AtomicU64::new(0);
    thread::scope(|s| {
        for id in 0..tasks {
            let (count, sum) = (&count, &sum);
            threads::spawn(s, move || {
                sum.fetch_add(task_value(id, rounds), Relaxed);
                count.fetch_add(1, Relaxed);
            });
        }
    });
    (count.into_inner(), sum.into_inner())
}
