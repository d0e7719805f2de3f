//! Limited-memory BFGS with a strong-Wolfe line search, for smooth
//! unconstrained problems given a fused value-and-gradient function.
//!
//! The method is Nocedal and Wright's (Numerical Optimization, 2nd ed.,
//! algorithms 7.4, 3.5 and 3.6): the two-loop recursion with `m` pairs and
//! the initial scaling `s.y / y.y`, and a line search that brackets a step
//! satisfying the strong Wolfe conditions (`c1 = 1e-4`, `c2 = 0.9`) and
//! zooms in by safeguarded cubic interpolation. Every buffer is allocated
//! once; an iteration allocates nothing.
//!
//! ```
//! use boltzmax::learn::classify::lbfgs::{minimize, LbfgsOptions};
//! // The Rosenbrock function, minimum 0 at (1, 1).
//! let mut x = [-1.2, 1.0];
//! let report = minimize(&mut x, |x, g| {
//!     let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
//!     g[0] = -2.0 * a - 400.0 * x[0] * b;
//!     g[1] = 200.0 * b;
//!     a * a + 100.0 * b * b
//! }, &LbfgsOptions::default());
//! assert!(report.converged);
//! assert!((x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6);
//! ```

/// Stopping rules and memory of [`minimize`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsOptions {
    /// Correction pairs kept (10, as scipy's L-BFGS-B).
    pub memory: usize,
    /// Most iterations.
    pub max_iter: usize,
    /// Converged when the largest gradient component is at most this.
    pub gtol: f64,
    /// Also stop when an iteration lowers the value by at most
    /// `ftol * max(|f|, 1)` (scipy's `ftol`; 64 eps as scikit-learn sets it).
    pub ftol: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions {
            memory: 10,
            max_iter: 15_000,
            gtol: 1e-8,
            ftol: 64.0 * f64::EPSILON,
        }
    }
}

/// Why [`minimize`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The gradient met `gtol`.
    Gradient,
    /// The value stopped decreasing by more than `ftol`.
    Value,
    /// `max_iter` iterations.
    MaxIter,
    /// The line search found no step that lowers the value (rounding
    /// floor reached).
    LineSearch,
}

/// What [`minimize`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsReport {
    /// The value at the returned point.
    pub value: f64,
    /// Its largest gradient component (absolute).
    pub grad_inf: f64,
    /// Iterations taken.
    pub iterations: usize,
    /// Function evaluations.
    pub evaluations: usize,
    /// Why it stopped.
    pub stop: Stop,
    /// True when it stopped on the gradient or value test.
    pub converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four independent sums so the loop vectorises; fixed order, so the
    // result is reproducible.
    let mut s = [0.0; 4];
    let (ac, ar) = a.split_at(a.len() / 4 * 4);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(4).zip(bc.chunks_exact(4)) {
        for l in 0..4 {
            s[l] += x[l] * y[l];
        }
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ar.iter().zip(br) {
        t += x * y;
    }
    t
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises `f` from `x` (overwritten with the answer).
///
/// `f(x, g)` returns the value at `x` and writes the gradient into `g`.
/// A non-finite value is treated as "too far": the line search shortens
/// the step.
pub fn minimize<F>(x: &mut [f64], f: F, opts: &LbfgsOptions) -> LbfgsReport
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    run(x, f, None::<fn(&[f64], &mut [f64])>, opts)
}

/// [`minimize`] with a fixed initial inverse Hessian: `h0(v, out)` writes
/// `H0 v` to `out`, `H0` symmetric positive definite (the same matrix at
/// every call).
///
/// The two-loop recursion then starts from `gamma H0` instead of
/// `gamma I`, with `gamma = s.y / y.H0 y` (Nocedal and Wright, section
/// 7.2), and the first direction is `-H0 g` at unit step, so an `H0`
/// close to the inverse Hessian makes the first step Newton-like and the
/// later ones need fewer corrections. Equivalent to plain L-BFGS on the
/// variables `x = R u` with `H0 = R R^T`; the stopping rules still apply
/// to the gradient in `x`.
///
/// ```
/// use boltzmax::learn::classify::lbfgs::{minimize, minimize_preconditioned, LbfgsOptions};
/// // A badly scaled quadratic: 1e4 x0^2 + x1^2, minimum at 0.
/// let f = |x: &[f64], g: &mut [f64]| {
///     g[0] = 2e4 * x[0];
///     g[1] = 2.0 * x[1];
///     1e4 * x[0] * x[0] + x[1] * x[1]
/// };
/// let opts = LbfgsOptions { gtol: 1e-10, ..LbfgsOptions::default() };
/// let mut x = [1.0, 1.0];
/// let plain = minimize(&mut x, f, &opts);
/// let mut x = [1.0, 1.0];
/// // H0 = the exact inverse Hessian: one step.
/// let pre = minimize_preconditioned(&mut x, f, |v, out| {
///     out[0] = v[0] / 2e4;
///     out[1] = v[1] / 2.0;
/// }, &opts);
/// assert!(pre.converged && x == [0.0, 0.0]);
/// assert!(pre.evaluations < plain.evaluations);
/// ```
pub fn minimize_preconditioned<F, H>(x: &mut [f64], f: F, h0: H, opts: &LbfgsOptions) -> LbfgsReport
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
    H: FnMut(&[f64], &mut [f64]),
{
    run(x, f, Some(h0), opts)
}

