//! Policies named by a short string, for command lines and configuration.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

use super::{
    AnnealedBoltzmann, Boltzmann, BoltzmannGumbel, EpsilonGreedy, Estimates, Exp3, GradientBandit,
    Policy, Schedule, StepSize, ThompsonBeta, ThompsonGaussian, Ucb1,
};
use crate::{Error, Result};

/// A policy and its parameters, parsed from `name:key=value,...`.
///
/// | spec                                   | policy                                   |
/// |----------------------------------------|------------------------------------------|
/// | `boltzmann:T=0.1` (or `softmax:tau=`)  | [`Boltzmann`]                            |
/// | `boltzmann-log:T0=1`                   | [`AnnealedBoltzmann`], `T0 / ln(1 + t)`   |
/// | `boltzmann-exp:T0=1,decay=0.999,min=0.01` | [`AnnealedBoltzmann`], exponential    |
/// | `bge:C=0.5`                            | [`BoltzmannGumbel`]                      |
/// | `exp3:gamma=0.1`                       | [`Exp3`]                                 |
/// | `gradient:alpha=0.1,baseline=true`     | [`GradientBandit`]                       |
/// | `egreedy:eps=0.1`                      | [`EpsilonGreedy`]                        |
/// | `ucb:c=2` (default `c = sqrt 2`)       | [`Ucb1`]                                 |
/// | `thompson` (or `thompson-beta`)        | [`ThompsonBeta`], Beta(1, 1) prior       |
/// | `thompson-gauss:sigma=1,mu0=0,s0=1`    | [`ThompsonGaussian`]                     |
///
/// The value-based policies (Boltzmann, annealed, BGE, epsilon-greedy,
/// UCB) also take `q0=` (initial estimate, default 0) and `step=` (a
/// constant step size instead of sample averages).
///
/// ```
/// use boltzmax::learn::rl::bandit::{Policy, PolicySpec};
/// let spec: PolicySpec = "bge:C=0.5".parse().unwrap();
/// assert_eq!(spec.to_string(), "bge:C=0.5");
/// let policy = spec.build(10).unwrap();
/// assert_eq!(policy.n_arms(), 10);
/// assert!("boltzmann:T=-1".parse::<PolicySpec>().unwrap().build(10).is_err());
/// assert!("nonsense".parse::<PolicySpec>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum PolicySpec {
    /// Fixed-temperature Boltzmann.
    Boltzmann {
        /// Temperature.
        t: f64,
        /// Initial estimate and step size.
        q: QSpec,
    },
    /// `T0 / ln(1 + t)`.
    BoltzmannLog {
        /// Numerator.
        t0: f64,
        /// Initial estimate and step size.
        q: QSpec,
    },
    /// `max(T0 decay^(t-1), min)`.
    BoltzmannExp {
        /// First temperature.
        t0: f64,
        /// Factor per step.
        decay: f64,
        /// Floor.
        min: f64,
        /// Initial estimate and step size.
        q: QSpec,
    },
    /// Boltzmann-Gumbel exploration.
    Bge {
        /// Scale `C`.
        c: f64,
        /// Initial estimate and step size.
        q: QSpec,
    },
    /// EXP3.
    Exp3 {
        /// Exploration rate.
        gamma: f64,
    },
    /// Gradient bandit.
    Gradient {
        /// Step size.
        alpha: f64,
        /// Average-reward baseline on or off.
        baseline: bool,
    },
    /// Epsilon-greedy.
    EpsilonGreedy {
        /// Exploration rate.
        eps: f64,
        /// Initial estimate and step size.
        q: QSpec,
    },
    /// UCB.
    Ucb {
        /// Exploration weight.
        c: f64,
        /// Initial estimate and step size.
        q: QSpec,
    },
    /// Beta-Bernoulli Thompson sampling.
    ThompsonBeta {
        /// Prior `a0`.
        a0: f64,
        /// Prior `b0`.
        b0: f64,
    },
    /// Gaussian Thompson sampling.
    ThompsonGaussian {
        /// Reward noise.
        sigma: f64,
        /// Prior mean.
        mu0: f64,
        /// Prior standard deviation.
        s0: f64,
    },
}

/// Initial estimate and step size of a value-based spec.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QSpec {
    /// Initial estimate.
    pub q0: f64,
    /// Constant step size, or `None` for sample averages.
    pub step: Option<f64>,
}

impl QSpec {
    fn estimates(self, n_arms: usize) -> Result<Estimates> {
        let step = match self.step {
            Some(a) => StepSize::Constant(a),
            None => StepSize::SampleAverage,
        };
        Estimates::new(n_arms, self.q0, step)
    }

    fn suffix(self) -> String {
        let mut s = String::new();
        if self.q0 != 0.0 {
            s += &format!(",q0={}", self.q0);
        }
        if let Some(a) = self.step {
            s += &format!(",step={a}");
        }
        s
    }
}

