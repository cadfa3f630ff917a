// The worker_threads variant (`--model worker-threads`): the workloads where the model offers
// real parallelism, on Worker threads (each its own V8 isolate and event loop) that share
// SharedArrayBuffers and block with Atomics.wait. Every iteration starts its own Workers and
// waits for them to exit, inside the timed region, as the contract asks.

import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { close, EMPTY, newQueue, push, put, take } from "./shared.mjs";
import { add, decimal, out } from "./u64.mjs";

const now = process.hrtime.bigint;
const elapsed = (began) => Number(now() - began);
const BODY = new URL("./thread.mjs", import.meta.url);

function start(workerData) {
  const worker = new Worker(BODY, { workerData, stdout: false, stderr: false });
  const exited = once(worker, "exit").then(([code]) => {
    if (code !== 0) throw new Error(`worker ${workerData.role} exited with status ${code}`);
  });
  return { worker, exited };
}

// worker_pool. Pool mode: N Workers take ids from a shared bounded queue (capacity Q) that this
// thread fills, blocking when it is full. Spawn mode: a Worker per task would be a V8 isolate per
// task (milliseconds and megabytes each), so each task is one message to a pool of --cpus
// Workers, and delivers its value into its own slot of a shared array.
export async function workerPool({ tasks, queue, workers, rounds }, cpus) {
  const began = now();
  let count = 0;
  let hi = 0;
  let lo = 0;
  if (workers > 0) {
    const q = newQueue(queue);
    const results = new Uint32Array(new SharedArrayBuffer(12 * workers));
    const running = [];
    for (let index = 0; index < workers; index++) running.push(start({ role: "pool", queue: q, results, index, rounds }));
    for (let id = 0; id < tasks; id++) push(q, id);
    close(q);
    await Promise.all(running.map((r) => r.exited));
    for (let w = 0; w < workers; w++) {
      count += results[3 * w];
      add(hi, lo, results[3 * w + 1], results[3 * w + 2]);
      hi = out.hi;
      lo = out.lo;
    }
  } else {
    const slots = new Uint32Array(new SharedArrayBuffer(8 * Math.max(tasks, 1)));
    const pool = [];
    for (let w = 0; w < cpus; w++) pool.push(start({ role: "spawn", slots, rounds }));
    for (let id = 0; id < tasks; id++) pool[id % cpus].worker.postMessage(id);
    for (const { worker } of pool) worker.postMessage(null);
    await Promise.all(pool.map((r) => r.exited));
    for (let id = 0; id < tasks; id++) {
      add(hi, lo, slots[2 * id], slots[2 * id + 1]);
      hi = out.hi;
      lo = out.lo;
      count++;
    }
  }
  return [elapsed(began), { count, checksum: decimal(hi, lo) }];
}

// mutex_counter: T Workers on one counter in a SharedArrayBuffer: a Float64 cell (exact to 2^53)
// under the futex mutex, a BigUint64 cell with Atomics.add, or (racy) a Float64 cell read and
// written with plain, non-atomic accesses, so Workers running at once lose updates.
export async function mutexCounter({ threads, increments, mode }) {
  const began = now();
  const buffer = new SharedArrayBuffer(16);
  const cells = new Int32Array(buffer, 0, 1);
  const counter = mode === "atomic" ? new BigUint64Array(buffer, 8, 1) : new Float64Array(buffer, 8, 1);
  const running = [];
  for (let t = 0; t < threads; t++) running.push(start({ role: mode, cells, counter, increments }));
  await Promise.all(running.map((r) => r.exited));
  const final = Number(counter[0]);
  return [elapsed(began), mode === "racy" ? { final, lost_updates: threads * increments - final } : { final }];
}

// ping_pong: this thread is A, one Worker is B; two one-slot cells, each hop a put + futex wake.
export async function pingPong({ roundtrips }) {
  const began = now();
  const cells = new Int32Array(new SharedArrayBuffer(8)).fill(EMPTY);
  const b = start({ role: "pong", cells, roundtrips });
  let token = 0;
  for (let r = 0; r < roundtrips; r++) {
    put(cells, 0, token);
    token = take(cells, 1) + 1;
  }
  await b.exited;
  return [elapsed(began), { roundtrips, token }];
}
