//! Boltzmann (softmax) exploration: fixed temperature, annealed
//! temperature, and Boltzmann-Gumbel exploration.

use std::fmt;
use std::sync::Arc;

use rand::Rng;

use super::estimates::{Estimates, StepSize};
use super::{Policy, argmax_random_ties, check_arms, check_positive};
use crate::Result;
use crate::learn::rl::fastmath::{
    exp_shifted_in_place, ln_pos, neg_ln_in_place, padded_len, softmax_weights,
};
use crate::learn::rl::rng::{standard_exponential, uniform_open};

/// Unnormalised softmax weights `w_i = exp((x_i - m) / T)` kept in step
/// with the logits `x` one entry at a time.
///
/// A bandit update changes one estimate, so with a fixed temperature only
/// one exponential is needed per step. The shift `m` is the maximum at the
/// last full rebuild. A logit may rise above it (its weight then exceeds
/// one) as long as its exponent stays below [`MAX_EXPONENT`], so that a
/// rising best arm costs one exponential, not K; weights that have all
/// drifted toward underflow, or an exponent past the bound, trigger a
/// rebuild around the current maximum.
#[derive(Debug, Clone)]
pub(crate) struct SoftmaxWeights {
    /// The weights, padded to [`padded_len`] for the batched rebuild;
    /// only the first `n` entries are weights.
    w: Vec<f64>,
    n: usize,
    shift: f64,
    /// The inverse temperature `1 / T`.
    beta: f64,
}

/// The largest exponent `(x_i - m) / T` a weight may have between rebuilds:
/// `e^600 = 3.8e260`, so the sum of up to 10^47 weights stays finite.
const MAX_EXPONENT: f64 = 600.0;

impl SoftmaxWeights {
    pub(crate) fn new(n: usize, temp: f64) -> Self {
        SoftmaxWeights {
            w: vec![1.0; padded_len(n)],
            n,
            shift: 0.0,
            // Finite for every finite temperature > 0 but the subnormal
            // ones, which act as the greedy limit anyway.
            beta: (1.0 / temp).min(1.0 / f64::MIN_POSITIVE),
        }
    }

    /// All weights from scratch around the current maximum: the K
    /// exponentials in one vectorised pass.
    pub(crate) fn rebuild(&mut self, x: &[f64]) {
        let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        self.shift = m;
        self.w[..self.n].copy_from_slice(x);
        self.w[self.n..].fill(m);
        exp_shifted_in_place(&mut self.w, m, self.beta);
    }

    #[inline]
    pub(crate) fn set(&mut self, x: &[f64], i: usize) {
        let e = (x[i] - self.shift) * self.beta;
        if e > MAX_EXPONENT {
            self.rebuild(x);
        } else {
            // One exponential: libm's (table-driven, shorter latency than
            // the batched polynomial with its division).
            self.w[i] = e.exp();
        }
    }

    /// Inverse-CDF draw with `u` in (0, 1); also returns the total weight
    /// it scanned, for callers that need the chosen arm's probability.
    #[inline]
    pub(crate) fn sample_with_total(&mut self, x: &[f64], u: f64) -> (usize, f64) {
        let mut total: f64 = self.weights().iter().sum();
        // Far below the shift every weight may have underflowed: rebuild
        // around the current maximum (rare, and never wrong).
        if total.is_nan() || total <= 1e-250 {
            self.rebuild(x);
            total = self.weights().iter().sum();
        }
        let target = u * total;
        let mut acc = 0.0;
        let mut last = 0;
        for (i, &w) in self.weights().iter().enumerate() {
            if w > 0.0 {
                acc += w;
                last = i;
                if target < acc {
                    return (i, total);
                }
            }
        }
        // Rounding left target >= the accumulated sum: the last arm with
        // positive weight is the one the CDF ends on.
        (last, total)
    }

    /// Inverse-CDF draw with `u` in (0, 1).
    #[inline]
    pub(crate) fn sample(&mut self, x: &[f64], u: f64) -> usize {
        self.sample_with_total(x, u).0
    }

    pub(crate) fn weights(&self) -> &[f64] {
        &self.w[..self.n]
    }

