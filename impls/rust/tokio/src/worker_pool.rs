//! worker_pool: a bounded queue feeding N tasks, or one task per item.

use std::time::Instant;

use tokio::task::{JoinHandle, JoinSet};

use cmbench_common::report::Sample;
use cmbench_common::work::{task_value, Tally};

pub async fn run(tasks: u64, queue: usize, workers: usize, rounds: u64) -> Sample {
    let start = Instant::now();
    let tally = if workers == 0 {
        spawn_per_task(tasks, rounds).await
    } else {
        pool(tasks, queue, workers, rounds).await
    };
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("count", tally.count), ("checksum", tally.sum)],
    }
}

/// Pool mode: async-channel's bounded MPMC channel (the crate tokio's documentation points to
/// for multi-consumer queues). Every worker owns a clone of the receiver and waits in the
/// channel itself, rather than queueing on a `Mutex` around one `mpsc::Receiver`.
async fn pool(tasks: u64, queue: usize, workers: usize, rounds: u64) -> Tally {
    let (tx, rx) = async_channel::bounded::<u64>(queue);
    let handles: Vec<JoinHandle<Tally>> = (0..workers)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while let Ok(id) = rx.recv().await {
                    tally.add(task_value(id, rounds));
                }
                tally
            })
        })
        .collect();
    drop(rx);
    for id in 0..tasks {
        tx.send(id).await.expect("workers alive");
    }
    drop(tx);
    let mut total = Tally::default();
    for handle in handles {
        total = total.merge(handle.await.expect("worker"));
    }
    total
}

/// Spawn mode: one `tokio::spawn` per task (through a `JoinSet`); each task returns its value.
async fn spawn_per_task(tasks: u64, rounds: u64) -> Tally {
    let mut set = JoinSet::new();
    for id in 0..tasks {
        set.spawn(async move { task_value(id, rounds) });
    }
    let mut tally = Tally::default();
    while let Some(v) = set.join_next().await {
        tally.add(v.expect("task"));
    }
    tally
}
