//! The value-based baselines: epsilon-greedy and UCB1.

use rand::Rng;

use super::estimates::{Estimates, StepSize};
use super::{Policy, argmax_random_ties, check_range};
use crate::Result;
use crate::learn::rl::fastmath::ucb_scores;
use crate::learn::rl::rng::{index, uniform_open};

/// Epsilon-greedy: with probability `epsilon` a uniformly random arm,
/// otherwise the arm with the largest estimate (ties at random).
///
/// ```
/// use boltzmax::learn::rl::bandit::{EpsilonGreedy, Policy};
/// use boltzmax::learn::rl::stream_rng;
/// let mut p = EpsilonGreedy::new(3, 0.0).unwrap();
/// p.update(1, 1.0);
/// assert_eq!(p.select(&mut stream_rng(0, 0)), 1);
/// ```
#[derive(Debug, Clone)]
pub struct EpsilonGreedy {
    est: Estimates,
    epsilon: f64,
}

impl EpsilonGreedy {
    /// `n_arms` arms, exploration rate `epsilon` in [0, 1], sample-average
    /// estimates starting at 0.
    pub fn new(n_arms: usize, epsilon: f64) -> Result<Self> {
        Self::with_estimates(
            Estimates::new(n_arms, 0.0, StepSize::SampleAverage)?,
            epsilon,
        )
    }

    /// Rate `epsilon` over estimates of your choice (optimistic initial
    /// values, constant step size).
    pub fn with_estimates(est: Estimates, epsilon: f64) -> Result<Self> {
        check_range("epsilon", epsilon, 0.0, 1.0)?;
        Ok(EpsilonGreedy { est, epsilon })
    }

    /// The action-value estimates `Q`.
    pub fn estimates(&self) -> &[f64] {
        self.est.values()
    }
}

impl Policy for EpsilonGreedy {
    fn n_arms(&self) -> usize {
        self.est.values().len()
    }

    #[inline]
    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        if self.epsilon > 0.0 && uniform_open(rng) < self.epsilon {
            index(rng, self.n_arms())
        } else {
            argmax_random_ties(self.est.values(), rng)
        }
    }

    #[inline]
    fn update(&mut self, arm: usize, reward: f64) {
        self.est.update(arm, reward);
    }

    fn reset(&mut self) {
        self.est.reset();
    }
}

/// Upper confidence bounds: `argmax_i Q_i + c sqrt(ln t / N_i)` (Sutton
/// and Barto eq. 2.10); `c = sqrt(2)` is UCB1 of Auer, Cesa-Bianchi and
/// Fischer (2002). Untried arms first, in random order.
///
/// ```
/// use boltzmax::learn::rl::bandit::{Policy, Ucb1};
/// use boltzmax::learn::rl::stream_rng;
/// let mut p = Ucb1::new(2, 2.0).unwrap();
/// let mut rng = stream_rng(0, 0);
/// let a = p.select(&mut rng);
/// p.update(a, 0.0);
/// assert_eq!(p.select(&mut rng), 1 - a); // the untried arm next
/// ```
#[derive(Debug, Clone)]
pub struct Ucb1 {
    est: Estimates,
    c: f64,
    scores: Vec<f64>,
    t: u64,
}

impl Ucb1 {
    /// `n_arms` arms with exploration weight `c >= 0`.
    pub fn new(n_arms: usize, c: f64) -> Result<Self> {
        Self::with_estimates(Estimates::new(n_arms, 0.0, StepSize::SampleAverage)?, c)
    }

    /// Weight `c` over estimates of your choice.
    pub fn with_estimates(est: Estimates, c: f64) -> Result<Self> {
        check_range("c", c, 0.0, f64::MAX)?;
        let n = est.values().len();
        Ok(Ucb1 {
            est,
            c,
            scores: vec![0.0; n],
            t: 0,
        })
    }

    /// The action-value estimates `Q`.
    pub fn estimates(&self) -> &[f64] {
        self.est.values()
    }
}

impl Policy for Ucb1 {
    fn n_arms(&self) -> usize {
        self.scores.len()
    }

    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        let ln_t = ((self.t + 1) as f64).ln();
        ucb_scores(
            &mut self.scores,
            self.est.values(),
            self.est.counts(),
            self.c,
            ln_t,
        );
        argmax_random_ties(&self.scores, rng)
    }

    fn update(&mut self, arm: usize, reward: f64) {
        self.t += 1;
        self.est.update(arm, reward);
    }

    fn reset(&mut self) {
        self.est.reset();
        self.t = 0;
    }
}
