//! `--placement spread`: one CPU per thread, round-robin over the process's affinity mask.
//!
//! Each workload gives its threads slots (see `workloads/README.md`, "Placement"); slot `s`
//! runs on the `(s mod n)`-th of the `n` CPUs the process could use when it started, in
//! ascending order. With one CPU in the mask every slot is that CPU. Under the default,
//! `--placement runtime`, nothing is pinned and [`Pinning::pin_current`] does nothing.

use std::sync::Arc;

use crate::cli::{Batch, Placement, Workload};

/// The CPUs the slots map to, or nothing to pin. Cheap to clone (a shared list).
#[derive(Clone, Debug, Default)]
pub struct Pinning {
    cpus: Option<Arc<[usize]>>,
}

impl Pinning {
    /// Under `Spread`, reads the calling thread's affinity mask: call it in the main thread
    /// before anything is pinned. Exits with status 1 when the mask cannot be read.
    pub fn new(placement: Placement) -> Pinning {
        match placement {
            Placement::Runtime => Pinning::default(),
            Placement::Spread => {
                let cpus: Vec<usize> = allowed_cpus();
                if cpus.is_empty() {
                    fail("sched_getaffinity: an empty mask");
                }
                Pinning {
                    cpus: Some(cpus.into()),
                }
            }
        }
    }

    /// The pinning of a batch run: spawn_idle and preemption accept `--placement` and ignore it
    /// (preemption pins itself to one CPU whatever it says).
    pub fn for_batch(batch: &Batch) -> Pinning {
        match batch.workload {
            Workload::SpawnIdle { .. } | Workload::Preemption { .. } => Pinning::default(),
            _ => Pinning::new(batch.placement),
        }
    }

    /// Whether threads are pinned at all.
    pub fn is_spread(&self) -> bool {
        self.cpus.is_some()
    }

    /// The CPU of `slot`, or `None` under runtime placement.
    pub fn cpu(&self, slot: usize) -> Option<usize> {
        self.cpus.as_ref().map(|cpus| cpus[slot % cpus.len()])
    }

    /// Pins the calling thread to the CPU of `slot`; nothing under runtime placement. Exits
    /// with status 1 when the kernel refuses.
    pub fn pin_current(&self, slot: usize) {
        if let Some(cpu) = self.cpu(slot) {
            // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes one bit of it,
            // and `cpu` came from a mask of CPU_SETSIZE bits.
            let rc = unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
            };
            if rc != 0 {
                fail(&format!("sched_setaffinity (CPU {cpu})"));
            }
        }
    }
}

/// The CPUs in the calling thread's affinity mask, ascending.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set that sched_getaffinity fills; CPU_ISSET
    // reads bits below CPU_SETSIZE.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            fail("sched_getaffinity");
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

fn fail(what: &str) -> ! {
    eprintln!(
        "cmbench-rust: --placement spread: {what}: {}",
        std::io::Error::last_os_error()
    );
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_pins_nothing() {
        let pinning = Pinning::new(Placement::Runtime);
        assert!(!pinning.is_spread());
        assert_eq!(pinning.cpu(3), None);
        pinning.pin_current(3);
    }

    #[test]
    fn slots_go_round_robin_over_the_mask() {
        let pinning = Pinning {
            cpus: Some(vec![2, 5, 7].into()),
        };
        let cpus: Vec<_> = (0..5).map(|s| pinning.cpu(s)).collect();
        assert_eq!(cpus, [Some(2), Some(5), Some(7), Some(2), Some(5)]);
    }

    #[test]
    fn spread_reads_the_mask_and_pins_within_it() {
        let allowed = allowed_cpus();
        let pinning = Pinning::new(Placement::Spread);
        assert_eq!(pinning.cpu(0), allowed.first().copied());
        std::thread::spawn(move || {
            pinning.pin_current(1);
            assert_eq!(allowed_cpus(), [pinning.cpu(1).unwrap()]);
        })
        .join()
        .unwrap();
    }
}
