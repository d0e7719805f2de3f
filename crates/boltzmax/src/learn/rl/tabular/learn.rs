//! Q-learning, SARSA and expected SARSA with softmax or epsilon-greedy
//! exploration.

use rand::Rng;

use super::{Mdp, dp};
use crate::learn::rl::bandit::Schedule;
use crate::learn::rl::rng::{index, uniform_open};
use crate::{Error, Params, Result};

/// The temporal-difference target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `r + gamma max_a' Q(s', a')` (off-policy).
    QLearning,
    /// `r + gamma Q(s', a')` with `a'` the action then taken (on-policy).
    Sarsa,
    /// `r + gamma sum_a' pi(a' | s') Q(s', a')` under the exploration
    /// policy.
    ExpectedSarsa,
}

/// How actions are chosen while learning. Schedules are evaluated at the
/// episode number (1 for the first episode).
#[derive(Debug, Clone)]
pub enum Exploration {
    /// `softmax(Q(s, .) / T_episode)`.
    Boltzmann(Schedule),
    /// Uniform with probability `epsilon_episode` (values above 1 act as
    /// 1), else greedy with random tie-breaking.
    EpsilonGreedy(Schedule),
}

/// Settings of [`train`].
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// The TD target.
    pub algorithm: Algorithm,
    /// The behaviour policy.
    pub exploration: Exploration,
    /// Step size in (0, 1].
    pub alpha: f64,
    /// Discount in [0, 1].
    pub gamma: f64,
    /// Number of episodes.
    pub episodes: usize,
    /// Actions per episode before it is cut off (truncation, not a
    /// terminal state: the last update still bootstraps).
    pub max_steps: usize,
    /// Initial action values.
    pub q0: f64,
    /// Score the greedy policy exactly every this many episodes (0: only
    /// at the end), with [`dp::horizon_values`] over `eval_horizon`.
    pub eval_every: usize,
    /// The horizon of the exact scores.
    pub eval_horizon: usize,
}

impl TrainConfig {
    /// Q-learning with Boltzmann exploration annealed geometrically from
    /// `t_start` to `t_end` over `episodes`, alpha 0.1, gamma 0.99,
    /// episodes cut at `max_steps` actions, scored over that horizon.
    pub fn q_learning_annealed(
        t_start: f64,
        t_end: f64,
        episodes: usize,
        max_steps: usize,
    ) -> Result<Self> {
        Ok(TrainConfig {
            algorithm: Algorithm::QLearning,
            exploration: Exploration::Boltzmann(Schedule::geometric(
                t_start,
                t_end,
                episodes as u64,
            )?),
            alpha: 0.1,
            gamma: 0.99,
            episodes,
            max_steps,
            q0: 0.0,
            eval_every: 0,
            eval_horizon: max_steps,
        })
    }

    fn validate(&self) -> Result<()> {
        let range = |name: &'static str, v: f64, lo: f64, hi: f64| {
            if v >= lo && v <= hi {
                Ok(())
            } else {
                Err(Error::InvalidParameter {
                    name,
                    reason: format!("must be in [{lo}, {hi}], got {v}"),
                })
            }
        };
        range("alpha", self.alpha, f64::MIN_POSITIVE, 1.0)?;
        range("gamma", self.gamma, 0.0, 1.0)?;
        if !self.q0.is_finite() {
            return Err(Error::InvalidParameter {
                name: "q0",
                reason: format!("must be finite, got {}", self.q0),
            });
        }
        match &self.exploration {
            Exploration::Boltzmann(s) | Exploration::EpsilonGreedy(s) => s.validate(),
        }
    }
}

/// The result of [`train`].
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// Learned action values, indexed `s * n_actions + a`.
    pub q: Vec<f64>,
    /// The undiscounted return of each episode.
    pub returns: Vec<f64>,
    /// `(episodes done, exact value of the greedy policy from the start
    /// over eval_horizon)`, every `eval_every` episodes and at the end.
    pub scores: Vec<(usize, f64)>,
}

impl Training {
    /// The exact score of the final greedy policy.
    pub fn final_score(&self) -> f64 {
        self.scores.last().map_or(f64::NAN, |s| s.1)
    }
}

/// The behaviour policy at one episode, with its scratch buffer.
struct Behaviour {
    softmax: bool,
    value: f64,
    probs: Vec<f64>,
}

