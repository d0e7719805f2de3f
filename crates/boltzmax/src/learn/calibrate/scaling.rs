//! Vector and matrix scaling (Guo et al. 2017), and [`Calibrator`], the
//! one type that applies any fitted calibration map.
//!
//! - vector scaling: `z'_j = w_j z_j + b_j` (2k parameters);
//! - matrix scaling: `z' = W z + b` (k^2 + k parameters): softmax
//!   regression with the logits as features, so it is fitted by
//!   [`train_from`] starting from the identity.
//!
//! Both minimise the mean NLL (plus an optional `l2/2 ||w||^2` on the
//! weights, zero by default as in Guo et al.) by L-BFGS. With many
//! classes and few rows matrix scaling overfits; the penalty or vector
//! scaling are the remedies.

use super::check_batch;
use crate::backward::{CrossEntropyOptions, softmax_cross_entropy};
use crate::error::{Error, Result};
use crate::learn::classify::lbfgs::{self, LbfgsOptions};
use crate::learn::classify::{SoftmaxRegression, TrainOptions, TrainReport, train_from};

/// A fitted calibration map from logits to calibrated logits.
#[derive(Debug, Clone, PartialEq)]
pub enum Calibrator {
    /// `z' = beta z` (`beta = 1/T`).
    Temperature {
        /// Inverse temperature.
        beta: f64,
    },
    /// `z'_j = weights_j z_j + biases_j`.
    Vector {
        /// One weight per class.
        weights: Vec<f64>,
        /// One bias per class.
        biases: Vec<f64>,
    },
    /// `z' = weights z + biases`.
    Matrix {
        /// `k x k`, row-major: `z'_j = sum_l weights[j k + l] z_l + biases_j`.
        weights: Vec<f64>,
        /// One bias per class.
        biases: Vec<f64>,
    },
}

/// Options of [`fit_vector_scaling`] and [`fit_matrix_scaling`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalingOptions {
    /// Penalty `l2/2 ||w||^2` on the weights (not the biases); 0 for none.
    pub l2: f64,
    /// Solver stopping rules.
    pub lbfgs: LbfgsOptions,
}

impl Default for ScalingOptions {
    fn default() -> Self {
        ScalingOptions {
            l2: 0.0,
            lbfgs: LbfgsOptions {
                max_iter: 1000,
                gtol: 1e-9,
                ..LbfgsOptions::default()
            },
        }
    }
}

fn finite_only(logits: &[f64], k: usize, method: &str) -> Result<()> {
    if let Some(i) = logits.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "logits",
            reason: format!(
                "row {}, column {}: {method} scaling needs finite logits, got {} (a probability of 0?)",
                i / k,
                i % k,
                logits[i]
            ),
        });
    }
    Ok(())
}

impl Calibrator {
    /// Number of classes the map is fitted for (`None` for a temperature,
    /// which fits any).
    pub fn classes(&self) -> Option<usize> {
        match self {
            Calibrator::Temperature { .. } => None,
            Calibrator::Vector { biases, .. } | Calibrator::Matrix { biases, .. } => {
                Some(biases.len())
            }
        }
    }

    /// The calibrated logits of `logits` (row-major, `k` per row).
    pub fn apply(&self, logits: &[f64], k: usize) -> Result<Vec<f64>> {
        if k == 0 || !logits.len().is_multiple_of(k) {
            return Err(Error::InvalidParameter {
                name: "logits",
                reason: format!("length {} is not a multiple of k = {k}", logits.len()),
            });
        }
        if let Some(c) = self.classes().filter(|&c| c != k) {
            return Err(Error::InvalidParameter {
                name: "logits",
                reason: format!("the calibrator was fitted for {c} classes, the logits have {k}"),
            });
        }
        for (i, row) in logits.chunks_exact(k).enumerate() {
            super::check_row(row, i)?;
        }
        match self {
            Calibrator::Temperature { beta } => Ok(logits.iter().map(|z| beta * z).collect()),
            Calibrator::Vector { weights, biases } => {
                finite_only(logits, k, "vector")?;
                Ok(logits
                    .chunks_exact(k)
                    .flat_map(|row| {
                        row.iter()
                            .zip(weights)
                            .zip(biases)
                            .map(|((z, w), b)| w * z + b)
                    })
                    .collect())
            }
            Calibrator::Matrix { weights, biases } => {
                finite_only(logits, k, "matrix")?;
                let model = SoftmaxRegression {
                    features: k,
                    classes: k,
                    weights: weights.clone(),
                    intercepts: biases.clone(),
                };
                model.logits(logits)
            }
        }
    }
}