    /// The normalised weights; `x` are the logits the weights follow.
    pub(crate) fn probabilities_into(&self, x: &[f64], out: &mut [f64]) {
        let mut total: f64 = self.weights().iter().sum();
        let mut w = self.weights();
        let mut fresh = Vec::new();
        if total.is_nan() || total <= 1e-250 {
            // Every weight has drifted toward underflow since the last
            // rebuild (the draw rebuilds then; this is `&self`): weights
            // around the current maximum instead.
            let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            fresh.extend(x.iter().map(|&xi| ((xi - m) * self.beta).exp()));
            total = fresh.iter().sum();
            w = &fresh;
        }
        for (o, &wi) in out.iter_mut().zip(w) {
            *o = wi / total;
        }
    }
}

/// Boltzmann exploration with a fixed temperature: arm `i` with
/// probability `softmax(Q / T)_i`.
///
/// One step costs one exponential (the updated arm's weight) and a scan of
/// the weights; nothing is allocated.
///
/// ```
/// use boltzmax::learn::rl::bandit::{Boltzmann, Policy};
/// use boltzmax::learn::rl::stream_rng;
/// let mut p = Boltzmann::new(3, 0.5).unwrap();
/// p.update(2, 1.0);
/// let probs = p.probabilities();
/// let z = 1.0 + 1.0 + 2.0_f64.exp();
/// assert!((probs[2] - 2.0_f64.exp() / z).abs() < 1e-15);
/// let arm = p.select(&mut stream_rng(0, 0));
/// assert!(arm < 3);
/// ```
#[derive(Debug, Clone)]
pub struct Boltzmann {
    est: Estimates,
    weights: SoftmaxWeights,
}

impl Boltzmann {
    /// `n_arms` arms at temperature `t` (finite, > 0), sample-average
    /// estimates starting at 0.
    pub fn new(n_arms: usize, t: f64) -> Result<Self> {
        Self::with_estimates(Estimates::new(n_arms, 0.0, StepSize::SampleAverage)?, t)
    }

    /// Temperature `t` over estimates of your choice (initial value, step
    /// size).
    pub fn with_estimates(est: Estimates, t: f64) -> Result<Self> {
        check_positive("temperature", t)?;
        let mut weights = SoftmaxWeights::new(est.values().len(), t);
        weights.rebuild(est.values());
        Ok(Boltzmann { est, weights })
    }

    /// The action-value estimates `Q`.
    pub fn estimates(&self) -> &[f64] {
        self.est.values()
    }

    /// The selection probabilities `softmax(Q / T)` (allocates).
    pub fn probabilities(&self) -> Vec<f64> {
        let mut p = vec![0.0; self.n_arms()];
        self.weights.probabilities_into(self.est.values(), &mut p);
        p
    }
}

impl Policy for Boltzmann {
    fn n_arms(&self) -> usize {
        self.est.values().len()
    }

    #[inline]
    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        let u = uniform_open(rng);
        self.weights.sample(self.est.values(), u)
    }

    #[inline]
    fn update(&mut self, arm: usize, reward: f64) {
        self.est.update(arm, reward);
        self.weights.set(self.est.values(), arm);
    }

    fn reset(&mut self) {
        self.est.reset();
        self.weights.rebuild(self.est.values());
    }
}

/// A temperature schedule `T_t` for [`AnnealedBoltzmann`], with `t = 1` at
/// the first selection.
#[derive(Clone)]
pub enum Schedule {
    /// `T_t = T`.
    Constant(f64),
    /// `T_t = t0 / ln(1 + t)`: the logarithmic cooling of simulated
    /// annealing (still linear regret on bandits, as Cesa-Bianchi et al.
    /// 2017 show).
    Logarithmic {
        /// The numerator `T0`.
        t0: f64,
    },
    /// `T_t = max(t0 * decay^(t - 1), min)`.
    Exponential {
        /// The first temperature.
        t0: f64,
        /// The factor per step, in (0, 1].
        decay: f64,
        /// The floor, > 0.
        min: f64,
    },
    /// A function of `t` of your own. Values that are not finite and > 0
    /// are clamped: `<= 0` acts as the greedy limit (the smallest positive
    /// temperature, ties sharing the mass) and `+inf` or NaN as uniform
    /// choice.
    Custom(Arc<dyn Fn(u64) -> f64 + Send + Sync>),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Constant(t) => write!(f, "Constant({t})"),
            Schedule::Logarithmic { t0 } => write!(f, "Logarithmic {{ t0: {t0} }}"),
            Schedule::Exponential { t0, decay, min } => {
                write!(f, "Exponential {{ t0: {t0}, decay: {decay}, min: {min} }}")
            }
            Schedule::Custom(_) => write!(f, "Custom(..)"),
        }
    }
}

