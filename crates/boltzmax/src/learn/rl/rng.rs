//! The few random draws the RL code needs, written on raw `u64`s so that
//! results are the same on every platform and every `rand` minor version.
//!
//! Uniforms, Gumbel noise and per-run seeding come from
//! [`crate::sample`]; the normal (ziggurat), Gamma and Beta draws that
//! only the RL code needs live here.

use rand::Rng;

use super::fastmath::{dispatch, ln_pos};
pub use crate::sample::stream_rng;

/// A uniform draw in the open interval (0, 1) with 53 random bits
/// ([`crate::sample::uniform`]): never 0, never 1, so its logarithm is
/// always finite.
#[inline]
pub(crate) fn uniform_open<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    crate::sample::uniform(rng)
}

/// A uniform index in `0..n` (`n >= 1`) by Lemire's multiply-shift, which
/// is unbiased to within `n / 2^64`: negligible for the arm and action
/// counts used here.
#[inline]
pub(crate) fn index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// A standard normal draw by the 256-layer ziggurat of Marsaglia and Tsang
/// (2000), tables in [`super::ziggurat`].
///
/// One `next_u64()` gives the layer (its low 8 bits), the sign (bit 8)
/// and the position in the layer (its top 53 bits); 98.8% of draws end
/// there, with one multiplication and one comparison. The rest fall in a
/// wedge (accepted by comparing a second uniform with `exp(-x^2 / 2)`)
/// or, from the base layer, in the tail beyond `r = 3.654`, drawn by
/// Marsaglia's exponential rejection; a rejected wedge point starts over.
/// About 1.02 `u64`s per draw on average, no logarithm or cosine on the
/// fast path (Box-Muller needs both: this is about 5x faster).
#[inline]
pub(crate) fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    use super::ziggurat::X;
    loop {
        let bits = rng.next_u64();
        let i = (bits & 0xff) as usize;
        // [0, 1) on the 2^-53 grid; 0 gives x = 0, a valid normal draw.
        let u = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let x = u * X[i];
        // Bit 8 becomes the sign bit of x (>= 0 here).
        let sign = (bits & 0x100) << 55;
        if x < X[i + 1] {
            return f64::from_bits(x.to_bits() | sign);
        }
        if let Some(z) = normal_slow(rng, i, x) {
            return f64::from_bits(z.to_bits() | sign);
        }
    }
}

/// The ziggurat's rare cases (1.2% of draws): `x` fell outside the
/// rectangle of layer `i` that lies wholly under the curve. Returns the
/// magnitude of the draw, or `None` to start over.
#[cold]
#[inline(never)]
fn normal_slow<R: Rng + ?Sized>(rng: &mut R, i: usize, x: f64) -> Option<f64> {
    use super::ziggurat::{F, R as TAIL};
    wedge_or_tail(rng, i, x, &F, TAIL)
}

/// [`normal_slow`] for a ziggurat given by its heights `F = exp(-X^2 / 2)`
/// and tail start `r` (the 256-layer one, or [`super::ziggurat1024`]'s).
#[inline(always)]
fn wedge_or_tail<R: Rng + ?Sized>(
    rng: &mut R,
    i: usize,
    x: f64,
    heights: &[f64],
    tail: f64,
) -> Option<f64> {
    if i == 0 {
        // Beyond r in the base layer: the tail, by Marsaglia (1964):
        // a = E1 / r, accepted when 2 E2 > a^2, gives r + a with the
        // density of the normal tail.
        loop {
            let a = -uniform_open(rng).ln() / tail;
            let e = -uniform_open(rng).ln();
            if e + e > a * a {
                return Some(tail + a);
            }
        }
    }
    // The wedge between the layer's inner rectangle and the curve: a
    // uniform height in [F[i], F[i + 1]] under exp(-x^2 / 2) accepts x.
    let y = heights[i] + uniform_open(rng) * (heights[i + 1] - heights[i]);
    (y < (-0.5 * x * x).exp()).then_some(x)
}

/// A standard exponential draw, strictly positive, by the 256-layer
/// ziggurat of Marsaglia and Tsang (2000), tables in [`super::ziggurat`].
///
/// One `next_u64()` gives the layer (its low 8 bits) and the position in
/// it (its top 53 bits, at the midpoints of a 2^-53 grid, so never 0);
/// 98.9% of draws end there, without a logarithm. The rest fall in a
/// wedge (a second uniform against `exp(-x)`) or, from the base layer,
/// beyond `r = 7.697`, where the tail is `r` plus a fresh exponential
/// (`r - ln u`: the exponential forgets its past).
#[inline]
pub(crate) fn standard_exponential<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    use super::ziggurat::EXP_X;
    loop {
        let bits = rng.next_u64();
        let i = (bits & 0xff) as usize;
        let u = ((bits >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
        let x = u * EXP_X[i];
        if x < EXP_X[i + 1] {
            return x;
        }
        if let Some(e) = exponential_slow(rng, i, x) {
            return e;
        }
    }
}

/// The exponential ziggurat's rare cases (1.1% of draws), as
/// [`normal_slow`].
#[cold]
#[inline(never)]
fn exponential_slow<R: Rng + ?Sized>(rng: &mut R, i: usize, x: f64) -> Option<f64> {
    use super::ziggurat::{EXP_F, EXP_R};
    if i == 0 {
        return Some(EXP_R - uniform_open(rng).ln());
    }
    let y = EXP_F[i] + uniform_open(rng) * (EXP_F[i + 1] - EXP_F[i]);
    (y < (-x).exp()).then_some(x)
}

/// The constants of a Marsaglia-Tsang Gamma(shape, 1) sampler,
/// `d = s - 1/3` and `c = 1 / sqrt(9 d)` for `s = shape` (or `shape + 1`
/// when `shape < 1`), computed once per shape: the posterior of a
/// Thompson sampler changes one arm per step, so its 2K shapes need not
/// pay a square root and a division at every draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GammaShape {
    shape: f64,
    d: f64,
    c: f64,
}

impl GammaShape {
    /// Marsaglia-Tsang's `d` for `shape`.
    #[inline]
    fn d_of(shape: f64) -> f64 {
        let s = if shape < 1.0 { shape + 1.0 } else { shape };
        s - 1.0 / 3.0
    }

    /// The sampler for `Gamma(shape, 1)`, `shape > 0`.
    #[inline]
    pub(crate) fn new(shape: f64) -> Self {
        let d = Self::d_of(shape);
        GammaShape {
            shape,
            d,
            c: 1.0 / (9.0 * d).sqrt(),
        }
    }

    /// Marsaglia and Tsang's test of a proposal `z` (with `v = 1 + c z >
    /// 0`) against the uniform `u`: the squeeze `u < 1 - 0.0331 z^4`,
    /// [`squeeze_q`]'s, else the logarithmic test
    /// `ln u < z^2 / 2 + d (1 - v^3 + ln v^3)`. The logarithm is
    /// [`ln_pos`] (the same bits on every platform).
    #[inline]
    fn accepts(&self, z: f64, u: f64, v: f64) -> bool {
        let (d, c) = (self.d, self.c);
        let v3 = v * v * v;
        let z2 = z * z;
        u < 1.0 - 0.0331 * z2 * z2
            || u < 1.0 - squeeze_q(c * z, d)
            || ln_pos(u) < 0.5 * z2 + d * (1.0 - v3 + ln_pos(v3))
    }

    /// True when Marsaglia and Tsang's test certainly rejects `z`, `u`
    /// (with `v = 1 + c z > 0`), found without logarithms: a lower bound
    /// on `ln u`, `-(w + w^2/2 + w^3/(3u))` with `w = 1 - u` (the series of
    /// `ln(1 - w)`, its tail summed as a geometric series), above an upper
    /// bound on the right-hand side `d f(t)`: `-d t^4 (0.75 - 0.6 t)` for
    /// `0 <= t < 0.99`, `-d t^4 (0.75 + 0.6 s + 0.5 s^2)` for `t = -s < 0`
    /// (the series of [`squeeze_q`]'s `f`, cut), `t = c z`. The margin,
    /// `1e-9` relative and `1e-12 (1 + d)` absolute, is far above the
    /// rounding of [`GammaShape::accepts`]' own `f64` evaluation (a few
    /// `1e-16 (d + |ln u| + z^2)`), so a lane rejected here is one that
    /// `accepts` rejects too: the same decisions, without its two
    /// logarithms for the ~60% of undecided lanes that are rejections.
    #[inline]
    fn surely_rejects(&self, z: f64, u: f64) -> bool {
        self.rejects_with(z, u, 1e-9)
    }

