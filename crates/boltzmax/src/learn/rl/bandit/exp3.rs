//! EXP3: exponential weights for adversarial bandits.

use rand::Rng;

use super::boltzmann::SoftmaxWeights;
use super::{Policy, check_arms, check_range};
use crate::Result;
use crate::learn::rl::rng::{index, uniform_open};

/// EXP3 (Auer, Cesa-Bianchi, Freund and Schapire, 2002) for rewards in
/// [0, 1]: `p_i = (1 - gamma) softmax(gamma S / K)_i + gamma / K`, where
/// `S_i` sums the importance-weighted rewards `r / p_i` of arm `i`.
///
/// The exponential weights are a Boltzmann distribution over `S` at
/// temperature `K / gamma`, kept in log space (no overflow however long
/// the run) and updated one arm at a time. The uniform mixture is drawn
/// as a separate coin, which gives the same distribution.
///
/// ```
/// use boltzmax::learn::rl::bandit::{Exp3, Policy};
/// use boltzmax::learn::rl::stream_rng;
/// let mut p = Exp3::new(2, 0.1).unwrap();
/// let mut rng = stream_rng(5, 0);
/// for _ in 0..2000 {
///     let a = p.select(&mut rng);
///     p.update(a, if a == 1 { 1.0 } else { 0.0 });
/// }
/// assert!(p.probabilities()[1] > 0.9);
/// ```
#[derive(Debug, Clone)]
pub struct Exp3 {
    s: Vec<f64>,
    weights: SoftmaxWeights,
    gamma: f64,
    /// The probability with which the last selected arm was chosen.
    last_p: f64,
}

impl Exp3 {
    /// `n_arms` arms with exploration rate `gamma` in (0, 1].
    pub fn new(n_arms: usize, gamma: f64) -> Result<Self> {
        check_arms(n_arms)?;
        check_range("gamma", gamma, f64::MIN_POSITIVE, 1.0)?;
        let mut weights = SoftmaxWeights::new(n_arms, n_arms as f64 / gamma);
        let s = vec![0.0; n_arms];
        weights.rebuild(&s);
        Ok(Exp3 {
            s,
            weights,
            gamma,
            last_p: 1.0 / n_arms as f64,
        })
    }

    /// The current selection probabilities (allocates).
    pub fn probabilities(&self) -> Vec<f64> {
        let k = self.s.len() as f64;
        let mut p = vec![0.0; self.s.len()];
        self.weights.probabilities_into(&self.s, &mut p);
        for pi in &mut p {
            *pi = (1.0 - self.gamma) * *pi + self.gamma / k;
        }
        p
    }
}

impl Policy for Exp3 {
    fn n_arms(&self) -> usize {
        self.s.len()
    }

    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        let (arm, total) = if uniform_open(rng) < self.gamma {
            let total: f64 = self.weights.weights().iter().sum();
            (index(rng, self.s.len()), total)
        } else {
            self.weights.sample_with_total(&self.s, uniform_open(rng))
        };
        // p of the chosen arm, needed by the importance weight in update
        // (the total is the one the draw scanned: no second pass).
        let k = self.s.len() as f64;
        let wa = self.weights.weights()[arm];
        self.last_p = (1.0 - self.gamma) * wa / total + self.gamma / k;
        arm
    }

    fn update(&mut self, arm: usize, reward: f64) {
        self.s[arm] += reward / self.last_p;
        self.weights.set(&self.s, arm);
    }

    fn reset(&mut self) {
        self.s.fill(0.0);
        self.weights.rebuild(&self.s);
        self.last_p = 1.0 / self.s.len() as f64;
    }
}
