//! cmbench, Rust with OS threads: `std::thread`, `std::sync`, bounded channels, blocking I/O.

mod http;
mod mutex_counter;
mod ping_pong;
mod pipeline;
mod spawn_idle;
mod threads;
mod worker_pool;

use std::process;

use cmbench_common::cli::{self, Task, Workload};
use cmbench_common::report::{self, Sample};

fn main() {
    // --cpus sizes nothing here: every thread is an OS thread that the kernel schedules on
    // the CPUs the process is pinned to. It is still validated.
    let args = cli::parse_args("cmbench-rust-threads", "", |_| Ok(()));
    match args.task {
        Task::Batch(batch) => report::run(&batch, iteration),
        Task::HttpServer { port } => {
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
