//! The batch driver: warm-ups and measured iterations, one JSON line per iteration.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::process;
use std::time::Duration;

use crate::cli::{Batch, Workload};

/// The outcome of one iteration: its timed region and its named result fields.
pub struct Sample {
    pub elapsed: Duration,
    pub fields: Vec<(&'static str, u64)>,
}

/// Runs the batch's warm-ups and iterations, each one a call of `iteration`, and prints one
/// line after each.
pub fn run(batch: &Batch, mut iteration: impl FnMut(&Workload) -> Sample) {
    let Batch {
        ref workload,
        warmups,
        iterations,
        ..
    } = *batch;
    let name = workload.name();
    let mut stdout = io::stdout().lock();
    let mut line = String::with_capacity(256);
    for i in 0..warmups + iterations {
        let sample = iteration(workload);
        let elapsed_ns = u64::try_from(sample.elapsed.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        line.clear();
        let _ = write!(
            line,
            "{{\"workload\": \"{name}\", \"iteration\": {i}, \"warmup\": {}, \"elapsed_ns\": {elapsed_ns}",
            i < warmups
        );
        for (field, value) in &sample.fields {
            let _ = write!(line, ", \"{field}\": {value}");
        }
        line.push_str("}\n");
        if let Err(err) = stdout
            .write_all(line.as_bytes())
            .and_then(|()| stdout.flush())
        {
            eprintln!("cmbench-rust: writing stdout: {err}");
            process::exit(1);
        }
    }
}
