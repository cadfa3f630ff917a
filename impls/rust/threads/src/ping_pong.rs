//! ping_pong: the main thread and one other thread hand a token over two one-way channels.
//!
//! The channel is the binary's `--channel` flag:
//! - `condvar` (the default): a `Mutex<Option<u64>>` slot with a `Condvar` per direction, the
//!   hand-off C's pthreads implementation makes. A put into the empty slot returns at once and
//!   wakes the taker with one futex call, so each hop is one wake-up and one switch. It was the
//!   fastest of the three, on one CPU and on two.
//! - `one-slot`: `sync_channel(1)`. Also one wake-up per hop, but std's channel spins and
//!   registers a waker context before it parks, which costs more than the futex alone.
//! - `rendezvous`: `sync_channel(0)`, the counterpart of Go's unbuffered channel. A send blocks
//!   until the receiver has taken the value, so on one CPU a hop costs about three switches (the
//!   sender parks, the receiver takes the value and wakes the sender, the sender returns from
//!   `send`) instead of one.
//!
//! `--placement spread`: task A (the main thread) has slot 0, pinned before the timed region,
//! and task B slot 1, so on two CPUs or more the players sit on different CPUs.

use std::sync::mpsc::sync_channel;
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::Instant;

use cmbench_common::placement::Pinning;
use cmbench_common::report::Sample;

use crate::threads;

/// Which primitive carries the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Condvar,
    OneSlot,
    Rendezvous,
}

impl Channel {
    pub fn parse(text: Option<&str>) -> Result<Channel, String> {
        match text {
            None | Some("condvar") => Ok(Channel::Condvar),
            Some("one-slot") => Ok(Channel::OneSlot),
            Some("rendezvous") => Ok(Channel::Rendezvous),
            Some(other) => Err(format!(
                "--channel {other}: expected condvar, one-slot or rendezvous"
            )),
        }
    }
}

pub fn run(roundtrips: u64, channel: Channel, pinning: &Pinning) -> Sample {
    pinning.pin_current(0);
    let start = Instant::now();
    let token = match channel {
        Channel::Condvar => over_slots(roundtrips, pinning),
        Channel::OneSlot => over_sync_channel(roundtrips, 1, pinning),
        Channel::Rendezvous => over_sync_channel(roundtrips, 0, pinning),
    };
    Sample {
        elapsed: start.elapsed(),
        fields: vec![("roundtrips", roundtrips), ("token", token)],
    }
}

fn over_sync_channel(roundtrips: u64, capacity: usize, pinning: &Pinning) -> u64 {
    let (ping_tx, ping_rx) = sync_channel::<u64>(capacity);
    let (pong_tx, pong_rx) = sync_channel::<u64>(capacity);
    thread::scope(|s| {
        threads::spawn_on(s, pinning, 1, move || {
            for _ in 0..roundtrips {
                let token = ping_rx.recv().expect("A alive");
                pong_tx.send(token + 1).expect("A alive");
            }
        });
        let mut token = 0u64;
        for _ in 0..roundtrips {
            ping_tx.send(token).expect("B alive");
            token = pong_rx.recv().expect("B alive") + 1;
        }
        token
    })
}

/// A one-value slot: the sender waits while it is full, the receiver while it is empty. Only
/// one side can be waiting at a time, so one condition variable serves both.
struct Slot {
    value: Mutex<Option<u64>>,
    changed: Condvar,
}

impl Slot {
    fn new() -> Self {
        Slot {
            value: Mutex::new(None),
            changed: Condvar::new(),
        }
    }

    fn put(&self, token: u64) {
        let mut value = self.value.lock().expect("not poisoned");
        while value.is_some() {
            value = self.changed.wait(value).expect("not poisoned");
        }
        *value = Some(token);
        drop(value);
        self.changed.notify_one();
    }

    fn take(&self) -> u64 {
        let mut value = self.value.lock().expect("not poisoned");
        loop {
            if let Some(token) = value.take() {
                drop(value);
                self.changed.notify_one();
                return token;
            }
            value = self.changed.wait(value).expect("not poisoned");
        }
    }
}

fn over_slots(roundtrips: u64, pinning: &Pinning) -> u64 {
    let (ping, pong) = (Slot::new(), Slot::new());
    thread::scope(|s| {
        threads::spawn_on(s, pinning, 1, || {
            for _ in 0..roundtrips {
                pong.put(ping.take() + 1);
            }
        });
        let mut token = 0u64;
        for _ in 0..roundtrips {
            ping.put(token);
            token = pong.take() + 1;
        }
        token
    })
}
