//! Many independent bandit runs in parallel, summarised per step.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::{Environment, Policy};
use crate::Result;
use crate::learn::rl::stream_rng;

/// The generator each run uses: [`stream_rng`]`(seed, run)`.
pub type RunRng = crate::sample::PortableRng;

/// Runs per unit of parallel work. Fixed, so that the order in which
/// floating-point sums are formed, and hence every output bit, does not
/// depend on the number of threads.
const CHUNK: usize = 16;

/// A batch of independent runs of one policy on freshly drawn
/// environments.
///
/// Run `r` uses the generator [`stream_rng`]`(seed, r)`: it first builds
/// the environment (so the 10-armed testbed draws its `q*` there, and two
/// policies simulated with the same seed face the same problems), then
/// draws the policy's choices and the rewards. Runs are spread over
/// rayon's current thread pool in fixed chunks whose sums are combined in
/// run order, so the result is bit-for-bit the same for a seed whatever
/// the number of threads.
///
/// ```
/// use boltzmax::learn::rl::bandit::{Boltzmann, GaussianBandit, Simulation};
/// let sim = Simulation::new(200, 100, 7).unwrap();
/// let curves = sim
///     .run(|| Boltzmann::new(10, 0.25), |rng| GaussianBandit::testbed(10, 0.0, rng))
///     .unwrap();
/// assert_eq!(curves.mean_reward.len(), 100);
/// assert!(curves.mean_reward[99] > curves.mean_reward[0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Simulation {
    /// The number of independent runs.
    pub runs: usize,
    /// Steps per run.
    pub steps: usize,
    /// The master seed.
    pub seed: u64,
}

/// Per-step summaries over the runs of a [`Simulation`].
///
/// Standard deviations are across runs (divide by `sqrt(runs)` for the
/// standard error of the mean); with one run they are 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    /// The number of runs summarised.
    pub runs: usize,
    /// Mean reward received at each step.
    pub mean_reward: Vec<f64>,
    /// Standard deviation of the reward at each step.
    pub sd_reward: Vec<f64>,
    /// Fraction of runs that pulled an optimal arm (one with the largest
    /// mean) at each step.
    pub optimal_fraction: Vec<f64>,
    /// Mean cumulative pseudo-regret `sum_s (mu* - mu_{a_s})` after each
    /// step (expected rewards, not the noisy ones).
    pub mean_regret: Vec<f64>,
    /// Standard deviation of the cumulative pseudo-regret.
    pub sd_regret: Vec<f64>,
}

impl Curves {
    /// Standard error of the mean cumulative regret after step `t`
    /// (0-based index).
    pub fn regret_stderr(&self, t: usize) -> f64 {
        self.sd_regret[t] / (self.runs as f64).sqrt()
    }

    /// Standard error of the mean reward at step `t` (0-based index).
    pub fn reward_stderr(&self, t: usize) -> f64 {
        self.sd_reward[t] / (self.runs as f64).sqrt()
    }
}

/// Sums over a chunk of runs, per step.
struct Sums {
    reward: Vec<f64>,
    reward2: Vec<f64>,
    optimal: Vec<u32>,
    regret: Vec<f64>,
    regret2: Vec<f64>,
}

impl Sums {
    fn new(steps: usize) -> Self {
        Sums {
            reward: vec![0.0; steps],
            reward2: vec![0.0; steps],
            optimal: vec![0; steps],
            regret: vec![0.0; steps],
            regret2: vec![0.0; steps],
        }
    }

    fn add(&mut self, o: &Sums) {
        for (a, b) in self.reward.iter_mut().zip(&o.reward) {
            *a += b;
        }
        for (a, b) in self.reward2.iter_mut().zip(&o.reward2) {
            *a += b;
        }
        for (a, b) in self.optimal.iter_mut().zip(&o.optimal) {
            *a += b;
        }
        for (a, b) in self.regret.iter_mut().zip(&o.regret) {
            *a += b;
        }
        for (a, b) in self.regret2.iter_mut().zip(&o.regret2) {
            *a += b;
        }
    }
}

fn sd(sum: f64, sum2: f64, n: usize) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let n = n as f64;
    ((sum2 - sum * sum / n) / (n - 1.0)).max(0.0).sqrt()
}

impl Simulation {
    /// `runs` runs of `steps` steps (both >= 1) under master seed `seed`.
    pub fn new(runs: usize, steps: usize, seed: u64) -> Result<Self> {
        for (name, v) in [("runs", runs), ("steps", steps)] {
            if v == 0 {
                return Err(crate::Error::InvalidParameter {
                    name,
                    reason: "must be at least 1, got 0".into(),
                });
            }
        }
        Ok(Simulation { runs, steps, seed })
    }

    /// Runs the batch in parallel. `make_policy` builds a fresh policy,
    /// `make_env` the environment of one run from that run's generator.
    pub fn run<P, E, MP, ME>(&self, make_policy: MP, make_env: ME) -> Result<Curves>
    where
        P: Policy,
        E: Environment,
        MP: Fn() -> Result<P> + Sync,
        ME: Fn(&mut RunRng) -> Result<E> + Sync,
    {
        self.run_with_progress(make_policy, make_env, &|_| {})
    }