    /// [`GammaShape::surely_rejects`] with the relative margin `slack`.
    #[inline]
    fn rejects_with(&self, z: f64, u: f64, slack: f64) -> bool {
        let t = self.c * z;
        if t >= 0.99 {
            return false;
        }
        let w = 1.0 - u;
        let ww = w * w;
        let upper_neg_ln_u = w + 0.5 * ww + ww * w / (3.0 * u);
        let p = 0.75 - 0.6 * t + if t < 0.0 { 0.5 * t * t } else { 0.0 };
        let t2 = t * t;
        let x = self.d * (t2 * t2) * p;
        upper_neg_ln_u < x * (1.0 - slack) - 1e-12 * (1.0 + self.d)
    }

    /// Marsaglia and Tsang's rejection loop for `Gamma(s, 1)` (`s` the
    /// shape, or shape + 1 below 1) from a first proposal `z`, tested by
    /// [`GammaShape::accepts`]; a rejection starts over with a fresh
    /// normal.
    #[inline]
    fn draw_core<R: Rng + ?Sized>(&self, rng: &mut R, mut z: f64) -> f64 {
        loop {
            let v = 1.0 + self.c * z;
            if v > 0.0 {
                let u = uniform_open(rng);
                if self.accepts(z, u, v) {
                    return self.d * (v * v * v);
                }
            }
            z = standard_normal(rng);
        }
    }

    /// `g U^(1/shape)` for shapes below 1 (where `g ~ Gamma(shape + 1)`),
    /// `g` itself otherwise.
    #[inline]
    fn boost<R: Rng + ?Sized>(&self, rng: &mut R, g: f64) -> f64 {
        if self.shape < 1.0 {
            g * uniform_open(rng).powf(1.0 / self.shape)
        } else {
            g
        }
    }
}

/// Lanes per block of [`GammaBatch`]'s first pass: the SplitMix64 states
/// fill one AVX-512 register (the `f32` work half of one); blocks of 16
/// measured slower on the testbed's 20 lanes (12 of 32 wasted).
const FLANES: usize = 8;

/// Above this `d` a lane skips the `f32` squeezes (its `c` is stored as
/// NaN, which fails them) and takes the `f64` test: it keeps `d` and
/// `k d t^4` far from `f32` overflow and the underflow of `t^4` harmless
/// (an absolute error below `1.5 d 2^-149`). No Thompson posterior gets
/// near it.
const D32_MAX: f64 = 1152921504606846976.0; // 2^60

/// The `f32` constants of a lane for Marsaglia-Tsang's `d`: `d` rounded
/// to nearest and `c = 1 / sqrt(9 d)` computed from it in `f32` (three
/// more roundings: within `3 * 2^-24` of the exact `c`, which
/// [`squeeze32`]'s bound allows for), or `c = NaN` (the `f64` path)
/// beyond [`D32_MAX`]. In `f32` because `update` pays it for every
/// changed shape; the `f64` constants are recomputed by the rare lanes
/// that need them.
#[inline]
fn shape32(d: f64) -> (f32, f32) {
    if d <= D32_MAX {
        let d32 = d as f32;
        (d32, 1.0 / (9.0 * d32).sqrt())
    } else {
        (1.0, f32::NAN)
    }
}

/// The `f32` ziggurat of the first pass, 1024 layers
/// ([`super::ziggurat1024`]), one `u64` per layer `i` (one gather): the low
/// half is layer `i`'s width `X[i]` rounded to `f32`, the high half `K[i] =
/// ceil(2^24 X[i + 1] / X[i])`, so that a position `m` (24 bits) lies in
/// the layer's inner rectangle, `m 2^-24 X[i] < X[i + 1]`, exactly when `m
/// < K[i]` (an integer comparison, no rounding: `zig32_table_is_exact`
/// checks that no quotient is within 1e-6 of an integer, so `f64` division
/// decides it). Points outside go to the `f64` wedge and tail
/// ([`wedge_or_tail`]) with `x = m 2^-24 X[i]` in `f64`; a fast point's
/// value is `m 2^-24 X[i]` rounded to `f32`.
const fn zig32_table() -> [u64; ZLAYERS] {
    use super::ziggurat1024::X;
    let mut t = [0u64; ZLAYERS];
    let mut i = 0;
    while i < ZLAYERS {
        let q = X[i + 1] / X[i] * 16_777_216.0;
        let k = q as u32;
        let k = if (k as f64) < q { k + 1 } else { k };
        t[i] = ((k as u64) << 32) | (X[i] as f32).to_bits() as u64;
        i += 1;
    }
    t
}

/// Layers of the first pass's ziggurat.
const ZLAYERS: usize = 1024;

static ZTAB: [u64; ZLAYERS] = zig32_table();

/// A lane's proposal from its `u64`: the ziggurat's layer `i` (10 bits:
/// bits 0-7 and 56-57) and position `m` (bits 8-31), the sign (bit 63)
/// and the uniform, `u = (k + 1) 2^-24` for the 24 bits `k` (bits
/// 32-55), exact in `f32` and `f64`, in (0, 1]. Returns `i`, `m`,
/// whether the point is in the fast rectangle, the `f32` normal `z` and
/// `u`.
#[inline(always)]
fn zig32_point(bits: u64) -> (usize, u32, bool, f32, f32) {
    let lo = bits as u32;
    let hi = (bits >> 32) as u32;
    let i = ((lo & 0xff) | ((hi >> 16) & 0x300)) as usize;
    let m = lo >> 8;
    let e = ZTAB[i];
    let x = m as f32 * (1.0 / (1u32 << 24) as f32) * f32::from_bits(e as u32);
    let z = f32::from_bits(x.to_bits() | (hi & 0x8000_0000));
    let u = ((hi & 0xff_ffff) + 1) as f32 * (1.0 / (1u32 << 24) as f32);
    (i, m, m < (e >> 32) as u32, z, u)
}

/// `1 - 2^-18`: a lane is accepted in `f32` when `fl(u + q) <= SQUEEZE_T`
/// (see [`squeeze32`]).
const SQUEEZE_T: f32 = 1.0 - 1.0 / (1u32 << 18) as f32;

/// Marsaglia and Tsang's two squeezes in `f32`, `u < 1 - q` with
/// `q = min(0.0331 z^4, k d t^4)` ([`squeeze_q`], `t = c z`), accepted
/// only where they hold with a margin that covers the rounding, so that
/// an accepted lane satisfies the exact (real-number) squeeze for the
/// `f64` `c` and `d`, hence the exact test.
///
/// The bound, with `e = 2^-24` (every `f32` operation's relative error,
/// results normal; `u = (k + 1) 2^-24` and `z` are exact, being the
/// proposal): `d` is rounded once (`1 e`), `c` computed from it
/// ([`shape32`]: `9 d`, the square root, the division: within `3 e`),
/// `t = c z` one more (`4 e`), `t^2` doubles `t`'s error and adds one
/// (`9 e`), `t^4` likewise (`19 e`), `k d` one rounding on top of `d`'s
/// (`2 e`; `k` is exact) and the product one more: `q2` is within
/// `(1 + e)^22 - 1 < 22.01 e` of its exact value, relatively. `q1 =
/// 0.0331 z^4`: the constant, `z^2`, `z^4` and the product, `5 e`.
/// (Underflow of `t^4` for tiny `t` adds at most `1.5 d 2^-149 < 2^-88`
/// absolutely, as `d <= 2^60`.) The sum `S = fl(u + q)` adds `1 e`
/// relatively. So `S <= 1 - 64 e` gives, for the exact `q` (below 1, as
/// `u > 0`), `u + q <= (1 - 64 e)(1 + 1.01 e) + 22.02 e < 1 - 40 e`: the
/// real squeeze holds, the margin being 2.8 times what the bound needs.
/// (Measured: without a margin the check in the tests finds violations;
/// with `2 e` it finds none.) The `k = 1.5` branch is taken for
/// `t >= -0.49`, so that the real `t` (within `4 e` of it) stays in the
/// `t >= -1/2` where that bound was derived. Lanes within the margin
/// (about 1e-6 of them) or failing both squeezes are not rejected here:
/// they go to the exact `f64` test.
#[inline(always)]
fn squeeze32(z: f32, u: f32, c: f32, d: f32, thr: f32) -> bool {
    let zz = z * z;
    let q1 = 0.0331f32 * (zz * zz);
    let t = c * z;
    let t2 = t * t;
    let k = if z >= 0.0 {
        0.75f32
    } else if t >= -0.49 {
        1.5
    } else {
        f32::INFINITY
    };
    let q2 = (k * d) * (t2 * t2);
    // A NaN `c` (the f64-only lanes) makes q2, hence q, NaN: not accepted.
    let q = if q1 < q2 { q1 } else { q2 };
    u + q <= thr
}

