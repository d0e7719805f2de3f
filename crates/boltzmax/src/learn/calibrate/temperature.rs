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
//! `NLL'`. We bracket that root and step inside the bracket by Halley's
//! method (the third derivative, the mean third cumulant, comes from the
//! same sweep; Newton where Halley's denominator is not positive), from
//! whichever end looks closer to the root, falling back to bisection when
//! both steps leave the bracket or two steps in a row fail to halve
//! `|NLL'|` (a safeguard in the spirit of Numerical Recipes' `rtsafe`).
//! Near the root the convergence is cubic, so the answer is exact to the
//! rounding of `NLL'` itself in a handful of passes over the data.
//!
//! The rows are shifted once by their maximum `m` before scaling, so with
//! `d = z - m <= 0`: `lse(beta z) - beta z_y = log1p(s) - beta d_y` where
//! `s` sums `exp(beta d_j)` over all but the argmax, `<z> - z_y = <d> - d_y`
//! and the variance is a second pass over the stored exponentials, never
//! `<d^2> - <d>^2`.

use super::check_batch;
use super::scaling::Calibrator;
use crate::error::{Error, Result};
use crate::nd::{PAR_MIN_ELEMENTS, Par};
use crate::params::Scaling;

/// The temperature-scaling objective and its first three derivatives with
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
    /// `d^3 NLL / d beta^3 = mean of the third central moment of z under
    /// p` (each cumulant's derivative in beta is the next cumulant).
    pub third_derivative: f64,
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
    Ok(evaluate(&Shifted::new(logits, k, labels), beta, Par::Seq))
}

/// Rows per block of a pass. Partial sums are formed per block and added
/// in block order, so a pass gives bitwise the same answer whatever the
/// number of threads.
const BLOCK: usize = 256;

/// Sums of one block: NLL, NLL', NLL'' (not yet divided by n).
#[derive(Clone, Copy, Default)]
struct Partial {
    f: f64,
    g: f64,
    h: f64,
    t: f64,
}

/// The logits shifted once by their row maximum (`d = z - m <= 0`, the
/// argmax at 0, masked classes at -inf), with each row's argmax and the
/// label's `d`: what every pass needs, independent of beta. One extra copy
/// of the logits' size.
struct Shifted {
    d: Vec<f64>,
    argmax: Vec<usize>,
    dy: Vec<f64>,
    k: usize,
}

impl Shifted {
    fn new(logits: &[f64], k: usize, labels: &[usize]) -> Shifted {
        let kern = crate::kernel::detected_f64();
        let mut d = Vec::with_capacity(logits.len());
        let mut argmax = Vec::with_capacity(labels.len());
        let mut dy = Vec::with_capacity(labels.len());
        for (row, &y) in logits.chunks_exact(k).zip(labels) {
            let m = (kern.max)(row);
            argmax.push(row.iter().position(|&v| v == m).unwrap_or(0));
            d.extend(row.iter().map(|&v| v - m));
            dy.push(row[y] - m);
        }
        Shifted { d, argmax, dy, k }
    }
}

