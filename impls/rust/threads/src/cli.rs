//! Command-line parsing: `RUN <workload> --<param> <value> ... --warmups W --iterations N --cpus P`.

use std::collections::BTreeMap;
use std::process;

const USAGE: &str = "usage: cmbench-rust-threads <workload> --<param> <value> ... \
[--warmups W] [--iterations N] [--cpus P]
workloads:
  worker_pool   --tasks M --queue Q --workers N --rounds R   (N = 0: one thread per task)
  pipeline      --items M --stages K --capacity C
  mutex_counter --threads T --increments I --mode mutex|atomic
  ping_pong     --roundtrips R
  spawn_idle    --tasks N --sleep-ms S
  http_server   --port P [--cpus C]";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterMode {
    Mutex,
    Atomic,
}

#[derive(Debug)]
pub enum Workload {
    WorkerPool {
        tasks: u64,
        queue: usize,
        workers: usize,
        rounds: u64,
    },
    Pipeline {
        items: u64,
        stages: u64,
        capacity: usize,
    },
    MutexCounter {
        threads: usize,
        increments: u64,
        mode: CounterMode,
    },
    PingPong {
        roundtrips: u64,
    },
    SpawnIdle {
        tasks: usize,
        sleep_ms: u64,
    },
}

impl Workload {
    pub fn name(&self) -> &'static str {
        match self {
            Workload::WorkerPool { .. } => "worker_pool",
            Workload::Pipeline { .. } => "pipeline",
            Workload::MutexCounter { .. } => "mutex_counter",
            Workload::PingPong { .. } => "ping_pong",
            Workload::SpawnIdle { .. } => "spawn_idle",
        }
    }
}

#[derive(Debug)]
pub enum Command {
    Batch {
        workload: Workload,
        warmups: u64,
        iterations: u64,
    },
    HttpServer {
        port: u16,
    },
}

/// Parses the process arguments; on any error prints a message and the usage on stderr and
/// exits with status 2.
pub fn parse_args() -> Command {
    let args: Vec<String> = std::env::args().skip(1).collect();
    parse(&args).unwrap_or_else(|message| {
        eprintln!("cmbench-rust-threads: {message}\n{USAGE}");
        process::exit(2)
    })
}

fn parse(args: &[String]) -> Result<Command, String> {
    let (name, rest) = args.split_first().ok_or("missing workload")?;
    let mut flags = Flags::parse(rest)?;
    // --cpus sizes nothing here: every thread is an OS thread that the kernel schedules on
    // the CPUs the process is pinned to. It is still validated.
    flags.optional::<u64>("cpus", 1, 1)?;
    let command = if name == "http_server" {
        Command::HttpServer {
            port: flags.required("port", 1)?,
        }
    } else {
        let workload = match name.as_str() {
            "worker_pool" => Workload::WorkerPool {
                tasks: flags.required("tasks", 0)?,
                queue: flags.required("queue", 1)?,
                workers: flags.required("workers", 0)?,
                rounds: flags.required("rounds", 0)?,
            },
            "pipeline" => Workload::Pipeline {
                items: flags.required("items", 0)?,
                stages: flags.required("stages", 0)?,
                capacity: flags.required("capacity", 1)?,
            },
            "mutex_counter" => Workload::MutexCounter {
                threads: flags.required("threads", 0)?,
                increments: flags.required("increments", 0)?,
                mode: match flags.word("mode")?.as_str() {
                    "mutex" => CounterMode::Mutex,
                    "atomic" => CounterMode::Atomic,
                    other => return Err(format!("--mode {other}: expected mutex or atomic")),
                },
            },
            "ping_pong" => Workload::PingPong {
                roundtrips: flags.required("roundtrips", 0)?,
            },
            "spawn_idle" => Workload::SpawnIdle {
                tasks: flags.required("tasks", 0)?,
                sleep_ms: flags.required("sleep-ms", 0)?,
            },
            other => return Err(format!("unknown workload {other:?}")),
        };
        Command::Batch {
            workload,
            warmups: flags.optional("warmups", 0, 0)?,
            iterations: flags.optional("iterations", 1, 0)?,
        }
    };
    flags.finish()?;
    Ok(command)
}

/// `--name value` pairs, each name at most once.
struct Flags(BTreeMap<String, String>);

impl Flags {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let name = arg
                .strip_prefix("--")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| format!("unexpected argument {arg:?}"))?;
            let value = it
                .next()
                .ok_or_else(|| format!("--{name}: missing value"))?;
            if map.insert(name.to_owned(), value.clone()).is_some() {
                return Err(format!("--{name} given twice"));
            }
        }
        Ok(Flags(map))
    }

    fn word(&mut self, name: &str) -> Result<String, String> {
        self.0
            .remove(name)
            .ok_or_else(|| format!("missing --{name}"))
    }

    fn required<T: TryFrom<u64>>(&mut self, name: &str, min: u64) -> Result<T, String> {
        let value = self.word(name)?;
        number(name, &value, min)
    }

    fn optional<T: TryFrom<u64>>(&mut self, name: &str, default: T, min: u64) -> Result<T, String> {
        match self.0.remove(name) {
            Some(value) => number(name, &value, min),
            None => Ok(default),
        }
    }

    fn finish(self) -> Result<(), String> {
        match self.0.keys().next() {
            Some(name) => Err(format!("unknown flag --{name}")),
            None => Ok(()),
        }
    }
}

fn number<T: TryFrom<u64>>(name: &str, value: &str, min: u64) -> Result<T, String> {
    let invalid = || format!("--{name} {value}: expected a decimal integer >= {min}");
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let n: u64 = value.parse().map_err(|_| invalid())?;
    if n < min {
        return Err(invalid());
    }
    T::try_from(n).map_err(|_| format!("--{name} {value}: out of range"))
}
