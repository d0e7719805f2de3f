//! Temperature scaling solved exactly.
//!
//! With `beta = 1/T` the mean negative log-likelihood of the labels is
//!
//! ```text
//! NLL(beta)   = mean_i [ lse(beta z_i) - beta z_{i,y_i} ]
//! NLL'(beta)  = mean_i [ <z_i>_p - z_{i,y_i} ]          (p = softmax(beta z_i))
//! NLL''(beta) = mean_i Var_p(z_i)  >= 0
//! ```
//!
//! the free energy, mean energy and heat capacity of one Boltzmann system
//! per row. NLL is convex in beta, so its minimum is the one root of
//! `NLL'`. We bracket that root and run Newton's method inside the bracket,
//! falling back to bisection whenever a Newton step leaves the bracket or
//! fails to halve `|NLL'|` (the safeguard of Numerical Recipes' `rtsafe`).
//! Newton converges quadratically near the root, so the answer is exact to
//! the rounding of `NLL'` itself, in a handful of passes over the data.
//!
//! Each pass shifts every row by its maximum `m` before scaling, so with
//! `d = z - m <= 0`: `lse(beta z) - beta z_y = log1p(s) - beta d_y` where
//! `s` sums `exp(beta d_j)` over all but the argmax, `<z> - z_y = <d> - d_y`
//! and the variance is a second pass over the stored exponentials, never
//! `<d^2> - <d>^2`.

use super::check_batch;
use super::scaling::Calibrator;
use crate::error::{Error, Result};

/// The temperature-scaling objective and its first two derivatives with
/// respect to `beta = 1/T`, at one `beta`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemperatureObjective {
    /// The inverse temperature they were evaluated at.
    pub beta: f64,
    /// Mean negative log-likelihood of the labels under `softmax(beta z)`.
    pub nll: f64,
    /// `d NLL / d beta = mean(<z>_p - z_y)`.
    pub derivative: f64,
    /// `d^2 NLL / d beta^2 = mean Var_p(z)`.
    pub second_derivative: f64,
}

/// The result of [`fit_temperature`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemperatureFit {
    /// The fitted temperature `T` (divide logits by it).
    pub temperature: f64,
    /// Its inverse `beta = 1/T` (multiply logits by it), the variable the
    /// solver works in.
    pub beta: f64,
    /// Mean NLL at the fitted temperature.
    pub nll: f64,
    /// Mean NLL at `T = 1`, before calibration.
    pub nll_before: f64,
    /// `d NLL / d beta` at the answer (zero up to rounding).
    pub derivative: f64,
    /// Passes over the data (objective evaluations), bracketing included.
    pub evaluations: usize,
}

impl TemperatureFit {
    /// The fit as a [`Calibrator`] to apply to other logits.
    pub fn calibrator(&self) -> Calibrator {
        Calibrator::Temperature { beta: self.beta }
    }
}

/// Evaluates the temperature objective at `beta` (any finite value >= 0).
///
/// ```
/// use boltzmax::learn::calibrate::temperature_objective;
/// // One row, two classes, logits (1, 0), label 0, at beta = 1:
/// // NLL = ln(1 + e^-1), derivative = <z> - 1 = -1/(1 + e).
/// let o = temperature_objective(&[1.0, 0.0], 2, &[0], 1.0).unwrap();
/// assert!((o.nll - (-1.0_f64).exp().ln_1p()).abs() < 1e-15);
/// assert!((o.derivative + 1.0 / (1.0 + 1.0_f64.exp())).abs() < 1e-15);
/// ```
pub fn temperature_objective(
    logits: &[f64],
    k: usize,
    labels: &[usize],
    beta: f64,
) -> Result<TemperatureObjective> {
    check_batch(logits, k, labels)?;
    if !(beta.is_finite() && beta >= 0.0) {
        return Err(Error::InvalidBeta {
            value: format!("{beta}"),
        });
    }
    Ok(evaluate(logits, k, labels, beta, &mut vec![0.0; k]))
}

/// One pass over the data; inputs already checked.
fn evaluate(
    logits: &[f64],
    k: usize,
    labels: &[usize],
    beta: f64,
    e: &mut [f64],
) -> TemperatureObjective {
    let n = labels.len();
    let (mut f, mut g, mut h) = (0.0, 0.0, 0.0);
    for (row, &y) in logits.chunks_exact(k).zip(labels) {
        let am = super::argmax(row);
        let m = row[am];
        // e_j = exp(beta d_j): 1 at the argmax, 0 for masked (-inf) classes.
        // At beta = 0 every kept class weighs 1 (the uniform limit).
        let mut s = 0.0; // sum of e_j over j != argmax
        let mut s1 = 0.0; // sum of e_j d_j (the argmax adds 0)
        for (j, (&z, ej)) in row.iter().zip(e.iter_mut()).enumerate() {
            if z == f64::NEG_INFINITY {
                *ej = 0.0;
                continue;
            }
            let d = z - m;
            *ej = if beta == 0.0 { 1.0 } else { (beta * d).exp() };
            if j != am {
                s += *ej;
                s1 += *ej * d;
            }
        }
        let total = 1.0 + s;
        let mean_d = s1 / total;
        let mut var = 0.0;
        for (&z, &ej) in row.iter().zip(e.iter()) {
            if ej != 0.0 {
                let c = (z - m) - mean_d;
                var += ej * c * c;
            }
        }
        let dy = row[y] - m;
        f += s.ln_1p() - beta * dy;
        g += mean_d - dy;
        h += var / total;
    }
    let nf = n as f64;
    TemperatureObjective {
        beta,
        nll: f / nf,
        derivative: g / nf,
        second_derivative: h / nf,
    }
}