impl Schedule {
    /// Checks the parameters of the built-in schedules.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Schedule::Constant(t) => check_positive("temperature", t),
            Schedule::Logarithmic { t0 } => check_positive("t0", t0),
            Schedule::Exponential { t0, decay, min } => {
                check_positive("t0", t0)?;
                check_positive("min", min)?;
                super::check_range("decay", decay, f64::MIN_POSITIVE, 1.0)
            }
            Schedule::Custom(_) => Ok(()),
        }
    }

    /// Geometric annealing from `start` at step 1 to `end` at step `n`
    /// (and `end` after): `Exponential { t0: start, decay: (end /
    /// start)^(1 / (n - 1)), min: end }`.
    ///
    /// ```
    /// use boltzmax::learn::rl::bandit::Schedule;
    /// let s = Schedule::geometric(1.0, 0.01, 10_000).unwrap();
    /// assert_eq!(s.temperature(1), 1.0);
    /// assert!((s.temperature(10_000) - 0.01).abs() < 1e-12);
    /// ```
    pub fn geometric(start: f64, end: f64, n: u64) -> Result<Self> {
        check_positive("start", start)?;
        check_positive("end", end)?;
        let decay = if n <= 1 || end >= start {
            1.0
        } else {
            (end / start).powf(1.0 / (n - 1) as f64)
        };
        let s = Schedule::Exponential {
            t0: start,
            decay,
            min: end.min(start),
        };
        s.validate()?;
        Ok(s)
    }

    /// `1 / temperature(t)`, finite and > 0, for the policies (which
    /// multiply by it). The logarithmic schedule computes `ln(1 + t) / T0`
    /// directly with the batched code's `ln` (`1 + t` is exact below
    /// 2^53), avoiding libm's `log1p` and a second division per step.
    #[inline]
    pub(crate) fn inverse_temperature(&self, t: u64) -> f64 {
        let beta = match self {
            Schedule::Logarithmic { t0 } => ln_pos(t as f64 + 1.0) / t0,
            _ => 1.0 / self.temperature(t),
        };
        // A subnormal T0 would give +inf (and NaN at the maximum).
        beta.min(1.0 / f64::MIN_POSITIVE)
    }

    /// The temperature at step `t >= 1`, always finite and > 0.
    ///
    /// ```
    /// use boltzmax::learn::rl::bandit::Schedule;
    /// let s = Schedule::Logarithmic { t0: 1.0 };
    /// assert!((s.temperature(1) - 1.0 / 2.0_f64.ln()).abs() < 1e-15);
    /// ```
    pub fn temperature(&self, t: u64) -> f64 {
        let v = match self {
            Schedule::Constant(t) => *t,
            Schedule::Logarithmic { t0 } => t0 / (t as f64).ln_1p(),
            Schedule::Exponential { t0, decay, min } => {
                (t0 * decay.powf(t.saturating_sub(1) as f64)).max(*min)
            }
            Schedule::Custom(f) => f(t),
        };
        if v.is_nan() || v > f64::MAX {
            f64::MAX
        } else if v <= 0.0 {
            f64::MIN_POSITIVE
        } else {
            v
        }
    }
}

/// Boltzmann exploration with a temperature that changes with the step:
/// arm `i` with probability `softmax(Q / T_t)_i`.
///
/// Every weight changes with `T`, so each selection computes all K
/// exponentials `exp((Q_i - max Q) / T_t)`, in one vectorised pass into a
/// buffer owned by the policy (no allocation per step), and draws by the
/// inverse CDF of these unnormalised weights.
///
/// ```
/// use boltzmax::learn::rl::bandit::{AnnealedBoltzmann, Policy, Schedule};
/// use boltzmax::learn::rl::stream_rng;
/// let mut p = AnnealedBoltzmann::new(4, Schedule::Logarithmic { t0: 1.0 }).unwrap();
/// let mut rng = stream_rng(1, 0);
/// let a = p.select(&mut rng);
/// p.update(a, 1.0);
/// assert_eq!(p.step(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct AnnealedBoltzmann {
    est: Estimates,
    schedule: Schedule,
    probs: Vec<f64>,
    /// The shift of the weights (see `fastmath::softmax_weights`).
    shift: f64,
    /// `1 / T_t` at index `t`, kept for the built-in schedules as steps
    /// are first reached (a logarithm and a division per step for the
    /// logarithmic one; the batch simulator reuses a policy for many
    /// runs). Bitwise what [`Schedule::inverse_temperature`] gives.
    betas: Vec<f64>,
    t: u64,
}

