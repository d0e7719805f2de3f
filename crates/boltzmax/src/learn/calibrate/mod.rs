//! Calibration of classifiers: temperature, vector and matrix scaling
//! (Guo, Pleiss, Sun and Weinberger 2017, "On Calibration of Modern Neural
//! Networks"), and the metrics that judge them.
//!
//! Everything here works on a batch of scores held row-major in one slice:
//! `n` rows of `k` class scores, with one label in `0..k` per row. Scores
//! are logits; probabilities are accepted after
//! [`logits_from_probabilities`] (their logarithm; a zero probability
//! becomes a `-inf` logit, which every function here treats as a
//! masked-out class).
//!
//! - [`fit_temperature`] solves the one-dimensional temperature problem
//!   exactly (to machine precision) by safeguarded Halley/Newton steps on
//!   `beta = 1/T`.
//! - [`fit_vector_scaling`] and [`fit_matrix_scaling`] fit a per-class
//!   affine map, or a full one, by L-BFGS.
//! - [`Calibrator`] holds any of the three and applies it to new logits.
//! - [`Metrics`] gathers NLL, accuracy, Brier score, ECE (equal-width and
//!   equal-mass bins), MCE and classwise ECE; [`reliability`] gives the
//!   data of a reliability diagram, with empty bins marked.
//!
//! ```
//! use boltzmax::learn::calibrate::{fit_temperature, Metrics};
//!
//! // Three rows of overconfident logits for two classes.
//! let logits = [4.0, 0.0, 0.0, 4.0, 3.0, 0.0_f64];
//! let labels = [0, 1, 1];
//! let fit = fit_temperature(&logits, 2, &labels).unwrap();
//! assert!(fit.temperature > 1.0); // one of three is wrong: soften
//! assert!(fit.nll < fit.nll_before);
//! let after = Metrics::compute(&fit.calibrator().apply(&logits, 2).unwrap(), 2, &labels, 15).unwrap();
//! assert!((after.nll - fit.nll).abs() < 1e-14);
//! ```

mod metrics;
mod scaling;
mod temperature;

pub use metrics::{
    Binning, Metrics, ReliabilityBin, accuracy, brier, classwise_ece, ece, nll, reliability,
};
pub use scaling::{Calibrator, ScalingOptions, fit_matrix_scaling, fit_vector_scaling};
pub use temperature::{
    TemperatureFit, TemperatureObjective, fit_temperature, fit_temperature_with,
    temperature_objective,
};

use crate::error::{Error, Result};

/// Checks a batch of logits and labels and returns the number of rows.
///
/// `logits` must hold `n * k` values with `k >= 1`, `labels` one label per
/// row, each in `0..k`. A logit may be finite or `-inf` (a class ruled
/// out), never `+inf` or NaN; a row needs at least one finite logit, and
/// its label's logit must be finite (else no temperature gives it a
/// nonzero probability and the NLL is infinite).
pub(crate) fn check_batch(logits: &[f64], k: usize, labels: &[usize]) -> Result<usize> {
    if k == 0 {
        return Err(Error::InvalidParameter {
            name: "k",
            reason: "the number of classes must be at least 1".into(),
        });
    }
    if !logits.len().is_multiple_of(k) {
        return Err(Error::InvalidParameter {
            name: "logits",
            reason: format!("length {} is not a multiple of k = {k}", logits.len()),
        });
    }
    let n = logits.len() / k;
    if labels.len() != n {
        return Err(Error::LengthMismatch {
            what: "labels",
            got: labels.len(),
            expected: n,
        });
    }
    for (i, (row, &y)) in logits.chunks_exact(k).zip(labels).enumerate() {
        if y >= k {
            return Err(Error::InvalidParameter {
                name: "labels",
                reason: format!("row {i}: label {y} is out of range for {k} classes"),
            });
        }
        check_row(row, i)?;
        if !row[y].is_finite() {
            return Err(Error::InvalidParameter {
                name: "logits",
                reason: format!(
                    "row {i}: the logit of the true class {y} is {}, so its probability is 0 at every temperature",
                    row[y]
                ),
            });
        }
    }
    Ok(n)
}

/// Checks the logits of one row: no NaN or `+inf`, at least one finite.
pub(crate) fn check_row(row: &[f64], i: usize) -> Result<()> {
    let mut any_finite = false;
    for (j, &v) in row.iter().enumerate() {
        if v.is_nan() || v == f64::INFINITY {
            return Err(Error::InvalidParameter {
                name: "logits",
                reason: format!(
                    "row {i}, column {j}: logit {v} is not allowed (finite or -inf only)"
                ),
            });
        }
        any_finite |= v.is_finite();
    }
    if !any_finite {
        return Err(Error::InvalidParameter {
            name: "logits",
            reason: format!("row {i}: every logit is -inf"),
        });
    }
    Ok(())
}

/// Converts probabilities (row-major, `k` per row) to logits by the
/// natural logarithm.
///
/// Each value must lie in `[0, 1]`; a zero becomes `-inf` (a class ruled
/// out). Rows need not sum to exactly 1: softmax of the logarithms
/// renormalises them, which is what every function here applies. A row of
/// only zeros is an error.
///
/// ```
/// use boltzmax::learn::calibrate::logits_from_probabilities;
/// let z = logits_from_probabilities(&[0.25, 0.75, 1.0, 0.0], 2).unwrap();
/// assert_eq!(z[0], 0.25_f64.ln());
/// assert_eq!(z[3], f64::NEG_INFINITY);
/// assert!(logits_from_probabilities(&[0.5, 1.5], 2).is_err());
/// ```
pub fn logits_from_probabilities(p: &[f64], k: usize) -> Result<Vec<f64>> {
    if k == 0 || !p.len().is_multiple_of(k) {
        return Err(Error::InvalidParameter {
            name: "probabilities",
            reason: format!("length {} is not a multiple of k = {k}", p.len()),
        });
    }
    let mut out = Vec::with_capacity(p.len());
    for (i, row) in p.chunks_exact(k).enumerate() {
        let mut any = false;
        for (j, &v) in row.iter().enumerate() {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::InvalidParameter {
                    name: "probabilities",
                    reason: format!("row {i}, column {j}: {v} is not a probability in [0, 1]"),
                });
            }
            any |= v > 0.0;
            out.push(v.ln());
        }
        if !any {
            return Err(Error::InvalidParameter {
                name: "probabilities",
                reason: format!("row {i}: every probability is 0"),
            });
        }
    }
    Ok(out)
}

/// The index of the largest entry of a row; the first one among ties.
pub(crate) fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (j, v) in row.iter().enumerate().skip(1) {
        if v.total_cmp(&row[best]).is_gt() {
            best = j;
        }
    }
    best
}
