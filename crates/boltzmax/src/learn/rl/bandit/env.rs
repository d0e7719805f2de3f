//! Bandit environments.

use rand::{Rng, RngCore};

use super::check_arms;
use crate::Result;
use crate::learn::rl::rng::{standard_normal, uniform_open};

/// A stochastic bandit: pulling an arm returns a random reward.
pub trait Environment {
    /// The number of arms.
    fn n_arms(&self) -> usize;
    /// The expected reward of each arm (used for regret and for the
    /// fraction of optimal pulls, never shown to the policy).
    fn means(&self) -> &[f64];
    /// A reward for pulling `arm`.
    fn pull<R: Rng + ?Sized>(&mut self, arm: usize, rng: &mut R) -> f64;
}

fn check_finite(name: &'static str, xs: &[f64]) -> Result<()> {
    if let Some((i, x)) = xs.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(crate::Error::InvalidParameter {
            name,
            reason: format!("entry {i} must be finite, got {x}"),
        });
    }
    Ok(())
}

/// Arms with Gaussian rewards `N(mean_i, sd^2)`.
///
/// ```
/// use boltzmax::learn::rl::bandit::{Environment, GaussianBandit};
/// use boltzmax::learn::rl::stream_rng;
/// // The 10-armed testbed of Sutton and Barto: q* ~ N(0, 1), rewards N(q*, 1).
/// let mut rng = stream_rng(0, 0);
/// let env = GaussianBandit::testbed(10, 0.0, &mut rng).unwrap();
/// assert_eq!(env.n_arms(), 10);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianBandit {
    means: Vec<f64>,
    sd: f64,
}

impl GaussianBandit {
    /// Given means (finite) and a common reward standard deviation
    /// (finite, >= 0).
    pub fn new(means: Vec<f64>, sd: f64) -> Result<Self> {
        check_arms(means.len())?;
        check_finite("means", &means)?;
        super::check_range("sd", sd, 0.0, f64::MAX)?;
        Ok(GaussianBandit { means, sd })
    }

    /// Sutton and Barto's testbed: `k` means drawn from `N(offset, 1)`
    /// with `rng`, unit reward noise (`offset = 4` gives the variant of
    /// their figure 2.5).
    pub fn testbed<R: Rng + ?Sized>(k: usize, offset: f64, rng: &mut R) -> Result<Self> {
        check_arms(k)?;
        let means = (0..k).map(|_| offset + standard_normal(rng)).collect();
        Self::new(means, 1.0)
    }
}

impl Environment for GaussianBandit {
    fn n_arms(&self) -> usize {
        self.means.len()
    }
    fn means(&self) -> &[f64] {
        &self.means
    }
    #[inline]
    fn pull<R: Rng + ?Sized>(&mut self, arm: usize, rng: &mut R) -> f64 {
        self.means[arm] + self.sd * standard_normal(rng)
    }
}

/// Arms with Bernoulli rewards: 1 with probability `p_i`, else 0.
///
/// ```
/// use boltzmax::learn::rl::bandit::{BernoulliBandit, Environment};
/// use boltzmax::learn::rl::stream_rng;
/// let mut env = BernoulliBandit::new(vec![0.0, 1.0]).unwrap();
/// assert_eq!(env.pull(1, &mut stream_rng(0, 0)), 1.0);
/// assert!(BernoulliBandit::new(vec![1.5]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BernoulliBandit {
    means: Vec<f64>,
}

impl BernoulliBandit {
    /// Success probabilities, each in [0, 1].
    pub fn new(means: Vec<f64>) -> Result<Self> {
        check_arms(means.len())?;
        for &p in &means {
            super::check_range("p", p, 0.0, 1.0)?;
        }
        Ok(BernoulliBandit { means })
    }
}

impl Environment for BernoulliBandit {
    fn n_arms(&self) -> usize {
        self.means.len()
    }
    fn means(&self) -> &[f64] {
        &self.means
    }
    #[inline]
    fn pull<R: Rng + ?Sized>(&mut self, arm: usize, rng: &mut R) -> f64 {
        if uniform_open(rng) < self.means[arm] {
            1.0
        } else {
            0.0
        }
    }
}

/// A bandit whose rewards come from a function of yours,
/// `f(arm, rng) -> reward`, with the expected rewards you declare (for
/// regret).
///
/// ```
/// use boltzmax::learn::rl::bandit::{Environment, RewardFn};
/// use boltzmax::learn::rl::stream_rng;
/// use rand::Rng;
/// // Arm i pays i, plus uniform noise in [0, 1) with mean 1/2.
/// let mut env = RewardFn::new(vec![0.5, 1.5, 2.5], |arm, rng| arm as f64 + rng.random::<f64>()).unwrap();
/// let r = env.pull(2, &mut stream_rng(0, 0));
/// assert!((2.0..3.0).contains(&r));
/// ```
pub struct RewardFn<F> {
    means: Vec<f64>,
    f: F,
}

impl<F: FnMut(usize, &mut dyn RngCore) -> f64> RewardFn<F> {
    /// One arm per declared mean (finite).
    pub fn new(means: Vec<f64>, f: F) -> Result<Self> {
        check_arms(means.len())?;
        check_finite("means", &means)?;
        Ok(RewardFn { means, f })
    }
}

impl<F> std::fmt::Debug for RewardFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RewardFn")
            .field("means", &self.means)
            .finish_non_exhaustive()
    }
}

impl<F: FnMut(usize, &mut dyn RngCore) -> f64> Environment for RewardFn<F> {
    fn n_arms(&self) -> usize {
        self.means.len()
    }
    fn means(&self) -> &[f64] {
        &self.means
    }
    fn pull<R: Rng + ?Sized>(&mut self, arm: usize, rng: &mut R) -> f64 {
        // Reborrow through a sized wrapper so any `R` becomes `dyn RngCore`.
        let mut r = DynRng(rng);
        (self.f)(arm, &mut r)
    }
}

struct DynRng<'a, R: ?Sized>(&'a mut R);

impl<R: Rng + ?Sized> RngCore for DynRng<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst)
    }
}
