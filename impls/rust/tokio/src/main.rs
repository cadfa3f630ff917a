//! cmbench, Rust with tokio: tasks on a multi-thread (or current-thread) runtime, tokio::sync,
//! hyper (or axum).

mod axum_server;
mod cli;
mod http;
mod mutex_counter;
mod ping_pong;
mod pipeline;
mod preemption;
mod spawn_idle;
mod worker_pool;

use std::process;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use cmbench_common::cli::{Task, Workload};
use cmbench_common::placement::Pinning;
use cmbench_common::report::{self, Sample};

use cli::{Runtime, Server};

fn main() {
    let args = cli::parse_args();
    // --placement spread (batch workloads but spawn_idle and preemption): every thread the
    // multi-thread runtime starts pins itself, as its first action, to the next slot in start
    // order, so its workers sit one per CPU; the main thread, which only waits in `block_on`
    // (and is the one worker of the current-thread runtime), has slot 0. Where a task runs is
    // still tokio's choice.
    let pinning = match &args.task {
        Task::Batch(batch) => Pinning::for_batch(batch),
        Task::HttpServer { .. } => Pinning::default(),
    };
    pinning.pin_current(0);
    let runtime = match args.model.runtime {
        Runtime::MultiThread => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if pinning.is_spread() {
                let pinning = pinning.clone();
                let next = AtomicUsize::new(0);
                builder.on_thread_start(move || pinning.pin_current(next.fetch_add(1, Relaxed)));
            }
            builder.worker_threads(args.cpus).enable_all().build()
        }
        Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .unwrap_or_else(|err| fail(&format!("cannot build the runtime: {err}")));
    match args.task {
        Task::Batch(_) if args.model.server == Server::Axum => {
            // A flag that does not apply to the workload is a usage error, as an unknown one is.
            eprintln!("cmbench-rust-tokio: --server axum: only http_server has a server to choose");
            process::exit(2)
        }
        Task::Batch(batch) => report::run(&batch, |&workload| match workload {
            // preemption builds its own one-worker runtime for each iteration.
            Workload::Preemption {
                sleeps,
                sleep_us,
                spinners,
                spin_limit_ms,
            } => preemption::run(sleeps, sleep_us, spinners, spin_limit_ms),
            // The iteration runs as a task, so its own part (the producer, the sink, task A)
            // is scheduled like every task it spawns.
            _ => runtime.block_on(async {
                tokio::spawn(iteration(workload))
                    .await
                    .expect("iteration task")
            }),
        }),
        Task::HttpServer { port } => {
            let served = match args.model.server {
                Server::Hyper => http::serve(&runtime, port),
                Server::Axum => axum_server::serve(&runtime, port),
            };
            if let Err(err) = served {
                fail(&format!("http_server: {err}"));
            }
        }
    }
}

async fn iteration(workload: Workload) -> Sample {
    match workload {
        Workload::WorkerPool {
            tasks,
            queue,
            workers,
            rounds,
        } => worker_pool::run(tasks, queue, workers, rounds).await,
        Workload::Pipeline {
            items,
            stages,
            capacity,
        } => pipeline::run(items, stages, capacity).await,
        Workload::MutexCounter {
            threads,
            increments,
            mode,
        } => mutex_counter::run(threads, increments, mode).await,
        Workload::PingPong { roundtrips } => ping_pong::run(roundtrips).await,
        Workload::SpawnIdle { tasks, sleep_ms } => spawn_idle::run(tasks, sleep_ms).await,
        Workload::Preemption { .. } => unreachable!("preemption runs on its own runtime"),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("cmbench-rust-tokio: {message}");
    process::exit(1)
}
