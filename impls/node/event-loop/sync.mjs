// The event loop's coordination primitives: a bounded FIFO channel and a mutex, on promises.
//
// Node's standard library has neither (EventEmitter and streams are unbounded or batch
// their chunks), so both are written here in a few lines each. Both have a fast path that does
// not touch a promise: trySend/tryRecv/tryLock succeed at once when the channel has room or
// items, or the lock is free, and only a blocked side awaits. That is how the model behaves:
// an async function runs until it awaits something that is not ready.

export class Channel {
  constructor(capacity) {
    this.items = new Array(capacity);
    this.capacity = capacity;
    this.head = 0;
    this.length = 0;
    this.closed = false;
    this.receivers = []; // resolve functions of receivers waiting for an item (or the close)
    this.senders = []; // resolve functions of senders waiting for room
  }

  trySend(value) {
    if (this.length === this.capacity) return false;
    let tail = this.head + this.length;
    if (tail >= this.capacity) tail -= this.capacity;
    this.items[tail] = value;
    this.length++;
    if (this.receivers.length > 0) this.receivers.shift()();
    return true;
  }

  async send(value) {
    while (!this.trySend(value)) await new Promise((resolve) => this.senders.push(resolve));
  }

  // The next item, or `undefined` when the channel is empty (items are never undefined).
  tryRecv() {
    if (this.length === 0) return undefined;
    const value = this.items[this.head];
    this.items[this.head] = undefined;
    if (++this.head === this.capacity) this.head = 0;
    this.length--;
    if (this.senders.length > 0) this.senders.shift()();
    return value;
  }

  // The next item, or `undefined` once the channel is closed and drained.
  async recv() {
    for (;;) {
      const value = this.tryRecv();
      if (value !== undefined || this.closed) return value;
      await new Promise((resolve) => this.receivers.push(resolve));
    }
  }

  close() {
    this.closed = true;
    for (const wake of this.receivers.splice(0)) wake();
  }
}

export class Mutex {
  constructor() {
    this.locked = false;
    this.waiters = [];
  }

  tryLock() {
    if (this.locked) return false;
    this.locked = true;
    return true;
  }

  lock() {
    if (this.tryLock()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  // Hands the lock straight to the first waiter (FIFO), else frees it.
  unlock() {
    if (this.waiters.length > 0) this.waiters.shift()();
    else this.locked = false;
  }
}
