//! Softmax regression (multinomial logistic regression) on the fused
//! softmax cross-entropy, with the objective written exactly as
//! scikit-learn's `LogisticRegression` writes it.
//!
//! For `n` rows `x_i` (d features), labels `y_i` in `0..k`, weights `W`
//! (k x d) and intercepts `b` (k):
//!
//! ```text
//! objective(W, b) = mean_i [ lse(W x_i + b) - (W x_i + b)_{y_i} ] + ||W||^2 / (2 C n)
//! ```
//!
//! the intercepts not penalised (scikit-learn >= 1.1 with `solver="lbfgs"`,
//! the multinomial loss, `C` the inverse regularisation strength), so the
//! optimum can be compared with scikit-learn's to many digits. It is
//! minimised by [`lbfgs::minimize`], whose every evaluation is one pass
//! over the rows, packed once per fit in panels of 8: the logits
//! `Z = X W^T + b` by a register-blocked product (intercepts folded in as a
//! constant feature), the fused softmax cross-entropy on each panel while it
//! is in cache (loss and `G = dLoss/dZ` with one vector exp per entry, the
//! same formulas as
//! [`softmax_cross_entropy`]), and
//! `G^T X` by register tiles. The sums run in an order fixed by the shapes
//! alone, with fused multiply-adds on every instruction set, and no
//! threads, so a fit is reproducible.
//!
//! ```
//! use boltzmax::learn::classify::{train, TrainOptions};
//! use boltzmax::Params;
//!
//! // Two features, three classes, points near three centres.
//! let x = [0.0, 0.0, 0.1, 0.2, 3.0, 0.0, 3.1, 0.2, 0.0, 3.0, 0.2, 3.1_f64];
//! let y = [0, 0, 1, 1, 2, 2];
//! let (model, report) = train(&x, 2, &y, &TrainOptions::default()).unwrap();
//! assert!(report.converged);
//! assert_eq!(model.predict(&[3.0, 0.1]).unwrap(), vec![1]);
//! // Probabilities at temperature 2 are softer than at 1.
//! let p1 = model.predict_proba(&[3.0, 0.1], &Params::default()).unwrap();
//! let p2 = model.predict_proba(&[3.0, 0.1], &Params::temperature(2.0).unwrap()).unwrap();
//! assert!(p2[1] < p1[1]);
//! ```

mod dense;
pub mod lbfgs;

use crate::backward::{CrossEntropyOptions, softmax_cross_entropy};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::softmax::softmax_into;
use lbfgs::{LbfgsOptions, Stop};

/// Options of [`train`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// Inverse regularisation strength, scikit-learn's `C` (> 0;
    /// `f64::INFINITY` for no penalty).
    pub c: f64,
    /// Fit intercepts (not penalised).
    pub fit_intercept: bool,
    /// Number of classes; `None` for the largest label + 1.
    pub classes: Option<usize>,
    /// The solver's stopping rules (the gradient tolerance applies to the
    /// largest component of the objective's gradient).
    pub lbfgs: LbfgsOptions,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            c: 1.0,
            fit_intercept: true,
            classes: None,
            lbfgs: LbfgsOptions::default(),
        }
    }
}

/// What [`train`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainReport {
    /// The objective at the returned weights.
    pub objective: f64,
    /// Largest component of its gradient.
    pub grad_inf: f64,
    /// L-BFGS iterations.
    pub iterations: usize,
    /// Loss-and-gradient evaluations.
    pub evaluations: usize,
    /// True when the gradient or value test stopped the solver.
    pub converged: bool,
    /// Why the solver stopped.
    pub stop: Stop,
}

/// A fitted linear softmax classifier: `logits = W x + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxRegression {
    /// Features per row.
    pub features: usize,
    /// Classes.
    pub classes: usize,
    /// Weights, `classes x features`, row-major.
    pub weights: Vec<f64>,
    /// Intercepts, one per class (zeros when not fitted).
    pub intercepts: Vec<f64>,
}

fn rows(x: &[f64], d: usize) -> Result<usize> {
    if d == 0 || !x.len().is_multiple_of(d) {
        return Err(Error::InvalidParameter {
            name: "features",
            reason: format!("{} values do not make rows of {d} features", x.len()),
        });
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "features",
            reason: format!("row {}, column {}: {} is not finite", i / d, i % d, x[i]),
        });
    }
    Ok(x.len() / d)
}

