//! Thompson sampling with conjugate priors.

use rand::Rng;

use super::{Policy, argmax_random_ties, check_arms, check_positive};
use crate::Result;
use crate::learn::rl::rng::{GammaShape, beta_with, standard_normal};

/// Thompson sampling for rewards in [0, 1] with a Beta(a0, b0) prior per
/// arm (default Beta(1, 1), uniform): draw `theta_i ~ Beta(a_i, b_i)` and
/// pull the largest. A reward `r` adds `r` to `a` and `1 - r` to `b`,
/// the conjugate update for Bernoulli rewards and its usual extension to
/// rewards in between. Rewards outside [0, 1] are clamped to it (the
/// posterior would otherwise have invalid parameters); use
/// [`ThompsonGaussian`] for unbounded rewards.
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
    /// Gamma samplers for `a` and `b`, kept in step with them.
    ga: Vec<GammaShape>,
    gb: Vec<GammaShape>,
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
            ga: vec![GammaShape::new(a0); n_arms],
            gb: vec![GammaShape::new(b0); n_arms],
            draws: vec![0.0; n_arms],
        })
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
        for i in 0..self.a.len() {
            self.draws[i] = beta_with(rng, &self.ga[i], &self.gb[i]);
        }
        argmax_random_ties(&self.draws, rng)
    }

    fn update(&mut self, arm: usize, reward: f64) {
        let r = reward.clamp(0.0, 1.0);
        self.a[arm] += r;
        self.b[arm] += 1.0 - r;
        self.ga[arm] = GammaShape::new(self.a[arm]);
        self.gb[arm] = GammaShape::new(self.b[arm]);
    }

    fn reset(&mut self) {
        self.a.fill(self.a0);
        self.b.fill(self.b0);
        self.ga.fill(GammaShape::new(self.a0));
        self.gb.fill(GammaShape::new(self.b0));
    }
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
