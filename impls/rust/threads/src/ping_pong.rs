//! ping_pong: the main thread and one other thread hand a token over two rendezvous channels.

use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::Instant;

use cmbench_common::report::Sample;

use crate::threads;

pub fn run(roundtrips: u64) -> Sample {
    let start = Instant::now();
    // Capacity 0: every send blocks until the other thread receives it.
    let (ping_tx, ping_rx) = sync_channel::<u64>(0);
    let (pong_tx, pong_rx) = sync_channel::<u64>(0);
    let token = thread::scope(|s| {
        threads::spawn(s, move || {
            for _ in 0..roundtrips {
                let token = ping_rx.recv().expect("A alive");
                pong_tx.send(token + 1).expect("A alive");
            }
        });
        let mut token = 0u64;
        for _ in 0..roundtrips {
            ping_tx.send(token).expect("B alive");
            token = pong_rx.recv().expect("B alive") + 1;
        }
        token
    });
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("roundtrips", roundtrips), ("token", token)],
    }
}
