//! The few random draws the RL code needs, written on raw `u64`s so that
//! results are the same on every platform and every `rand` minor version.
//!
//! Uniforms, Gumbel noise and per-run seeding come from
//! [`crate::sample`]; the normal, Gamma and Beta draws that only the RL
//! code needs live here.

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

/// A standard normal draw by the Box-Muller transform (one of the pair).
#[inline]
pub(crate) fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = uniform_open(rng);
    let u2 = uniform_open(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Both normals of one Box-Muller transform.
#[inline]
fn normal_pair<R: Rng + ?Sized>(rng: &mut R) -> (f64, f64) {
    let u1 = uniform_open(rng);
    let u2 = uniform_open(rng);
    let r = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
    (r * c, r * s)
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

/// A Beta(a, b) draw as `X / (X + Y)` with `X ~ Gamma(a)`, `Y ~ Gamma(b)`,
/// the two first proposals sharing one Box-Muller transform.
#[inline]
pub(crate) fn beta_with<R: Rng + ?Sized>(rng: &mut R, a: &GammaShape, b: &GammaShape) -> f64 {
    let (z1, z2) = normal_pair(rng);
    let x = a.draw(rng, z1);
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
