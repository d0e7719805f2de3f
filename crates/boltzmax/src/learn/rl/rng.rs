//! The few random draws the RL code needs, written on raw `u64`s so that
//! results are the same on every platform and every `rand` minor version.
//!
//! Uniforms, Gumbel noise and per-run seeding come from
//! [`crate::sample`]; the normal (ziggurat), Gamma and Beta draws that
//! only the RL code needs live here.

use rand::Rng;

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

    /// A Gamma(shape, 1) draw, Marsaglia and Tsang (2000), whose first
    /// proposal uses the given standard normal `z` (fresh normals after a
    /// rejection), accepted by the squeeze `u < 1 - 0.0331 z^4` before
    /// the logarithmic test; shapes below 1 use `G(a) = G(a + 1)
    /// U^(1/a)`.
    #[inline]
    pub(crate) fn draw<R: Rng + ?Sized>(&self, rng: &mut R, mut z: f64) -> f64 {
        let (d, c) = (self.d, self.c);
        let g = loop {
            let v = 1.0 + c * z;
            if v > 0.0 {
                let v = v * v * v;
                let u = uniform_open(rng);
                let z2 = z * z;
                if u < 1.0 - 0.0331 * z2 * z2 || u.ln() < 0.5 * z2 + d * (1.0 - v + v.ln()) {
                    break d * v;
                }
            }
            z = standard_normal(rng);
        };
        if self.shape < 1.0 {
            g * uniform_open(rng).powf(1.0 / self.shape)
        } else {
            g
        }
    }
}

/// A Beta(a, b) draw as `X / (X + Y)` with `X ~ Gamma(a)`, `Y ~ Gamma(b)`.
#[inline]
pub(crate) fn beta_with<R: Rng + ?Sized>(rng: &mut R, a: &GammaShape, b: &GammaShape) -> f64 {
    let z1 = standard_normal(rng);
    let x = a.draw(rng, z1);
    let z2 = standard_normal(rng);
    let y = b.draw(rng, z2);
    x / (x + y)
}

/// [`beta_with`] for shapes used once.
#[cfg(test)]
pub(crate) fn beta<R: Rng + ?Sized>(rng: &mut R, a: f64, b: f64) -> f64 {
    beta_with(rng, &GammaShape::new(a), &GammaShape::new(b))
}

#[cfg(test)]
mod tests {
    use super::*;

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
