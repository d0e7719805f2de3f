//! Thompson sampling with conjugate priors.

use rand::Rng;

use super::{Policy, argmax_random_ties, check_arms, check_positive};
use crate::Result;
use crate::learn::rl::rng::{GammaBatch, beta_ratios, standard_normal};

/// Thompson sampling for rewards in [0, 1] with a Beta(a0, b0) prior per
/// arm (default Beta(1, 1), uniform): draw `theta_i ~ Beta(a_i, b_i)` and
/// pull the largest. A reward `r` adds `r` to `a` and `1 - r` to `b`,
/// the conjugate update for Bernoulli rewards and its usual extension to
/// rewards in between. Rewards outside [0, 1] are clamped to it (the
/// posterior would otherwise have invalid parameters); use
/// [`ThompsonGaussian`] for unbounded rewards.
///
/// The 2K Gamma variates of a step (`theta_i = X_i / (X_i + Y_i)`,
/// `X_i ~ Gamma(a_i)`, `Y_i ~ Gamma(b_i)`) are drawn together from one
/// `u64` of `rng` expanded by a counter-based SplitMix64 into vector
/// lanes: Marsaglia and Tsang's method with (1024-layer) ziggurat normals, its first
/// proposal in `f32` (a 24-bit ziggurat position and a 24-bit uniform,
/// the value rounded to `f32`), every accept/reject decision exact (an
/// `f32` squeeze accepts only with a margin that covers its rounding; the
/// rest take the `f64` test), and the ~2.6% of lanes whose first attempt
/// does not finish continuing in `f64` from `rng`. Exact in distribution
/// up to the `f32` rounding of the variate, the standard of numpy's
/// `standard_gamma(dtype=float32)`.
///
/// ```
/// use boltzmax::learn::rl::bandit::{Policy, ThompsonBeta};
/// use boltzmax::learn::rl::stream_rng;
/// let mut p = ThompsonBeta::new(2).unwrap();
/// for _ in 0..50 { p.update(1, 1.0); p.update(0, 0.0); }
/// assert_eq!(p.select(&mut stream_rng(0, 0)), 1);
/// ```
#[derive(Debug, Clone)]
pub struct ThompsonBeta {
    a: Vec<f64>,
    b: Vec<f64>,
    a0: f64,
    b0: f64,
    /// Gamma samplers for the shapes `a` (entries `0..K`) then `b`
    /// (`K..2K`), kept in step with them.
    gammas: GammaBatch,
    draws: Vec<f64>,
}

impl ThompsonBeta {
    /// `n_arms` arms with a uniform prior.
    pub fn new(n_arms: usize) -> Result<Self> {
        Self::with_prior(n_arms, 1.0, 1.0)
    }

    /// A Beta(a0, b0) prior (both finite, > 0).
    pub fn with_prior(n_arms: usize, a0: f64, b0: f64) -> Result<Self> {
        check_arms(n_arms)?;
        check_positive("a0", a0)?;
        check_positive("b0", b0)?;
        Ok(ThompsonBeta {
            a: vec![a0; n_arms],
            b: vec![b0; n_arms],
            a0,
            b0,
            gammas: Self::batch(n_arms, a0, b0),
            draws: vec![0.0; n_arms],
        })
    }

    fn batch(n_arms: usize, a0: f64, b0: f64) -> GammaBatch {
        let mut shapes = vec![a0; 2 * n_arms];
        shapes[n_arms..].fill(b0);
        GammaBatch::new(&shapes)
    }

    /// The posterior means `a / (a + b)`.
    pub fn posterior_means(&self) -> Vec<f64> {
        self.a
            .iter()
            .zip(&self.b)
            .map(|(a, b)| a / (a + b))
            .collect()
    }
}

impl Policy for ThompsonBeta {
    fn n_arms(&self) -> usize {
        self.a.len()
    }

    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        let g = self.gammas.draw(rng);
        pull_largest(g, &mut self.draws, rng)
    }

    fn select_pair<R: Rng + ?Sized>(
        p: &mut Self,
        q: &mut Self,
        rp: &mut R,
        rq: &mut R,
    ) -> (usize, usize) {
        let (gp, gq) = GammaBatch::draw_pair(&mut p.gammas, &mut q.gammas, rp, rq);
        (
            pull_largest(gp, &mut p.draws, rp),
            pull_largest(gq, &mut q.draws, rq),
        )
    }

    fn update(&mut self, arm: usize, reward: f64) {
        let r = reward.clamp(0.0, 1.0);
        // Both shapes are set, without a branch on the reward: a shape
        // that does not change gets `+ 0.0`, the same value, and the
        // branches on `r` (0, 1 or between on the testbed's clamped
        // Gaussian rewards) were mispredicted often enough to cost more
        // than the second shape's square root and division in `f32`.
        let k = self.a.len();
        self.a[arm] += r;
        self.b[arm] += 1.0 - r;
        self.gammas.set(arm, self.a[arm]);
        self.gammas.set(k + arm, self.b[arm]);
    }

    fn reset(&mut self) {
        self.a.fill(self.a0);
        self.b.fill(self.b0);
        let k = self.a.len();
        for i in 0..k {
            self.gammas.set(i, self.a0);
            self.gammas.set(k + i, self.b0);
        }
    }
}

