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
    if i == 0 {
        // Beyond r in the base layer: the tail, by Marsaglia (1964):
        // a = E1 / r, accepted when 2 E2 > a^2, gives r + a with the
        // density of the normal tail.
        loop {
            let a = -uniform_open(rng).ln() / TAIL;
            let e = -uniform_open(rng).ln();
            if e + e > a * a {
                return Some(TAIL + a);
            }
        }
    }
    // The wedge between the layer's inner rectangle and the curve: a
    // uniform height in [F[i], F[i + 1]] under exp(-x^2 / 2) accepts x.
    let y = F[i] + uniform_open(rng) * (F[i + 1] - F[i]);
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
    /// The sampler for `Gamma(shape, 1)`, `shape > 0`.
    #[inline]
    pub(crate) fn new(shape: f64) -> Self {
        let s = if shape < 1.0 { shape + 1.0 } else { shape };
        let d = s - 1.0 / 3.0;
        GammaShape {
            shape,
            d,
            c: 1.0 / (9.0 * d).sqrt(),
        }
    }

    /// Marsaglia and Tsang's rejection loop for `Gamma(s, 1)` (`s` the
    /// shape, or shape + 1 below 1) from a first proposal `z`: accepted by
    /// the squeeze `u < 1 - 0.0331 z^4` or [`squeeze_q`]'s, else by the logarithmic test
    /// `ln u < z^2 / 2 + d (1 - v + ln v)`; a rejection starts over with a
    /// fresh normal. The logarithm is [`ln_pos`] (the same bits on every
    /// platform).
    #[inline]
    fn draw_core<R: Rng + ?Sized>(&self, rng: &mut R, mut z: f64) -> f64 {
        let (d, c) = (self.d, self.c);
        loop {
            let v = 1.0 + c * z;
            if v > 0.0 {
                let v = v * v * v;
                let u = uniform_open(rng);
                let z2 = z * z;
                if u < 1.0 - 0.0331 * z2 * z2
                    || u < 1.0 - squeeze_q(c * z, d)
                    || ln_pos(u) < 0.5 * z2 + d * (1.0 - v + ln_pos(v))
                {
                    return d * v;
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

/// Lanes per block of [`GammaBatch`]: one AVX-512 register of `f64`.
const GLANES: usize = 8;

/// Output `n` (from 0) of [`crate::sample::SplitMix64`] seeded with `key`:
/// the generator's state after `n + 1` steps is `key + (n + 1) GAMMA`, so
/// every output is computed independently of the others (a counter-based
/// generator), eight lanes at a time.
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

/// Many Gamma(shape_j, 1) draws at once, one per shape, exact in
/// distribution: Marsaglia and Tsang (2000) with ziggurat normals, its
/// first attempt for every shape computed in lanes of 8 (vectorised), the
/// rare cases finished one at a time.
///
/// A draw of the whole batch takes one `u64` `key` from the caller's
/// generator and uses [`crate::sample::SplitMix64`] seeded with `key` as a
/// counter-based generator: shape `j` of `P` (the padded length) takes its
/// first normal from output `j` (ziggurat, as [`standard_normal`]) and its
/// first uniform from output `P + j`. Lanes where that first attempt does
/// not finish are completed from the caller's generator in shape order:
/// a ziggurat point outside the fast rectangles continues into the
/// ziggurat's wedge or tail (as [`standard_normal`] does; its unused
/// uniform is dropped), a rejected Gamma proposal starts over
/// ([`GammaShape`]'s loop). Both are the algorithms' own steps on fresh
/// independent bits, so every draw has exactly its Gamma distribution and
/// the draws are independent. About 5% of lanes take that path.
///
/// Why: Thompson sampling draws 2K Gamma variates per step (a Beta as
/// `X / (X + Y)`); drawn one after the other from one xoshiro stream,
/// 40 serial `u64`s and their ziggurat and Gamma arithmetic were 70% of
/// the 10-armed testbed's time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GammaBatch {
    /// The shapes, `n` of them.
    shape: Vec<f64>,
    /// Marsaglia-Tsang's `d` and `c` per shape, padded to a multiple of
    /// [`GLANES`] with the constants of shape 1.
    d: Vec<f64>,
    c: Vec<f64>,
    /// The draws (padded).
    g: Vec<f64>,
    /// Per block of lanes, a bit for each lane whose first attempt did not
    /// finish.
    redo: Vec<u8>,
    /// How many shapes are below 1 (those need `U^(1/shape)`).
    below_one: usize,
    scratch: Scratch,
}

impl GammaBatch {
    /// A batch for `shapes` (each finite and > 0).
    pub(crate) fn new(shapes: &[f64]) -> Self {
        let n = shapes.len();
        let p = n.next_multiple_of(GLANES);
        let one = GammaShape::new(1.0);
        let mut b = GammaBatch {
            shape: vec![1.0; n],
            d: vec![one.d; p],
            c: vec![one.c; p],
            g: vec![0.0; p],
            redo: vec![0; p / GLANES],
            below_one: 0,
            scratch: Scratch::new(p),
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
        let s = GammaShape::new(shape);
        self.shape[j] = shape;
        self.d[j] = s.d;
        self.c[j] = s.c;
    }

    /// One draw of every shape; the result has one entry per shape.
    pub(crate) fn draw<R: Rng + ?Sized>(&mut self, rng: &mut R) -> &[f64] {
        let n = self.shape.len();
        let key = rng.next_u64();
        gamma_first_attempt(
            key,
            n,
            &self.d,
            &self.c,
            &mut self.g,
            &mut self.redo,
            &mut self.scratch,
        );
        for (blk, &mask) in self.redo.iter().enumerate() {
            let mut mask = mask;
            while mask != 0 {
                let j = blk * GLANES + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                if j >= n {
                    break;
                }
                let s = GammaShape {
                    shape: self.shape[j],
                    d: self.d[j],
                    c: self.c[j],
                };
                // Redo lane j's ziggurat step as the vector pass did it.
                let bits = splitmix_at(key, j as u64);
                let (i, x, sign) = ziggurat_point(bits);
                let z = if x < super::ziggurat::X[i + 1] {
                    // The normal was fine: the Gamma proposal was rejected.
                    standard_normal(rng)
                } else {
                    match normal_slow(rng, i, x) {
                        Some(m) => f64::from_bits(m.to_bits() | sign),
                        None => standard_normal(rng),
                    }
                };
                self.g[j] = s.draw_core(rng, z);
            }
        }
        if self.below_one > 0 {
            for j in 0..n {
                let s = GammaShape {
                    shape: self.shape[j],
                    d: self.d[j],
                    c: self.c[j],
                };
                self.g[j] = s.boost(rng, self.g[j]);
            }
        }
        &self.g[..n]
    }
}

/// `out_i = x_i / (x_i + y_i)`: Beta draws from Gamma pairs.
#[inline(always)]
fn beta_ratios_body(x: &[f64], y: &[f64], out: &mut [f64]) {
    for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
        *o = a / (a + b);
    }
}

dispatch!(beta_ratios, beta_ratios_body, (x: &[f64], y: &[f64], out: &mut [f64]));

/// The ziggurat's layer `i`, candidate magnitude `x` and sign bit from one
/// `u64`, as [`standard_normal`] takes them.
#[inline(always)]
fn ziggurat_point(bits: u64) -> (usize, f64, u64) {
    let i = (bits & 0xff) as usize;
    let u = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    (i, u * super::ziggurat::X[i], (bits & 0x100) << 55)
}

/// The first Marsaglia-Tsang attempt for every lane of the padded `d`,
/// `c` (see [`GammaBatch`]): `g_j = d_j v_j` where it is accepted, and a
/// bit in `redo` where it is not (ziggurat slow path, `v <= 0`, or
/// rejected). Two passes over plain arrays, so that the loop vectoriser
/// takes both (gathers for the ziggurat tables); the logarithmic test runs
/// for a block of 8 only when one of its lanes needs it (about half the
/// blocks). `s` is scratch: `z^2`, `u`, `v^3` and the flags per lane.
#[inline(always)]
fn gamma_first_body(
    key: u64,
    n: usize,
    d: &[f64],
    c: &[f64],
    g: &mut [f64],
    redo: &mut [u8],
    s: &mut Scratch,
) {
    use super::ziggurat::X;
    let p = d.len();
    assert!(n <= p && p == g.len() && p == redo.len() * GLANES);
    let c = &c[..p];
    let g = &mut g[..p];
    let (z2, u, v3, flag) = (
        &mut s.z2[..p],
        &mut s.u[..p],
        &mut s.v3[..p],
        &mut s.flag[..p],
    );
    // Only the n lanes in use: the padding keeps the flags of
    // `Scratch::new` (accepted, no logarithm), and 8-lane vector
    // iterations with a scalar remainder beat a padded vector iteration.
    // SplitMix64's states for outputs j and p + j, stepped as induction
    // variables (an addition per lane, not a multiplication).
    let gamma = crate::sample::SplitMix64::GAMMA;
    let mut state_z = key;
    let mut state_u = key.wrapping_add((p as u64).wrapping_mul(gamma));
    for j in 0..n {
        state_z = state_z.wrapping_add(gamma);
        state_u = state_u.wrapping_add(gamma);
        let (i, x, sign) = ziggurat_point(splitmix_mix(state_z));
        let fast = x < X[i + 1];
        let z = f64::from_bits(x.to_bits() | sign);
        let v = 1.0 + c[j] * z;
        let vvv = v * v * v;
        let uu = crate::sample::open01(splitmix_mix(state_u));
        let zz = z * z;
        let sq = (uu < 1.0 - 0.0331 * zz * zz) | (uu < 1.0 - squeeze_q(c[j] * z, d[j]));
        g[j] = d[j] * vvv;
        v3[j] = vvv;
        u[j] = uu;
        z2[j] = zz;
        // 1: accepted; 2: needs the logarithmic test; 0: redo.
        let ok = fast & (v > 0.0);
        flag[j] = u8::from(ok) + u8::from(ok & !sq);
    }
    for (blk, r) in redo.iter_mut().enumerate() {
        let lo = blk * GLANES;
        let f: &mut [u8; GLANES] = (&mut flag[lo..lo + GLANES]).try_into().expect("block");
        // Flags are 0, 1 or 2: bit 1 of a byte marks a logarithmic test.
        let word = u64::from_le_bytes(*f);
        if word & 0x0202_0202_0202_0202 != 0 {
            let ub: &[f64; GLANES] = u[lo..lo + GLANES].try_into().expect("block");
            let vb: &[f64; GLANES] = v3[lo..lo + GLANES].try_into().expect("block");
            let zb: &[f64; GLANES] = z2[lo..lo + GLANES].try_into().expect("block");
            let db: &[f64; GLANES] = d[lo..lo + GLANES].try_into().expect("block");
            let mut pass = [0u8; GLANES];
            for l in 0..GLANES {
                // Lanes with v <= 0 take ln 1 (their result is unused).
                let vp = if vb[l] > 0.0 { vb[l] } else { 1.0 };
                let rhs = 0.5 * zb[l] + db[l] * (1.0 - vb[l] + ln_pos(vp));
                pass[l] = u8::from(ln_pos(ub[l]) < rhs);
            }
            for l in 0..GLANES {
                // 2 (log test) becomes 1 (accepted) where it passed.
                f[l] -= pass[l] & (f[l] >> 1);
            }
        }
        // Bit 0 of each byte of `word ^ 0x01..01` is set where the flag is
        // not 1 (0 -> 1, 2 -> 3); the multiplication gathers the eight
        // bits into the top byte, lane l at bit l.
        let word = u64::from_le_bytes(*f) ^ 0x0101_0101_0101_0101;
        *r = ((word & 0x0101_0101_0101_0101).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8;
    }
}

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

/// Per-lane scratch of [`gamma_first_body`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scratch {
    z2: Vec<f64>,
    u: Vec<f64>,
    v3: Vec<f64>,
    flag: Vec<u8>,
}

impl Scratch {
    fn new(p: usize) -> Self {
        Scratch {
            // Padding lanes: accepted (flag 1), and logarithms of 1 if
            // their block runs the logarithmic test.
            z2: vec![0.0; p],
            u: vec![1.0; p],
            v3: vec![1.0; p],
            flag: vec![1; p],
        }
    }
}

dispatch!(gamma_first_attempt, gamma_first_body, (key: u64, n: usize, d: &[f64], c: &[f64], g: &mut [f64], redo: &mut [u8], s: &mut crate::learn::rl::rng::Scratch));

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

    #[test]
    fn ziggurat_normal_matches_the_normal_cdf() {
        // 148 bins: 0.05 wide over [-3.5, 3.5], then out to the tail start
        // r = 3.654, 4, 4.5 and beyond, so that the fast path, the wedges
        // and the tail are each checked against the exact bin masses.
        let r = super::super::ziggurat::R;
        let mut edges = vec![f64::NEG_INFINITY, -4.5, -4.0, -r];
        edges.extend((0..=140).map(|k| -3.5 + 0.05 * k as f64));
        edges.extend([r, 4.0, 4.5, f64::INFINITY]);
        let n = 4_000_000;
        let mut counts = vec![0u64; edges.len() - 1];
        let mut rng = stream_rng(3, 0);
        for _ in 0..n {
            let z = standard_normal(&mut rng);
            let b = edges.partition_point(|&e| e <= z) - 1;
            counts[b] += 1;
        }
        let chi2: f64 = counts
            .iter()
            .enumerate()
            .map(|(b, &o)| {
                let e = n as f64 * normal_mass(edges[b], edges[b + 1]);
                (o as f64 - e).powi(2) / e
            })
            .sum();
        // 147 degrees of freedom: 205.73 is the 0.999 quantile (scipy).
        assert!(chi2 < 205.73, "chi2 {chi2}");
        // The two tails beyond r (2.58e-4 of the mass) are both drawn.
        assert!(counts[2] > 0 && counts[counts.len() - 3] > 0);
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
        // ones where the second squeeze does nearly all the accepting; 12
        // lanes (one padded block) so that lane position varies.
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
        // The dispatched first attempt (AVX-512 or AVX2 here) against the
        // portable body, bit for bit, on random keys and shapes.
        let mut rng = stream_rng(24, 0);
        for n in [1usize, 7, 8, 20, 33] {
            let shapes: Vec<f64> = (0..n)
                .map(|_| 10f64.powf(-1.0 + 3.0 * uniform_open(&mut rng)))
                .collect();
            let a = GammaBatch::new(&shapes);
            let mut b = a.clone();
            let mut c = a.clone();
            for _ in 0..200 {
                let key = rng.next_u64();
                gamma_first_attempt(key, n, &b.d, &b.c, &mut b.g, &mut b.redo, &mut b.scratch);
                gamma_first_body(key, n, &c.d, &c.c, &mut c.g, &mut c.redo, &mut c.scratch);
                assert_eq!(b, c);
                // And the AVX2 build where the CPU has AVX2 (the dispatch
                // above takes AVX-512 when it is there).
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut e = a.clone();
                    // SAFETY: AVX2 was just detected.
                    unsafe {
                        gamma_first_attempt::avx2(
                            key,
                            n,
                            &e.d,
                            &e.c,
                            &mut e.g,
                            &mut e.redo,
                            &mut e.scratch,
                        );
                    }
                    assert_eq!(e.g, c.g);
                    assert_eq!(e.redo, c.redo);
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