fn run<F, H>(x: &mut [f64], mut f: F, mut h0: Option<H>, opts: &LbfgsOptions) -> LbfgsReport
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
    H: FnMut(&[f64], &mut [f64]),
{
    let n = x.len();
    let m = opts.memory.max(1);
    let mut g = vec![0.0; n];
    let mut evaluations = 1;
    let mut fx = f(x, &mut g);
    let mut s_hist = vec![vec![0.0; n]; m];
    let mut y_hist = vec![vec![0.0; n]; m];
    let mut rho = vec![0.0; m];
    let mut alpha = vec![0.0; m];
    let (mut len, mut head) = (0usize, 0usize); // stored pairs; next slot
    let mut d = vec![0.0; n];
    let mut xt = vec![0.0; n];
    let mut gt = vec![0.0; n];
    // H0 times a vector, with a preconditioner.
    let mut hv = if h0.is_some() {
        vec![0.0; n]
    } else {
        Vec::new()
    };

    let report = |value, g: &[f64], iterations, evaluations, stop| LbfgsReport {
        value,
        grad_inf: inf_norm(g),
        iterations,
        evaluations,
        stop,
        converged: matches!(stop, Stop::Gradient | Stop::Value),
    };

    for iter in 0..opts.max_iter {
        if inf_norm(&g) <= opts.gtol {
            return report(fx, &g, iter, evaluations, Stop::Gradient);
        }
        // Two-loop recursion: d = -H g.
        d.copy_from_slice(&g);
        for t in 0..len {
            let i = (head + m - 1 - t) % m;
            alpha[i] = rho[i] * dot(&s_hist[i], &d);
            for (dv, yv) in d.iter_mut().zip(&y_hist[i]) {
                *dv -= alpha[i] * yv;
            }
        }
        if let Some(h0) = h0.as_mut() {
            // d <- gamma H0 d, gamma = s.y / y.H0 y (1 before any pair:
            // H0 alone is meant to be Newton-sized).
            let gamma = if len > 0 {
                let i = (head + m - 1) % m;
                h0(&y_hist[i], &mut hv);
                dot(&s_hist[i], &y_hist[i]) / dot(&y_hist[i], &hv)
            } else {
                1.0
            };
            h0(&d, &mut hv);
            for (dv, h) in d.iter_mut().zip(&hv) {
                *dv = gamma * h;
            }
        } else {
            let gamma = if len > 0 {
                let i = (head + m - 1) % m;
                dot(&s_hist[i], &y_hist[i]) / dot(&y_hist[i], &y_hist[i])
            } else {
                1.0 / inf_norm(&g).max(1.0)
            };
            for dv in d.iter_mut() {
                *dv *= gamma;
            }
        }
        for t in (0..len).rev() {
            let i = (head + m - 1 - t) % m;
            let beta = rho[i] * dot(&y_hist[i], &d);
            for (dv, sv) in d.iter_mut().zip(&s_hist[i]) {
                *dv += (alpha[i] - beta) * sv;
            }
        }
        for dv in d.iter_mut() {
            *dv = -*dv;
        }
        let mut dphi0 = dot(&g, &d);
        if dphi0 >= 0.0 || !dphi0.is_finite() {
            // Not a descent direction (curvature information went bad):
            // restart from steepest descent.
            len = 0;
            for (dv, gv) in d.iter_mut().zip(&g) {
                *dv = -gv / inf_norm(&g).max(1.0);
            }
            dphi0 = dot(&g, &d);
        }

        let ls = line_search(x, fx, &d, dphi0, &mut xt, &mut gt, &mut f, &mut evaluations);
        let Some(fnew) = ls else {
            return report(fx, &g, iter, evaluations, Stop::LineSearch);
        };
        // New pair s = xt - x, y = gt - g.
        let (sv, yv) = (&mut s_hist[head], &mut y_hist[head]);
        for i in 0..n {
            sv[i] = xt[i] - x[i];
            yv[i] = gt[i] - g[i];
        }
        let sy = dot(sv, yv);
        if sy > f64::EPSILON * dot(yv, yv) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % m;
            len = (len + 1).min(m);
        }
        x.copy_from_slice(&xt);
        g.copy_from_slice(&gt);
        let decrease = fx - fnew;
        fx = fnew;
        if decrease <= opts.ftol * fx.abs().max(1.0) {
            let stop = if inf_norm(&g) <= opts.gtol {
                Stop::Gradient
            } else {
                Stop::Value
            };
            return report(fx, &g, iter + 1, evaluations, stop);
        }
    }
    report(fx, &g, opts.max_iter, evaluations, Stop::MaxIter)
}