    /// [`run`](Self::run), calling `progress(done)` with the number of
    /// finished runs as chunks of runs complete (from worker threads).
    pub fn run_with_progress<P, E, MP, ME>(
        &self,
        make_policy: MP,
        make_env: ME,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Curves>
    where
        P: Policy,
        E: Environment,
        MP: Fn() -> Result<P> + Sync,
        ME: Fn(&mut RunRng) -> Result<E> + Sync,
    {
        let n_chunks = self.runs.div_ceil(CHUNK);
        let done = AtomicUsize::new(0);
        let chunks: Vec<Sums> = (0..n_chunks)
            .into_par_iter()
            .map(|c| {
                let lo = c * CHUNK;
                let hi = (lo + CHUNK).min(self.runs);
                let mut sums = Sums::new(self.steps);
                let mut policies = [make_policy()?, make_policy()?];
                let mut run = lo;
                while run + 1 < hi {
                    policies.iter_mut().for_each(Policy::reset);
                    self.two_runs(run, &mut policies, &make_env, &mut sums)?;
                    run += 2;
                }
                if run < hi {
                    policies[0].reset();
                    self.one_run(run, &mut policies[0], &make_env, &mut sums)?;
                }
                let d = done.fetch_add(hi - lo, Ordering::Relaxed) + hi - lo;
                progress(d);
                Ok(sums)
            })
            .collect::<Result<_>>()?;
        let mut total = Sums::new(self.steps);
        for c in &chunks {
            total.add(c);
        }
        let n = self.runs;
        let nf = n as f64;
        Ok(Curves {
            runs: n,
            mean_reward: total.reward.iter().map(|s| s / nf).collect(),
            sd_reward: (0..self.steps)
                .map(|t| sd(total.reward[t], total.reward2[t], n))
                .collect(),
            optimal_fraction: total.optimal.iter().map(|&k| k as f64 / nf).collect(),
            mean_regret: total.regret.iter().map(|s| s / nf).collect(),
            sd_regret: (0..self.steps)
                .map(|t| sd(total.regret[t], total.regret2[t], n))
                .collect(),
        })
    }

    /// Runs `run` and `run + 1` in lock step, a step of one then the
    /// same step of the other: the same draws, and the same per-step sums
    /// added in run order at every step, as two calls of
    /// [`one_run`](Self::one_run) (each step's sums are separate numbers,
    /// so the order of additions into each is unchanged), but the two
    /// runs' independent instruction streams overlap in the processor:
    /// one run's latencies (a division, a square root, a gather, the
    /// serial generator, a mispredicted branch) are filled with the
    /// other's work. One thread, full testbed: 7-18% faster for every
    /// policy (more runs in lock step, written generically, were slower).
    fn two_runs<P, E, ME>(
        &self,
        run: usize,
        policies: &mut [P; 2],
        make_env: &ME,
        sums: &mut Sums,
    ) -> Result<()>
    where
        P: Policy,
        E: Environment,
        ME: Fn(&mut RunRng) -> Result<E>,
    {
        let [p0, p1] = policies;
        let (mut rng0, mut rng1) = (
            stream_rng(self.seed, run as u64),
            stream_rng(self.seed, run as u64 + 1),
        );
        let mut env0 = make_env(&mut rng0)?;
        check_env(&env0, p0)?;
        let mut env1 = make_env(&mut rng1)?;
        check_env(&env1, p1)?;
        let (best0, best1) = (best_mean(&env0), best_mean(&env1));
        let (mut regret0, mut regret1) = (0.0, 0.0);
        for t in 0..self.steps {
            let (a0, a1) = P::select_pair(p0, p1, &mut rng0, &mut rng1);
            let r0 = env0.pull(a0, &mut rng0);
            let r1 = env1.pull(a1, &mut rng1);
            p0.update(a0, r0);
            p1.update(a1, r1);
            let (mu0, mu1) = (env0.means()[a0], env1.means()[a1]);
            regret0 += best0 - mu0;
            regret1 += best1 - mu1;
            sums.reward[t] += r0;
            sums.reward[t] += r1;
            sums.reward2[t] += r0 * r0;
            sums.reward2[t] += r1 * r1;
            sums.optimal[t] += u32::from(mu0 == best0);
            sums.optimal[t] += u32::from(mu1 == best1);
            sums.regret[t] += regret0;
            sums.regret[t] += regret1;
            sums.regret2[t] += regret0 * regret0;
            sums.regret2[t] += regret1 * regret1;
        }
        Ok(())
    }

    fn one_run<P, E, ME>(
        &self,
        run: usize,
        policy: &mut P,
        make_env: &ME,
        sums: &mut Sums,
    ) -> Result<()>
    where
        P: Policy,
        E: Environment,
        ME: Fn(&mut RunRng) -> Result<E>,
    {
        let mut rng = stream_rng(self.seed, run as u64);
        let mut env = make_env(&mut rng)?;
        check_env(&env, policy)?;
        let best = best_mean(&env);
        let mut regret = 0.0;
        for t in 0..self.steps {
            let arm = policy.select(&mut rng);
            let reward = env.pull(arm, &mut rng);
            policy.update(arm, reward);
            let mu = env.means()[arm];
            regret += best - mu;
            sums.reward[t] += reward;
            sums.reward2[t] += reward * reward;
            sums.optimal[t] += u32::from(mu == best);
            sums.regret[t] += regret;
            sums.regret2[t] += regret * regret;
        }
        Ok(())
    }
}

/// The policy and the environment must have the same number of arms.
fn check_env<E: Environment, P: Policy>(env: &E, policy: &P) -> Result<()> {
    if env.n_arms() != policy.n_arms() {
        return Err(crate::Error::LengthMismatch {
            what: "policy arms",
            got: policy.n_arms(),
            expected: env.n_arms(),
        });
    }
    Ok(())
}

/// The largest expected reward.
fn best_mean<E: Environment>(env: &E) -> f64 {
    env.means()
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
}
