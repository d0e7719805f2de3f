//! Multi-armed bandits: exploration policies, environments and a batch
//! simulator.
//!
//! A [`Policy`] chooses an arm with [`Policy::select`] and learns from the
//! reward with [`Policy::update`]; neither allocates, so one online step
//! costs tens of nanoseconds. The policies:
//!
//! | policy                 | chooses                                         |
//! |------------------------|-------------------------------------------------|
//! | [`Boltzmann`]          | softmax(Q / T), fixed T                          |
//! | [`AnnealedBoltzmann`]  | softmax(Q / T_t) with a [`Schedule`]             |
//! | [`BoltzmannGumbel`]    | argmax Q_i + (C / sqrt(N_i)) Gumbel_i            |
//! | [`Exp3`]               | exponential weights mixed with uniform           |
//! | [`GradientBandit`]     | softmax(H), H by stochastic gradient ascent      |
//! | [`EpsilonGreedy`]      | argmax Q, uniform with probability epsilon       |
//! | [`Ucb1`]               | argmax Q_i + c sqrt(ln t / N_i)                  |
//! | [`ThompsonBeta`]       | argmax of Beta posterior draws                   |
//! | [`ThompsonGaussian`]   | argmax of Normal posterior draws                 |
//!
//! [`PolicySpec`] parses strings such as `boltzmann:T=0.1` or `bge:C=0.5`
//! into an [`AnyPolicy`]. Environments: [`GaussianBandit`] (including the
//! Sutton and Barto 10-armed testbed), [`BernoulliBandit`] and
//! [`RewardFn`] for a reward function of your own.
//!
//! Conventions shared by every policy: the step counter `t` is 1 at the
//! first `select`; ties in an argmax are broken uniformly at random; arms
//! never pulled have estimate `Q0` (default 0), except that UCB1 and
//! Boltzmann-Gumbel pull each untried arm once first (in random order).

mod boltzmann;
pub(crate) use boltzmann::sample_normalised;
mod env;
mod estimates;
mod exp3;
mod gradient;
mod greedy;
mod simulate;
mod spec;
mod thompson;

pub use boltzmann::{AnnealedBoltzmann, Boltzmann, BoltzmannGumbel, Schedule};
pub use env::{BernoulliBandit, Environment, GaussianBandit, RewardFn};
pub use estimates::{Estimates, StepSize};
pub use exp3::Exp3;
pub use gradient::GradientBandit;
pub use greedy::{EpsilonGreedy, Ucb1};
pub use simulate::{Curves, Simulation};
pub use spec::{AnyPolicy, PolicySpec, QSpec};
pub use thompson::{ThompsonBeta, ThompsonGaussian};

use rand::Rng;

/// A bandit policy: an online learner that picks arms.
///
/// `select` then `update` with the reward of the selected arm is one
/// step. Calling `update` for an arm other than the last selected one is
/// allowed (off-policy feedback) for the value-based policies; [`Exp3`]
/// and [`GradientBandit`] assume the arm is the one just selected.
pub trait Policy {
    /// The number of arms.
    fn n_arms(&self) -> usize;
    /// Chooses an arm in `0..n_arms()`.
    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize;
    /// Learns from `reward` obtained by pulling `arm`. Rewards must be
    /// finite; policies documented for rewards in [0, 1] expect those.
    fn update(&mut self, arm: usize, reward: f64);
    /// Forgets everything learned, as if newly built.
    fn reset(&mut self);
    /// `(p.select(rp), q.select(rq))` for two policies of the same kind,
    /// each with its own generator: what [`Simulation`] calls to step two
    /// runs at once. A policy may interleave the two selections' work
    /// (Thompson-Beta runs both vector passes first) but must draw from
    /// each generator exactly as `select` would, so the answers are the
    /// same.
    #[doc(hidden)]
    fn select_pair<R: Rng + ?Sized>(
        p: &mut Self,
        q: &mut Self,
        rp: &mut R,
        rq: &mut R,
    ) -> (usize, usize)
    where
        Self: Sized,
    {
        (p.select(rp), q.select(rq))
    }
}

/// The index of the largest `score`, ties broken uniformly at random (one
/// draw only when there is a tie). NaN scores are never chosen unless all
/// are NaN (then index 0).
///
/// Without data-dependent branches until the tie test: the maximum (a
/// `maxsd` chain), then the count of entries equal to it and the first of
/// them (conditional moves). Thompson sampling's argmax lands on a random
/// arm each step, which made the one-pass loop with branches mispredict.
#[inline]
pub(crate) fn argmax_random_ties<R: Rng + ?Sized>(scores: &[f64], rng: &mut R) -> usize {
    let mut best = f64::NEG_INFINITY;
    for &s in scores {
        best = if s > best { s } else { best };
    }
    let mut arg = 0;
    let mut ties = 0usize;
    for (i, &s) in scores.iter().enumerate().rev() {
        let eq = s == best;
        ties += usize::from(eq);
        arg = if eq { i } else { arg };
    }
    if ties <= 1 {
        return arg;
    }
    let mut k = super::rng::index(rng, ties);
    for (i, &s) in scores.iter().enumerate().skip(arg) {
        if s == best {
            if k == 0 {
                return i;
            }
            k -= 1;
        }
    }
    arg
}

/// Validates an arm count.
pub(crate) fn check_arms(n_arms: usize) -> crate::Result<()> {
    if n_arms == 0 {
        return Err(crate::Error::InvalidParameter {
            name: "n_arms",
            reason: "a bandit needs at least one arm, got 0".into(),
        });
    }
    Ok(())
}

/// Validates a parameter that must be finite and > 0.
pub(crate) fn check_positive(name: &'static str, v: f64) -> crate::Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(crate::Error::InvalidParameter {
            name,
            reason: format!("must be finite and > 0, got {v}"),
        });
    }
    Ok(())
}

/// Validates a parameter that must lie in [lo, hi].
pub(crate) fn check_range(name: &'static str, v: f64, lo: f64, hi: f64) -> crate::Result<()> {
    if !(v >= lo && v <= hi) {
        return Err(crate::Error::InvalidParameter {
            name,
            reason: format!("must be in [{lo}, {hi}], got {v}"),
        });
    }
    Ok(())
}
