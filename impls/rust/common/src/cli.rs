//! Command-line parsing: `RUN <workload> --<param> <value> ... --warmups W --iterations N --cpus P
//! [--placement runtime|spread]` and `RUN http_server --port P --cpus C`.

use std::collections::BTreeMap;
use std::process;

/// The batch workloads' lines of the usage message.
const WORKLOADS: &str = "workloads:
  worker_pool   --tasks M --queue Q --workers N --rounds R   (N = 0: one thread per task)
  pipeline      --items M --stages K --capacity C
  mutex_counter --threads T --increments I --mode mutex|atomic|racy
  ping_pong     --roundtrips R
  spawn_idle    --tasks N --sleep-ms S
  preemption    --sleeps S --sleep-us T --spinners K --spin-limit-ms L";

/// `--placement`: who places a batch workload's threads on CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// The kernel (or the runtime): nothing is pinned. The default.
    #[default]
    Runtime,
    /// Each thread pinned to one CPU of the process's mask, round-robin, in the workload's
    /// order (`crate::placement`).
    Spread,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterMode {
    Mutex,
    Atomic,
    /// Unsynchronised: a relaxed load and a relaxed store, so concurrent updates may be lost.
    Racy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    Preemption {
        sleeps: usize,
        sleep_us: u64,
        spinners: usize,
        spin_limit_ms: u64,
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
            Workload::Preemption { .. } => "preemption",
        }
    }
}

/// A batch run: `warmups` + `iterations` iterations of `workload`.
#[derive(Debug, PartialEq, Eq)]
pub struct Batch {
    pub workload: Workload,
    pub warmups: u64,
    pub iterations: u64,
    pub placement: Placement,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Task {
    Batch(Batch),
    HttpServer { port: u16 },
}

/// The parsed command line: the flags every implementation takes, and `M`, the model's own.
#[derive(Debug, PartialEq, Eq)]
pub struct Args<M> {
    pub cpus: usize,
    pub model: M,
    pub task: Task,
}

/// Parses the process arguments. `program` names the binary in messages; `model_usage` lists
/// the model's own flags (e.g. `" [--runtime ...]"`), which `model` takes out of the flags after
/// `--cpus`. On any error prints a message and the usage on stderr and exits with status 2.
pub fn parse_args<M>(
    program: &str,
    model_usage: &str,
    model: impl FnOnce(&mut Flags) -> Result<M, String>,
) -> Args<M> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    parse(&args, model).unwrap_or_else(|message| {
        eprintln!(
            "{program}: {message}\nusage: {program} <workload> --<param> <value> ... \
             [--warmups W] [--iterations N] [--cpus P] [--placement runtime|spread]\
             {model_usage}\n{WORKLOADS}\n  \
             http_server   --port P [--cpus C]{model_usage}"
        );
        process::exit(2)
    })
}

/// Parses the arguments after the program name, as [`parse_args`] does.
pub fn parse<M>(
    args: &[String],
    model: impl FnOnce(&mut Flags) -> Result<M, String>,
) -> Result<Args<M>, String> {
    let (name, rest) = args.split_first().ok_or("missing workload")?;
    let mut flags = Flags::parse(rest)?;
    let cpus = flags.optional("cpus", 1, 1)?;
    let model = model(&mut flags)?;
    let task = if name == "http_server" {
        Task::HttpServer {
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
                    "racy" => CounterMode::Racy,
                    other => return Err(format!("--mode {other}: expected mutex, atomic or racy")),
                },
            },
            "ping_pong" => Workload::PingPong {
                roundtrips: flags.required("roundtrips", 0)?,
            },
            "spawn_idle" => Workload::SpawnIdle {
                tasks: flags.required("tasks", 0)?,
                sleep_ms: flags.required("sleep-ms", 0)?,
            },
            "preemption" => Workload::Preemption {
                sleeps: flags.required("sleeps", 1)?,
                sleep_us: flags.required("sleep-us", 0)?,
                spinners: flags.required("spinners", 0)?,
                spin_limit_ms: flags.required("spin-limit-ms", 0)?,
            },
            other => return Err(format!("unknown workload {other:?}")),
        };
        Task::Batch(Batch {
            workload,
            warmups: flags.optional("warmups", 0, 0)?,
            iterations: flags.optional("iterations", 1, 0)?,
            placement: match flags.take("placement").as_deref() {
                None | Some("runtime") => Placement::Runtime,
                Some("spread") => Placement::Spread,
                Some(other) => {
                    return Err(format!("--placement {other}: expected runtime or spread"))
                }
            },
        })
    };
    flags.finish()?;
    Ok(Args { cpus, model, task })
}