impl Behaviour {
    /// Fills `probs` with the action probabilities in a state.
    fn fill(&mut self, row: &[f64]) {
        if self.softmax {
            let params = Params::temperature(self.value).expect("schedules are clamped");
            crate::softmax_into(&mut self.probs, row, &params).expect("same length");
        } else {
            let eps = self.value.min(1.0);
            let best = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let ties = row.iter().filter(|&&q| q == best).count() as f64;
            let n = row.len() as f64;
            for (p, &q) in self.probs.iter_mut().zip(row) {
                *p = eps / n + if q == best { (1.0 - eps) / ties } else { 0.0 };
            }
        }
    }

    fn choose<R: Rng + ?Sized>(&mut self, row: &[f64], rng: &mut R) -> usize {
        if !self.softmax {
            let eps = self.value.min(1.0);
            if eps > 0.0 && uniform_open(rng) < eps {
                return index(rng, row.len());
            }
            return crate::learn::rl::bandit::argmax_random_ties(row, rng);
        }
        self.fill(row);
        crate::learn::rl::bandit::sample_normalised(&self.probs, uniform_open(rng))
    }
}

/// Learns action values on `mdp` from episodes that start at
/// [`Mdp::start`], with randomness from `rng`.
///
/// ```
/// use boltzmax::learn::rl::tabular::{train, Mdp, TrainConfig, FROZEN_LAKE_4X4};
/// use boltzmax::learn::rl::stream_rng;
/// let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, false).unwrap();
/// let cfg = TrainConfig::q_learning_annealed(1.0, 0.01, 500, 100).unwrap();
/// let run = train(&lake, &cfg, &mut stream_rng(0, 0)).unwrap();
/// assert_eq!(run.final_score(), 1.0); // the deterministic lake is solved
/// ```
pub fn train<R: Rng + ?Sized>(mdp: &Mdp, cfg: &TrainConfig, rng: &mut R) -> Result<Training> {
    cfg.validate()?;
    let na = mdp.n_actions();
    let mut q = vec![cfg.q0; mdp.n_states() * na];
    // Terminal states keep Q = 0 (they are never bootstrapped from, but a
    // clean table reads better).
    for s in (0..mdp.n_states()).filter(|&s| mdp.is_terminal(s)) {
        q[s * na..(s + 1) * na].fill(0.0);
    }
    let (softmax, schedule) = match &cfg.exploration {
        Exploration::Boltzmann(s) => (true, s),
        Exploration::EpsilonGreedy(s) => (false, s),
    };
    let mut pol = Behaviour {
        softmax,
        value: 1.0,
        probs: vec![0.0; na],
    };
    let mut returns = Vec::with_capacity(cfg.episodes);
    let mut scores = Vec::new();
    let score =
        |q: &[f64]| dp::horizon_values(mdp, &dp::greedy(mdp, q), cfg.eval_horizon)[mdp.start()];
    for episode in 0..cfg.episodes {
        pol.value = schedule.temperature(episode as u64 + 1);
        let mut s = mdp.start();
        let mut a = pol.choose(&q[s * na..(s + 1) * na], rng);
        let mut ret = 0.0;
        for _ in 0..cfg.max_steps {
            let o = mdp.step(s, a, rng);
            ret += o.reward;
            let next_row = o.next * na..(o.next + 1) * na;
            let (target, next_a) = if o.done {
                (o.reward, 0)
            } else {
                match cfg.algorithm {
                    Algorithm::QLearning => {
                        let m = q[next_row.clone()]
                            .iter()
                            .copied()
                            .fold(f64::NEG_INFINITY, f64::max);
                        (o.reward + cfg.gamma * m, usize::MAX)
                    }
                    Algorithm::Sarsa => {
                        let a2 = pol.choose(&q[next_row.clone()], rng);
                        (o.reward + cfg.gamma * q[o.next * na + a2], a2)
                    }
                    Algorithm::ExpectedSarsa => {
                        pol.fill(&q[next_row.clone()]);
                        let e: f64 = pol
                            .probs
                            .iter()
                            .zip(&q[next_row.clone()])
                            .map(|(p, v)| p * v)
                            .sum();
                        (o.reward + cfg.gamma * e, usize::MAX)
                    }
                }
            };
            let i = s * na + a;
            q[i] += cfg.alpha * (target - q[i]);
            if o.done {
                break;
            }
            s = o.next;
            a = if next_a == usize::MAX {
                pol.choose(&q[s * na..(s + 1) * na], rng)
            } else {
                next_a
            };
        }
        returns.push(ret);
        if cfg.eval_every > 0 && (episode + 1) % cfg.eval_every == 0 {
            scores.push((episode + 1, score(&q)));
        }
    }
    if scores.last().map(|s| s.0) != Some(cfg.episodes) {
        scores.push((cfg.episodes, score(&q)));
    }
    Ok(Training { q, returns, scores })
}