/// Fits the temperature that minimises the mean NLL of `labels` under
/// `softmax(logits / T)`, exactly.
///
/// `logits` is row-major, `k` per row, one label per row (see the module
/// docs for what is accepted). Errors when no positive, finite temperature
/// is optimal:
/// - NLL still decreasing as `T -> 0`: every row's label is its unique
///   argmax (the logits separate the labels, no finite temperature is
///   best);
/// - NLL not decreasing at `T = inf` (`beta = 0`): the logits carry no
///   information about the labels, or point away from them.
///
/// ```
/// use boltzmax::learn::calibrate::{fit_temperature, temperature_objective};
/// let logits = [2.0, 0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 1.0_f64];
/// let labels = [0, 1, 1, 1];
/// let fit = fit_temperature(&logits, 2, &labels).unwrap();
/// let o = temperature_objective(&logits, 2, &labels, fit.beta).unwrap();
/// assert!(o.derivative.abs() < 1e-15);
/// assert_eq!(fit.temperature, 1.0 / fit.beta);
/// ```
pub fn fit_temperature(logits: &[f64], k: usize, labels: &[usize]) -> Result<TemperatureFit> {
    let n = check_batch(logits, k, labels)?;
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "logits",
            reason: "no rows to fit a temperature on".into(),
        });
    }
    let mut e = vec![0.0; k];
    let mut evals = 0usize;
    let mut eval = |beta: f64| {
        evals += 1;
        evaluate(logits, k, labels, beta, &mut e)
    };

    let at_one = eval(1.0);
    let nll_before = at_one.nll;
    let done = |o: TemperatureObjective, evals: usize| {
        Ok(TemperatureFit {
            temperature: 1.0 / o.beta,
            beta: o.beta,
            nll: o.nll,
            nll_before,
            derivative: o.derivative,
            evaluations: evals,
        })
    };
    if at_one.derivative == 0.0 {
        return done(at_one, 1);
    }

    // Bracket the root of NLL' in beta: lo has NLL' < 0, hi has NLL' > 0.
    let mut cur = at_one;
    let (mut lo, mut hi);
    if at_one.derivative > 0.0 {
        hi = 1.0;
        let at_zero = eval(0.0);
        if at_zero.derivative >= 0.0 {
            return Err(Error::InvalidParameter {
                name: "logits",
                reason: format!(
                    "the NLL does not decrease from T = inf (d NLL/d beta at beta = 0 is {:e}): \
                     the logits carry no information about the labels, no finite temperature is best",
                    at_zero.derivative
                ),
            });
        }
        lo = 0.0;
    } else {
        lo = 1.0;
        // Expand upward: a Newton step from the left, at least doubling and
        // at most multiplying by 1000 per pass.
        loop {
            let b = cur.beta;
            let newton = if cur.second_derivative > 0.0 {
                b - cur.derivative / cur.second_derivative
            } else {
                f64::INFINITY
            };
            let next = newton.clamp(2.0 * b, 1e3 * b);
            if !next.is_finite() || next > 1e300 || cur.second_derivative == 0.0 {
                return Err(separable(b, cur.derivative));
            }
            cur = eval(next);
            if cur.derivative < 0.0 {
                lo = next;
            } else if cur.derivative == 0.0 && cur.second_derivative == 0.0 {
                // Every row's softmax has underflowed to one-hot on its
                // label: still the T -> 0 limit, not a root.
                return Err(separable(b, cur.derivative));
            } else {
                hi = next;
                break;
            }
        }
        if cur.derivative == 0.0 {
            return done(cur, evals);
        }
    }

    // Safeguarded Newton inside [lo, hi].
    let mut prev_abs_g = f64::INFINITY;
    for _ in 0..400 {
        let b = cur.beta;
        let newton = b - cur.derivative / cur.second_derivative;
        let in_bracket = cur.second_derivative > 0.0 && newton > lo && newton < hi;
        // Close to the root Newton converges quadratically: once its step
        // is below 1e-9 relative, the error after it is below rounding, so
        // take it and stop (|NLL'| may no longer halve: it is at the noise
        // floor of its own rounding).
        // (A step below half an ulp leaves b where it is: done.)
        if cur.second_derivative > 0.0
            && newton >= lo
            && newton <= hi
            && (newton - b).abs() <= 1e-9 * b
        {
            if newton != b {
                cur = eval(newton);
            }
            break;
        }
        let newton_ok = in_bracket && cur.derivative.abs() <= 0.5 * prev_abs_g;
        let next = if newton_ok { newton } else { 0.5 * (lo + hi) };
        prev_abs_g = cur.derivative.abs();
        if next <= lo || next >= hi {
            // The bracket has shrunk to adjacent floating-point numbers.
            break;
        }
        cur = eval(next);
        if cur.derivative < 0.0 {
            lo = next;
        } else if cur.derivative > 0.0 {
            hi = next;
        } else {
            break;
        }
    }
    done(cur, evals)
}

fn separable(beta: f64, derivative: f64) -> Error {
    Error::InvalidParameter {
        name: "logits",
        reason: format!(
            "the NLL keeps decreasing as T -> 0 (d NLL/d beta = {derivative:e} at beta = {beta:e}): \
             each label is its row's unique argmax, no finite temperature is best"
        ),
    }
}