/// `--name value` pairs, each name at most once.
pub struct Flags(BTreeMap<String, String>);

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

    /// Takes out `--name`'s value, if it was given.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    pub fn word(&mut self, name: &str) -> Result<String, String> {
        self.take(name).ok_or_else(|| format!("missing --{name}"))
    }

    pub fn required<T: TryFrom<u64>>(&mut self, name: &str, min: u64) -> Result<T, String> {
        let value = self.word(name)?;
        number(name, &value, min)
    }

    pub fn optional<T: TryFrom<u64>>(
        &mut self,
        name: &str,
        default: T,
        min: u64,
    ) -> Result<T, String> {
        match self.take(name) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn plain(line: &str) -> Result<Args<()>, String> {
        parse(&args(line), |_| Ok(()))
    }

    #[test]
    fn batch_workload_with_defaults() {
        let parsed = plain("ping_pong --roundtrips 5").unwrap();
        assert_eq!(parsed.cpus, 1);
        assert_eq!(
            parsed.task,
            Task::Batch(Batch {
                workload: Workload::PingPong { roundtrips: 5 },
                warmups: 0,
                iterations: 1,
                placement: Placement::Runtime,
            })
        );
    }

    #[test]
    fn placement() {
        for (flag, placement) in [
            ("runtime", Placement::Runtime),
            ("spread", Placement::Spread),
        ] {
            let parsed = plain(&format!("ping_pong --roundtrips 5 --placement {flag}")).unwrap();
            let Task::Batch(batch) = parsed.task else {
                panic!("a batch")
            };
            assert_eq!(batch.placement, placement, "{flag}");
        }
    }

    #[test]
    fn http_server() {
        let parsed = plain("http_server --port 8080 --cpus 2").unwrap();
        assert_eq!(parsed.cpus, 2);
        assert_eq!(parsed.task, Task::HttpServer { port: 8080 });
    }

    #[test]
    fn model_flags_are_taken_after_cpus() {
        let parsed = parse(&args("ping_pong --roundtrips 1 --runtime x"), |f| {
            Ok(f.take("runtime"))
        })
        .unwrap();
        assert_eq!(parsed.model.as_deref(), Some("x"));
        assert_eq!(
            parse(&args("ping_pong --cpus 0 --runtime x"), |_| Err::<(), _>(
                "model".to_owned()
            ))
            .unwrap_err(),
            "--cpus 0: expected a decimal integer >= 1"
        );
    }

    #[test]
    fn errors() {
        let cases = [
            ("", "missing workload"),
            ("nope", "unknown workload \"nope\""),
            ("ping_pong roundtrips", "unexpected argument \"roundtrips\""),
            ("ping_pong --roundtrips", "--roundtrips: missing value"),
            (
                "ping_pong --roundtrips 1 --roundtrips 2",
                "--roundtrips given twice",
            ),
            ("ping_pong", "missing --roundtrips"),
            (
                "ping_pong --roundtrips -1",
                "--roundtrips -1: expected a decimal integer >= 0",
            ),
            ("http_server --port 70000", "--port 70000: out of range"),
            (
                "mutex_counter --threads 1 --increments 1 --mode spin",
                "--mode spin: expected mutex, atomic or racy",
            ),
            ("ping_pong --roundtrips 1 --extra 1", "unknown flag --extra"),
            (
                "ping_pong --roundtrips 1 --placement one",
                "--placement one: expected runtime or spread",
            ),
            (
                "http_server --port 1 --placement spread",
                "unknown flag --placement",
            ),
        ];
        for (line, message) in cases {
            assert_eq!(plain(line).unwrap_err(), message, "{line}");
        }
    }
}
