//! What the preemption workload's implementations share: the spinner's loop and the summary of
//! the sleeps' lateness.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Loops on the CPU until `done` is set or `limit` has passed. The clock is read once every
/// 4,096 checks of the flag; nothing in the loop blocks, yields or enters the scheduler.
pub fn spin(done: &AtomicBool, limit: Duration) {
    let start = Instant::now();
    loop {
        for _ in 0..4096 {
            if done.load(Relaxed) {
                return;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= limit {
            return;
        }
    }
}

/// How much longer than `asked` a sleep that took `took` lasted, in nanoseconds (0 if shorter).
pub fn lateness(took: Duration, asked: Duration) -> u64 {
    u64::try_from(took.saturating_sub(asked).as_nanos()).unwrap_or(u64::MAX)
}

/// The result fields of one iteration: the lower median and the largest of the latenesses.
pub fn fields(sleeps: usize, mut late: Vec<u64>) -> Vec<(&'static str, u64)> {
    late.sort_unstable();
    let p50 = late
        .get(late.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0);
    let max = late.last().copied().unwrap_or(0);
    vec![
        ("sleeps", sleeps as u64),
        ("timer_late_p50", p50),
        ("timer_late_max", max),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_median_and_max() {
        let f = fields(4, vec![40, 10, 30, 20]);
        assert_eq!(
            f,
            vec![
                ("sleeps", 4),
                ("timer_late_p50", 20),
                ("timer_late_max", 40)
            ]
        );
    }

    #[test]
    fn early_wake_is_not_late() {
        assert_eq!(
            lateness(Duration::from_micros(900), Duration::from_millis(1)),
            0
        );
        assert_eq!(
            lateness(Duration::from_micros(1500), Duration::from_millis(1)),
            500_000
        );
    }

    #[test]
    fn spin_stops_at_the_limit_or_the_flag() {
        let done = AtomicBool::new(true);
        spin(&done, Duration::from_secs(60));
        let not_done = AtomicBool::new(false);
        let start = Instant::now();
        spin(&not_done, Duration::from_millis(5));
        assert!(start.elapsed() >= Duration::from_millis(5));
    }
}
