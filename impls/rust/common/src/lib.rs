//! What the Rust implementations of cmbench share: the command line of the batch workloads,
//! the task computation, the preemption workload's spinner, pinning threads under
//! `--placement spread` and the JSON lines of the batch driver.

pub mod cli;
pub mod placement;
pub mod preempt;
pub mod report;
pub mod work;
