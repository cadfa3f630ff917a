//! What the Rust implementations of cmbench share: the command line of the batch workloads,
//! the task computation, the preemption workload's spinner and the JSON lines of the batch
//! driver.

pub mod cli;
pub mod preempt;
pub mod report;
pub mod work;
