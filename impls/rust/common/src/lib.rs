//! What the Rust implementations of cmbench share: the command line of the batch workloads,
//! the task computation and the JSON lines of the batch driver.

pub mod cli;
pub mod report;
pub mod work;
