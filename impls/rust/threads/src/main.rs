//! cmbench, Rust with OS threads: `std::thread`, `std::sync`, bounded channels, blocking I/O.

mod cli;
mod http;
mod mutex_counter;
mod ping_pong;
mod pipeline;
mod report;
mod spawn_idle;
mod threads;
mod work;
mod worker_pool;

use std::process;

use cli::{Command, Workload};
use report::Sample;

fn main() {
    match cli::parse_args() {
        Command::Batch {
            workload,
            warmups,
            iterations,
        } => report::run(workload.name(), warmups, iterations, || {
            iteration(&workload)
        }),
        Command::HttpServer { port } => {
            if let Err(err) = http::serve(port) {
                eprintln!("cmbench-rust-threads: http_server: {err}");
                process::exit(1);
            }
        }
    }
}

fn iteration(workload: &Workload) -> Sample {
    match *workload {
        Workload::WorkerPool {
            tasks,
            queue,
            workers,
            rounds,
        } => worker_pool::run(tasks, queue, workers, rounds),
        Workload::Pipeline {
            items,
            stages,
            capacity,
        } => pipeline::run(items, stages, capacity),
        Workload::MutexCounter {
            threads,
            increments,
            mode,
        } => mutex_counter::run(threads, increments, mode),
        Workload::PingPong { roundtrips } => ping_pong::run(roundtrips),
        Workload::SpawnIdle { tasks, sleep_ms } => spawn_idle::run(tasks, sleep_ms),
    }
}
