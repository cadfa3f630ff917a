//! spawn_idle: N tasks alive at once, each waiting S ms on a tokio timer once all N exist.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use cmbench_common::report::Sample;

pub async fn run(tasks: usize, sleep_ms: u64) -> Sample {
    let nap = Duration::from_millis(sleep_ms);
    let start = Instant::now();
    // The gate: every task, and the iteration's task once it has spawned them all, meets here.
    let gate = Arc::new(Barrier::new(tasks + 1));
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let gate = Arc::clone(&gate);
        set.spawn(async move {
            gate.wait().await;
            tokio::time::sleep(nap).await;
        });
    }
    gate.wait().await;
    let mut done = 0u64;
    while let Some(joined) = set.join_next().await {
        joined.expect("task");
        done += 1;
    }
    Sample {
        elapsed: start.elapsed(),
        // Tasks have no stacks of their own: a task is its future, stored in its heap cell.
        fields: vec![("done", done), ("stack_bytes", 0)],
    }
}
