//! spawn_idle: N OS threads alive at once, each sleeping S ms once all N exist.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use cmbench_common::report::Sample;

use crate::threads::{self, STACK_SIZE};

pub fn run(tasks: usize, sleep_ms: u64) -> Sample {
    let default_stack = threads::default_stack_bytes();
    let nap = Duration::from_millis(sleep_ms);
    let done = AtomicU64::new(0);
    let start = Instant::now();
    // The gate: every thread, and the main thread once it has spawned them all, meets here,
    // so all N are alive at once however slowly threads are created.
    let gate = Barrier::new(tasks + 1);
    thread::scope(|s| {
        for _ in 0..tasks {
            threads::spawn(s, || {
                gate.wait();
                thread::sleep(nap);
                done.fetch_add(1, Relaxed);
            });
        }
        gate.wait();
    });
    let elapsed = start.elapsed();
    Sample {
        elapsed,
        fields: vec![
            ("done", done.into_inner()),
            ("stack_bytes", STACK_SIZE as u64),
            ("default_stack_bytes", default_stack),
        ],
    }
}