/// One lane of the first pass: the `f32` value `d (1 + c z)^3` and its
/// flag, 0 (accepted by [`squeeze32`]), 1 (not decided: the exact `f64`
/// test) or 2 and 3 (the ziggurat point is outside the fast rectangles).
#[inline(always)]
fn lane32(bits: u64, c: f32, d: f32) -> (f32, u8) {
    let (_, _, fast, z, u) = zig32_point(bits);
    let v = 1.0 + c * z;
    let g = d * (v * v * v);
    let acc = squeeze32(z, u, c, d, SQUEEZE_T);
    (g, u8::from(!acc) | (u8::from(!fast) << 1))
}

/// The lanes of a [`GammaBatch`], padded to a multiple of [`FLANES`] with
/// the constants of shape 1: Marsaglia-Tsang's `d` and `c` in `f32`
/// ([`shape32`]), the draws `g`, the first pass's flags
/// ([`lane32`]) and per block a bit for each lane whose first attempt
/// did not finish there.
#[derive(Debug, Clone)]
pub(crate) struct Lanes {
    d32: Vec<f32>,
    c32: Vec<f32>,
    g: Vec<f64>,
    flag: Vec<u8>,
    redo: Vec<u8>,
}

/// [`first_pass`] on the fields of `s`.
#[inline]
fn gamma_first(key: u64, s: &mut Lanes) {
    gamma_first_attempt(key, &s.d32, &s.c32, &mut s.g, &mut s.flag, &mut s.redo);
}

/// The first Marsaglia-Tsang attempt of every lane in `f32`, a block of
/// [`FLANES`] at a time: lane `j` takes output `j` of the SplitMix64
/// keyed by `key` (states stepped from the block's base by the constants
/// `l GAMMA`) and runs [`lane32`]; `redo` gets a bit for each lane that
/// it did not accept. (Separate slices, not `Lanes`: `&mut` arguments do
/// not alias, which the loop vectoriser needs.)
#[inline(always)]
fn first_pass(key: u64, d32: &[f32], c32: &[f32], g: &mut [f64], flag: &mut [u8], redo: &mut [u8]) {
    let p = d32.len();
    assert!(p.is_multiple_of(FLANES) && c32.len() == p && g.len() == p && flag.len() == p);
    assert!(redo.len() * FLANES == p);
    let gamma = crate::sample::SplitMix64::GAMMA;
    // Two passes over plain arrays, so that the vectoriser takes the
    // first (one AVX-512 iteration a block).
    for blk in 0..p / FLANES {
        let lo = blk * FLANES;
        let base = key.wrapping_add((lo as u64 + 1).wrapping_mul(gamma));
        let d32: &[f32; FLANES] = d32[lo..lo + FLANES].try_into().expect("block");
        let c32: &[f32; FLANES] = c32[lo..lo + FLANES].try_into().expect("block");
        let gb: &mut [f64; FLANES] = (&mut g[lo..lo + FLANES]).try_into().expect("block");
        let fl: &mut [u8; FLANES] = (&mut flag[lo..lo + FLANES]).try_into().expect("block");
        for l in 0..FLANES {
            let bits = splitmix_mix(base.wrapping_add((l as u64).wrapping_mul(gamma)));
            let (gl, f) = lane32(bits, c32[l], d32[l]);
            gb[l] = f64::from(gl);
            fl[l] = f;
        }
    }
    for (r, fl) in redo.iter_mut().zip(flag.chunks_exact(FLANES)) {
        // Bits 0 and 1 of each byte folded to bit 0 (flag != 0); the
        // multiplication gathers the eight bits into the top byte, lane l
        // at bit l.
        let word = u64::from_le_bytes(fl.try_into().expect("block"));
        let nz = (word | (word >> 1)) & 0x0101_0101_0101_0101;
        *r = (nz.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8;
    }
}

dispatch!(gamma_first_attempt, first_pass, (key: u64, d32: &[f32], c32: &[f32], g: &mut [f64], flag: &mut [u8], redo: &mut [u8]));

/// Output `n` (from 0) of [`crate::sample::SplitMix64`] seeded with `key`:
/// the generator's state after `n + 1` steps is `key + (n + 1) GAMMA`, so
/// every output is computed independently of the others (a counter-based
/// generator), many lanes at a time.
#[inline(always)]
fn splitmix_at(key: u64, n: u64) -> u64 {
    splitmix_mix(
        key.wrapping_add(
            n.wrapping_add(1)
                .wrapping_mul(crate::sample::SplitMix64::GAMMA),
        ),
    )
}

/// SplitMix64's output function of a state.
#[inline(always)]
fn splitmix_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Many Gamma(shape_j, 1) draws at once, one per shape: Marsaglia and
/// Tsang (2000) with ziggurat normals, its first attempt for every shape
/// computed in `f32` vector lanes, every accept/reject
/// decision exact, the rare cases finished in `f64` one at a time.
///
/// A draw of the whole batch takes one `u64` `key` from the caller's
/// generator and uses [`crate::sample::SplitMix64`] seeded with `key` as a
/// counter-based generator: shape `j` takes output `j`, which gives its
/// first proposal (an `f32` ziggurat normal `z`, [`zig32_point`]) and its
/// uniform `u` (24 bits). In `f32` a lane is accepted only when one of
/// Marsaglia and Tsang's squeezes holds with a margin covering the `f32`
/// rounding ([`squeeze32`]); the value is then `d (1 + c z)^3` computed
/// in `f32`. Every other lane is finished in `f64` from the caller's
/// generator, in shape order: a ziggurat point outside the fast
/// rectangles (0.43% of points: the ziggurat has 1024 layers) continues
/// into the ziggurat's wedge or tail ([`wedge_or_tail`], at the position
/// computed in `f64`; its unused uniform is dropped); a fast point takes
/// the exact test ([`GammaShape::accepts`]) on the same `z` and `u`, and a
/// rejected proposal starts over ([`GammaShape::draw_core`]). About 2.6%
/// of lanes take that path on the 10-armed testbed (0.44 undecided and
/// 0.09 slow points of its 20 lanes a step).
///
/// So the accept/reject decisions are Marsaglia and Tsang's exact ones,
/// and what is `f32` is the resolution of the first proposal (its
/// normal's position in the layer has 24 random bits and its value is
/// rounded to `f32`, its uniform has 24 bits) and the rounding of the
/// accepted value, computed in `f32` (`c` within `3 e` and `t = c z`
/// within `4 e`, `e = 2^-24`, give a relative error below
/// `12 e |t| / v + 7 e` with `v = 1 + t`: below `19 e` where
/// `v >= 1/2`, and `v >= 0.043` for any lane the squeezes accept):
/// exact in distribution up to `f32` rounding of the variate, the
/// standard of numpy's `standard_gamma(dtype=float32)`, whose own test is
/// in `f32` too. Draws are independent.
///
/// Why: Thompson sampling draws 2K Gamma variates per step (a Beta as
/// `X / (X + Y)`); in `f64` lanes of 8 with two SplitMix64 outputs per
/// lane this first pass was 60% of the 10-armed testbed's time.
#[derive(Debug, Clone)]
pub(crate) struct GammaBatch {
    /// The shapes, `n` of them.
    shape: Vec<f64>,
    /// How many shapes are below 1 (those need `U^(1/shape)`).
    below_one: usize,
    lanes: Lanes,
}

impl GammaBatch {
    /// A batch for `shapes` (each finite and > 0).
    pub(crate) fn new(shapes: &[f64]) -> Self {
        let n = shapes.len();
        let p = n.next_multiple_of(FLANES);
        let (d1, c1) = shape32(GammaShape::new(1.0).d);
        let mut b = GammaBatch {
            shape: vec![1.0; n],
            below_one: 0,
            lanes: Lanes {
                d32: vec![d1; p],
                c32: vec![c1; p],
                g: vec![0.0; p],
                flag: vec![0; p],
                redo: vec![0; p / FLANES],
            },
        };
        for (j, &s) in shapes.iter().enumerate() {
            b.set(j, s);
        }
        b
    }

    /// Sets shape `j` (finite, > 0).
    #[inline]
    pub(crate) fn set(&mut self, j: usize, shape: f64) {
        self.below_one -= usize::from(self.shape[j] < 1.0);
        self.below_one += usize::from(shape < 1.0);
        self.shape[j] = shape;
        (self.lanes.d32[j], self.lanes.c32[j]) = shape32(GammaShape::d_of(shape));
    }

    /// One draw of every shape; the result has one entry per shape.
    pub(crate) fn draw<R: Rng + ?Sized>(&mut self, rng: &mut R) -> &[f64] {
        let key = rng.next_u64();
        gamma_first(key, &mut self.lanes);
        self.finish(rng, key)
    }

    /// [`GammaBatch::draw`] of two batches with their own generators,
    /// both vector passes first: the same draws as `a.draw(ra)` then
    /// `b.draw(rb)` (each generator is used in the same order), but the
    /// second pass does not wait behind the first batch's lanes finished
    /// one at a time (whose loop entry is mispredicted in about half the
    /// steps), so the two overlap.
    pub(crate) fn draw_pair<'a, R: Rng + ?Sized>(
        a: &'a mut Self,
        b: &'a mut Self,
        ra: &mut R,
        rb: &mut R,
    ) -> (&'a [f64], &'a [f64]) {
        let (ka, kb) = (ra.next_u64(), rb.next_u64());
        gamma_first(ka, &mut a.lanes);
        gamma_first(kb, &mut b.lanes);
        (a.finish(ra, ka), b.finish(rb, kb))
    }

    /// The lanes the first pass keyed by `key` left undecided, finished
    /// from `rng`, then the boost of shapes below 1.
    fn finish<R: Rng + ?Sized>(&mut self, rng: &mut R, key: u64) -> &[f64] {
        let n = self.shape.len();
        for blk in 0..self.lanes.redo.len() {
            let mut mask = self.lanes.redo[blk];
            while mask != 0 {
                let j = blk * FLANES + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                if j >= n {
                    break;
                }
                let s = GammaShape::new(self.shape[j]);
                self.lanes.g[j] = finish_lane(&s, rng, key, j);
            }
        }
        if self.below_one > 0 {
            for j in 0..n {
                let s = GammaShape::new(self.shape[j]);
                self.lanes.g[j] = s.boost(rng, self.lanes.g[j]);
            }
        }
        &self.lanes.g[..n]
    }
}

