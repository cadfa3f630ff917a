//! The task computation shared by the workloads.

#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let z = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `splitmix64` applied `rounds` times to the task id.
#[inline]
pub fn task_value(id: u64, rounds: u64) -> u64 {
    (0..rounds).fold(id, |v, _| splitmix64(v))
}

/// worker_pool's result: how many task values were added, and their wrapping sum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub sum: u64,
}

impl Tally {
    #[inline]
    pub fn add(&mut self, value: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(value);
    }

    /// The tally of both parts, e.g. of two workers.
    #[inline]
    pub fn merge(self, other: Tally) -> Tally {
        Tally {
            count: self.count + other.count,
            sum: self.sum.wrapping_add(other.sum),
        }
    }
}

/// Stage `stage` of the pipeline.
#[inline]
pub fn stage(x: u64, stage: u64) -> u64 {
    x.wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(stage)
}

/// The sink's order-sensitive fold.
pub struct Fold {
    pub count: u64,
    pub sum: u64,
    pub ord: u64,
}

impl Fold {
    pub fn new() -> Self {
        Fold {
            count: 0,
            sum: 0,
            ord: 14_695_981_039_346_656_037,
        }
    }

    #[inline]
    pub fn push(&mut self, x: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(x);
        self.ord = (self.ord ^ x).wrapping_mul(1_099_511_628_211);
    }
}

impl Default for Fold {
    fn default() -> Self {
        Fold::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs of the reference SplitMix64 generator seeded with 0.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn task_value_iterates() {
        assert_eq!(task_value(7, 0), 7);
        assert_eq!(task_value(7, 2), splitmix64(splitmix64(7)));
    }

    #[test]
    fn tally_merges_with_wrapping_sum() {
        let mut a = Tally::default();
        a.add(u64::MAX);
        let mut b = Tally::default();
        b.add(2);
        b.add(3);
        assert_eq!(a.merge(b), Tally { count: 3, sum: 4 });
    }

    #[test]
    fn fold_is_order_sensitive() {
        let (mut a, mut b) = (Fold::new(), Fold::new());
        a.push(1);
        a.push(2);
        b.push(2);
        b.push(1);
        assert_eq!((a.count, a.sum), (b.count, b.sum));
        assert_ne!(a.ord, b.ord);
    }
}
