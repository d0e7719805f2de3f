//! The gradient bandit of Sutton and Barto, section 2.8.

use rand::Rng;

use super::boltzmann::sample_with_total;
use super::{Policy, check_arms, check_positive};
use crate::Result;
use crate::learn::rl::fastmath::{padded_len, softmax_weights};
use crate::learn::rl::rng::uniform_open;

/// The gradient bandit (Sutton and Barto, 2nd ed., section 2.8): arm `i`
/// with probability `pi_i = softmax(H)_i`, and after reward `R` for arm
/// `a`, `H_i += alpha (R - baseline) (1[i = a] - pi_i)`.
///
/// The baseline is the mean of the rewards before this step (eq. 2.12 as
/// corrected in the book's errata), and the first reward itself at the
/// first step, so the first update is zero; without a baseline it is 0.
/// The weights `exp(H_i - m)` (m the maximum of `H` at some earlier step)
/// and their sum are recomputed once per update in one vectorised pass
/// into buffers the policy owns; the draw scales its uniform by that sum,
/// and the normalised probabilities, which the next update needs, are
/// formed beside it, off the path from one step to the next.
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
    /// Preferences, padded to [`padded_len`] with `-inf` (weight 0).
    h: Vec<f64>,
    /// Weights `exp(H_i - shift)`, padded with 0.
    w: Vec<f64>,
    /// Their sum.
    w_total: f64,
    shift: f64,
    /// Probabilities `w / w_total`, padded with 0.
    pi: Vec<f64>,
    alpha: f64,
    use_baseline: bool,
    mean_reward: f64,
    t: u64,
    k: usize,
}

impl GradientBandit {
    /// `n_arms` arms, step size `alpha` (finite, > 0), with or without the
    /// average-reward baseline.
    pub fn new(n_arms: usize, alpha: f64, baseline: bool) -> Result<Self> {
        check_arms(n_arms)?;
        check_positive("alpha", alpha)?;
        let mut p = GradientBandit {
            h: vec![0.0; padded_len(n_arms)],
            w: vec![0.0; padded_len(n_arms)],
            w_total: 0.0,
            shift: 0.0,
            pi: vec![0.0; padded_len(n_arms)],
            alpha,
            use_baseline: baseline,
            mean_reward: 0.0,
            t: 0,
            k: n_arms,
        };
        p.reset();
        Ok(p)
    }

    /// The action preferences `H`.
    pub fn preferences(&self) -> &[f64] {
        &self.h[..self.k]
    }

    /// The selection probabilities `softmax(H)`.
    pub fn probabilities(&self) -> &[f64] {
        &self.pi[..self.k]
    }
}

impl Policy for GradientBandit {
    fn n_arms(&self) -> usize {
        self.k
    }

    #[inline]
    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        sample_with_total(&self.w[..self.k], self.w_total, uniform_open(rng))
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
            // Padding lanes: -inf + g (0 - 0) stays -inf.
            for (i, (h, &p)) in self.h.iter_mut().zip(&self.pi).enumerate() {
                // Branch-free, so that the loop vectorises.
                let indicator = f64::from(u8::from(i == arm));
                *h += g * (indicator - p);
            }
            self.w_total = softmax_weights(&self.h, &mut self.w, &mut self.shift, 1.0);
            let inv = 1.0 / self.w_total;
            for (p, &w) in self.pi.iter_mut().zip(&self.w) {
                *p = w * inv;
            }
        }
    }

    fn reset(&mut self) {
        let k = self.k;
        self.h[..k].fill(0.0);
        self.h[k..].fill(f64::NEG_INFINITY);
        self.w[..k].fill(1.0);
        self.w[k..].fill(0.0);
        self.w_total = k as f64;
        self.shift = 0.0;
        self.pi[..k].fill(1.0 / k as f64);
        self.pi[k..].fill(0.0);
        self.mean_reward = 0.0;
        self.t = 0;
    }
}
