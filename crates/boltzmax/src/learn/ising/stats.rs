//! Error bars for Markov-chain time series: blocking (binning), the
//! jackknife over blocks for derived quantities, and the integrated
//! autocorrelation time.

use crate::error::{Error, Result};

/// A mean with its one-standard-error bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its standard error.
    pub error: f64,
}

impl Estimate {
    /// How many standard errors `value` lies from `reference`
    /// (`inf` when the error is 0 and they differ).
    pub fn z_score(&self, reference: f64) -> f64 {
        let d = (self.value - reference).abs();
        if d == 0.0 { 0.0 } else { d / self.error }
    }
}

/// The observables of one run at one temperature, per spin, with error
/// bars from the jackknife over [`Observables::blocks`] consecutive blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observables {
    /// Temperature of the run.
    pub t: f64,
    /// Number of measured sweeps.
    pub sweeps: usize,
    /// Number of blocks the error bars come from.
    pub blocks: usize,
    /// `<E>/N`.
    pub energy: Estimate,
    /// `N (<e^2> - <e>^2) / T^2`.
    pub specific_heat: Estimate,
    /// `<m>`.
    pub magnetization: Estimate,
    /// `<|m|>`.
    pub abs_magnetization: Estimate,
    /// `N (<m^2> - <m>^2) / T`.
    pub susceptibility: Estimate,
    /// `1 - <m^4> / (3 <m^2>^2)`.
    pub binder: Estimate,
    /// Integrated autocorrelation time of the energy, in sweeps.
    pub tau_energy: f64,
    /// Integrated autocorrelation time of `|m|`, in sweeps.
    pub tau_abs_magnetization: f64,
    /// Integrated autocorrelation time of `m`, in sweeps (large below
    /// `T_c` or in a field, where the chain rarely reverses `m`).
    pub tau_magnetization: f64,
}

impl Observables {
    /// True when every block spans at least 20 autocorrelation times of
    /// `E` and `|m|`, the condition for their error bars to be
    /// trustworthy.
    pub fn blocks_long_enough(&self) -> bool {
        let len = (self.sweeps / self.blocks) as f64;
        len >= 20.0 * self.tau_energy.max(self.tau_abs_magnetization)
    }

    /// As [`Self::blocks_long_enough`], counting the signed `m` as well
    /// (needed for the error bars of `m` and `chi`, and for `E` in a field,
    /// where the reversal of `m` is the slowest mode).
    pub fn blocks_long_enough_signed(&self) -> bool {
        let len = (self.sweeps / self.blocks) as f64;
        self.blocks_long_enough() && len >= 20.0 * self.tau_magnetization
    }
}

