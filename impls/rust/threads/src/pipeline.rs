//! pipeline: producer -> k stages -> sink (the main thread), over bounded channels.
//!
//! `--placement spread`: the slot is the position in the chain, the producer 0, stage j j, the
//! sink k+1 (pinned before the timed region), so neighbours sit on different CPUs when there
//! are two or more.

use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::Instant;

use cmbench_common::placement::Pinning;
use cmbench_common::report::Sample;
use cmbench_common::work::{stage, Fold};

use crate::threads;

pub fn run(items: u64, stages: u64, capacity: usize, pinning: &Pinning) -> Sample {
    pinning.pin_current(stages as usize + 1);
    let start = Instant::now();
    let fold = thread::scope(|s| {
        let (tx, mut rx) = sync_channel::<u64>(capacity);
        threads::spawn_on(s, pinning, 0, move || {
            for x in 1..=items {
                tx.send(x).expect("stage alive");
            }
        });
        for j in 1..=stages {
            let (tx, next) = sync_channel::<u64>(capacity);
            let input = std::mem::replace(&mut rx, next);
            threads::spawn_on(s, pinning, j as usize, move || {
                for x in input {
                    tx.send(stage(x, j)).expect("next stage alive");
                }
            });
        }
        let mut fold = Fold::new();
        for x in rx {
            fold.push(x);
        }
        fold
    });
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("count", fold.count), ("sum", fold.sum), ("ord", fold.ord)],
    }
}