impl AnnealedBoltzmann {
    /// `n_arms` arms with sample-average estimates starting at 0.
    pub fn new(n_arms: usize, schedule: Schedule) -> Result<Self> {
        Self::with_estimates(
            Estimates::new(n_arms, 0.0, StepSize::SampleAverage)?,
            schedule,
        )
    }

    /// A schedule over estimates of your choice.
    pub fn with_estimates(est: Estimates, schedule: Schedule) -> Result<Self> {
        schedule.validate()?;
        let n = est.values().len();
        Ok(AnnealedBoltzmann {
            est,
            schedule,
            probs: vec![0.0; padded_len(n)],
            shift: 0.0,
            betas: Vec::new(),
            t: 0,
        })
    }

    /// The action-value estimates `Q`.
    pub fn estimates(&self) -> &[f64] {
        self.est.values()
    }

    /// The number of updates so far (the next selection is step
    /// `step() + 1`).
    pub fn step(&self) -> u64 {
        self.t
    }

    /// `1 / T_t` for a step not in `betas`: extends the table (doubling,
    /// up to 2^16 steps) for the built-in schedules; a closure is called
    /// for each step it is asked about, as documented.
    #[cold]
    fn beta_slow(&mut self, t: u64) -> f64 {
        const MAX_STEPS: usize = 1 << 16;
        if matches!(self.schedule, Schedule::Custom(_)) || t as usize >= MAX_STEPS {
            return self.schedule.inverse_temperature(t);
        }
        let len = (t as usize + 1).next_power_of_two().clamp(1024, MAX_STEPS);
        let start = self.betas.len() as u64;
        let schedule = &self.schedule;
        // Index 0 (no step 0) holds a placeholder.
        self.betas
            .extend((start..len as u64).map(|s| schedule.inverse_temperature(s.max(1))));
        self.betas[t as usize]
    }
}

impl Policy for AnnealedBoltzmann {
    fn n_arms(&self) -> usize {
        self.est.values().len()
    }

    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        let t = self.t + 1;
        let beta = match self.betas.get(t as usize) {
            Some(&beta) => beta,
            None => self.beta_slow(t),
        };
        // Unnormalised weights exp((Q_i - m) / T) with m the maximum of an
        // earlier step (redone around the current one if it drifted): the
        // K exponentials and their sum in one vectorised pass over the
        // padded estimates; the draw scales u by the sum instead of
        // dividing every weight by it.
        let k = self.est.values().len();
        let total = softmax_weights(
            self.est.padded_values(),
            &mut self.probs,
            &mut self.shift,
            beta,
        );
        sample_with_total(&self.probs[..k], total, uniform_open(rng))
    }

    fn update(&mut self, arm: usize, reward: f64) {
        self.t += 1;
        self.est.update(arm, reward);
    }

    fn reset(&mut self) {
        self.est.reset();
        // As when built: the shift decides the weights' last bits.
        self.shift = 0.0;
        self.t = 0;
    }
}

/// Inverse-CDF draw from probabilities that sum to about 1.
#[inline]
pub(crate) fn sample_normalised(p: &[f64], u: f64) -> usize {
    sample_with_total(p, p.iter().sum(), u)
}

/// Inverse-CDF draw from non-negative weights whose sum, `total`, the
/// caller has computed (in another order, it may differ from the
/// running sum by an ulp or so: a `u` that lands beyond the running sum
/// takes the last arm with positive weight, a bias of order 1e-16).
#[inline]
pub(crate) fn sample_with_total(p: &[f64], total: f64, u: f64) -> usize {
    let target = u * total;
    let mut acc = 0.0;
    let mut last = 0;
    for (i, &pi) in p.iter().enumerate() {
        if pi > 0.0 {
            acc += pi;
            last = i;
            if target < acc {
                return i;
            }
        }
    }
    last
}

