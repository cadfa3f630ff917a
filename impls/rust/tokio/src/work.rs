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
