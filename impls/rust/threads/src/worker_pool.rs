//! worker_pool: a bounded queue feeding N threads, or one thread per task.
//!
//! `--placement spread`: the main thread (the producer, or the spawner) has slot 0, pinned
//! before the timed region; worker w, or task i's thread, slot w+1 or i+1.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::Instant;

use cmbench_common::placement::Pinning;
use cmbench_common::report::Sample;
use cmbench_common::work::{task_value, Tally};

use crate::threads;

pub fn run(tasks: u64, queue: usize, workers: usize, rounds: u64, pinning: &Pinning) -> Sample {
    pinning.pin_current(0);
    let start = Instant::now();
    let tally = if workers == 0 {
        spawn_per_task(tasks, rounds, pinning)
    } else {
        pool(tasks, queue, workers, rounds, pinning)
    };
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("count", tally.count), ("checksum", tally.sum)],
    }
}

/// Pool mode: crossbeam's bounded MPMC channel. Every worker owns a clone of the receiver and
/// blocks in the channel itself (`std::sync::mpsc` has one receiver only, and sharing it behind
/// a `Mutex` makes the idle workers queue on the lock while one of them waits in `recv`).
fn pool(tasks: u64, queue: usize, workers: usize, rounds: u64, pinning: &Pinning) -> Tally {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(queue);
    thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let rx = rx.clone();
                threads::spawn_on(s, pinning, w + 1, move || {
                    let mut tally = Tally::default();
                    for id in rx {
                        tally.add(task_value(id, rounds));
                    }
                    tally
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
            .fold(Tally::default(), Tally::merge)
    })
}

/// Spawn mode: one OS thread per task. The handles are dropped (the threads are detached
/// and release their stacks as they finish); the scope still waits for every one of them.
fn spawn_per_task(tasks: u64, rounds: u64, pinning: &Pinning) -> Tally {
    let count = AtomicU64::new(0);
    let sum = AtomicU64::new(0);
    thread::scope(|s| {
        for id in 0..tasks {
            let (count, sum) = (&count, &sum);
            threads::spawn_on(s, pinning, id as usize + 1, move || {
                sum.fetch_add(task_value(id, rounds), Relaxed);
                count.fetch_add(1, Relaxed);
            });
        }
    });
    Tally {
        count: count.into_inner(),
        sum: sum.into_inner(),
    }
}
