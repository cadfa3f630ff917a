//! cmbench, Rust with OS threads: `std::thread`, `std::sync`, bounded channels, blocking I/O.

mod http;
mod mutex_counter;
mod ping_pong;
mod pipeline;
mod preemption;
mod spawn_idle;
mod threads;
mod worker_pool;

use std::process;

use cmbench_common::cli::{self, Task, Workload};
use cmbench_common::placement::Pinning;
use cmbench_common::report::{self, Sample};

use ping_pong::Channel;

fn main() {
    // --cpus sizes nothing here: every thread is an OS thread that the kernel schedules on
    // the CPUs the process is pinned to. It is still validated. The binary's own flag,
    // --channel, picks ping_pong's channel.
    let args = cli::parse_args(
        "cmbench-rust-threads",
        " [--channel condvar|one-slot|rendezvous]",
        |flags| Channel::parse(flags.take("channel").as_deref()),
    );
    let channel = args.model;
    match args.task {
        Task::Batch(batch) => {
            let pinning = Pinning::for_batch(&batch);
            report::run(&batch, |workload| iteration(workload, channel, &pinning))
        }
        Task::HttpServer { port } => {
            if let Err(err) = http::serve(port) {
                eprintln!("cmbench-rust-threads: http_server: {err}");
                process::exit(1);
            }
        }
    }
}

/// One iteration. Under `--placement spread` the workloads that pin (all but spawn_idle and
/// preemption) give the main thread and each thread they start a slot (`Pinning`).
fn iteration(workload: &Workload, channel: Channel, pinning: &Pinning) -> Sample {
    match *workload {
        Workload::WorkerPool {
            tasks,
            queue,
            workers,
            rounds,
        } => worker_pool::run(tasks, queue, workers, rounds, pinning),
        Workload::Pipeline {
            items,
            stages,
            capacity,
        } => pipeline::run(items, stages, capacity, pinning),
        Workload::MutexCounter {
            threads,
            increments,
            mode,
        } => mutex_counter::run(threads, increments, mode, pinning),
        Workload::PingPong { roundtrips } => ping_pong::run(roundtrips, channel, pinning),
        Workload::SpawnIdle { tasks, sleep_ms } => spawn_idle::run(tasks, sleep_ms),
        Workload::Preemption {
            sleeps,
            sleep_us,
            spinners,
            spin_limit_ms,
        } => preemption::run(sleeps, sleep_us, spinners, spin_limit_ms),
    }
}
