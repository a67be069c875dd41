//! The order of an epoch's samples: a pure function of (seed, epoch), with its own small
//! generator, so a checkpoint that records the seed, the epoch and the position within it
//! restores the shuffle exactly, on any version of rand. Never sees a model or a dataset.

/// SplitMix64 (Steele, Lea & Flood 2014; the seeding generator of xoshiro): a 64-bit state
/// advanced by a constant and scrambled. Small, fast, and fully specified here.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`, by Lemire's multiply-shift (its bias, below `bound / 2⁶⁴`, is
    /// far below anything a shuffle of memory-sized data could show).
    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

/// The order in which epoch `epoch` of a run seeded with `seed` visits `n` samples: a
/// permutation of `0..n`, a pure function of its three arguments.
///
/// A Fisher–Yates shuffle driven by SplitMix64, seeded from `seed` and `epoch` through two
/// rounds of SplitMix64 so that neighbouring seeds and epochs give unrelated orders. The
/// [`Trainer`](super::Trainer) takes batch `j` of epoch `e` as positions `j·B .. (j+1)·B` of
/// `epoch_order(seed, e, n)`, and drops the last `n mod B` positions.
///
/// ```
/// use chainrule::train::epoch_order;
///
/// let order = epoch_order(7, 0, 10);
/// let mut sorted = order.clone();
/// sorted.sort();
/// assert_eq!(sorted, (0..10).collect::<Vec<_>>());
/// assert_eq!(order, epoch_order(7, 0, 10)); // pure
/// assert_ne!(order, epoch_order(7, 1, 10)); // a new order each epoch
/// ```
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let run = SplitMix64(seed).next_u64();
    let mut rng = SplitMix64(run ^ SplitMix64(epoch as u64).next_u64());
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // The first outputs for seed 1234567 of Vigna's C reference, `splitmix64.c`.
        let mut rng = SplitMix64(1234567);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            first,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423
            ]
        );
    }

    #[test]
    fn every_position_is_equally_likely() {
        // Where sample 0 lands, over many epochs of a 4-sample shuffle.
        let mut counts = [0usize; 4];
        for epoch in 0..4000 {
            counts[epoch_order(3, epoch, 4)
                .iter()
                .position(|&s| s == 0)
                .unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| (900..1100).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn tiny_orders_are_permutations() {
        assert!(epoch_order(0, 0, 0).is_empty());
        assert_eq!(epoch_order(0, 5, 1), [0]);
    }
}