/// The arm with the largest Beta draw `X_i / (X_i + Y_i)`, from a batch's
/// Gamma draws `g = (X_1..X_K, Y_1..Y_K)`; the draws are left in `draws`.
#[inline]
fn pull_largest<R: Rng + ?Sized>(g: &[f64], draws: &mut [f64], rng: &mut R) -> usize {
    let (x, y) = g.split_at(draws.len());
    beta_ratios(x, y, draws);
    argmax_random_ties(draws, rng)
}

/// Thompson sampling for Gaussian rewards of known standard deviation
/// `sigma`, with a Normal(mu0, s0^2) prior on each arm's mean (default
/// N(0, 1), the prior of the 10-armed testbed): draw from each arm's
/// Normal posterior and pull the largest.
///
/// ```
/// use boltzmax::learn::rl::bandit::{Policy, ThompsonGaussian};
/// use boltzmax::learn::rl::stream_rng;
/// let mut p = ThompsonGaussian::new(2, 1.0).unwrap();
/// for _ in 0..100 { p.update(0, -1.0); p.update(1, 1.0); }
/// assert_eq!(p.select(&mut stream_rng(0, 0)), 1);
/// ```
#[derive(Debug, Clone)]
pub struct ThompsonGaussian {
    /// Posterior precision and precision-weighted mean per arm.
    prec: Vec<f64>,
    prec_mean: Vec<f64>,
    mu0: f64,
    s0: f64,
    noise_prec: f64,
    /// Posterior means and standard deviations `1 / sqrt(precision)`,
    /// kept in step with the precisions (one arm changes per step), so a
    /// draw is one multiply-add.
    mean: Vec<f64>,
    sd: Vec<f64>,
    draws: Vec<f64>,
}

impl ThompsonGaussian {
    /// `n_arms` arms, reward noise `sigma` (finite, > 0), prior N(0, 1).
    pub fn new(n_arms: usize, sigma: f64) -> Result<Self> {
        Self::with_prior(n_arms, sigma, 0.0, 1.0)
    }

    /// A Normal(mu0, s0^2) prior (mu0 finite, s0 finite and > 0).
    pub fn with_prior(n_arms: usize, sigma: f64, mu0: f64, s0: f64) -> Result<Self> {
        check_arms(n_arms)?;
        check_positive("sigma", sigma)?;
        check_positive("s0", s0)?;
        if !mu0.is_finite() {
            return Err(crate::Error::InvalidParameter {
                name: "mu0",
                reason: format!("must be finite, got {mu0}"),
            });
        }
        let p0 = 1.0 / (s0 * s0);
        Ok(ThompsonGaussian {
            prec: vec![p0; n_arms],
            prec_mean: vec![p0 * mu0; n_arms],
            mu0,
            s0,
            noise_prec: 1.0 / (sigma * sigma),
            mean: vec![p0 * mu0 / p0; n_arms],
            sd: vec![1.0 / p0.sqrt(); n_arms],
            draws: vec![0.0; n_arms],
        })
    }

    /// The posterior means.
    pub fn posterior_means(&self) -> Vec<f64> {
        self.prec_mean
            .iter()
            .zip(&self.prec)
            .map(|(m, p)| m / p)
            .collect()
    }
}

impl Policy for ThompsonGaussian {
    fn n_arms(&self) -> usize {
        self.prec.len()
    }

    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        for i in 0..self.prec.len() {
            self.draws[i] = self.mean[i] + standard_normal(rng) * self.sd[i];
        }
        argmax_random_ties(&self.draws, rng)
    }

    fn update(&mut self, arm: usize, reward: f64) {
        self.prec[arm] += self.noise_prec;
        self.prec_mean[arm] += self.noise_prec * reward;
        self.mean[arm] = self.prec_mean[arm] / self.prec[arm];
        self.sd[arm] = 1.0 / self.prec[arm].sqrt();
    }

    fn reset(&mut self) {
        let p0 = 1.0 / (self.s0 * self.s0);
        self.prec.fill(p0);
        self.prec_mean.fill(p0 * self.mu0);
        self.mean.fill(p0 * self.mu0 / p0);
        self.sd.fill(1.0 / p0.sqrt());
    }
}
