// cmbench implementation: Node.js, one event loop (default) or worker_threads (--model worker-threads).
//
//   node main.mjs <workload> --<param> V ... --warmups W --iterations N --cpus P [--model event-loop|worker-threads]
//   node main.mjs http_server --port P --cpus C
//
// One JSON line per iteration on stdout; errors on stderr with exit status 2.

import { parseArgs } from "node:util";
import * as loop from "./loop.mjs";

const BATCH = {
  worker_pool: { params: { tasks: 0, queue: 1, workers: 0, rounds: 0 } },
  pipeline: { params: { items: 0, stages: 0, capacity: 1 } },
  mutex_counter: { params: { threads: 0, increments: 0 }, modes: ["mutex", "atomic", "racy"] },
  ping_pong: { params: { roundtrips: 0 } },
  spawn_idle: { params: { tasks: 0, sleep_ms: 0 } },
};

const LOOP = {
  worker_pool: loop.workerPool,
  pipeline: loop.pipeline,
  mutex_counter: loop.mutexCounter,
  ping_pong: loop.pingPong,
  spawn_idle: loop.spawnIdle,
};

// worker_threads where the workload has real parallelism to offer; see README.md for the others.
const THREADED = ["worker_pool", "mutex_counter", "ping_pong"];
const MODELS = ["event-loop", "worker-threads"];

function usage(message) {
  process.stderr.write(`main.mjs: ${message}\n`);
  process.exit(2);
}

function integer(name, text, minimum, maximum = Number.MAX_SAFE_INTEGER) {
  if (text === undefined) usage(`--${name} is required`);
  if (!/^[0-9]+$/.test(text)) usage(`--${name}: not a decimal integer: ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < minimum || value > maximum) usage(`--${name}: ${value} is out of range (${minimum}..${maximum})`);
  return value;
}

function parse(argv) {
  const [workload, ...rest] = argv;
  const spec = BATCH[workload];
  if (spec === undefined && workload !== "http_server") {
    usage(`unknown workload ${JSON.stringify(workload)} (choose from ${[...Object.keys(BATCH), "http_server"].join(", ")})`);
  }
  const options = { cpus: { type: "string" }, model: { type: "string", default: "event-loop" } };
  const names = workload === "http_server" ? ["port"] : [...Object.keys(spec.params), "warmups", "iterations"];
  for (const name of names) options[name.replace("_", "-")] = { type: "string" };
  if (spec?.modes) options.mode = { type: "string" };
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false }));
  } catch (e) {
    usage(e.message);
  }
  const config = { workload, params: {}, cpus: integer("cpus", values.cpus ?? "1", 1), model: values.model };
  if (!MODELS.includes(config.model)) usage(`--model: ${config.model} (choose from ${MODELS.join(", ")})`);
  if (workload === "http_server") {
    config.port = integer("port", values.port, 0, 65535);
    return config;
  }
  if (config.model === "worker-threads" && !THREADED.includes(workload)) {
    usage(`--model worker-threads does not apply to ${workload} (it does to ${THREADED.join(", ")})`);
  }
  for (const [name, minimum] of Object.entries(spec.params)) {
    config.params[name] = integer(name, values[name.replace("_", "-")], minimum);
  }
  if (spec.modes) {
    if (!spec.modes.includes(values.mode)) usage(`--mode: ${values.mode} (choose from ${spec.modes.join(", ")})`);
    config.params.mode = values.mode;
  }
  config.warmups = integer("warmups", values.warmups ?? "0", 0);
  config.iterations = integer("iterations", values.iterations ?? "1", 0);
  return config;
}

async function runBatch(config) {
  let run = LOOP[config.workload];
  if (config.model === "worker-threads") {
    const threads = await import("./threads.mjs");
    run = { worker_pool: threads.workerPool, mutex_counter: threads.mutexCounter, ping_pong: threads.pingPong }[
      config.workload
    ];
  }
  const total = config.warmups + config.iterations;
  for (let iteration = 0; iteration < total; iteration++) {
    const [elapsedNs, fields] = await run(config.params, config.cpus);
    // 64-bit results are decimal strings; written bare so they read as JSON integers.
    const extra = Object.entries(fields).map(([k, v]) => `,"${k}":${v}`).join("");
    const head = `{"workload":"${config.workload}","iteration":${iteration},"warmup":${iteration < config.warmups}`;
    process.stdout.write(`${head},"elapsed_ns":${Math.max(1, elapsedNs)}${extra}}\n`);
  }
}

const config = parse(process.argv.slice(2));
if (config.workload === "http_server") {
  const { serve } = await import("./http_server.mjs");
  await serve(config.port);
} else {
  await runBatch(config);
}
