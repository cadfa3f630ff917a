//! The batch driver: warm-ups and measured iterations, one JSON line per iteration.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::process;
use std::time::Duration;

/// The outcome of one iteration: its timed region and its named result fields.
pub struct Sample {
    pub elapsed: Duration,
    pub fields: Vec<(&'static str, u64)>,
}

/// Runs `warmups` + `iterations` iterations of `iteration` and prints one line after each.
pub fn run(workload: &str, warmups: u64, iterations: u64, mut iteration: impl FnMut() -> Sample) {
    let mut stdout = io::stdout().lock();
    let mut line = String::with_capacity(256);
    for i in 0..warmups + iterations {
        let sample = iteration();
        let elapsed_ns = u64::try_from(sample.elapsed.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        line.clear();
        let _ = write!(
            line,
            "{{\"workload\": \"{workload}\", \"iteration\": {i}, \"warmup\": {}, \"elapsed_ns\": {elapsed_ns}",
            i < warmups
        );
        for (name, value) in &sample.fields {
            let _ = write!(line, ", \"{name}\": {value}");
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