/// A lane whose first attempt did not finish, continued in `f64` from
/// `rng`: its proposal is rebuilt from output `j` of the key's
/// SplitMix64, bit for bit as the first pass built it. A ziggurat point
/// outside the fast rectangles continues into the wedge or tail; a
/// proposal the exact test rejected starts over.
#[cold]
#[inline(never)]
fn finish_lane<R: Rng + ?Sized>(s: &GammaShape, rng: &mut R, key: u64, j: usize) -> f64 {
    let bits = splitmix_at(key, j as u64);
    let (i, m, fast, z, u) = zig32_point(bits);
    if fast {
        // The squeezes could not decide in f32: the exact test on the
        // same proposal (z and u are exact in f64).
        let (z, u) = (f64::from(z), f64::from(u));
        let v = 1.0 + s.c * z;
        if v > 0.0 && !s.surely_rejects(z, u) && s.accepts(z, u, v) {
            return s.d * (v * v * v);
        }
        let z = standard_normal(rng);
        return s.draw_core(rng, z);
    }
    // The ziggurat point is outside the fast rectangles: its wedge or
    // tail, in f64, as `standard_normal` continues (on the 1024-layer
    // tables; a wedge that rejects starts over with `standard_normal`,
    // which draws the same distribution).
    use super::ziggurat1024::{F, R as TAIL, X};
    let x = f64::from(m) * (1.0 / (1u32 << 24) as f64) * X[i];
    let z = match wedge_or_tail(rng, i, x, &F, TAIL) {
        Some(a) => {
            if z.is_sign_negative() {
                -a
            } else {
                a
            }
        }
        None => standard_normal(rng),
    };
    s.draw_core(rng, z)
}

/// `out_i = x_i / (x_i + y_i)`: Beta draws from Gamma pairs.
#[inline(always)]
fn beta_ratios_body(x: &[f64], y: &[f64], out: &mut [f64]) {
    for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
        *o = a / (a + b);
    }
}

dispatch!(beta_ratios, beta_ratios_body, (x: &[f64], y: &[f64], out: &mut [f64]));

/// A second squeeze for Marsaglia and Tsang's test, tight for large
/// shapes: with `t = c z` the test `ln u < z^2/2 + d (1 - v + ln v)` reads
/// `ln u < d f(t)`, `f(t) = 3 ln(1 + t) - 3t + 1.5 t^2 - t^3` (as
/// `d c^2 = 1/9`), and `f(t) = -3/4 t^4 + 3/5 t^5 - ...`. Bounds:
/// `f(t) >= -0.75 t^4` for `t >= 0` (the Taylor series of `ln(1 + t)`
/// cut after its negative `t^4` term is below it), and for `t = -s`,
/// `0 < s <= 1/2`, `f = -3 sum_{k>=4} s^k / k >= -0.75 s^4 / (1 - s) >=
/// -1.5 s^4`. With `ln u <= u - 1`, `u < 1 - q` for the `q = k d t^4`
/// returned here implies the test, so accepting on it changes nothing in
/// distribution; it spares the two logarithms for all but ~1% of large-
/// shape proposals (the `0.0331 z^4` squeeze leaves ~9% at any shape).
/// Below `t = -1/2` it returns infinity (no squeeze).
#[inline(always)]
fn squeeze_q(t: f64, d: f64) -> f64 {
    let t2 = t * t;
    let k = if t >= 0.0 {
        0.75
    } else if t >= -0.5 {
        1.5
    } else {
        f64::INFINITY
    };
    k * d * (t2 * t2)
}

