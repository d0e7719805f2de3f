//! Calibration metrics: NLL, accuracy, Brier score, expected and maximum
//! calibration error, classwise ECE, reliability diagrams.
//!
//! Definitions (n rows, k classes, `p = softmax(z)` per row):
//! - NLL: `mean(-ln p_y)`, from log-softmax so tiny probabilities keep
//!   their digits.
//! - accuracy: share of rows whose argmax (the first among ties) is the
//!   label.
//! - Brier score: `mean over rows of sum_j (p_j - [j = y])^2` (Brier 1950;
//!   between 0 and 2).
//! - ECE (Naeini et al. 2015; Guo et al. 2017): the top-label confidence
//!   `c = max_j p_j` and correctness of each row are grouped into bins;
//!   `ECE = sum_b (n_b / n) |acc_b - conf_b|`, MCE the largest
//!   `|acc_b - conf_b|` over non-empty bins.
//!   - equal-width bins: bin `b` of `B` is `((b-1)/B, b/B]`, with 0 in the
//!     first;
//!   - equal-mass bins: the rows sorted by confidence (ties by row order)
//!     and cut into `B` runs whose sizes differ by at most one.
//! - classwise ECE (Kull et al. 2019): for each class `j`, the equal-width
//!   ECE of the probability `p_j` against the indicator `[y = j]`; the
//!   mean over classes.

use super::{argmax, check_batch};
use crate::error::{Error, Result};
use crate::softmax::log_softmax_into;

/// How rows are grouped into bins for ECE, MCE and reliability diagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binning {
    /// `bins` intervals of equal width on `[0, 1]` (15 is the usual choice).
    EqualWidth {
        /// Number of intervals, at least 1.
        bins: usize,
    },
    /// `bins` groups holding (nearly) the same number of rows.
    EqualMass {
        /// Number of groups, at least 1.
        bins: usize,
    },
}

impl Binning {
    fn bins(self) -> usize {
        match self {
            Binning::EqualWidth { bins } | Binning::EqualMass { bins } => bins,
        }
    }
}

/// One bin of a reliability diagram.
///
/// An empty bin has `count == 0` and `None` for its confidence and
/// accuracy: it must be drawn as missing, never as zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    /// Lower edge of the bin (for equal-mass bins, the smallest confidence
    /// in it).
    pub lower: f64,
    /// Upper edge (for equal-mass bins, the largest confidence in it).
    pub upper: f64,
    /// Rows in the bin.
    pub count: usize,
    /// Mean top-label confidence of those rows.
    pub confidence: Option<f64>,
    /// Share of those rows whose prediction is right.
    pub accuracy: Option<f64>,
}

/// Every metric of one batch, as computed by [`Metrics::compute`].
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Rows.
    pub n: usize,
    /// Mean negative log-likelihood of the labels.
    pub nll: f64,
    /// Share of rows whose argmax is the label.
    pub accuracy: f64,
    /// Multi-class Brier score.
    pub brier: f64,
    /// ECE with equal-width bins.
    pub ece: f64,
    /// ECE with equal-mass bins (the same number of bins).
    pub ece_equal_mass: f64,
    /// MCE with equal-width bins.
    pub mce: f64,
    /// Classwise ECE with equal-width bins.
    pub classwise_ece: f64,
    /// Number of bins used.
    pub bins: usize,
}

/// Top-label confidence and correctness of each row, with NLL and Brier.
struct Summary {
    conf: Vec<f64>,
    correct: Vec<bool>,
    probs: Vec<f64>,
    nll: f64,
    brier: f64,
}