/// The key lookup used while parsing: keys (aliases) and a default.
type NumFn<'a> = dyn FnMut(&[&str], Option<f64>) -> Result<f64> + 'a;

fn bad(reason: String) -> Error {
    Error::InvalidParameter {
        name: "policy",
        reason,
    }
}

impl FromStr for PolicySpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let (name, rest) = s.split_once(':').unwrap_or((s, ""));
        let mut kv: Vec<(String, String)> = Vec::new();
        for part in rest.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("{s:?}: expected key=value, got {part:?}")))?;
            kv.push((k.trim().to_string(), v.trim().to_string()));
        }
        let mut used = vec![false; kv.len()];
        let mut num = |keys: &[&str], default: Option<f64>| -> Result<f64> {
            for (i, (k, v)) in kv.iter().enumerate() {
                if keys.contains(&k.as_str()) {
                    used[i] = true;
                    return v
                        .parse::<f64>()
                        .map_err(|_| bad(format!("{s:?}: {k}={v:?} is not a number")));
                }
            }
            default.ok_or_else(|| bad(format!("{s:?}: missing {}=", keys[0])))
        };
        let q = |num: &mut NumFn<'_>| -> Result<QSpec> {
            let q0 = num(&["q0"], Some(0.0))?;
            let step = num(&["step"], Some(f64::NAN))?;
            Ok(QSpec {
                q0,
                step: if step.is_nan() { None } else { Some(step) },
            })
        };
        let spec = match name.trim().to_ascii_lowercase().as_str() {
            "boltzmann" | "softmax" => PolicySpec::Boltzmann {
                t: num(&["T", "t", "tau"], None)?,
                q: q(&mut num)?,
            },
            "boltzmann-log" => PolicySpec::BoltzmannLog {
                t0: num(&["T0", "t0"], Some(1.0))?,
                q: q(&mut num)?,
            },
            "boltzmann-exp" => PolicySpec::BoltzmannExp {
                t0: num(&["T0", "t0"], Some(1.0))?,
                decay: num(&["decay"], None)?,
                min: num(&["min"], Some(1e-3))?,
                q: q(&mut num)?,
            },
            "bge" | "boltzmann-gumbel" => PolicySpec::Bge {
                c: num(&["C", "c"], None)?,
                q: q(&mut num)?,
            },
            "exp3" => PolicySpec::Exp3 {
                gamma: num(&["gamma"], None)?,
            },
            "gradient" => PolicySpec::Gradient {
                alpha: num(&["alpha"], None)?,
                baseline: num(&["baseline"], Some(1.0))? != 0.0,
            },
            "egreedy" | "epsilon-greedy" | "greedy" => PolicySpec::EpsilonGreedy {
                eps: num(&["eps", "epsilon"], Some(0.0))?,
                q: q(&mut num)?,
            },
            "ucb" | "ucb1" => PolicySpec::Ucb {
                c: num(&["c", "C"], Some(std::f64::consts::SQRT_2))?,
                q: q(&mut num)?,
            },
            "thompson" | "thompson-beta" => PolicySpec::ThompsonBeta {
                a0: num(&["a0"], Some(1.0))?,
                b0: num(&["b0"], Some(1.0))?,
            },
            "thompson-gauss" | "thompson-gaussian" => PolicySpec::ThompsonGaussian {
                sigma: num(&["sigma"], Some(1.0))?,
                mu0: num(&["mu0"], Some(0.0))?,
                s0: num(&["s0"], Some(1.0))?,
            },
            other => {
                return Err(bad(format!(
                    "unknown policy {other:?} (expected boltzmann, boltzmann-log, boltzmann-exp, \
                     bge, exp3, gradient, egreedy, ucb, thompson, thompson-gauss)"
                )));
            }
        };
        if let Some(i) = used.iter().position(|u| !u) {
            return Err(bad(format!("{s:?}: unknown parameter {:?}", kv[i].0)));
        }
        Ok(spec)
    }
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySpec::Boltzmann { t, q } => write!(f, "boltzmann:T={t}{}", q.suffix()),
            PolicySpec::BoltzmannLog { t0, q } => write!(f, "boltzmann-log:T0={t0}{}", q.suffix()),
            PolicySpec::BoltzmannExp { t0, decay, min, q } => write!(
                f,
                "boltzmann-exp:T0={t0},decay={decay},min={min}{}",
                q.suffix()
            ),
            PolicySpec::Bge { c, q } => write!(f, "bge:C={c}{}", q.suffix()),
            PolicySpec::Exp3 { gamma } => write!(f, "exp3:gamma={gamma}"),
            PolicySpec::Gradient { alpha, baseline } => {
                write!(f, "gradient:alpha={alpha},baseline={}", u8::from(*baseline))
            }
            PolicySpec::EpsilonGreedy { eps, q } => write!(f, "egreedy:eps={eps}{}", q.suffix()),
            PolicySpec::Ucb { c, q } => write!(f, "ucb:c={c}{}", q.suffix()),
            PolicySpec::ThompsonBeta { a0, b0 } => write!(f, "thompson:a0={a0},b0={b0}"),
            PolicySpec::ThompsonGaussian { sigma, mu0, s0 } => {
                write!(f, "thompson-gauss:sigma={sigma},mu0={mu0},s0={s0}")
            }
        }
    }
}

