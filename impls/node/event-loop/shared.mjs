// Blocking primitives over a SharedArrayBuffer for the worker_threads variant: a futex mutex,
// a condition variable on a sequence number, and a bounded FIFO queue of 32-bit ints built
// from them. Atomics.wait parks the calling thread in the kernel (a futex) until another thread
// calls Atomics.notify, so nothing spins. Node allows Atomics.wait on the main thread too, which
// a batch program that owns the main thread may use.

// Mutex states in one Int32 cell: 0 free, 1 locked, 2 locked with waiters (Drepper, "Futexes
// Are Tricky", mutex 2).
export function lock(cells, at) {
  let c = Atomics.compareExchange(cells, at, 0, 1);
  if (c === 0) return;
  do {
    if (c === 2 || Atomics.compareExchange(cells, at, 1, 2) !== 0) Atomics.wait(cells, at, 2);
    c = Atomics.compareExchange(cells, at, 0, 2);
  } while (c !== 0);
}

export function unlock(cells, at) {
  if (Atomics.sub(cells, at, 1) !== 1) {
    Atomics.store(cells, at, 0);
    Atomics.notify(cells, at, 1);
  }
}

// Condition variable: a waiter reads the sequence number under the lock, unlocks, and sleeps
// while the number is unchanged; a signal bumps it and wakes one (or all) sleepers.
function wait(cells, cond, mutex) {
  const seq = Atomics.load(cells, cond);
  unlock(cells, mutex);
  Atomics.wait(cells, cond, seq);
  lock(cells, mutex);
}

function signal(cells, cond, all) {
  Atomics.add(cells, cond, 1);
  Atomics.notify(cells, cond, all ? Infinity : 1);
}

// The bounded queue: a ring of `capacity` Int32 slots after a header.
const LOCK = 0;
const HEAD = 1;
const LENGTH = 2;
const CLOSED = 3;
const NOT_EMPTY = 4;
const NOT_FULL = 5;
const SLOTS = 6;

export function newQueue(capacity) {
  return new Int32Array(new SharedArrayBuffer((SLOTS + capacity) * 4));
}

export function push(q, value) {
  const capacity = q.length - SLOTS;
  lock(q, LOCK);
  while (q[LENGTH] === capacity) wait(q, NOT_FULL, LOCK);
  q[SLOTS + ((q[HEAD] + q[LENGTH]) % capacity)] = value;
  q[LENGTH]++;
  signal(q, NOT_EMPTY, false);
  unlock(q, LOCK);
}

export function close(q) {
  lock(q, LOCK);
  q[CLOSED] = 1;
  signal(q, NOT_EMPTY, true);
  unlock(q, LOCK);
}

// The next value, or -1 once the queue is closed and drained (values are >= 0).
export function pop(q) {
  const capacity = q.length - SLOTS;
  lock(q, LOCK);
  while (q[LENGTH] === 0 && q[CLOSED] === 0) wait(q, NOT_EMPTY, LOCK);
  let value = -1;
  if (q[LENGTH] > 0) {
    value = q[SLOTS + q[HEAD]];
    q[HEAD] = (q[HEAD] + 1) % capacity;
    q[LENGTH]--;
    signal(q, NOT_FULL, false);
  }
  unlock(q, LOCK);
  return value;
}

// A one-slot hand-off cell (ping_pong): EMPTY, or the token waiting to be taken.
export const EMPTY = -1;

export function put(cells, at, value) {
  Atomics.store(cells, at, value);
  Atomics.notify(cells, at, 1);
}

export function take(cells, at) {
  let value;
  while ((value = Atomics.load(cells, at)) === EMPTY) Atomics.wait(cells, at, EMPTY);
  Atomics.store(cells, at, EMPTY);
  return value;
}
