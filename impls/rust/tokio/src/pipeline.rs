//! pipeline: producer -> k stages -> sink (the iteration's own task), over bounded channels.

use std::time::Instant;

use tokio::sync::mpsc;

use cmbench_common::report::Sample;
use cmbench_common::work::{stage, Fold};

pub async fn run(items: u64, stages: u64, capacity: usize) -> Sample {
    let start = Instant::now();
    let (tx, mut rx) = mpsc::channel::<u64>(capacity);
    let mut handles = Vec::with_capacity(stages as usize + 1);
    handles.push(tokio::spawn(async move {
        for x in 1..=items {
            tx.send(x).await.expect("stage alive");
        }
    }));
    for j in 1..=stages {
        let (tx, next) = mpsc::channel::<u64>(capacity);
        let mut input = std::mem::replace(&mut rx, next);
        handles.push(tokio::spawn(async move {
            while let Some(x) = input.recv().await {
                tx.send(stage(x, j)).await.expect("next stage alive");
            }
        }));
    }
    let mut fold = Fold::new();
    while let Some(x) = rx.recv().await {
        fold.push(x);
    }
    for handle in handles {
        handle.await.expect("stage");
    }
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("count", fold.count), ("sum", fold.sum), ("ord", fold.ord)],
    }
}
