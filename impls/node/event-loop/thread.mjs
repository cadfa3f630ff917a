// The body of every worker thread of the worker_threads variant; `workerData.role` says which.
// Workers report through the SharedArrayBuffers they are handed, not through messages, except
// the spawn-mode pool, whose tasks arrive as messages.

import { parentPort, workerData } from "node:worker_threads";
import { lock, pop, put, take, unlock } from "./shared.mjs";
import { add, out, splitmixRounds } from "./u64.mjs";

const roles = {
  // worker_pool, pool mode: take ids from the shared queue until it closes; write this worker's
  // count and wrapping sum into its three result cells.
  pool({ queue, results, index, rounds }) {
    let count = 0;
    let hi = 0;
    let lo = 0;
    for (let id = pop(queue); id >= 0; id = pop(queue)) {
      splitmixRounds(0, id, rounds);
      add(hi, lo, out.hi, out.lo);
      hi = out.hi;
      lo = out.lo;
      count++;
    }
    results[3 * index] = count;
    results[3 * index + 1] = hi;
    results[3 * index + 2] = lo;
  },

  // worker_pool, spawn mode: each message is one task id; its value goes to the task's own
  // pair of slots. A `null` message ends the worker.
  spawn({ slots, rounds }) {
    parentPort.on("message", (id) => {
      if (id === null) {
        parentPort.close();
        return;
      }
      splitmixRounds(0, id, rounds);
      slots[2 * id] = out.hi;
      slots[2 * id + 1] = out.lo;
    });
  },

  // mutex_counter: I increments of the shared counter, each under the futex mutex or one atomic add.
  mutex({ cells, counter, increments }) {
    for (let i = 0; i < increments; i++) {
      lock(cells, 0);
      counter[0] += 1;
      unlock(cells, 0);
    }
  },

  atomic({ counter, increments }) {
    for (let i = 0; i < increments; i++) Atomics.add(counter, 0, 1n);
  },

  // The deliberate race: a plain read and a plain write of shared memory per increment (the
  // JavaScript memory model makes it racy, not undefined); a write by another Worker between
  // them is overwritten.
  racy({ counter, increments }) {
    for (let i = 0; i < increments; i++) counter[0] = counter[0] + 1;
  },

  // ping_pong, side B: take from ping, add 1, put on pong.
  pong({ cells, roundtrips }) {
    for (let r = 0; r < roundtrips; r++) put(cells, 1, take(cells, 0) + 1);
  },
};

roles[workerData.role](workerData);
