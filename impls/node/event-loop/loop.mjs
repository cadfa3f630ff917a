// The batch workloads on one event loop: async functions, promises, the Channel and Mutex of
// sync.mjs. Every iteration builds its own channels, locks and tasks and awaits them all.
// Each function returns [elapsed_ns, result fields].

import { setTimeout as sleep } from "node:timers/promises";
import { Channel, Mutex } from "./sync.mjs";
import { add, decimal, mul, out, splitmixRounds } from "./u64.mjs";

const now = process.hrtime.bigint;
const elapsed = (began) => Number(now() - began);

// worker_pool, pool mode: one producer (this function) and N async workers over a Channel(Q).
async function poolWorker(queue, rounds) {
  let count = 0;
  let hi = 0;
  let lo = 0;
  for (;;) {
    let id = queue.tryRecv();
    if (id === undefined) {
      id = await queue.recv();
      if (id === undefined) return { count, hi, lo };
    }
    splitmixRounds(0, id, rounds);
    add(hi, lo, out.hi, out.lo);
    hi = out.hi;
    lo = out.lo;
    count++;
  }
}

// worker_pool, spawn mode: one async task per id; its promise's value is the result. An async
// function runs eagerly until its first await, and this one has none, so the work happens inside
// the spawning call: that is what spawning a task costs in this model.
async function spawnTask(id, rounds) {
  splitmixRounds(0, id, rounds);
  return [out.hi, out.lo];
}

export async function workerPool({ tasks, queue, workers, rounds }) {
  const began = now();
  let count = 0;
  let hi = 0;
  let lo = 0;
  if (workers > 0) {
    const channel = new Channel(queue);
    const running = [];
    for (let w = 0; w < workers; w++) running.push(poolWorker(channel, rounds));
    for (let id = 0; id < tasks; id++) {
      if (!channel.trySend(id)) await channel.send(id);
    }
    channel.close();
    for (const r of await Promise.all(running)) {
      count += r.count;
      add(hi, lo, r.hi, r.lo);
      hi = out.hi;
      lo = out.lo;
    }
  } else {
    const spawned = new Array(tasks);
    for (let id = 0; id < tasks; id++) spawned[id] = spawnTask(id, rounds);
    for (const [h, l] of await Promise.all(spawned)) {
      count++;
      add(hi, lo, h, l);
      hi = out.hi;
      lo = out.lo;
    }
  }
  return [elapsed(began), { count, checksum: decimal(hi, lo) }];
}

// pipeline: producer -> k stages -> sink over k+1 Channel(C). An item is a {hi, lo} object that
// the producer allocates and each stage updates in place before passing it on (it owns the item
// between receiving and sending it), so no stage allocates.
async function produce(channel, items) {
  for (let x = 1; x <= items; x++) {
    const item = { hi: 0, lo: x };
    if (!channel.trySend(item)) await channel.send(item);
  }
  channel.close();
}

async function stage(input, output, j) {
  for (;;) {
    let item = input.tryRecv();
    if (item === undefined) {
      item = await input.recv();
      if (item === undefined) break;
    }
    mul(item.hi, item.lo, 0x5851f42d, 0x4c957f2d); // x * 6364136223846793005
    add(out.hi, out.lo, 0, j); // + j
    item.hi = out.hi;
    item.lo = out.lo;
    if (!output.trySend(item)) await output.send(item);
  }
  output.close();
}

export async function pipeline({ items, stages, capacity }) {
  const began = now();
  const channels = [];
  for (let c = 0; c <= stages; c++) channels.push(new Channel(capacity));
  const running = [produce(channels[0], items)];
  for (let j = 1; j <= stages; j++) running.push(stage(channels[j - 1], channels[j], j));
  const sink = channels[stages];
  let count = 0;
  let sumHi = 0;
  let sumLo = 0;
  let ordHi = 0xcbf29ce4; // 14695981039346656037
  let ordLo = 0x84222325;
  for (;;) {
    let item = sink.tryRecv();
    if (item === undefined) {
      item = await sink.recv();
      if (item === undefined) break;
    }
    count++;
    add(sumHi, sumLo, item.hi, item.lo);
    sumHi = out.hi;
    sumLo = out.lo;
    mul((ordHi ^ item.hi) >>> 0, (ordLo ^ item.lo) >>> 0, 0x100, 0x1b3); // * 1099511628211
    ordHi = out.hi;
    ordLo = out.lo;
  }
  await Promise.all(running);
  return [elapsed(began), { count, sum: decimal(sumHi, sumLo), ord: decimal(ordHi, ordLo) }];
}

// mutex_counter: T async workers on one shared counter. `mutex`: the Mutex around `counter += 1`
// (a JavaScript number: exact to 2^53, far above T * I). `atomic`: Atomics.add on a
// BigUint64Array over a SharedArrayBuffer, the only atomic 64-bit integer JavaScript has.
export async function mutexCounter({ threads, increments, mode }) {
  const began = now();
  let final;
  if (mode === "mutex" || mode === "racy") {
    // racy: the same increment without the lock. No await lies between its read and its write,
    // so no other task runs in between: on one event loop no update can be lost.
    const mutex = mode === "mutex" ? new Mutex() : null;
    const state = { counter: 0 };
    const worker = mutex
      ? async () => {
          for (let i = 0; i < increments; i++) {
            if (!mutex.tryLock()) await mutex.lock();
            state.counter += 1;
            mutex.unlock();
          }
        }
      : async () => {
          for (let i = 0; i < increments; i++) state.counter += 1;
        };
    const running = [];
    for (let t = 0; t < threads; t++) running.push(worker());
    await Promise.all(running);
    final = state.counter;
  } else {
    const counter = new BigUint64Array(new SharedArrayBuffer(8));
    const worker = async () => {
      for (let i = 0; i < increments; i++) Atomics.add(counter, 0, 1n);
    };
    const running = [];
    for (let t = 0; t < threads; t++) running.push(worker());
    await Promise.all(running);
    final = Number(Atomics.load(counter, 0));
  }
  return [elapsed(began), mode === "racy" ? { final, lost_updates: threads * increments - final } : { final }];
}

// ping_pong: the token travels in one-shot promises. Each hop resolves the promise the other
// side awaits and hands it the resolver for the reply, as a one-slot channel would.
export async function pingPong({ roundtrips }) {
  const began = now();
  let toB;
  let inboxB = new Promise((resolve) => {
    toB = resolve;
  });
  const b = (async () => {
    for (let r = 0; r < roundtrips; r++) {
      const [token, reply] = await inboxB;
      inboxB = new Promise((resolve) => {
        toB = resolve;
      });
      reply(token + 1);
    }
  })();
  let token = 0;
  for (let r = 0; r < roundtrips; r++) {
    const pong = new Promise((resolve) => toB([token, resolve]));
    token = (await pong) + 1;
  }
  await b;
  return [elapsed(began), { roundtrips, token }];
}

// spawn_idle: N async tasks, each awaits the gate (one promise, resolved once all N exist),
// then a timer of S ms, then counts itself done.
export async function spawnIdle({ tasks, sleep_ms: sleepMs }) {
  const began = now();
  let open;
  const gate = new Promise((resolve) => {
    open = resolve;
  });
  let done = 0;
  const task = async () => {
    await gate;
    await sleep(sleepMs);
    done++;
  };
  const running = new Array(tasks);
  for (let t = 0; t < tasks; t++) running[t] = task();
  open();
  await Promise.all(running);
  return [elapsed(began), { done, stack_bytes: 0 }];
}