fn summarise(logits: &[f64], k: usize, labels: &[usize]) -> Result<Summary> {
    let n = check_batch(logits, k, labels)?;
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "logits",
            reason: "no rows to measure".into(),
        });
    }
    let mut probs = vec![0.0; logits.len()];
    let mut conf = Vec::with_capacity(n);
    let mut correct = Vec::with_capacity(n);
    let (mut nll, mut brier) = (0.0, 0.0);
    for ((row, out), &y) in logits
        .chunks_exact(k)
        .zip(probs.chunks_exact_mut(k))
        .zip(labels)
    {
        log_softmax_into(out, row, &crate::Params::default())?;
        nll -= out[y];
        for v in out.iter_mut() {
            *v = v.exp();
        }
        let top = argmax(row);
        conf.push(out[top]);
        correct.push(top == y);
        brier += out
            .iter()
            .enumerate()
            .map(|(j, &p)| {
                let t = if j == y { 1.0 } else { 0.0 };
                (p - t) * (p - t)
            })
            .sum::<f64>();
    }
    Ok(Summary {
        conf,
        correct,
        probs,
        nll: nll / n as f64,
        brier: brier / n as f64,
    })
}

/// Mean NLL of the labels under `softmax(logits)` (row-major, `k` per row).
pub fn nll(logits: &[f64], k: usize, labels: &[usize]) -> Result<f64> {
    Ok(summarise(logits, k, labels)?.nll)
}

/// Share of rows whose argmax (the first among ties) is the label.
pub fn accuracy(logits: &[f64], k: usize, labels: &[usize]) -> Result<f64> {
    let s = summarise(logits, k, labels)?;
    Ok(s.correct.iter().filter(|&&c| c).count() as f64 / s.correct.len() as f64)
}

/// Multi-class Brier score: mean over rows of `sum_j (p_j - [j = y])^2`.
pub fn brier(logits: &[f64], k: usize, labels: &[usize]) -> Result<f64> {
    Ok(summarise(logits, k, labels)?.brier)
}

fn check_bins(bins: usize) -> Result<()> {
    if bins == 0 {
        return Err(Error::InvalidParameter {
            name: "bins",
            reason: "the number of bins must be at least 1".into(),
        });
    }
    Ok(())
}

/// Bins `(value, hit)` pairs; the workhorse of every binned metric.
fn bin(values: &[f64], hits: &[bool], binning: Binning) -> Vec<ReliabilityBin> {
    let nb = binning.bins();
    let mut count = vec![0usize; nb];
    let mut sum_v = vec![0.0; nb];
    let mut sum_hit = vec![0usize; nb];
    let mut lower = vec![0.0; nb];
    let mut upper = vec![0.0; nb];
    match binning {
        Binning::EqualWidth { .. } => {
            let w = nb as f64;
            for (&v, &h) in values.iter().zip(hits) {
                // Bin b (0-based) is (b/B, (b+1)/B]; 0 goes to the first.
                let b = ((v * w).ceil() as usize).saturating_sub(1).min(nb - 1);
                count[b] += 1;
                sum_v[b] += v;
                sum_hit[b] += h as usize;
            }
            for b in 0..nb {
                lower[b] = b as f64 / w;
                upper[b] = (b + 1) as f64 / w;
            }
        }
        Binning::EqualMass { .. } => {
            let n = values.len();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
            for b in 0..nb {
                let (from, to) = (b * n / nb, (b + 1) * n / nb);
                for &i in &order[from..to] {
                    count[b] += 1;
                    sum_v[b] += values[i];
                    sum_hit[b] += hits[i] as usize;
                }
                if to > from {
                    lower[b] = values[order[from]];
                    upper[b] = values[order[to - 1]];
                } else {
                    lower[b] = f64::NAN;
                    upper[b] = f64::NAN;
                }
            }
        }
    }
    (0..nb)
        .map(|b| {
            let c = count[b];
            ReliabilityBin {
                lower: lower[b],
                upper: upper[b],
                count: c,
                confidence: (c > 0).then(|| sum_v[b] / c as f64),
                accuracy: (c > 0).then(|| sum_hit[b] as f64 / c as f64),
            }
        })
        .collect()
}

