//! ping_pong: the iteration's task and one other task hand a token over two one-slot channels.

use std::time::Instant;

use tokio::sync::mpsc;

use cmbench_common::report::Sample;

pub async fn run(roundtrips: u64) -> Sample {
    let start = Instant::now();
    let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
    let b = tokio::spawn(async move {
        for _ in 0..roundtrips {
            let token = ping_rx.recv().await.expect("A alive");
            pong_tx.send(token + 1).await.expect("A alive");
        }
    });
    let mut token = 0u64;
    for _ in 0..roundtrips {
        ping_tx.send(token).await.expect("B alive");
        token = pong_rx.recv().await.expect("B alive") + 1;
    }
    b.await.expect("B");
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("roundtrips", roundtrips), ("token", token)],
    }
}