impl PolicySpec {
    /// Builds the policy for `n_arms` arms, validating the parameters.
    pub fn build(&self, n_arms: usize) -> Result<AnyPolicy> {
        Ok(match *self {
            PolicySpec::Boltzmann { t, q } => {
                AnyPolicy::Boltzmann(Boltzmann::with_estimates(q.estimates(n_arms)?, t)?)
            }
            PolicySpec::BoltzmannLog { t0, q } => {
                AnyPolicy::Annealed(AnnealedBoltzmann::with_estimates(
                    q.estimates(n_arms)?,
                    Schedule::Logarithmic { t0 },
                )?)
            }
            PolicySpec::BoltzmannExp { t0, decay, min, q } => {
                AnyPolicy::Annealed(AnnealedBoltzmann::with_estimates(
                    q.estimates(n_arms)?,
                    Schedule::Exponential { t0, decay, min },
                )?)
            }
            PolicySpec::Bge { c, q } => {
                AnyPolicy::Bge(BoltzmannGumbel::with_estimates(q.estimates(n_arms)?, c)?)
            }
            PolicySpec::Exp3 { gamma } => AnyPolicy::Exp3(Exp3::new(n_arms, gamma)?),
            PolicySpec::Gradient { alpha, baseline } => {
                AnyPolicy::Gradient(GradientBandit::new(n_arms, alpha, baseline)?)
            }
            PolicySpec::EpsilonGreedy { eps, q } => {
                AnyPolicy::EpsilonGreedy(EpsilonGreedy::with_estimates(q.estimates(n_arms)?, eps)?)
            }
            PolicySpec::Ucb { c, q } => {
                AnyPolicy::Ucb(Ucb1::with_estimates(q.estimates(n_arms)?, c)?)
            }
            PolicySpec::ThompsonBeta { a0, b0 } => {
                AnyPolicy::ThompsonBeta(ThompsonBeta::with_prior(n_arms, a0, b0)?)
            }
            PolicySpec::ThompsonGaussian { sigma, mu0, s0 } => {
                AnyPolicy::ThompsonGaussian(ThompsonGaussian::with_prior(n_arms, sigma, mu0, s0)?)
            }
        })
    }
}

/// Any of the built-in policies, chosen at run time (one `match` per call;
/// use the concrete types in hot loops of your own).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum AnyPolicy {
    /// [`Boltzmann`].
    Boltzmann(Boltzmann),
    /// [`AnnealedBoltzmann`].
    Annealed(AnnealedBoltzmann),
    /// [`BoltzmannGumbel`].
    Bge(BoltzmannGumbel),
    /// [`Exp3`].
    Exp3(Exp3),
    /// [`GradientBandit`].
    Gradient(GradientBandit),
    /// [`EpsilonGreedy`].
    EpsilonGreedy(EpsilonGreedy),
    /// [`Ucb1`].
    Ucb(Ucb1),
    /// [`ThompsonBeta`].
    ThompsonBeta(ThompsonBeta),
    /// [`ThompsonGaussian`].
    ThompsonGaussian(ThompsonGaussian),
}

macro_rules! each {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            AnyPolicy::Boltzmann($p) => $e,
            AnyPolicy::Annealed($p) => $e,
            AnyPolicy::Bge($p) => $e,
            AnyPolicy::Exp3($p) => $e,
            AnyPolicy::Gradient($p) => $e,
            AnyPolicy::EpsilonGreedy($p) => $e,
            AnyPolicy::Ucb($p) => $e,
            AnyPolicy::ThompsonBeta($p) => $e,
            AnyPolicy::ThompsonGaussian($p) => $e,
        }
    };
}

impl Policy for AnyPolicy {
    fn n_arms(&self) -> usize {
        each!(self, p => p.n_arms())
    }
    #[inline]
    fn select<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        each!(self, p => p.select(rng))
    }
    #[inline]
    fn update(&mut self, arm: usize, reward: f64) {
        each!(self, p => p.update(arm, reward))
    }
    fn reset(&mut self) {
        each!(self, p => p.reset())
    }
    #[inline]
    fn select_pair<R: Rng + ?Sized>(
        p: &mut Self,
        q: &mut Self,
        rp: &mut R,
        rq: &mut R,
    ) -> (usize, usize) {
        match (p, q) {
            (AnyPolicy::ThompsonBeta(p), AnyPolicy::ThompsonBeta(q)) => {
                ThompsonBeta::select_pair(p, q, rp, rq)
            }
            (p, q) => (p.select(rp), q.select(rq)),
        }
    }
}