/// Boltzmann-Gumbel exploration (Cesa-Bianchi, Gentile, Lugosi and Neu,
/// "Boltzmann exploration done right", NeurIPS 2017): pull
/// `argmax_i Q_i + beta_i G_i` with `G_i` independent standard Gumbel
/// draws and `beta_i = C / sqrt(N_i)`.
///
/// With one `beta` shared by all arms this is exactly a Boltzmann draw at
/// temperature `beta` (the Gumbel-max trick); scaling the noise per arm
/// by its own uncertainty is what gives logarithmic regret. Each untried
/// arm is pulled once first.
///
/// The Gumbel noise does not depend on what the policy has learned, so it
/// is drawn 8 steps at a time: `8 K` standard exponentials `E` (ziggurat)
/// in one go, turned into Gumbels `-ln E` in one vectorised pass (the
/// logarithms are then limited by throughput, not by their latency). The
/// noise not yet used is part of the policy's state: a clone uses it too,
/// and [`Policy::reset`] discards it.
///
/// ```
/// use boltzmax::learn::rl::bandit::{BoltzmannGumbel, Policy};
/// use boltzmax::learn::rl::stream_rng;
/// let mut p = BoltzmannGumbel::new(3, 0.5).unwrap();
/// let mut rng = stream_rng(3, 0);
/// let mut seen = [false; 3];
/// for _ in 0..3 {
///     let a = p.select(&mut rng);
///     seen[a] = true;
///     p.update(a, 0.5);
/// }
/// assert_eq!(seen, [true; 3]); // every arm once first
/// ```
#[derive(Debug, Clone)]
pub struct BoltzmannGumbel {
    est: Estimates,
    c: f64,
    /// `C / sqrt(N_i)` per arm (infinite for untried arms, never used).
    beta: Vec<f64>,
    scores: Vec<f64>,
    /// Gumbel noise for the next steps, `K` values per step, padded to
    /// [`padded_len`]`(NOISE_STEPS * K)`.
    noise: Vec<f64>,
    /// The next unused step of `noise` (`NOISE_STEPS` when all is used).
    next: usize,
}

/// Steps of Gumbel noise drawn at once by [`BoltzmannGumbel`].
const NOISE_STEPS: usize = 8;

impl BoltzmannGumbel {
    /// `n_arms` arms with exploration scale `c` (finite, > 0).
    pub fn new(n_arms: usize, c: f64) -> Result<Self> {
        check_arms(n_arms)?;
        Self::with_estimates(Estimates::new(n_arms, 0.0, StepSize::SampleAverage)?, c)
    }

    /// Scale `c` over estimates of your choice.
    pub fn with_estimates(est: Estimates, c: f64) -> Result<Self> {
        check_positive("C", c)?;
        let n = est.values().len();
        let beta = est
            .counts()
            .iter()
            .map(|&ni| c / (ni as f64).sqrt())
            .collect();
        Ok(BoltzmannGumbel {
            est,
            c,
            beta,
            scores: vec![0.0; n],
            noise: vec![0.0; padded_len(NOISE_STEPS * n)],
            next: NOISE_STEPS,
        })
    }

    /// The action-value estimates `Q`.
    pub fn estimates(&self) -> &[f64] {
        self.est.values()
    }

    /// Draws the noise of the next `NOISE_STEPS` steps: standard
    /// exponentials `E` (ziggurat, no logarithm) in step order and, within
    /// a step, in arm order, then the Gumbels `-ln E` for all of them in
    /// one vectorised pass.
    fn refill<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        let m = NOISE_STEPS * self.beta.len();
        for g in &mut self.noise[..m] {
            *g = standard_exponential(rng);
        }
        self.noise[m..].fill(0.5);
        neg_ln_in_place(&mut self.noise);
        self.next = 0;
    }
}

impl Policy for BoltzmannGumbel {
    fn n_arms(&self) -> usize {
        self.beta.len()
    }

    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        let n = self.est.counts();
        let mut untried = false;
        for (s, &ni) in self.scores.iter_mut().zip(n) {
            if ni == 0 {
                *s = f64::INFINITY;
                untried = true;
            } else {
                *s = f64::NEG_INFINITY;
            }
        }
        if !untried {
            if self.next == NOISE_STEPS {
                self.refill(rng);
            }
            let k = self.beta.len();
            let g = &self.noise[self.next * k..(self.next + 1) * k];
            self.next += 1;
            let q = self.est.values();
            for (((s, &qi), &beta), &gi) in self.scores.iter_mut().zip(q).zip(&self.beta).zip(g) {
                *s = qi + beta * gi;
            }
        }
        argmax_random_ties(&self.scores, rng)
    }

    fn update(&mut self, arm: usize, reward: f64) {
        self.est.update(arm, reward);
        self.beta[arm] = self.c / (self.est.counts()[arm] as f64).sqrt();
    }

    fn reset(&mut self) {
        self.est.reset();
        let c = self.c;
        self.beta.fill(c / 0f64.sqrt());
        self.next = NOISE_STEPS;
    }
}