/// Analyses per-sweep series of energy per spin `e` and magnetisation per
/// spin `m` of `sites` spins at temperature `t`, with `blocks` jackknife
/// blocks (at least 2; 50 to 100 is usual).
///
/// ```
/// use boltzmax::learn::ising::analyze;
/// let e: Vec<f64> = (0..1000).map(|i| -1.0 - 0.01 * ((i * 7919) % 13) as f64).collect();
/// let m: Vec<f64> = (0..1000).map(|i| if i % 3 == 0 { 0.5 } else { -0.5 }).collect();
/// let obs = analyze(&e, &m, 16, 2.0, 50).unwrap();
/// assert!((obs.abs_magnetization.value - 0.5).abs() < 1e-15);
/// assert!(obs.energy.error > 0.0);
/// ```
pub fn analyze(e: &[f64], m: &[f64], sites: usize, t: f64, blocks: usize) -> Result<Observables> {
    if e.len() != m.len() {
        return Err(Error::LengthMismatch {
            what: "magnetization series",
            got: m.len(),
            expected: e.len(),
        });
    }
    if blocks < 2 || e.len() < blocks {
        return Err(Error::InvalidParameter {
            name: "blocks",
            reason: format!(
                "need 2 <= blocks <= samples, got {blocks} blocks for {} samples",
                e.len()
            ),
        });
    }
    crate::Temperature::new(t)?;
    // Drop the remainder so that all blocks weigh the same.
    let len = e.len() / blocks;
    let used = len * blocks;
    // Per block sums of e, e^2, m, |m|, m^2, m^4.
    let mut sums = vec![[0.0f64; 6]; blocks];
    for (i, (&e, &m)) in e[..used].iter().zip(&m[..used]).enumerate() {
        let s = &mut sums[i / len];
        s[0] += e;
        s[1] += e * e;
        s[2] += m;
        s[3] += m.abs();
        s[4] += m * m;
        s[5] += m * m * m * m;
    }
    let mut total = [0.0f64; 6];
    for s in &sums {
        for k in 0..6 {
            total[k] += s[k];
        }
    }
    let n = sites as f64;
    let derived = |mom: [f64; 6]| -> [f64; 6] {
        [
            mom[0],
            n * (mom[1] - mom[0] * mom[0]) / (t * t),
            mom[2],
            mom[3],
            n * (mom[4] - mom[2] * mom[2]) / t,
            1.0 - mom[5] / (3.0 * mom[4] * mom[4]),
        ]
    };
    let means = |s: [f64; 6], count: f64| s.map(|v| v / count);
    let full = derived(means(total, used as f64));
    let jack: Vec<[f64; 6]> = sums
        .iter()
        .map(|b| {
            let mut s = total;
            for k in 0..6 {
                s[k] -= b[k];
            }
            derived(means(s, (used - len) as f64))
        })
        .collect();
    let nb = blocks as f64;
    let est = |k: usize| {
        let mean = jack.iter().map(|j| j[k]).sum::<f64>() / nb;
        let var = jack.iter().map(|j| (j[k] - mean).powi(2)).sum::<f64>();
        Estimate {
            value: full[k],
            error: ((nb - 1.0) / nb * var).sqrt(),
        }
    };
    let abs_m: Vec<f64> = m.iter().map(|v| v.abs()).collect();
    Ok(Observables {
        t,
        sweeps: used,
        blocks,
        energy: est(0),
        specific_heat: est(1),
        magnetization: est(2),
        abs_magnetization: est(3),
        susceptibility: est(4),
        binder: est(5),
        tau_energy: tau_int(e),
        tau_abs_magnetization: tau_int(&abs_m),
        tau_magnetization: tau_int(m),
    })
}

/// The integrated autocorrelation time `tau = 1/2 + sum_{t=1}^{W} rho(t)`
/// with Sokal's automatic window: the smallest `W >= 6 tau(W)`, capped at
/// a tenth of the series. The variance of the mean of `n` correlated
/// samples is `2 tau` times that of `n` independent ones. Returns 0.5 for
/// a constant series.
///
/// ```
/// use boltzmax::learn::ising::tau_int;
/// // An AR(1) series x_t = a x_{t-1} + noise has tau = (1 + a) / (2 (1 - a)).
/// let a: f64 = 0.8;
/// let mut x = vec![0.0f64; 200_000];
/// let mut state: u64 = 1;
/// for i in 1..x.len() {
///     state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
///     let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
///     x[i] = a * x[i - 1] + u;
/// }
/// let tau = tau_int(&x);
/// assert!((tau - 4.5).abs() < 0.4, "{tau}");
/// ```
pub fn tau_int(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return 0.5;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let c0 = d.iter().map(|v| v * v).sum::<f64>() / n as f64;
    if c0 == 0.0 {
        return 0.5;
    }
    let mut tau = 0.5;
    let cap = (n / 10).max(1);
    for lag in 1..=cap {
        let c = d[..n - lag]
            .iter()
            .zip(&d[lag..])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / n as f64;
        tau += c / c0;
        if lag as f64 >= 6.0 * tau {
            break;
        }
    }
    tau.max(0.5)
}

/// Standard errors of the mean of `x` from blocking (Flyvbjerg and
/// Petersen 1989): entry `k` is the naive error of the means of blocks of
/// `2^k` samples. The entries rise and level off once the blocks are
/// longer than the correlation time; the plateau is the error bar.
///
/// ```
/// use boltzmax::learn::ising::binning_errors;
/// let x: Vec<f64> = (0..1024).map(|i| (i % 2) as f64).collect();
/// let errs = binning_errors(&x);
/// assert!(errs[1] < 1e-12); // pairs average to exactly 1/2
/// ```
pub fn binning_errors(x: &[f64]) -> Vec<f64> {
    let mut level: Vec<f64> = x.to_vec();
    let mut out = Vec::new();
    while level.len() >= 32 {
        let n = level.len() as f64;
        let mean = level.iter().sum::<f64>() / n;
        let var = level.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        out.push((var / n).sqrt());
        level = level.chunks_exact(2).map(|p| 0.5 * (p[0] + p[1])).collect();
    }
    out
}
