//! Portable randomness: a named generator, our own bits-to-float
//! conversion, and per-stream seeding.
//!
//! # Value stability
//!
//! Everything in this file is pinned: the same `(seed, stream)` gives the
//! same generator state, and the same `u64` gives the same float, on every
//! platform and in every boltzmax 0.x release, independent of the `rand`
//! version. (The generator's algorithm is fixed by its name,
//! xoshiro256++; `rand`'s own float conversions and `StdRng` may change in
//! minor releases, which is why we do not use them where a golden output
//! depends on them.) `tests/sample_stability.rs` pins exact values.
//!
//! # Why an open interval
//!
//! Gumbel noise is `-ln(-ln u)` and exponential noise `-ln u`. A uniform
//! that can be exactly 0 or 1 turns either into an infinity; a uniform
//! with only 24 bits (the usual f32 conversion) never falls below 2^-24,
//! which cuts off both tails at that probability. The f64 conversion here
//! has 53 bits and never returns 0 or 1, so the tails are cut only at
//! probability 2^-53.

use rand::{RngCore, SeedableRng};
pub use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator every boltzmax sampler is tested with: xoshiro256++, a
/// named algorithm with a portable, documented output sequence.
///
/// Any `rand::Rng` can be passed to the samplers; this one is what
/// [`stream_rng`] returns and what the value-stability tests pin.
pub type PortableRng = Xoshiro256PlusPlus;

/// 2^-53, the grid step of [`open01`].
const STEP_F64: f64 = 1.0 / (1u64 << 53) as f64;
/// 2^-24, the grid step of [`open01_f32`].
const STEP_F32: f32 = 1.0 / (1u32 << 24) as f32;

/// A uniform `f64` on the open interval (0, 1) from the top 53 bits of `x`.
///
/// With `k = x >> 11`, the result is `k * 2^-53`, except that `k = 0` (one
/// value in 2^53) gives `2^-54`: each value stands for the cell
/// `[k 2^-53, (k+1) 2^-53)`, represented by its left end, except the
/// first cell, represented by its midpoint so that the result is never 0.
/// The largest value is `1 - 2^-53`, so the result is never 1 either.
/// Every result is exact (no rounding), so `P(u <= t)` is within 2^-53 of
/// `t` for every `t`.
///
/// ```
/// use boltzmax::sample::open01;
/// assert_eq!(open01(0), 2f64.powi(-54));
/// assert_eq!(open01(u64::MAX), 1.0 - 2f64.powi(-53));
/// assert_eq!(open01(1 << 63), 0.5);
/// ```
#[inline(always)]
pub fn open01(x: u64) -> f64 {
    let k = x >> 11;
    // Branch-free: adds 0.5 to k only when k == 0.
    let half = ((k == 0) as u64) as f64 * 0.5;
    (k as f64 + half) * STEP_F64
}

/// A uniform `f32` on the open interval (0, 1) from the top 24 bits of `x`:
/// `k * 2^-24` with `k = x >> 40`, and `2^-25` for `k = 0`.
///
/// Its tails are cut at probability 2^-24 (smallest value 2^-25, largest
/// `1 - 2^-24`): the samplers in this module use [`open01`] (53 bits)
/// for both `f32` and `f64` logits. Use this one where `f32` noise is
/// wanted and that resolution is enough.
///
/// ```
/// use boltzmax::sample::open01_f32;
/// assert_eq!(open01_f32(0), 2f32.powi(-25));
/// assert_eq!(open01_f32(u64::MAX), 1.0 - 2f32.powi(-24));
/// ```
#[inline(always)]
pub fn open01_f32(x: u64) -> f32 {
    let k = (x >> 40) as u32;
    let half = ((k == 0) as u32) as f32 * 0.5;
    (k as f32 + half) * STEP_F32
}

/// A uniform on (0, 1) with 53 bits from one `next_u64()` of `rng`
/// (see [`open01`]).
#[inline(always)]
pub fn uniform<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    open01(rng.next_u64())
}

/// A standard exponential variate `-ln u`, `u` from [`uniform`]: in
/// `[1.1e-16, 37.4]`, never 0 or infinite.
#[inline(always)]
pub fn exponential<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    -uniform(rng).ln()
}

/// A standard Gumbel variate `-ln(-ln u)`, `u` from [`uniform`]: in
/// `[-3.63, 36.74]`, never infinite.
#[inline(always)]
pub fn gumbel<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    -(-uniform(rng).ln()).ln()
}

/// SplitMix64 (Steele, Lea and Flood, 2014), the generator used to expand
/// a 64-bit seed into a xoshiro state, as its authors recommend.
///
/// Its state after `n` steps is `seed + n * GAMMA`, so any position in its
/// sequence is reached in O(1): [`stream_rng`] uses that.
///
/// ```
/// use boltzmax::sample::SplitMix64;
/// let mut s = SplitMix64::new(0);
/// // The published first output for seed 0.
/// assert_eq!(s.next_u64(), 0xe220a8397b1dcdaf);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The golden-ratio increment.
    pub const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

    /// A generator whose next output is the first of the sequence for `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// Skips `n` outputs in O(1).
    pub fn skip(&mut self, n: u64) {
        self.state = self.state.wrapping_add(n.wrapping_mul(Self::GAMMA));
    }

    /// The next output.
    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The generator for stream `stream` (a row, an environment, a chain) of a
/// run seeded with `seed`.
///
/// Its xoshiro256++ state is outputs `4 stream .. 4 stream + 3` of
/// [`SplitMix64`] seeded with `seed`. SplitMix64's output function is a
/// bijection of its counter, so different streams of one seed (up to
/// 2^62 of them) never share a state word, and no state is all zeros.
/// Stream 0 equals `Xoshiro256PlusPlus::seed_from_u64(seed)`.
///
/// Giving each row (or each task) its own stream makes a parallel run
/// draw exactly what a sequential one draws, whatever the number of
/// threads and however work is split among them.
///
/// ```
/// use boltzmax::sample::{stream_rng, PortableRng};
/// use rand::{RngCore, SeedableRng};
/// let mut a = stream_rng(42, 0);
/// let mut b = PortableRng::seed_from_u64(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert_ne!(stream_rng(42, 1).next_u64(), stream_rng(42, 2).next_u64());
/// ```
pub fn stream_rng(seed: u64, stream: u64) -> PortableRng {
    let mut sm = SplitMix64::new(seed);
    sm.skip(stream.wrapping_mul(4));
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_exact_mut(8) {
        chunk.copy_from_slice(&sm.next_u64().to_le_bytes());
    }
    PortableRng::from_seed(bytes)
}