/// One block of rows: `d` and `e` hold `rows x k` values.
fn block(d: &[f64], argmax: &[usize], dy: &[f64], k: usize, beta: f64, e: &mut [f64]) -> Partial {
    let e = &mut e[..d.len()];
    // e_j = exp(beta d_j) for the whole block in one call of the core's
    // (SIMD) kernel: 1 at the argmax, 0 for masked (-inf) classes; at
    // beta = 0 every kept class weighs 1 (the uniform limit).
    if beta == 0.0 {
        for (ej, &v) in e.iter_mut().zip(d) {
            *ej = if v == f64::NEG_INFINITY { 0.0 } else { 1.0 };
        }
    } else {
        let scaling = if beta == 1.0 {
            Scaling::One
        } else {
            Scaling::Mul(beta)
        };
        (crate::kernel::detected_f64().exp_store)(e, d, 0.0, scaling, 1.0);
    }
    let mut p = Partial::default();
    let k4 = k / 4 * 4;
    for (((row, e), &am), &dy) in d
        .chunks_exact(k)
        .zip(e.chunks_exact_mut(k))
        .zip(argmax)
        .zip(dy)
    {
        // s: the sum over all but the argmax, formed without it so that
        // log1p(s) keeps every digit when s is tiny; s1 = sum e_j d_j in the
        // same sweep. Masked classes (e = 0, d = -inf) must add 0, not
        // 0 * -inf. Four lanes over fixed-size chunks: no bounds checks,
        // and a fixed order of additions.
        e[am] = 0.0;
        let (mut a0, mut a1) = ([0.0; 4], [0.0; 4]);
        for (ev, rv) in e.chunks_exact(4).zip(row.chunks_exact(4)) {
            for l in 0..4 {
                let t = ev[l] * rv[l];
                a0[l] += ev[l];
                a1[l] += if ev[l] > 0.0 { t } else { 0.0 };
            }
        }
        let (mut s, mut s1) = (
            (a0[0] + a0[1]) + (a0[2] + a0[3]),
            (a1[0] + a1[1]) + (a1[2] + a1[3]),
        );
        for (&ej, &v) in e[k4..].iter().zip(&row[k4..]) {
            s += ej;
            s1 += if ej > 0.0 { ej * v } else { 0.0 };
        }
        e[am] = 1.0;
        let total = 1.0 + s;
        let mean_d = s1 / total;
        // Second and third central moments in one sweep.
        let (mut a2, mut a3) = ([0.0; 4], [0.0; 4]);
        for (ev, rv) in e.chunks_exact(4).zip(row.chunks_exact(4)) {
            for l in 0..4 {
                // A masked class has c = -inf: both its terms must be 0,
                // and 0 * c would be NaN.
                let c = rv[l] - mean_d;
                let t = ev[l] * c * c;
                let (t, t3) = if ev[l] > 0.0 { (t, t * c) } else { (0.0, 0.0) };
                a2[l] += t;
                a3[l] += t3;
            }
        }
        let mut var = (a2[0] + a2[1]) + (a2[2] + a2[3]);
        let mut third = (a3[0] + a3[1]) + (a3[2] + a3[3]);
        for (&ej, &v) in e[k4..].iter().zip(&row[k4..]) {
            let c = v - mean_d;
            let (t, t3) = if ej > 0.0 {
                let t = ej * c * c;
                (t, t * c)
            } else {
                (0.0, 0.0)
            };
            var += t;
            third += t3;
        }
        p.f += s.ln_1p() - beta * dy;
        p.g += mean_d - dy;
        p.h += var / total;
        p.t += third / total;
    }
    p
}

/// One pass over the data.
fn evaluate(sh: &Shifted, beta: f64, par: Par) -> TemperatureObjective {
    let (n, k) = (sh.argmax.len(), sh.k);
    let blocks = n.div_ceil(BLOCK);
    let run = |b: usize, e: &mut Vec<f64>| {
        let rows = b * BLOCK..((b + 1) * BLOCK).min(n);
        block(
            &sh.d[rows.start * k..rows.end * k],
            &sh.argmax[rows.clone()],
            &sh.dy[rows],
            k,
            beta,
            e,
        )
    };
    let parts: Vec<Partial> = match par {
        Par::Threads(t) if n * k >= PAR_MIN_ELEMENTS && t != 1 => {
            use rayon::prelude::*;
            let chunk = if t == 0 { 1 } else { blocks.div_ceil(t) };
            let mut parts = vec![Partial::default(); blocks];
            parts
                .par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(c, out)| {
                    let mut e = vec![0.0; BLOCK * k];
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = run(c * chunk + i, &mut e);
                    }
                });
            parts
        }
        _ => {
            let mut e = vec![0.0; BLOCK.min(n) * k];
            (0..blocks).map(|b| run(b, &mut e)).collect()
        }
    };
    let mut sum = Partial::default();
    for p in &parts {
        sum.f += p.f;
        sum.g += p.g;
        sum.h += p.h;
        sum.t += p.t;
    }
    let nf = n as f64;
    TemperatureObjective {
        beta,
        nll: sum.f / nf,
        derivative: sum.g / nf,
        second_derivative: sum.h / nf,
        third_derivative: sum.t / nf,
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
    fit_temperature_with(logits, k, labels, Par::Seq)
}

