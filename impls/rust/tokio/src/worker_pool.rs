//! worker_pool: a bounded queue feeding N tasks, or one task per item.

use std::time::Instant;

use tokio::task::{JoinHandle, JoinSet};

use crate::report::Sample;
use crate::work::task_value;

pub async fn run(tasks: u64, queue: usize, workers: usize, rounds: u64) -> Sample {
    let start = Instant::now();
    let (count, checksum) = if workers == 0 {
        spawn_per_task(tasks, rounds).await
    } else {
        pool(tasks, queue, workers, rounds).await
    };
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("count", count), ("checksum", checksum)],
    }
}

/// Pool mode: async-channel's bounded MPMC channel (the crate tokio's documentation points to
/// for multi-consumer queues). Every worker owns a clone of the receiver and waits in the
/// channel itself, rather than queueing on a `Mutex` around one `mpsc::Receiver`.
async fn pool(tasks: u64, queue: usize, workers: usize, rounds: u64) -> (u64, u64) {
    let (tx, rx) = async_channel::bounded::<u64>(queue);
    let handles: Vec<JoinHandle<(u64, u64)>> = (0..workers)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let (mut count, mut sum) = (0u64, 0u64);
                while let Ok(id) = rx.recv().await {
                    sum = sum.wrapping_add(task_value(id, rounds));
                    count += 1;
                }
                (count, sum)
            })
        })
        .collect();
    drop(rx);
    for id in 0..tasks {
        tx.send(id).await.expect("workers alive");
    }
    drop(tx);
    let mut total = (0u64, 0u64);
    for handle in handles {
        let (count, sum) = handle.await.expect("worker");
        total = (total.0 + count, total.1.wrapping_add(sum));
    }
    total
}

/// Spawn mode: one `tokio::spawn` per task (through a `JoinSet`); each task returns its value.
async fn spawn_per_task(tasks: u64, rounds: u64) -> (u64, u64) {
    let mut set = JoinSet::new();
    for id in 0..tasks {
        set.spawn(async move { task_value(id, rounds) });
    }
    let (mut count, mut sum) = (0u64, 0u64);
    while let Some(v) = set.join_next().await {
        sum = sum.wrapping_add(v.expect("task"));
        count += 1;
    }
    (count, sum)
}
