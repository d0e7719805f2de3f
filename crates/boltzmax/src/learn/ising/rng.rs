//! Per-stream generators and uniforms, so that every result depends on
//! `(seed, stream)` only, never on the number of threads.
//!
//! Temporary home until `boltzmax::sample` ships its portable generator;
//! the rules are the same: xoshiro256++ (portable, stable), seeded from a
//! SplitMix64 hash of `(seed, stream)`, and uniforms built from the top 53
//! bits ourselves rather than through `rand`'s float conversion, whose
//! output may change between versions.

use rand::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// SplitMix64's finaliser: a bijective 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of stream `stream` under `seed`: distinct streams get
/// unrelated states (their seeds pass through two rounds of SplitMix64).
pub fn stream_rng(seed: u64, stream: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(mix(seed ^ mix(stream.wrapping_add(0x5851_F42D_4C95_7F2D))))
}

/// A uniform in `[0, 1)` with 53 random bits.
#[inline(always)]
pub fn uniform<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform index in `0..n` (Lemire's multiply-shift; the bias is below
/// `n / 2^64`, far under anything a simulation can see).
#[inline(always)]
pub fn index<R: RngCore + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}