/// [`fit_temperature`] with the passes over the data split across threads.
///
/// Rows are summed in fixed blocks added in order, so the answer is
/// bitwise the same for every `par`.
///
/// ```
/// use boltzmax::learn::calibrate::{fit_temperature, fit_temperature_with};
/// use boltzmax::nd::Par;
/// // 30,000 rows of 3 classes: enough to be split across threads.
/// let y: Vec<usize> = (0..30_000).map(|i| (i * 31) % 3).collect();
/// let z: Vec<f64> = (0..90_000)
///     .map(|i| ((i * 7919) % 13) as f64 * 0.3 + if i % 3 == y[i / 3] { 1.0 } else { 0.0 })
///     .collect();
/// let a = fit_temperature(&z, 3, &y).unwrap();
/// let b = fit_temperature_with(&z, 3, &y, Par::Threads(0)).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn fit_temperature_with(
    logits: &[f64],
    k: usize,
    labels: &[usize],
    par: Par,
) -> Result<TemperatureFit> {
    let n = check_batch(logits, k, labels)?;
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "logits",
            reason: "no rows to fit a temperature on".into(),
        });
    }
    let shifted = Shifted::new(logits, k, labels);
    let mut evals = 0usize;
    let mut eval = |beta: f64| {
        evals += 1;
        evaluate(&shifted, beta, par)
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
    // Each end keeps its objective, so a Newton step can be taken from
    // either.
    let mut cur = at_one;
    let (mut lo, mut hi);
    if at_one.derivative > 0.0 {
        hi = at_one;
        // beta = 0 needs no exponentials: a cheap pass.
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
        lo = at_zero;
    } else {
        lo = at_one;
        // Expand upward by Newton steps from the left, between x2 and
        // x1000 per pass, until the root is passed (or reached).
        loop {
            let b = cur.beta;
            let (newton, tol) = step_from(&cur).unwrap_or((f64::INFINITY, 0.0));
            if newton.is_finite() && (newton - b).abs() <= tol * b {
                // Converged from the left (see the main loop below).
                if (newton - b).abs() > 4.0 * f64::EPSILON * b {
                    cur = eval(newton);
                }
                return done(cur, evals);
            }
            // Halley's step points right (g < 0); at most x1000 per pass,
            // doubling where there is no curvature to step with.
            let next = if newton.is_finite() && newton > b {
                newton.min(1e3 * b)
            } else {
                2.0 * b
            };
            if !next.is_finite() || next > 1e300 || cur.second_derivative == 0.0 {
                return Err(separable(b, cur.derivative));
            }
            cur = eval(next);
            if cur.derivative < 0.0 {
                lo = cur;
            } else if cur.derivative == 0.0 && cur.second_derivative == 0.0 {
                // Every row's softmax has underflowed to one-hot on its
                // label: still the T -> 0 limit, not a root.
                return Err(separable(b, cur.derivative));
            } else {
                hi = cur;
                break;
            }
        }
        if cur.derivative == 0.0 {
            return done(cur, evals);
        }
    }

    // Safeguarded Halley/Newton inside [lo, hi]: a step from the latest
    // point, else from the other end of the bracket, else bisection; and
    // bisection after two steps in a row that failed to halve |NLL'|.
    let newton_from = |o: &TemperatureObjective| step_from(o).map(|(t, _)| t);
    let mut slow = 0;
    for _ in 0..400 {
        let b = cur.beta;
        // Close to the root the steps converge fast: once a step is below
        // its tolerance (see step_from) the error after it is below
        // rounding, so take it and stop (|NLL'| may no longer halve: it is
        // at the noise floor of its own rounding). A step below half an ulp
        // leaves b where it is: done.
        if let Some((t, _)) = step_from(&cur)
            .filter(|(t, tol)| *t >= lo.beta && *t <= hi.beta && (t - b).abs() <= tol * b)
        {
            // Within 4 ulp the point is already the root to rounding.
            if (t - b).abs() > 4.0 * f64::EPSILON * b {
                cur = eval(t);
            }
            break;
        }
        let inside = |t: &f64| *t > lo.beta && *t < hi.beta;
        let other = if cur.beta == lo.beta { hi } else { lo };
        // Step first from the point that looks closer to the root (the
        // smaller Newton distance |g/h|).
        let dist = |o: &TemperatureObjective| (o.derivative / o.second_derivative).abs();
        let (first, second) = if dist(&other) < dist(&cur) {
            (other, cur)
        } else {
            (cur, other)
        };
        let next = if slow >= 2 {
            None
        } else {
            newton_from(&first)
                .filter(inside)
                .or_else(|| newton_from(&second).filter(inside))
        };
        let next = next.unwrap_or_else(|| {
            slow = 0;
            0.5 * (lo.beta + hi.beta)
        });
        if next <= lo.beta || next >= hi.beta {
            // The bracket has shrunk to adjacent floating-point numbers.
            break;
        }
        let prev = cur.derivative.abs();
        cur = eval(next);
        if cur.derivative.abs() > 0.5 * prev {
            slow += 1;
        } else {
            slow = 0;
        }
        if cur.derivative < 0.0 {
            lo = cur;
        } else if cur.derivative > 0.0 {
            hi = cur;
        } else {
            break;
        }
    }
    done(cur, evals)
}

/// Halley's step from `o` (cubic convergence, using NLL'''), or Newton's
/// where Halley's denominator is not positive; with the relative step size
/// below which the step lands within rounding of the root (1e-6 for
/// Halley: the error after it is of order its cube, measured at about a
/// third of it; 1e-9 for Newton: of order its square). `None` without curvature.
fn step_from(o: &TemperatureObjective) -> Option<(f64, f64)> {
    let (g, h, t) = (o.derivative, o.second_derivative, o.third_derivative);
    if h <= 0.0 || !h.is_finite() {
        return None;
    }
    let denom = 2.0 * h * h - g * t;
    if denom > 0.0 && denom.is_finite() {
        Some((o.beta - 2.0 * g * h / denom, 1e-6))
    } else {
        Some((o.beta - g / h, 1e-9))
    }
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