/// Sum of four independent partial products, fixed order (vectorises,
/// reproducible).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0; 4];
    let n4 = a.len() / 4 * 4;
    for (x, y) in a[..n4].chunks_exact(4).zip(b[..n4].chunks_exact(4)) {
        for l in 0..4 {
            s[l] += x[l] * y[l];
        }
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in a[n4..].iter().zip(&b[n4..]) {
        t += x * y;
    }
    t
}

impl SoftmaxRegression {
    /// Logits `W x + b` of every row of `x` (row-major, `features` per
    /// row), row-major `classes` per row.
    pub fn logits(&self, x: &[f64]) -> Result<Vec<f64>> {
        let n = rows(x, self.features)?;
        let mut z = vec![0.0; n * self.classes];
        self.logits_into(x, &mut z);
        Ok(z)
    }

    fn logits_into(&self, x: &[f64], z: &mut [f64]) {
        let (d, k) = (self.features, self.classes);
        for (xi, zi) in x.chunks_exact(d).zip(z.chunks_exact_mut(k)) {
            for (j, zj) in zi.iter_mut().enumerate() {
                *zj = dot(&self.weights[j * d..(j + 1) * d], xi) + self.intercepts[j];
            }
        }
    }

    /// Class probabilities `softmax(logits / T)` (the temperature and
    /// options in `params`), row-major.
    pub fn predict_proba(&self, x: &[f64], params: &Params<f64>) -> Result<Vec<f64>> {
        let mut z = self.logits(x)?;
        let mut p = vec![0.0; z.len()];
        for (zi, pi) in z
            .chunks_exact_mut(self.classes)
            .zip(p.chunks_exact_mut(self.classes))
        {
            softmax_into(pi, zi, params)?;
        }
        Ok(p)
    }

    /// The most probable class of each row (the first among ties; the
    /// same at every temperature).
    pub fn predict(&self, x: &[f64]) -> Result<Vec<usize>> {
        let z = self.logits(x)?;
        Ok(z.chunks_exact(self.classes)
            .map(crate::learn::calibrate::argmax)
            .collect())
    }

    /// scikit-learn's objective at these weights: mean cross-entropy plus
    /// `||W||^2 / (2 C n)`.
    pub fn objective(&self, x: &[f64], labels: &[usize], c: f64) -> Result<f64> {
        let n = rows(x, self.features)?;
        check_labels(labels, n, self.classes)?;
        let z = self.logits(x)?;
        let loss = softmax_cross_entropy(
            &z,
            labels,
            self.classes,
            &CrossEntropyOptions::default(),
            None,
        )?;
        let w2: f64 = self.weights.iter().map(|w| w * w).sum();
        Ok(loss + penalty(c, n) * 0.5 * w2)
    }
}

/// `1 / (C n)`, zero for `C = inf`.
fn penalty(c: f64, n: usize) -> f64 {
    if c.is_infinite() {
        0.0
    } else {
        1.0 / (c * n as f64)
    }
}

fn check_labels(labels: &[usize], n: usize, k: usize) -> Result<()> {
    if labels.len() != n {
        return Err(Error::LengthMismatch {
            what: "labels",
            got: labels.len(),
            expected: n,
        });
    }
    if let Some(i) = labels.iter().position(|&y| y >= k) {
        return Err(Error::InvalidParameter {
            name: "labels",
            reason: format!(
                "row {i}: label {} is out of range for {k} classes",
                labels[i]
            ),
        });
    }
    Ok(())
}

/// Fits softmax regression to `x` (row-major, `d` features per row) and
/// `labels`, starting from zero weights.
pub fn train(
    x: &[f64],
    d: usize,
    labels: &[usize],
    opts: &TrainOptions,
) -> Result<(SoftmaxRegression, TrainReport)> {
    let k = opts
        .classes
        .unwrap_or_else(|| labels.iter().max().map_or(0, |m| m + 1));
    let model = SoftmaxRegression {
        features: d,
        classes: k,
        weights: vec![0.0; k * d],
        intercepts: vec![0.0; k],
    };
    train_from(model, x, labels, opts)
}

