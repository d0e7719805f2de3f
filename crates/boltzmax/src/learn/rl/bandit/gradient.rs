//! The gradient bandit of Sutton and Barto, section 2.8.

use rand::Rng;

use super::boltzmann::sample_normalised;
use super::{Policy, check_arms, check_positive};
use crate::Result;
use crate::learn::rl::fastmath::{exp_shifted_in_place, padded_len};
use crate::learn::rl::rng::uniform_open;

/// The gradient bandit (Sutton and Barto, 2nd ed., section 2.8): arm `i`
/// with probability `pi_i = softmax(H)_i`, and after reward `R` for arm
/// `a`, `H_i += alpha (R - baseline) (1[i = a] - pi_i)`.
///
/// The baseline is the mean of the rewards before this step (eq. 2.12 as
/// corrected in the book's errata), and the first reward itself at the
/// first step, so the first update is zero; without a baseline it is 0.
/// The probabilities `softmax(H)` are recomputed once per update (K
/// exponentials in one vectorised pass) into a buffer the policy owns.
///
/// ```
/// use boltzmax::learn::rl::bandit::{GradientBandit, Policy};
/// let mut p = GradientBandit::new(2, 0.1, true).unwrap();
/// p.update(0, 1.0); // first step: baseline = reward, nothing moves
/// assert_eq!(p.probabilities(), &[0.5, 0.5]);
/// p.update(0, 2.0); // above the baseline 1: arm 0 gains
/// assert!(p.probabilities()[0] > 0.5);
/// ```
#[derive(Debug, Clone)]
pub struct GradientBandit {
    h: Vec<f64>,
    pi: Vec<f64>,
    alpha: f64,
    use_baseline: bool,
    mean_reward: f64,
    t: u64,
}

impl GradientBandit {
    /// `n_arms` arms, step size `alpha` (finite, > 0), with or without the
    /// average-reward baseline.
    pub fn new(n_arms: usize, alpha: f64, baseline: bool) -> Result<Self> {
        check_arms(n_arms)?;
        check_positive("alpha", alpha)?;
        Ok(GradientBandit {
            h: vec![0.0; n_arms],
            // Padded for the batched exponentials; only the first
            // `n_arms` entries are probabilities.
            pi: vec![1.0 / n_arms as f64; padded_len(n_arms)],
            alpha,
            use_baseline: baseline,
            mean_reward: 0.0,
            t: 0,
        })
    }

    /// The action preferences `H`.
    pub fn preferences(&self) -> &[f64] {
        &self.h
    }

    /// The selection probabilities `softmax(H)`.
    pub fn probabilities(&self) -> &[f64] {
        &self.pi[..self.h.len()]
    }
}

impl Policy for GradientBandit {
    fn n_arms(&self) -> usize {
        self.h.len()
    }

    #[inline]
    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        sample_normalised(&self.pi[..self.h.len()], uniform_open(rng))
    }

    fn update(&mut self, arm: usize, reward: f64) {
        let baseline = if !self.use_baseline {
            0.0
        } else if self.t == 0 {
            reward
        } else {
            self.mean_reward
        };
        self.t += 1;
        self.mean_reward += (reward - self.mean_reward) / self.t as f64;
        let g = self.alpha * (reward - baseline);
        if g != 0.0 {
            let k = self.h.len();
            for (i, (h, &p)) in self.h.iter_mut().zip(&self.pi).enumerate() {
                // Branch-free, so that the loop vectorises.
                let indicator = f64::from(u8::from(i == arm));
                *h += g * (indicator - p);
            }
            // softmax(H): the K exponentials in one vectorised pass.
            let m = self.h.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            self.pi[..k].copy_from_slice(&self.h);
            self.pi[k..].fill(m);
            exp_shifted_in_place(&mut self.pi, m, 1.0);
            let total: f64 = self.pi[..k].iter().sum();
            for p in &mut self.pi[..k] {
                *p /= total;
            }
        }
    }

    fn reset(&mut self) {
        self.h.fill(0.0);
        let k = self.h.len() as f64;
        self.pi.fill(1.0 / k);
        self.mean_reward = 0.0;
        self.t = 0;
    }
}