/// `(ECE, MCE)` of binned data.
fn ece_mce(bins: &[ReliabilityBin], n: usize) -> (f64, f64) {
    let (mut ece, mut mce) = (0.0_f64, 0.0_f64);
    for b in bins {
        if let (Some(c), Some(a)) = (b.confidence, b.accuracy) {
            let gap = (a - c).abs();
            ece += b.count as f64 / n as f64 * gap;
            mce = mce.max(gap);
        }
    }
    (ece, mce)
}

/// The data of a reliability diagram: per bin, the rows, their mean
/// top-label confidence and their accuracy.
///
/// ```
/// use boltzmax::learn::calibrate::{reliability, Binning};
/// let logits = [2.0, 0.0, 0.0, 2.0, 0.0, 0.1_f64];
/// let bins = reliability(&logits, 2, &[0, 0, 1], Binning::EqualWidth { bins: 10 }).unwrap();
/// assert_eq!(bins.len(), 10);
/// assert_eq!(bins[0].count, 0);
/// assert_eq!(bins[0].accuracy, None); // empty: missing, not zero
/// assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 3);
/// ```
pub fn reliability(
    logits: &[f64],
    k: usize,
    labels: &[usize],
    binning: Binning,
) -> Result<Vec<ReliabilityBin>> {
    check_bins(binning.bins())?;
    let s = summarise(logits, k, labels)?;
    Ok(bin(&s.conf, &s.correct, binning))
}

/// Expected calibration error of the top-label confidence.
///
/// ```
/// use boltzmax::learn::calibrate::{ece, Binning};
/// // Two rows, both predicted with confidence e/(1+e) ~ 0.731, one right:
/// // ECE = |0.5 - 0.731|.
/// let c = 1.0 / (1.0 + (-1.0_f64).exp());
/// let e = ece(&[1.0, 0.0, 1.0, 0.0], 2, &[0, 1], Binning::EqualWidth { bins: 15 }).unwrap();
/// assert!((e - (c - 0.5)).abs() < 1e-15);
/// ```
pub fn ece(logits: &[f64], k: usize, labels: &[usize], binning: Binning) -> Result<f64> {
    let bins = reliability(logits, k, labels, binning)?;
    Ok(ece_mce(&bins, labels.len()).0)
}

/// Classwise ECE with `bins` equal-width bins: the mean over classes of the
/// ECE of `p_j` against `[y = j]`.
pub fn classwise_ece(logits: &[f64], k: usize, labels: &[usize], bins: usize) -> Result<f64> {
    check_bins(bins)?;
    let s = summarise(logits, k, labels)?;
    Ok(classwise(&s, k, labels, bins))
}

fn classwise(s: &Summary, k: usize, labels: &[usize], bins: usize) -> f64 {
    let n = labels.len();
    let mut total = 0.0;
    let mut col = vec![0.0; n];
    let mut hit = vec![false; n];
    for j in 0..k {
        for i in 0..n {
            col[i] = s.probs[i * k + j];
            hit[i] = labels[i] == j;
        }
        total += ece_mce(&bin(&col, &hit, Binning::EqualWidth { bins }), n).0;
    }
    total / k as f64
}

impl Metrics {
    /// Computes every metric from logits (row-major, `k` per row) and
    /// labels, with `bins` bins for the binned ones.
    pub fn compute(logits: &[f64], k: usize, labels: &[usize], bins: usize) -> Result<Metrics> {
        check_bins(bins)?;
        let s = summarise(logits, k, labels)?;
        let n = labels.len();
        let width = bin(&s.conf, &s.correct, Binning::EqualWidth { bins });
        let mass = bin(&s.conf, &s.correct, Binning::EqualMass { bins });
        let (ece, mce) = ece_mce(&width, n);
        Ok(Metrics {
            n,
            nll: s.nll,
            accuracy: s.correct.iter().filter(|&&c| c).count() as f64 / n as f64,
            brier: s.brier,
            ece,
            ece_equal_mass: ece_mce(&mass, n).0,
            mce,
            classwise_ece: classwise(&s, k, labels, bins),
            bins,
        })
    }
}