/// Fits vector scaling `z'_j = w_j z_j + b_j` from `w = 1, b = 0`.
pub fn fit_vector_scaling(
    logits: &[f64],
    k: usize,
    labels: &[usize],
    opts: &ScalingOptions,
) -> Result<(Calibrator, TrainReport)> {
    let n = check_batch(logits, k, labels)?;
    finite_only(logits, k, "vector")?;
    check_l2(opts.l2)?;
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "logits",
            reason: "no rows to fit on".into(),
        });
    }
    let mut theta = vec![1.0; k];
    theta.extend(std::iter::repeat_n(0.0, k));
    let mut z = vec![0.0; n * k];
    let mut gz = vec![0.0; n * k];
    let ce = CrossEntropyOptions::default();
    let l2 = opts.l2;
    let report = lbfgs::minimize(
        &mut theta,
        |t, g| {
            let (w, b) = t.split_at(k);
            for (zi, li) in z.chunks_exact_mut(k).zip(logits.chunks_exact(k)) {
                for j in 0..k {
                    zi[j] = w[j] * li[j] + b[j];
                }
            }
            let Ok(loss) = softmax_cross_entropy(&z, labels, k, &ce, Some(&mut gz)) else {
                return f64::INFINITY;
            };
            let (gw, gb) = g.split_at_mut(k);
            for j in 0..k {
                gw[j] = l2 * w[j];
                gb[j] = 0.0;
            }
            for (gi, li) in gz.chunks_exact(k).zip(logits.chunks_exact(k)) {
                for j in 0..k {
                    gw[j] += gi[j] * li[j];
                    gb[j] += gi[j];
                }
            }
            loss + 0.5 * l2 * w.iter().map(|v| v * v).sum::<f64>()
        },
        &opts.lbfgs,
    );
    let (w, b) = theta.split_at(k);
    Ok((
        Calibrator::Vector {
            weights: w.to_vec(),
            biases: b.to_vec(),
        },
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

fn check_l2(l2: f64) -> Result<()> {
    if !(l2.is_finite() && l2 >= 0.0) {
        return Err(Error::InvalidParameter {
            name: "l2",
            reason: format!("the penalty must be finite and >= 0, got {l2}"),
        });
    }
    Ok(())
}

/// Fits matrix scaling `z' = W z + b` from `W = I, b = 0`.
pub fn fit_matrix_scaling(
    logits: &[f64],
    k: usize,
    labels: &[usize],
    opts: &ScalingOptions,
) -> Result<(Calibrator, TrainReport)> {
    let n = check_batch(logits, k, labels)?;
    finite_only(logits, k, "matrix")?;
    check_l2(opts.l2)?;
    if k < 2 {
        return Err(Error::InvalidParameter {
            name: "k",
            reason: "matrix scaling needs at least 2 classes".into(),
        });
    }
    let mut weights = vec![0.0; k * k];
    for j in 0..k {
        weights[j * k + j] = 1.0;
    }
    let init = SoftmaxRegression {
        features: k,
        classes: k,
        weights,
        intercepts: vec![0.0; k],
    };
    // The penalty l2/2 ||W||^2 is scikit-learn's ||W||^2 / (2 C n) with
    // C = 1 / (l2 n).
    let c = if opts.l2 == 0.0 {
        f64::INFINITY
    } else {
        1.0 / (opts.l2 * n as f64)
    };
    let (model, report) = train_from(
        init,
        logits,
        labels,
        &TrainOptions {
            c,
            fit_intercept: true,
            classes: Some(k),
            lbfgs: opts.lbfgs,
        },
    )?;
    Ok((
        Calibrator::Matrix {
            weights: model.weights,
            biases: model.intercepts,
        },
        report,
    ))
}