/// Fits softmax regression starting from `init` (its shape fixes the
/// number of features and classes).
pub fn train_from(
    init: SoftmaxRegression,
    x: &[f64],
    labels: &[usize],
    opts: &TrainOptions,
) -> Result<(SoftmaxRegression, TrainReport)> {
    let (d, k) = (init.features, init.classes);
    let n = rows(x, d)?;
    if k < 2 {
        return Err(Error::InvalidParameter {
            name: "classes",
            reason: format!("softmax regression needs at least 2 classes, got {k}"),
        });
    }
    if init.weights.len() != k * d || init.intercepts.len() != k {
        return Err(Error::InvalidParameter {
            name: "init",
            reason: "weights must be classes x features and intercepts one per class".into(),
        });
    }
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "features",
            reason: "no rows to train on".into(),
        });
    }
    check_labels(labels, n, k)?;
    if opts.c.is_nan() || opts.c <= 0.0 {
        return Err(Error::InvalidParameter {
            name: "C",
            reason: format!(
                "the inverse regularisation strength must be > 0, got {}",
                opts.c
            ),
        });
    }
    let lam = penalty(opts.c, n);
    // The solver's vector is Theta = [W | b], one row of d weights (and
    // the intercept, when fitted) per class: the layout `dense` folds the
    // intercepts into its products with.
    let mut dense = dense::Dense::new(x, d, labels, k, opts.fit_intercept, &init.intercepts, lam);
    let d1 = dense.per_class();
    let mut theta = vec![0.0; k * d1];
    for (j, tj) in theta.chunks_exact_mut(d1).enumerate() {
        tj[..d].copy_from_slice(&init.weights[j * d..(j + 1) * d]);
        if opts.fit_intercept {
            tj[d] = init.intercepts[j];
        }
    }
    let report = match dense.preconditioner() {
        Some(h0) => lbfgs::minimize_preconditioned(
            &mut theta,
            |t, g| dense.evaluate(t, g),
            |v, out| h0.apply(v, out),
            &opts.lbfgs,
        ),
        None => lbfgs::minimize(&mut theta, |t, g| dense.evaluate(t, g), &opts.lbfgs),
    };
    let mut model = SoftmaxRegression {
        features: d,
        classes: k,
        weights: vec![0.0; k * d],
        // Not fitted: the starting intercepts stay as they were.
        intercepts: init.intercepts,
    };
    for (j, tj) in theta.chunks_exact(d1).enumerate() {
        model.weights[j * d..(j + 1) * d].copy_from_slice(&tj[..d]);
        if opts.fit_intercept {
            model.intercepts[j] = tj[d];
        }
    }
    Ok((
        model,
        TrainReport {
            objective: report.value,
            grad_inf: report.grad_inf,
            iterations: report.iterations,
            evaluations: report.evaluations,
            converged: report.converged,
            stop: report.stop,
        },
    ))
}

/// Per-feature centring and scaling, fitted on training rows and applied
/// to any rows (scikit-learn's `StandardScaler`: population standard
/// deviation; a constant feature is centred and left unscaled).
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Mean of each feature.
    pub mean: Vec<f64>,
    /// Standard deviation of each feature (1 where it is 0).
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits the means and standard deviations of `x` (row-major, `d` per
    /// row).
    pub fn fit(x: &[f64], d: usize) -> Result<Standardizer> {
        let n = rows(x, d)?;
        if n == 0 {
            return Err(Error::InvalidParameter {
                name: "features",
                reason: "no rows to standardise on".into(),
            });
        }
        let mut mean = vec![0.0; d];
        for xi in x.chunks_exact(d) {
            for (m, v) in mean.iter_mut().zip(xi) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for xi in x.chunks_exact(d) {
            for ((s, v), m) in var.iter_mut().zip(xi).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let scale = var
            .iter()
            .map(|s| {
                let sd = (s / n as f64).sqrt();
                if sd == 0.0 { 1.0 } else { sd }
            })
            .collect();
        Ok(Standardizer { mean, scale })
    }

    /// `(x - mean) / scale`, row by row.
    pub fn transform(&self, x: &[f64]) -> Result<Vec<f64>> {
        let d = self.mean.len();
        rows(x, d)?;
        let mut out = x.to_vec();
        for xi in out.chunks_exact_mut(d) {
            for ((v, m), s) in xi.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        Ok(out)
    }
}