/// Minimiser of the cubic through `(a, fa, da)` and `(b, fb, db)`, or
/// `None` when it does not exist.
fn cubic_min(a: f64, fa: f64, da: f64, b: f64, fb: f64, db: f64) -> Option<f64> {
    let d1 = da + db - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - da * db;
    if disc.is_nan() || disc < 0.0 {
        return None;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let t = b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2);
    t.is_finite().then_some(t)
}

/// Strong-Wolfe line search along `d` from `x`; on success `xt`, `gt` hold
/// the accepted point and its gradient and the value is returned.
#[allow(clippy::too_many_arguments)]
fn line_search<F>(
    x: &[f64],
    f0: f64,
    d: &[f64],
    dphi0: f64,
    xt: &mut [f64],
    gt: &mut [f64],
    f: &mut F,
    evaluations: &mut usize,
) -> Option<f64>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    const MAX_EVALS: usize = 40;
    let mut phi = |a: f64, xt: &mut [f64], gt: &mut [f64]| {
        for ((t, xv), dv) in xt.iter_mut().zip(x).zip(d) {
            *t = xv + a * dv;
        }
        *evaluations += 1;
        let v = f(xt, gt);
        let dv = dot(gt, d);
        if v.is_finite() && dv.is_finite() {
            (v, dv)
        } else {
            (f64::INFINITY, f64::NAN)
        }
    };
    let armijo = |a: f64, v: f64| v <= f0 + C1 * a * dphi0;
    let curvature = |dv: f64| dv.abs() <= -C2 * dphi0;

    // Bracketing phase.
    let (mut a_prev, mut f_prev, mut d_prev) = (0.0, f0, dphi0);
    let mut a = 1.0;
    let (lo, hi);
    let mut evals = 0;
    loop {
        evals += 1;
        let (v, dv) = phi(a, xt, gt);
        if !armijo(a, v) || (evals > 1 && v >= f_prev) {
            lo = (a_prev, f_prev, d_prev);
            hi = (a, v, dv);
            break;
        }
        if curvature(dv) {
            return Some(v);
        }
        if dv >= 0.0 {
            lo = (a, v, dv);
            hi = (a_prev, f_prev, d_prev);
            break;
        }
        if evals >= MAX_EVALS {
            return Some(v); // sufficient decrease holds; take it
        }
        let next = cubic_min(a_prev, f_prev, d_prev, a, v, dv)
            .filter(|t| *t > 1.1 * a)
            .map_or(4.0 * a, |t| t.min(10.0 * a));
        (a_prev, f_prev, d_prev) = (a, v, dv);
        a = next;
    }

    // Zoom phase: lo satisfies sufficient decrease and has the lowest value
    // so far; the minimiser lies between lo and hi.
    let (mut lo, mut hi) = (lo, hi);
    let mut best: Option<(f64, f64)> = None; // (a, value) of a point meeting Armijo
    if lo.0 > 0.0 {
        best = Some((lo.0, lo.1));
    }
    while evals < MAX_EVALS {
        evals += 1;
        let (l, h) = (lo.0.min(hi.0), lo.0.max(hi.0));
        let w = h - l;
        let a = if hi.1.is_finite() && hi.2.is_finite() {
            cubic_min(lo.0, lo.1, lo.2, hi.0, hi.1, hi.2)
        } else {
            None
        }
        .filter(|t| *t > l + 0.1 * w && *t < h - 0.1 * w)
        .unwrap_or(0.5 * (lo.0 + hi.0));
        if w <= f64::EPSILON * h {
            break;
        }
        let (v, dv) = phi(a, xt, gt);
        if !armijo(a, v) || v >= lo.1 {
            hi = (a, v, dv);
        } else {
            if curvature(dv) {
                return Some(v);
            }
            best = Some((a, v));
            if dv * (hi.0 - lo.0) >= 0.0 {
                hi = lo;
            }
            lo = (a, v, dv);
        }
    }
    // No strong-Wolfe point found: accept the best point with sufficient
    // decrease, if any, re-evaluated so xt and gt match it.
    let (a, _) = best?;
    let (v, _) = phi(a, xt, gt);
    Some(v)
}