/// A Beta(a, b) draw as `X / (X + Y)` from a batch of the two shapes.
#[cfg(test)]
pub(crate) fn beta<R: Rng + ?Sized>(rng: &mut R, a: f64, b: f64) -> f64 {
    let g = GammaBatch::new(&[a, b]).draw(rng).to_vec();
    g[0] / (g[0] + g[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    fn moments(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
        (m, v)
    }

    #[test]
    fn draws_have_the_right_moments() {
        let mut rng = stream_rng(1, 0);
        let n = 200_000;
        let z: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let (m, v) = moments(&z);
        // 5 standard errors.
        assert!(m.abs() < 5.0 / (n as f64).sqrt(), "normal mean {m}");
        assert!(
            (v - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "normal var {v}"
        );
        for &(a, b) in &[(1.0, 1.0), (2.5, 7.0), (0.5, 0.3)] {
            let x: Vec<f64> = (0..n).map(|_| beta(&mut rng, a, b)).collect();
            let (m, v) = moments(&x);
            let em = a / (a + b);
            let ev = a * b / ((a + b) * (a + b) * (a + b + 1.0));
            assert!(
                (m - em).abs() < 5.0 * (ev / n as f64).sqrt(),
                "beta({a},{b}) mean {m}"
            );
            assert!(
                (v - ev).abs() < 0.02 * ev + 1e-4,
                "beta({a},{b}) var {v} vs {ev}"
            );
        }
        let g: Vec<f64> = (0..n).map(|_| crate::sample::gumbel(&mut rng)).collect();
        let (m, v) = moments(&g);
        let euler = 0.577_215_664_901_532_9;
        let pi2_6 = std::f64::consts::PI.powi(2) / 6.0;
        assert!(
            (m - euler).abs() < 5.0 * (pi2_6 / n as f64).sqrt(),
            "gumbel mean {m}"
        );
        assert!((v - pi2_6).abs() < 0.03 * pi2_6, "gumbel var {v}");
    }

    /// `int_a^b exp(-x^2/2) / sqrt(2 pi) dx` by composite Simpson (400
    /// panels: error far below 1e-12 on these bins).
    fn normal_mass(a: f64, b: f64) -> f64 {
        let (a, b) = (a.max(-12.0), b.min(12.0));
        let n = 400;
        let h = (b - a) / n as f64;
        let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut s = pdf(a) + pdf(b);
        for k in 1..n {
            s += pdf(a + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0
    }

    /// Draws `n` normals from `draw`, counts them in bins 0.05 wide over
    /// [-3.5, 3.5] and beyond them at `±outer` (increasing, above 3.5) and
    /// infinity and returns the chi-square against the exact bin masses
    /// (148 bins, 147 degrees of freedom: 205.73 is the 0.999 quantile,
    /// scipy) and the counts.
    fn normal_chi2(outer: [f64; 3], n: usize, mut draw: impl FnMut() -> f64) -> (f64, Vec<u64>) {
        let mut edges = vec![f64::NEG_INFINITY, -outer[2], -outer[1], -outer[0]];
        edges.extend((0..=140).map(|k| -3.5 + 0.05 * k as f64));
        edges.extend([outer[0], outer[1], outer[2], f64::INFINITY]);
        let mut counts = vec![0u64; edges.len() - 1];
        for _ in 0..n {
            let z = draw();
            counts[edges.partition_point(|&e| e <= z) - 1] += 1;
        }
        let chi2 = counts
            .iter()
            .enumerate()
            .map(|(b, &o)| {
                let e = n as f64 * normal_mass(edges[b], edges[b + 1]);
                (o as f64 - e).powi(2) / e
            })
            .sum();
        (chi2, counts)
    }

    #[test]
    fn ziggurat_normal_matches_the_normal_cdf() {
        // Out to the tail start r = 3.654, 4, 4.5 and beyond, so that the
        // fast path, the wedges and the tail are each checked against the
        // exact bin masses.
        let r = super::super::ziggurat::R;
        let mut rng = stream_rng(3, 0);
        let (chi2, counts) = normal_chi2([r, 4.0, 4.5], 4_000_000, || standard_normal(&mut rng));
        assert!(chi2 < 205.73, "chi2 {chi2}");
        // The two tails beyond r (2.58e-4 of the mass) are both drawn.
        assert!(counts[2] > 0 && counts[counts.len() - 3] > 0);
    }

    #[test]
    fn first_pass_ziggurat_matches_the_normal_cdf() {
        // As above, for the 1024-layer ziggurat with f32 fast points, out
        // to its tail start r = 4.039, 4.5 and beyond. The f32 rounding of
        // fast points (relative 2^-24) moves a point across a bin edge
        // with probability ~1e-7 per draw: far below what 4e6 draws
        // resolve.
        let r = super::super::ziggurat1024::R;
        let mut rng = stream_rng(31, 0);
        let (chi2, counts) = normal_chi2([3.8, r, 4.5], 4_000_000, || zig32_normal(&mut rng));
        assert!(chi2 < 205.73, "chi2 {chi2}");
        // The two tails beyond r (the slow path's tail) are both drawn.
        assert!(counts[1] > 0 && counts[counts.len() - 2] > 0);
    }

    #[test]
    fn wedges_and_tail_draw_the_normal_density() {
        // The slow path alone (0.43% of the 1024-layer ziggurat's points,
        // too few for the test above to see a wrong wedge): in layer i a
        // point x uniform beyond the inner rectangle, [X[i+1], X[i]], is
        // kept with probability (f(x) - F[i]) / (F[i+1] - F[i]), so the
        // kept points have density proportional to f(x) - F[i] there;
        // beyond r the tail has the normal's density. 20 equal-width
        // bins per layer, 0.999 quantile of chi-square with 19 degrees of
        // freedom 43.82 (scipy). A wedge that keeps every point fails.
        use super::super::ziggurat1024::{F, R as TAIL, X};
        let f = |x: f64| (-0.5 * x * x).exp();
        let simpson = |g: &dyn Fn(f64) -> f64, a: f64, b: f64| {
            let n = 200;
            let h = (b - a) / n as f64;
            let mut s = g(a) + g(b);
            for k in 1..n {
                s += g(a + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
            }
            s * h / 3.0
        };
        let mut rng = stream_rng(32, 0);
        for i in [1usize, 2, 10, 100, 500, 1000, 1022, 1023] {
            let (lo, hi) = (X[i + 1], X[i]);
            let w = (hi - lo) / 20.0;
            let mut counts = [0u64; 20];
            for _ in 0..100_000 {
                let x = lo + (hi - lo) * uniform_open(&mut rng);
                if let Some(a) = wedge_or_tail(&mut rng, i, x, &F, TAIL) {
                    counts[(((a - lo) / w) as usize).min(19)] += 1;
                }
            }
            let kept: u64 = counts.iter().sum();
            let g = |x: f64| f(x) - F[i];
            let total = simpson(&g, lo, hi);
            let chi2: f64 = (0..20)
                .map(|b| {
                    let e = kept as f64 * simpson(&g, lo + b as f64 * w, lo + (b + 1) as f64 * w)
                        / total;
                    (counts[b] as f64 - e).powi(2) / e
                })
                .sum();
            assert!(chi2 < 43.82, "layer {i}: chi2 {chi2}");
        }
        // The tail: draws beyond r against the normal's tail masses.
        let edges: Vec<f64> = (0..20).map(|k| TAIL + 0.05 * k as f64).collect();
        let mut counts = [0u64; 20];
        for _ in 0..100_000 {
            let a = wedge_or_tail(&mut rng, 0, 0.0, &F, TAIL).expect("the tail always draws");
            assert!(a > TAIL);
            counts[edges.partition_point(|&e| e <= a) - 1] += 1;
        }
        let tail = simpson(&f, TAIL, TAIL + 12.0);
        let chi2: f64 = (0..20)
            .map(|b| {
                let hi = if b == 19 { TAIL + 12.0 } else { edges[b + 1] };
                let e = 1e5 * simpson(&f, edges[b], hi) / tail;
                (counts[b] as f64 - e).powi(2) / e
            })
            .sum();
        assert!(chi2 < 43.82, "tail: chi2 {chi2}");
    }

    #[test]
    fn ziggurat_exponential_matches_the_exponential_cdf() {
        // Bins 0.05 wide up to 7, then out past the tail start r = 7.697;
        // exact masses exp(-a) - exp(-b).
        let r = super::super::ziggurat::EXP_R;
        let mut edges: Vec<f64> = (0..=140).map(|k| 0.05 * k as f64).collect();
        edges.extend([r, 8.5, 10.0, f64::INFINITY]);
        let n = 4_000_000;
        let mut counts = vec![0u64; edges.len() - 1];
        let mut rng = stream_rng(5, 0);
        for _ in 0..n {
            let e = standard_exponential(&mut rng);
            assert!(e > 0.0 && e.is_finite());
            counts[edges.partition_point(|&b| b <= e) - 1] += 1;
        }
        let chi2: f64 = counts
            .iter()
            .enumerate()
            .map(|(b, &o)| {
                let e = n as f64 * ((-edges[b]).exp() - (-edges[b + 1]).exp());
                (o as f64 - e).powi(2) / e
            })
            .sum();
        // 143 degrees of freedom: 201.0 is the 0.999 quantile (scipy).
        assert!(chi2 < 201.0, "chi2 {chi2}");
        assert!(counts[counts.len() - 2] > 0, "the tail is drawn");
    }

    #[test]
    fn ziggurat_tables_are_consistent() {
        use super::super::ziggurat::{F, R, V, X};
        let f = |x: f64| (-0.5 * x * x).exp();
        assert_eq!(X[1], R);
        assert_eq!((X[256], F[256]), (0.0, 1.0));
        // Rebuilt in f64 from r and v: the recursion loses a little at
        // each of its 254 steps, so compare loosely; the literals are the
        // 50-digit values rounded once.
        let mut x = R;
        for i in 1..256 {
            assert!((x - X[i]).abs() <= 1e-12 * X[i], "X[{i}] {x} vs {}", X[i]);
            assert!((f(X[i]) - F[i]).abs() <= 2e-16, "F[{i}]");
            // Every layer has area v: x_i (f(x_{i+1}) - f(x_i)) = v.
            assert!((X[i] * (F[i + 1] - F[i]) - V).abs() <= 1e-14, "layer {i}");
            x = (-2.0 * (f(x) + V / x).ln()).sqrt();
        }
        assert!((X[0] * F[1] - V).abs() <= 1e-16);
        use super::super::ziggurat::{EXP_F, EXP_R, EXP_V, EXP_X};
        let f = |x: f64| (-x).exp();
        assert_eq!((EXP_X[1], EXP_X[256], EXP_F[256]), (EXP_R, 0.0, 1.0));
        let mut x = EXP_R;
        for i in 1..256 {
            assert!((x - EXP_X[i]).abs() <= 1e-12 * EXP_X[i], "EXP_X[{i}]");
            assert!((f(EXP_X[i]) - EXP_F[i]).abs() <= 2e-16, "EXP_F[{i}]");
            assert!((EXP_X[i] * (EXP_F[i + 1] - EXP_F[i]) - EXP_V).abs() <= 1e-14);
            x = -(f(x) + EXP_V / x).ln();
        }
        assert!((EXP_X[0] * EXP_F[1] - EXP_V).abs() <= 1e-16);
        // The 1024-layer normal ziggurat of the batched Gamma draws.
        use super::super::ziggurat1024 as z;
        let f = |x: f64| (-0.5 * x * x).exp();
        assert_eq!((z::X[1], z::X[1024], z::F[1024]), (z::R, 0.0, 1.0));
        let mut x = z::R;
        for i in 1..1024 {
            assert!(
                (x - z::X[i]).abs() <= 1e-11 * z::X[i],
                "X[{i}] {x} vs {}",
                z::X[i]
            );
            assert!((f(z::X[i]) - z::F[i]).abs() <= 2e-16, "F[{i}]");
            assert!(
                (z::X[i] * (z::F[i + 1] - z::F[i]) - z::V).abs() <= 1e-15,
                "layer {i}"
            );
            x = (-2.0 * (f(x) + z::V / x).ln()).sqrt();
        }
        assert!((z::X[0] * z::F[1] - z::V).abs() <= 1e-17);
        // The top layer ends at the peak: f(X[1023]) + v / X[1023] = 1.
        assert!((z::F[1023] + z::V / z::X[1023] - 1.0).abs() <= 1e-12);
    }

    /// A standard normal from the batched Gamma draws' ziggurat: the
    /// first pass's `f32` point where it is in a fast rectangle, else the
    /// `f64` wedge or tail of the 1024-layer tables, a rejected wedge
    /// starting over (as `finish_lane` does, which starts over with
    /// `standard_normal`: the same distribution).
    fn zig32_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
        use super::super::ziggurat1024::{F, R as TAIL, X};
        loop {
            let (i, m, fast, z, _) = zig32_point(rng.next_u64());
            if fast {
                return f64::from(z);
            }
            let x = f64::from(m) * (1.0 / (1u32 << 24) as f64) * X[i];
            if let Some(a) = wedge_or_tail(rng, i, x, &F, TAIL) {
                return if z.is_sign_negative() { -a } else { a };
            }
        }
    }

    // Exact reference distributions, written out here so that the tests
    // depend on nothing but f64 arithmetic: ln Gamma by Lanczos (g = 7,
    // 9 terms, ~1e-15), the regularized incomplete gamma and beta
    // functions by their series and continued fractions (Numerical
    // Recipes 6.2 and 6.4), each checked against closed forms below.

    fn ln_gamma(x: f64) -> f64 {
        const P: [f64; 9] = [
            0.999_999_999_999_809_9,
            676.520_368_121_885_1,
            -1_259.139_216_722_402_8,
            771.323_428_777_653_1,
            -176.615_029_162_140_6,
            12.507_343_278_686_905,
            -0.138_571_095_265_720_12,
            9.984_369_578_019_572e-6,
            1.505_632_735_149_311_6e-7,
        ];
        if x < 0.5 {
            let pi = std::f64::consts::PI;
            return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
        }
        let x = x - 1.0;
        let mut a = P[0];
        for (i, &p) in P.iter().enumerate().skip(1) {
            a += p / (x + i as f64);
        }
        let t = x + 7.5;
        0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
    }

    /// Lentz's evaluation of `1 / (1 + c_1 / (1 + c_2 / (1 + ...)))` style
    /// continued fractions, given the partial numerators `a_m` and
    /// denominators `b_m` for m >= 1 and the leading denominator `b0`.
    fn lentz(b0: f64, mut ab: impl FnMut(usize) -> (f64, f64)) -> f64 {
        let tiny = 1e-300;
        let mut f = if b0 == 0.0 { tiny } else { b0 };
        let (mut c, mut d) = (f, 0.0);
        for m in 1..10_000 {
            let (a, b) = ab(m);
            d = b + a * d;
            d = if d == 0.0 { tiny } else { d };
            c = b + a / c;
            c = if c == 0.0 { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                return f;
            }
        }
        panic!("continued fraction did not converge");
    }

    /// The regularized lower incomplete gamma function P(a, x).
    fn gamma_cdf(a: f64, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        let front = (-x + a * x.ln() - ln_gamma(a)).exp();
        if x < a + 1.0 {
            let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
            while term.abs() > sum.abs() * 1e-17 {
                ap += 1.0;
                term *= x / ap;
                sum += term;
            }
            sum * front
        } else {
            // Q(a, x) = front / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...)).
            let q = lentz(x + 1.0 - a, |m| {
                let m = m as f64;
                (-m * (m - a), x + 2.0 * m + 1.0 - a)
            });
            1.0 - front / q
        }
    }

    /// The regularized incomplete beta function I_x(a, b).
    fn beta_cdf(a: f64, b: f64, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        if x >= 1.0 {
            return 1.0;
        }
        if x > (a + 1.0) / (a + b + 2.0) {
            return 1.0 - beta_cdf(b, a, 1.0 - x);
        }
        let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln())
            .exp()
            / a;
        // 1 / (1 + d1 / (1 + d2 / (1 + ...))).
        let cf = lentz(1.0, |m| {
            let k = (m / 2) as f64;
            let d = if m % 2 == 0 {
                k * (b - k) * x / ((a + 2.0 * k - 1.0) * (a + 2.0 * k))
            } else {
                -(a + k) * (a + b + k) * x / ((a + 2.0 * k) * (a + 2.0 * k + 1.0))
            };
            (d, 1.0)
        });
        front / cf
    }

    #[test]
    fn reference_cdfs_match_closed_forms() {
        for x in [0.01f64, 0.5, 1.0, 2.0, 5.0, 30.0] {
            let e = (-x).exp();
            assert!((gamma_cdf(1.0, x) - (1.0 - e)).abs() < 1e-14, "P(1, {x})");
            assert!((gamma_cdf(2.0, x) - (1.0 - e * (1.0 + x))).abs() < 1e-14);
            assert!((gamma_cdf(3.0, x) - (1.0 - e * (1.0 + x + x * x / 2.0))).abs() < 1e-14);
        }
        // P(1/2, x) = erf(sqrt(x)); erf(1) = 0.8427007929497149.
        assert!((gamma_cdf(0.5, 1.0) - 0.842_700_792_949_714_9).abs() < 1e-14);
        // Integer shapes: I_x(a, b) = P(Binomial(a + b - 1, x) >= a).
        let binom_tail = |a: u32, b: u32, x: f64| {
            let n = a + b - 1;
            (a..=n)
                .map(|j| {
                    let lc = ln_gamma(n as f64 + 1.0)
                        - ln_gamma(j as f64 + 1.0)
                        - ln_gamma((n - j) as f64 + 1.0);
                    (lc + j as f64 * x.ln() + (n - j) as f64 * (1.0 - x).ln()).exp()
                })
                .sum::<f64>()
        };
        for (a, b) in [(1, 1), (2, 7), (5, 3), (30, 12)] {
            for x in [0.05, 0.2, 0.5, 0.7, 0.95] {
                let (got, want) = (beta_cdf(a as f64, b as f64, x), binom_tail(a, b, x));
                assert!(
                    (got - want).abs() < 1e-12,
                    "I_{x}({a}, {b}) {got} vs {want}"
                );
            }
        }
        // I_x(1/2, 1/2) = (2 / pi) asin(sqrt(x)).
        for x in [0.1f64, 0.5, 0.9] {
            let want = 2.0 / std::f64::consts::PI * x.sqrt().asin();
            assert!((beta_cdf(0.5, 0.5, x) - want).abs() < 1e-13);
        }
    }

    /// The `bins - 1` interior edges that cut a distribution into `bins`
    /// cells of equal mass, by bisection on its CDF.
    fn equal_mass_edges(cdf: impl Fn(f64) -> f64, hi: f64, bins: usize) -> Vec<f64> {
        (1..bins)
            .map(|k| {
                let target = k as f64 / bins as f64;
                let (mut lo, mut hi) = (0.0, hi);
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if cdf(mid) < target {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                0.5 * (lo + hi)
            })
            .collect()
    }

    /// Pearson's statistic of `xs` against equal-mass cells.
    fn chi2_equal_mass(xs: &[f64], edges: &[f64]) -> f64 {
        let mut counts = vec![0u64; edges.len() + 1];
        for &x in xs {
            counts[edges.partition_point(|&e| e <= x)] += 1;
        }
        let e = xs.len() as f64 / counts.len() as f64;
        counts.iter().map(|&o| (o as f64 - e).powi(2) / e).sum()
    }

    /// 50 cells: the 0.999 quantile of chi-square with 49 degrees of
    /// freedom (scipy.stats.chi2.ppf(0.999, 49)).
    const CHI2_49_999: f64 = 85.35;

    #[test]
    fn gamma_batch_draws_match_the_gamma_cdf() {
        // Shapes of every kind Thompson sampling meets: the Beta(1, 1)
        // prior's 1, below 1 (boosted), fractional posteriors, and large
        // ones where the second squeeze does nearly all the accepting (up
        // to 1e5, where the f32 proposal's resolution would show first);
        // 17 lanes (three blocks, one padded) so that lane position varies.
        let shapes = [
            1.0,
            0.3,
            2.0,
            3.5,
            0.5,
            1.0,
            7.25,
            40.0,
            250.0,
            1.5,
            12.0,
            1.0 + 1e-9,
            5.0,
            30.0,
            500.0,
            1000.0,
            1e5,
        ];
        let n = 100_000;
        let mut batch = GammaBatch::new(&shapes);
        let mut rng = stream_rng(21, 0);
        let mut draws = vec![Vec::with_capacity(n); shapes.len()];
        for _ in 0..n {
            for (d, &g) in draws.iter_mut().zip(batch.draw(&mut rng)) {
                d.push(g);
            }
        }
        for (&a, xs) in shapes.iter().zip(&draws) {
            assert!(xs.iter().all(|&x| x > 0.0 && x.is_finite()), "shape {a}");
            let edges = equal_mass_edges(|x| gamma_cdf(a, x), a + 40.0 * a.sqrt() + 40.0, 50);
            let chi2 = chi2_equal_mass(xs, &edges);
            assert!(chi2 < CHI2_49_999, "Gamma({a}): chi2 {chi2}");
        }
        // Draws of neighbouring lanes, and of one lane at successive
        // steps, are uncorrelated (5 standard errors of a correlation).
        let corr = |x: &[f64], y: &[f64]| {
            let (mx, my) = (moments(x), moments(y));
            let c: f64 = x
                .iter()
                .zip(y)
                .map(|(a, b)| (a - mx.0) * (b - my.0))
                .sum::<f64>()
                / (x.len() as f64 - 1.0);
            c / (mx.1 * my.1).sqrt()
        };
        let bound = 5.0 / (n as f64).sqrt();
        for j in 0..shapes.len() - 1 {
            let r = corr(&draws[j], &draws[j + 1]);
            assert!(r.abs() < bound, "lanes {j}, {}: r = {r}", j + 1);
        }
        let r = corr(&draws[0][1..], &draws[0][..n - 1]);
        assert!(r.abs() < bound, "successive draws: r = {r}");
        // The same statistic rejects the Gamma(500) draws judged against
        // a shape 1% off.
        let edges = equal_mass_edges(|x| gamma_cdf(505.0, x), 505.0 + 40.0 * 505f64.sqrt(), 50);
        let chi2 = chi2_equal_mass(&draws[14], &edges);
        assert!(chi2 > CHI2_49_999, "chi2 {chi2}: the test cannot tell");
    }

    #[test]
    fn beta_draws_match_the_beta_cdf_and_the_test_can_fail() {
        // (a, b) pairs as Thompson sampling keeps them: shapes a_i in
        // lanes 0..K, b_i in lanes K..2K.
        let pairs = [
            (1.0, 1.0),
            (2.0, 7.0),
            (3.5, 1.25),
            (0.5, 0.3),
            (40.0, 12.0),
            (250.0, 30.0),
            (1.0, 60.0),
        ];
        let k = pairs.len();
        let shapes: Vec<f64> = pairs
            .iter()
            .map(|p| p.0)
            .chain(pairs.iter().map(|p| p.1))
            .collect();
        let n = 100_000;
        let mut batch = GammaBatch::new(&shapes);
        let mut rng = stream_rng(22, 0);
        let mut draws = vec![Vec::with_capacity(n); k];
        for _ in 0..n {
            let g = batch.draw(&mut rng);
            for (i, d) in draws.iter_mut().enumerate() {
                d.push(g[i] / (g[i] + g[k + i]));
            }
        }
        for (&(a, b), xs) in pairs.iter().zip(&draws) {
            let edges = equal_mass_edges(|x| beta_cdf(a, b, x), 1.0, 50);
            let chi2 = chi2_equal_mass(xs, &edges);
            assert!(chi2 < CHI2_49_999, "Beta({a}, {b}): chi2 {chi2}");
        }
        // The same statistic rejects Beta(2, 7) draws judged against a
        // shape 5% off.
        let edges = equal_mass_edges(|x| beta_cdf(2.0, 7.35, x), 1.0, 50);
        let chi2 = chi2_equal_mass(&draws[1], &edges);
        assert!(chi2 > CHI2_49_999, "chi2 {chi2}: the test cannot tell");
    }

    #[test]
    fn squeezes_imply_the_exact_test() {
        // Accepting on `u < 1 - q` must never accept a proposal that
        // Marsaglia and Tsang's test rejects: checked on a million
        // proposals over shapes from 1e-3 to 1e5 (normals in their whole
        // range, uniforms near 1 included). A bound 10% too weak for
        // t >= 0 is caught by the same check.
        let check = |q: &dyn Fn(f64, f64) -> f64| {
            let mut rng = stream_rng(23, 0);
            let mut violations = 0;
            for k in 0..1_000_000 {
                let shape = 10f64.powf(-3.0 + 8.0 * uniform_open(&mut rng));
                let s = GammaShape::new(shape);
                let z = 6.0 * (2.0 * uniform_open(&mut rng) - 1.0);
                // Uniforms near 1 (where the squeeze accepts) half the time.
                let u = if k % 2 == 0 {
                    uniform_open(&mut rng)
                } else {
                    1.0 - 1e-3 * uniform_open(&mut rng)
                };
                let t = s.c * z;
                let v = 1.0 + t;
                if v <= 0.0 || u >= 1.0 - q(t, s.d) {
                    continue;
                }
                let v3 = v * v * v;
                let rhs = 0.5 * z * z + s.d * (1.0 - v3 + v3.ln());
                // Slack for the rounding of the right-hand side's
                // cancellation (its terms are of size z^2).
                if u.ln() > rhs + 1e-13 * (1.0 + z * z) {
                    violations += 1;
                }
            }
            violations
        };
        assert_eq!(check(&squeeze_q), 0);
        let weak = |t: f64, d: f64| {
            if t >= 0.0 {
                0.9 * squeeze_q(t, d)
            } else {
                squeeze_q(t, d)
            }
        };
        assert!(check(&weak) > 0, "the check cannot fail");
    }

    /// Marsaglia and Tsang's test in real arithmetic, for the `f64` `c`
    /// and `d` of `s`: `ln u < z^2/2 + d (1 - v + ln v)`, `v = (1 + c z)^3`,
    /// written as `d f(t) + (z^2/2)(1 - 9 d c^2)` with `t = c z` and
    /// `f(t) = 3 ln(1 + t) - 3t + 3t^2/2 - t^3`, by its series
    /// `3 sum_{k>=4} (-1)^(k+1) t^k / k` for `|t| < 0.1` (no cancellation),
    /// so that its own error (~1e-16 relative) is far below the `f32`
    /// effects checked against it. `Some(true)` / `Some(false)`: accepted /
    /// rejected with room to spare for that error (`1e-12 (1 + |rhs|)`);
    /// `None`: too close to tell.
    fn exact_test(s: &GammaShape, z: f64, u: f64) -> Option<bool> {
        let t = s.c * z;
        if t <= -1.0 {
            return Some(false);
        }
        let f = if t.abs() < 0.1 {
            (4..60)
                .map(|k| {
                    let sign = if k % 2 == 0 { -1.0 } else { 1.0 };
                    3.0 * sign * t.powi(k) / k as f64
                })
                .sum::<f64>()
        } else {
            3.0 * t.ln_1p() - 3.0 * t + 1.5 * t * t - t * t * t
        };
        let rhs = s.d * f + 0.5 * z * z * (1.0 - 9.0 * s.d * s.c * s.c);
        // ln u by ln_1p(u - 1) (exact argument): accurate near u = 1.
        let (lnu, tol) = ((u - 1.0).ln_1p(), 1e-12 * (1.0 + rhs.abs()));
        if lnu < rhs - tol {
            Some(true)
        } else if lnu >= rhs + tol {
            Some(false)
        } else {
            None
        }
    }

    /// Accepted by the exact test, or too close to tell.
    fn exact_accepts(s: &GammaShape, z: f64, u: f64) -> bool {
        exact_test(s, z, u) != Some(false)
    }

    #[test]
    fn f32_squeezes_imply_the_exact_test() {
        // A lane accepted by the f32 squeezes (margin included) must be
        // accepted by the exact test, computed in f64 for the f64 c and d:
        // checked on a million proposals over shapes from 1e-3 to 1e7,
        // half of them with the uniform within 100 grid steps (2^-24) of
        // the squeeze's edge, where rounding matters. Without the margin
        // (threshold 1) the same check finds violations.
        let check = |thr: f32| {
            let mut rng = stream_rng(25, 0);
            let (mut accepted, mut violations) = (0, 0);
            for k in 0..1_000_000 {
                let shape = 10f64.powf(-3.0 + 10.0 * uniform_open(&mut rng));
                let s = GammaShape::new(shape);
                let (d32, c32) = shape32(s.d);
                let z = (8.0 * uniform_open(&mut rng) - 4.0) as f32;
                let zd = f64::from(z);
                let q = (0.0331 * zd.powi(4)).min(squeeze_q(s.c * zd, s.d));
                let grid = (1u32 << 24) as f64;
                let kk = if k % 2 == 0 {
                    (uniform_open(&mut rng) * grid).ceil()
                } else {
                    ((1.0 - q.min(1.0)) * grid).round()
                        + (200.0 * uniform_open(&mut rng) - 100.0).round()
                }
                .clamp(1.0, grid);
                let u = (kk / grid) as f32;
                if !squeeze32(z, u, c32, d32, thr) {
                    continue;
                }
                accepted += 1;
                if !exact_accepts(&s, zd, f64::from(u)) {
                    violations += 1;
                }
            }
            (accepted, violations)
        };
        let (accepted, violations) = check(SQUEEZE_T);
        assert_eq!(violations, 0);
        assert!(accepted > 400_000, "accepted {accepted}");
        let (_, violations) = check(1.0);
        assert!(violations > 0, "the check cannot fail");
        // Lanes beyond D32_MAX (c = NaN) are never accepted in f32.
        let (d32, c32) = shape32(1e30);
        assert!(c32.is_nan());
        for z in [-1.0f32, 0.0, 0.5, 3.0] {
            assert!(!squeeze32(z, 1e-3, c32, d32, SQUEEZE_T));
        }
    }

    #[test]
    fn surely_rejects_only_what_the_test_rejects() {
        // A million proposals over shapes 1e-3 to 1e7, z in [-4, 4] (f32,
        // as the first pass makes them), two thirds of the uniforms within
        // 1000 grid steps of the bound's own edge: every lane the bound
        // rejects, GammaShape::accepts rejects too, and so does the exact
        // test. The bound catches most rejections; with its margin turned
        // into a 1% overreach the check fails.
        let check = |slack: f64| {
            let mut rng = stream_rng(26, 0);
            let (mut rejected, mut wrong, mut test_rejects) = (0u32, 0u32, 0u32);
            let grid = (1u32 << 24) as f64;
            for k in 0..1_000_000 {
                let shape = 10f64.powf(-3.0 + 10.0 * uniform_open(&mut rng));
                let s = GammaShape::new(shape);
                let z = f64::from((8.0 * uniform_open(&mut rng) - 4.0) as f32);
                let v = 1.0 + s.c * z;
                if v <= 0.0 {
                    continue;
                }
                let t = s.c * z;
                let p = 0.75 - 0.6 * t + if t < 0.0 { 0.5 * t * t } else { 0.0 };
                let x = s.d * t.powi(4) * p;
                // The bound's edge: w + w^2/2 + w^3/(3(1 - w)) = x.
                let (mut lo, mut hi) = (0.0f64, 1.0f64);
                for _ in 0..60 {
                    let w = 0.5 * (lo + hi);
                    if w + 0.5 * w * w + w * w * w / (3.0 * (1.0 - w)) < x {
                        lo = w;
                    } else {
                        hi = w;
                    }
                }
                let kk = if k % 3 == 0 {
                    (uniform_open(&mut rng) * grid).ceil()
                } else {
                    ((1.0 - lo) * grid).round() + (2000.0 * uniform_open(&mut rng) - 1000.0).round()
                }
                .clamp(1.0, grid);
                let u = kk / grid;
                let accepts = s.accepts(z, u, v);
                test_rejects += u32::from(!accepts);
                if s.rejects_with(z, u, slack) {
                    rejected += 1;
                    wrong += u32::from(accepts || exact_test(&s, z, u) == Some(true));
                }
            }
            (rejected, wrong, test_rejects)
        };
        let (rejected, wrong, test_rejects) = check(1e-9);
        assert_eq!(wrong, 0);
        assert!(rejected > test_rejects / 2, "{rejected} of {test_rejects}");
        let (_, wrong, _) = check(-0.01);
        assert!(wrong > 0, "the check cannot fail");
    }

    #[test]
    fn shapes_beyond_the_f32_range_take_the_f64_path() {
        // d > 2^60: the f32 squeezes are skipped (c = NaN) and every lane
        // is decided by the f64 test; the draws keep Gamma(1e30)'s mean
        // and standard deviation (1e15, relative 1e-15), beside a normal
        // shape in the same block.
        let mut batch = GammaBatch::new(&[1e30, 2.0]);
        let mut rng = stream_rng(26, 0);
        let n = 20_000;
        let (mut big, mut two) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let g = batch.draw(&mut rng);
            big.push(g[0] / 1e30 - 1.0);
            two.push(g[1]);
        }
        let (m, v) = moments(&big);
        assert!(m.abs() < 5.0 * 1e-15 / (n as f64).sqrt(), "mean {m}");
        assert!((v.sqrt() / 1e-15 - 1.0).abs() < 0.05, "sd {}", v.sqrt());
        let (m, _) = moments(&two);
        assert!((m - 2.0).abs() < 5.0 * (2.0 / n as f64).sqrt(), "mean {m}");
    }

    #[test]
    fn zig32_table_is_exact() {
        // K[i] = ceil(2^24 X[i + 1] / X[i]) decides `m 2^-24 X[i] <
        // X[i + 1]` exactly as long as no quotient is within f64 rounding
        // of an integer; widths are X rounded to nearest.
        use super::super::ziggurat1024::X;
        for i in 0..ZLAYERS {
            let q = X[i + 1] / X[i] * 16_777_216.0;
            let k = (ZTAB[i] >> 32) as u32;
            assert_eq!(f64::from(k), q.ceil(), "K[{i}]");
            let frac = q - q.floor();
            assert!(
                i == ZLAYERS - 1 || (frac > 1e-6 && frac < 1.0 - 1e-6),
                "K[{i}]: {q}"
            );
            assert_eq!(f32::from_bits(ZTAB[i] as u32), X[i] as f32);
        }
        // The fast fraction (inner rectangles over layers) is 99.57%.
        let fast: f64 = (0..ZLAYERS).map(|i| X[i + 1] / X[i]).sum::<f64>() / ZLAYERS as f64;
        assert!((0.9957..0.9958).contains(&fast), "{fast}");
    }

    #[test]
    fn splitmix_at_is_the_splitmix64_sequence() {
        for key in [0, 1, 0x9e37_79b9_7f4a_7c15, u64::MAX] {
            let mut s = crate::sample::SplitMix64::new(key);
            for n in 0..100 {
                assert_eq!(splitmix_at(key, n), s.next_u64());
            }
        }
    }

    #[test]
    fn every_instruction_set_gives_the_portable_bits() {
        // The dispatched f32 first pass (AVX-512 or AVX2 here) against the
        // portable body, bit for bit (values and flags), on random keys
        // and shapes, f64-only lanes (c = NaN) included.
        let mut rng = stream_rng(24, 0);
        for n in [1usize, 7, 8, 16, 20, 33] {
            let mut shapes: Vec<f64> = (0..n)
                .map(|_| 10f64.powf(-1.0 + 4.0 * uniform_open(&mut rng)))
                .collect();
            if n > 7 {
                shapes[5] = 1e30;
            }
            let a = GammaBatch::new(&shapes).lanes;
            let bits = |l: &Lanes| {
                let g: Vec<u64> = l.g.iter().map(|x| x.to_bits()).collect();
                (g, l.flag.clone(), l.redo.clone())
            };
            let mut b = a.clone();
            let mut c = a.clone();
            for _ in 0..200 {
                let key = rng.next_u64();
                gamma_first(key, &mut b);
                first_pass(key, &c.d32, &c.c32, &mut c.g, &mut c.flag, &mut c.redo);
                assert_eq!(bits(&b), bits(&c));
                // And the AVX2 build where the CPU has AVX2 (the dispatch
                // above takes AVX-512 when it is there).
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut e = a.clone();
                    // SAFETY: AVX2 was just detected.
                    unsafe {
                        gamma_first_attempt::avx2(
                            key,
                            &e.d32,
                            &e.c32,
                            &mut e.g,
                            &mut e.flag,
                            &mut e.redo,
                        );
                    }
                    assert_eq!(bits(&e), bits(&c));
                }
            }
        }
    }

    #[test]
    fn index_is_uniform_and_in_range() {
        let mut rng = stream_rng(2, 0);
        let mut c = [0usize; 7];
        for _ in 0..70_000 {
            c[index(&mut rng, 7)] += 1;
        }
        // Chi-square with 6 degrees of freedom; 22.46 is the 0.999 quantile.
        let chi2: f64 = c.iter().map(|&o| (o as f64 - 1e4).powi(2) / 1e4).sum();
        assert!(chi2 < 22.46, "chi2 {chi2}");
    }
}
