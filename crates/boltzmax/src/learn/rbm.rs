//! Restricted Boltzmann machines with Bernoulli visible and hidden units.
//!
//! The energy of a joint state is `E(v, h) = -v.b - h.c - v W h`, and
//! summing out the hidden units gives the free energy
//! `F(v) = -v.b - sum_j softplus(c_j + (v W)_j)`, so that
//! `p(v) = exp(-F(v)) / Z`. Each unit given the other layer is a
//! two-state Boltzmann distribution: `p(h_j = 1 | v) = sigmoid(c_j + (v
//! W)_j)`, the softmax of `[x, 0]`.
//!
//! - [`Rbm`]: the parameters, free energy, conditionals, Gibbs sampling,
//!   exact `ln Z` and log-likelihood by enumeration (small models),
//!   pseudo-likelihood exact over all bits and as scikit-learn estimates
//!   it, and annealed importance sampling for `ln Z` ([`Rbm::ais_ln_z`]).
//! - [`train`]: CD-k or persistent CD-k with minibatch SGD, momentum and
//!   weight decay ([`TrainConfig`]); [`TrainConfig::sklearn`] reproduces
//!   scikit-learn's `BernoulliRBM` schedule (PCD-1, as many persistent
//!   chains as the batch size, unshuffled batches).
//!
//! Visible data may be real in `[0, 1]` (grey levels, used as
//! probabilities, as scikit-learn does); samples are binary.
//!
//! ```
//! use boltzmax::learn::rbm::{Rbm, TrainConfig, train};
//! use ndarray::array;
//! // Two patterns; a 4-hidden-unit RBM learns them.
//! let data = array![[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]];
//! let data = ndarray::concatenate(ndarray::Axis(0), &[data.view(); 50]).unwrap();
//! let cfg = TrainConfig { hidden: 4, epochs: 200, learning_rate: 0.1, ..TrainConfig::default() };
//! let rbm = train(data.view(), &cfg, &mut |_| {}).unwrap();
//! let ll = rbm.log_likelihood_exact(data.view()).unwrap();
//! assert!(ll > -2.0, "{ll}"); // ln(1/2) = -0.69 is the best possible
//! ```

use crate::error::{Error, Result};
use crate::logsumexp;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

mod kernels;

/// A uniform in `[0, 1)` with 53 random bits (built here, not by `rand`,
/// so that outputs for a seed stay fixed across `rand` versions).
#[inline(always)]
fn uniform<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal by Box-Muller.
fn normal<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - uniform(rng); // (0, 1]
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The generator of stream `stream` under `seed` (SplitMix64-mixed).
fn stream_rng(seed: u64, stream: u64) -> Xoshiro256PlusPlus {
    let mut z = seed
        ^ stream
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

/// `sigmoid(x) = softmax([x, 0])[0]`, without overflow for either sign.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `softplus(x) = ln(1 + e^x) = logsumexp([x, 0])`, without overflow.
#[inline]
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `ln sigmoid(x) = -softplus(-x)`.
#[inline]
fn ln_sigmoid(x: f64) -> f64 {
    -softplus(-x)
}

/// The largest side (visible or hidden) that [`Rbm::ln_z_exact`]
/// enumerates: `2^24` states.
pub const MAX_ENUMERATED_UNITS: usize = 24;

/// A Bernoulli-Bernoulli restricted Boltzmann machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Rbm {
    /// Weights `W`, `visible x hidden`.
    pub weights: Array2<f64>,
    /// Visible biases `b`.
    pub visible_bias: Array1<f64>,
    /// Hidden biases `c`.
    pub hidden_bias: Array1<f64>,
}

/// An estimate of `ln Z` from annealed importance sampling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AisEstimate {
    /// `ln Z`, the log of the mean importance weight.
    pub ln_z: f64,
    /// Standard error of `ln Z` (delta method on the mean weight).
    pub error: f64,
    /// Effective sample size of the weights, `(sum w)^2 / sum w^2`.
    pub effective_runs: f64,
}

impl Rbm {
    /// Weights drawn from N(0, 0.01^2) as scikit-learn does, zero biases.
    pub fn new<R: RngCore + ?Sized>(visible: usize, hidden: usize, rng: &mut R) -> Result<Rbm> {
        if visible == 0 || hidden == 0 {
            return Err(Error::InvalidParameter {
                name: "units",
                reason: format!(
                    "need at least one visible and one hidden unit, got {visible} x {hidden}"
                ),
            });
        }
        let weights = Array2::from_shape_simple_fn((visible, hidden), || 0.01 * normal(rng));
        Ok(Rbm {
            weights,
            visible_bias: Array1::zeros(visible),
            hidden_bias: Array1::zeros(hidden),
        })
    }

    /// Builds from parts, checking the shapes agree.
    pub fn from_parts(
        weights: Array2<f64>,
        visible_bias: Array1<f64>,
        hidden_bias: Array1<f64>,
    ) -> Result<Rbm> {
        let (nv, nh) = weights.dim();
        if visible_bias.len() != nv {
            return Err(Error::LengthMismatch {
                what: "visible bias",
                got: visible_bias.len(),
                expected: nv,
            });
        }
        if hidden_bias.len() != nh {
            return Err(Error::LengthMismatch {
                what: "hidden bias",
                got: hidden_bias.len(),
                expected: nh,
            });
        }
        if weights
            .iter()
            .chain(&visible_bias)
            .chain(&hidden_bias)
            .any(|v| !v.is_finite())
        {
            return Err(Error::InvalidParameter {
                name: "RBM parameters",
                reason: "must all be finite".into(),
            });
        }
        Ok(Rbm {
            weights,
            visible_bias,
            hidden_bias,
        })
    }

    /// Number of visible units.
    pub fn visible(&self) -> usize {
        self.visible_bias.len()
    }

    /// Number of hidden units.
    pub fn hidden(&self) -> usize {
        self.hidden_bias.len()
    }

    fn check_data(&self, data: ArrayView2<f64>) -> Result<()> {
        if data.ncols() != self.visible() {
            return Err(Error::ShapeMismatch {
                what: "data",
                got: data.shape().to_vec(),
                expected: vec![data.nrows(), self.visible()],
            });
        }
        Ok(())
    }

    /// Hidden pre-activations `c + v W` for each row of `v`.
    fn hidden_input(&self, v: ArrayView2<f64>) -> Array2<f64> {
        let mut x = v.dot(&self.weights);
        x += &self.hidden_bias;
        x
    }

    /// `p(h = 1 | v)` for each row of `v` (the RBM's features).
    pub fn hidden_probs(&self, v: ArrayView2<f64>) -> Result<Array2<f64>> {
        self.check_data(v)?;
        Ok(self.hidden_input(v).mapv_into(sigmoid))
    }

    /// `p(v = 1 | h)` for each row of `h`.
    pub fn visible_probs(&self, h: ArrayView2<f64>) -> Result<Array2<f64>> {
        if h.ncols() != self.hidden() {
            return Err(Error::ShapeMismatch {
                what: "hidden states",
                got: h.shape().to_vec(),
                expected: vec![h.nrows(), self.hidden()],
            });
        }
        let mut x = h.dot(&self.weights.t());
        x += &self.visible_bias;
        Ok(x.mapv_into(sigmoid))
    }

    /// Free energy `F(v) = -v.b - sum_j softplus(c_j + (v W)_j)` of each row.
    ///
    /// ```
    /// use boltzmax::learn::rbm::Rbm;
    /// use ndarray::array;
    /// let rbm = Rbm::from_parts(array![[1.0], [-2.0]], array![0.5, 0.0], array![0.25]).unwrap();
    /// let f = rbm.free_energy(array![[1.0, 0.0]].view()).unwrap();
    /// // -(0.5) - ln(1 + e^{0.25 + 1})
    /// assert!((f[0] - (-0.5 - (1.0f64 + 1.25f64.exp()).ln())).abs() < 1e-15);
    /// ```
    pub fn free_energy(&self, v: ArrayView2<f64>) -> Result<Array1<f64>> {
        self.check_data(v)?;
        let x = self.hidden_input(v);
        let vb = v.dot(&self.visible_bias);
        Ok(Array1::from_iter(x.rows().into_iter().zip(vb.iter()).map(
            |(row, &vb)| -vb - row.iter().map(|&a| softplus(a)).sum::<f64>(),
        )))
    }

    /// Runs `steps` full Gibbs steps (v -> h -> v, sampled) from each row of
    /// `v` in place; row `i` draws from stream `i` of `seed`, in parallel.
    pub fn gibbs(&self, v: &mut Array2<f64>, steps: usize, seed: u64) -> Result<()> {
        self.check_data(v.view())?;
        v.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(i, mut row)| {
                let mut rng = stream_rng(seed, i as u64);
                let mut h = Array1::<f64>::zeros(self.hidden());
                for _ in 0..steps {
                    let x = row.dot(&self.weights) + &self.hidden_bias;
                    for (hj, &xj) in h.iter_mut().zip(&x) {
                        *hj = f64::from(u8::from(uniform(&mut rng) < sigmoid(xj)));
                    }
                    let y = self.weights.dot(&h) + &self.visible_bias;
                    for (vi, &yi) in row.iter_mut().zip(&y) {
                        *vi = f64::from(u8::from(uniform(&mut rng) < sigmoid(yi)));
                    }
                }
            });
        Ok(())
    }

    /// Exact `ln Z`, enumerating the smaller layer (at most
    /// [`MAX_ENUMERATED_UNITS`] units): with hidden states `h`,
    /// `ln Z = logsumexp_h [h.c + sum_i softplus(b_i + (W h)_i)]`.
    pub fn ln_z_exact(&self) -> Result<f64> {
        let (nv, nh) = (self.visible(), self.hidden());
        let small = nv.min(nh);
        if small > MAX_ENUMERATED_UNITS {
            return Err(Error::InvalidParameter {
                name: "RBM size",
                reason: format!(
                    "exact ln Z enumerates 2^{small} states; the limit is 2^{MAX_ENUMERATED_UNITS}"
                ),
            });
        }
        // Enumerate the hidden layer, or the visible one through the
        // transposed machine (the energy is symmetric in the two layers).
        let (w, own, other) = if nh <= nv {
            (self.weights.view(), &self.hidden_bias, &self.visible_bias)
        } else {
            (self.weights.t(), &self.visible_bias, &self.hidden_bias)
        };
        let terms: Vec<f64> = (0u64..1 << small)
            .into_par_iter()
            .map(|bits| {
                let mut t = 0.0;
                let mut input = other.to_owned();
                for j in 0..small {
                    if bits >> j & 1 == 1 {
                        t += own[j];
                        input += &w.column(j);
                    }
                }
                t + input.iter().map(|&a| softplus(a)).sum::<f64>()
            })
            .collect();
        Ok(logsumexp(&terms))
    }

    /// Mean exact log-likelihood `mean(-F(v)) - ln Z` of the rows of
    /// `data` (for real-valued rows, the same formula, as an energy
    /// score).
    pub fn log_likelihood_exact(&self, data: ArrayView2<f64>) -> Result<f64> {
        let ln_z = self.ln_z_exact()?;
        let f = self.free_energy(data)?;
        Ok(-f.mean().unwrap_or(f64::NAN) - ln_z)
    }

    /// Mean exact pseudo-log-likelihood over the rows:
    /// `sum_i ln p(v_i | v_-i) = sum_i ln sigmoid(F(v with v_i -> 1 - v_i) - F(v))`,
    /// all bits. For real `v_i` in `[0, 1]` the flip is `1 - v_i`, as
    /// scikit-learn does.
    pub fn pseudo_likelihood_exact(&self, data: ArrayView2<f64>) -> Result<f64> {
        self.check_data(data)?;
        let n = data.nrows();
        if n == 0 {
            return Ok(f64::NAN);
        }
        let total: f64 = data
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|v| self.row_pseudo_likelihood(v))
            .sum();
        Ok(total / n as f64)
    }

    /// `sum_i ln sigmoid(F(v^i) - F(v))` for one row, each flip an O(H)
    /// update of the hidden input.
    fn row_pseudo_likelihood(&self, v: ArrayView1<f64>) -> f64 {
        let x = v.dot(&self.weights) + &self.hidden_bias;
        let f0 = -v.dot(&self.visible_bias) - x.iter().map(|&a| softplus(a)).sum::<f64>();
        let mut total = 0.0;
        for i in 0..self.visible() {
            let d = 1.0 - 2.0 * v[i]; // the change of v_i
            let w = self.weights.row(i);
            let sp: f64 = x
                .iter()
                .zip(w.iter())
                .map(|(&a, &wij)| softplus(a + d * wij))
                .sum();
            let f1 = -(v.dot(&self.visible_bias) + d * self.visible_bias[i]) - sp;
            total += ln_sigmoid(f1 - f0);
        }
        total
    }

    /// Mean pseudo-log-likelihood as scikit-learn's `BernoulliRBM.score_samples`
    /// estimates it: per row, one random bit `i` is flipped and the score is
    /// `n_visible * ln sigmoid(F(v^i) - F(v))`. Unbiased for the exact
    /// value, but noisy.
    pub fn pseudo_likelihood_sklearn(&self, data: ArrayView2<f64>, seed: u64) -> Result<f64> {
        self.check_data(data)?;
        let n = data.nrows();
        if n == 0 {
            return Ok(f64::NAN);
        }
        let mut rng = stream_rng(seed, 0);
        let nv = self.visible();
        let mut flipped = data.to_owned();
        for mut row in flipped.axis_iter_mut(Axis(0)) {
            let i = ((rng.next_u64() as u128 * nv as u128) >> 64) as usize;
            row[i] = 1.0 - row[i];
        }
        let f0 = self.free_energy(data)?;
        let f1 = self.free_energy(flipped.view())?;
        let total: f64 = f1
            .iter()
            .zip(&f0)
            .map(|(a, b)| nv as f64 * ln_sigmoid(a - b))
            .sum();
        Ok(total / n as f64)
    }

    /// Annealed importance sampling estimate of `ln Z` (Salakhutdinov and
    /// Murray 2008): `runs` chains anneal from a base model of independent
    /// visible units with biases `base_bias` (zeros if `None`; the data's
    /// log-odds work better for trained models) to this RBM through
    /// `betas` intermediate distributions evenly spaced in `[0, 1]`, one
    /// Gibbs transition each. Runs are parallel, run `r` on stream `r`.
    // Index loops: k indexes two schedules (beta and the chain step).
    #[allow(clippy::needless_range_loop)]
    pub fn ais_ln_z(
        &self,
        runs: usize,
        betas: usize,
        base_bias: Option<ArrayView1<f64>>,
        seed: u64,
    ) -> Result<AisEstimate> {
        if runs == 0 || betas < 2 {
            return Err(Error::InvalidParameter {
                name: "AIS",
                reason: format!("need runs >= 1 and betas >= 2, got {runs} runs, {betas} betas"),
            });
        }
        let nv = self.visible();
        let base = match base_bias {
            Some(b) if b.len() != nv => {
                return Err(Error::LengthMismatch {
                    what: "base bias",
                    got: b.len(),
                    expected: nv,
                });
            }
            Some(b) => b.to_owned(),
            None => Array1::zeros(nv),
        };
        // At beta = 0 the hidden units are free: each contributes ln 2.
        let ln_za: f64 =
            base.iter().map(|&b| softplus(b)).sum::<f64>() + self.hidden() as f64 * 2f64.ln();
        let beta: Vec<f64> = (0..betas).map(|k| k as f64 / (betas - 1) as f64).collect();
        // ln p*_k(v) = (1 - b_k) a.v + b_k b.v + sum_j softplus(b_k (c_j + (vW)_j)).
        let ln_p = |k: usize, v: &Array1<f64>, x: &Array1<f64>| -> f64 {
            let bk = beta[k];
            (1.0 - bk) * v.dot(&base)
                + bk * v.dot(&self.visible_bias)
                + x.iter().map(|&a| softplus(bk * a)).sum::<f64>()
        };
        let log_w: Vec<f64> = (0..runs)
            .into_par_iter()
            .map(|r| {
                let mut rng = stream_rng(seed, r as u64);
                // An exact draw from the base model.
                let mut v = base.mapv(|b| f64::from(u8::from(uniform(&mut rng) < sigmoid(b))));
                let mut h = Array1::<f64>::zeros(self.hidden());
                let mut lw = 0.0;
                for k in 1..betas {
                    let x = v.dot(&self.weights) + &self.hidden_bias;
                    lw += ln_p(k, &v, &x) - ln_p(k - 1, &v, &x);
                    if k + 1 == betas {
                        break;
                    }
                    // A Gibbs transition that keeps p_k.
                    let bk = beta[k];
                    for (hj, &xj) in h.iter_mut().zip(&x) {
                        *hj = f64::from(u8::from(uniform(&mut rng) < sigmoid(bk * xj)));
                    }
                    let y = self.weights.dot(&h);
                    for i in 0..nv {
                        let a = (1.0 - bk) * base[i] + bk * (self.visible_bias[i] + y[i]);
                        v[i] = f64::from(u8::from(uniform(&mut rng) < sigmoid(a)));
                    }
                }
                lw
            })
            .collect();
        let m = runs as f64;
        let lse = logsumexp(&log_w);
        let ln_mean = lse - m.ln();
        // Normalised weights for the delta-method error and the ESS.
        let w: Vec<f64> = log_w.iter().map(|&l| (l - ln_mean).exp()).collect();
        let var = w.iter().map(|&x| (x - 1.0).powi(2)).sum::<f64>() / (m - 1.0).max(1.0);
        let ess = m * m / w.iter().map(|x| x * x).sum::<f64>();
        Ok(AisEstimate {
            ln_z: ln_za + ln_mean,
            error: (var / m).sqrt(),
            effective_runs: ess,
        })
    }
}

/// Training hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// Hidden units.
    pub hidden: usize,
    /// Step size; each update adds `learning_rate` times the mean gradient
    /// over the minibatch (scikit-learn's convention).
    pub learning_rate: f64,
    /// Rows per minibatch.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Gibbs steps per update (the k of CD-k).
    pub k: usize,
    /// Persistent chains (PCD) instead of chains restarted at the data (CD).
    pub persistent: bool,
    /// Number of persistent chains (PCD only).
    pub chains: usize,
    /// Momentum of the parameter velocity, in `[0, 1)`.
    pub momentum: f64,
    /// L2 weight decay on `W`.
    pub weight_decay: f64,
    /// Shuffle the rows each epoch (scikit-learn does not).
    pub shuffle: bool,
    /// Seed of the initial weights and all sampling.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// [`TrainConfig::sklearn`] with 256 hidden units.
    fn default() -> Self {
        TrainConfig::sklearn(256)
    }
}

impl TrainConfig {
    /// scikit-learn's `BernoulliRBM` defaults and schedule: lr 0.1,
    /// batch 10, 10 epochs, PCD-1 with 10 chains, no momentum or decay,
    /// batches in file order.
    pub fn sklearn(hidden: usize) -> TrainConfig {
        TrainConfig {
            hidden,
            learning_rate: 0.1,
            batch_size: 10,
            epochs: 10,
            k: 1,
            persistent: true,
            chains: 10,
            momentum: 0.0,
            weight_decay: 0.0,
            shuffle: false,
            seed: 0,
        }
    }

    fn check(&self) -> Result<()> {
        let bad = |name, reason: String| Err(Error::InvalidParameter { name, reason });
        if self.hidden == 0
            || self.batch_size == 0
            || self.k == 0
            || (self.persistent && self.chains == 0)
        {
            return bad(
                "training sizes",
                format!("hidden, batch_size, k and chains must be >= 1: {self:?}"),
            );
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning rate",
                format!("must be finite and > 0, got {}", self.learning_rate),
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(
                "momentum",
                format!("must be in [0, 1), got {}", self.momentum),
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight decay",
                format!("must be finite and >= 0, got {}", self.weight_decay),
            );
        }
        Ok(())
    }
}

/// Samples Bernoulli states from probabilities, in place, in row-major
/// order: one 53-bit uniform per unit.
fn sample_slice<R: RngCore + ?Sized>(p: &mut [f64], rng: &mut R) {
    for q in p {
        *q = f64::from(u8::from(uniform(rng) < *q));
    }
}

/// The training data's shape, checked: not empty, every value in [0, 1].
fn check_training_data(data: ArrayView2<f64>) -> Result<(usize, usize)> {
    let (n, nv) = data.dim();
    if n == 0 || nv == 0 {
        return Err(Error::InvalidParameter {
            name: "data",
            reason: format!("empty ({n} x {nv})"),
        });
    }
    if let Some((i, v)) = data
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(Error::InvalidParameter {
            name: "data",
            reason: format!("row {}, column {}: {v} is outside [0, 1]", i / nv, i % nv),
        });
    }
    Ok((n, nv))
}

/// Trains an RBM on `data` (rows in `[0, 1]`). `epoch_done(e)` is called
/// after each epoch `e` (1-based), for progress bars.
///
/// Batches follow scikit-learn's `gen_even_slices`: `ceil(n / batch)`
/// batches of nearly equal size. A PCD update is: negative visible sample
/// from the chains' hidden states, `k - 1` further Gibbs steps, negative
/// hidden probabilities; gradient `<v h>_data - <v h>_model` with hidden
/// probabilities on both sides; then the chains' hidden states are
/// resampled from those probabilities. CD-k starts the chains at the batch.
pub fn train(
    data: ArrayView2<f64>,
    cfg: &TrainConfig,
    epoch_done: &mut dyn FnMut(usize),
) -> Result<Rbm> {
    cfg.check()?;
    let (n, nv) = check_training_data(data)?;
    let mut rng = stream_rng(cfg.seed, 0);
    let mut rbm = Rbm::new(nv, cfg.hidden, &mut rng)?;
    let nh = cfg.hidden;
    let n_batches = n.div_ceil(cfg.batch_size);
    let max_len = n.div_ceil(n_batches);
    let neg_rows = if cfg.persistent { cfg.chains } else { max_len };
    // Every buffer of the step allocated once, row-major.
    let mut v_pos = vec![0.0; max_len * nv];
    let mut h_pos = vec![0.0; max_len * nh];
    let mut v_neg = vec![0.0; neg_rows * nv];
    let mut h_neg = vec![0.0; neg_rows * nh];
    let mut chains_h = vec![0.0; if cfg.persistent { cfg.chains * nh } else { 0 }];
    let mut vw = vec![0.0; nv * nh];
    let (mut vb, mut vc) = (vec![0.0; nv], vec![0.0; nh]);
    let mut nz = Vec::with_capacity(nv.max(nh).max(max_len));
    let mut order: Vec<usize> = (0..n).collect();
    for epoch in 1..=cfg.epochs {
        if cfg.shuffle {
            for i in (1..n).rev() {
                let j = ((rng.next_u64() as u128 * (i as u128 + 1)) >> 64) as usize;
                order.swap(i, j);
            }
        }
        for b in 0..n_batches {
            // gen_even_slices(n, n_batches): the first n % n_batches get one more.
            let (q, r) = (n / n_batches, n % n_batches);
            let start = b * q + b.min(r);
            let len = q + usize::from(b < r);
            for (dst, i) in v_pos.chunks_exact_mut(nv).zip(start..start + len) {
                let row = if cfg.shuffle { order[i] } else { i };
                for (d, &x) in dst.iter_mut().zip(data.row(row)) {
                    *d = x;
                }
            }
            let v_pos = &v_pos[..len * nv];
            let h_pos = &mut h_pos[..len * nh];
            let w = rbm.weights.as_slice().expect("Rbm::new is row-major");
            let (bias_v, bias_h) = (
                rbm.visible_bias.as_slice().expect("contiguous"),
                rbm.hidden_bias.as_slice().expect("contiguous"),
            );
            // p(h | v) and p(v | h) for row-major batches: products, then
            // the sigmoid, vectorised.
            let hidden = |out: &mut [f64], v: &[f64], nz: &mut Vec<(usize, f64)>| {
                kernels::matmul_bias(out, v, w, bias_h, nv, nz);
                kernels::sigmoid_in_place(out);
            };
            let visible = |out: &mut [f64], h: &[f64]| {
                kernels::matmul_t_bias(out, h, w, bias_v, nh);
                kernels::sigmoid_in_place(out);
            };
            hidden(h_pos, v_pos, &mut nz);
            // The negative phase, leaving v_neg and h_neg (probabilities).
            let m = if cfg.persistent { cfg.chains } else { len };
            let (v_neg, h_neg) = (&mut v_neg[..m * nv], &mut h_neg[..m * nh]);
            if cfg.persistent {
                visible(v_neg, &chains_h);
                sample_slice(v_neg, &mut rng);
                hidden(h_neg, v_neg, &mut nz);
                for _ in 1..cfg.k {
                    sample_slice(h_neg, &mut rng);
                    visible(v_neg, h_neg);
                    sample_slice(v_neg, &mut rng);
                    hidden(h_neg, v_neg, &mut nz);
                }
            } else {
                h_neg.copy_from_slice(h_pos);
                for _ in 0..cfg.k {
                    sample_slice(h_neg, &mut rng);
                    visible(v_neg, h_neg);
                    sample_slice(v_neg, &mut rng);
                    hidden(h_neg, v_neg, &mut nz);
                }
            }
            let (np, nn) = (len as f64, m as f64);
            let (lr, mo) = (cfg.learning_rate, cfg.momentum);
            // Velocity update in place, the weight gradient accumulated by
            // two rank-m updates straight into it: vw = mo vw + lr
            // (<vh>_data - <vh>_model - decay W).
            kernels::rank_update(&mut vw, mo, lr / np, v_pos, h_pos, nv, &mut nz);
            kernels::rank_update(&mut vw, 1.0, -lr / nn, v_neg, h_neg, nv, &mut nz);
            if cfg.weight_decay > 0.0 {
                let d = -lr * cfg.weight_decay;
                for (g, &wi) in vw.iter_mut().zip(w) {
                    *g += d * wi;
                }
            }
            let mean_diff = |vel: &mut [f64], pos: &[f64], neg: &[f64], width: usize| {
                for (j, g) in vel.iter_mut().enumerate() {
                    let sp: f64 = pos[j..].iter().step_by(width).sum();
                    let sn: f64 = neg[j..].iter().step_by(width).sum();
                    *g = *g * mo + (sp / np - sn / nn) * lr;
                }
            };
            mean_diff(&mut vb, v_pos, v_neg, nv);
            mean_diff(&mut vc, h_pos, h_neg, nh);
            let w = rbm.weights.as_slice_mut().expect("Rbm::new is row-major");
            for (wi, &g) in w.iter_mut().zip(&vw) {
                *wi += g;
            }
            for (bi, &g) in rbm.visible_bias.iter_mut().zip(&vb) {
                *bi += g;
            }
            for (ci, &g) in rbm.hidden_bias.iter_mut().zip(&vc) {
                *ci += g;
            }
            if cfg.persistent {
                sample_slice(h_neg, &mut rng);
                chains_h.copy_from_slice(h_neg);
            }
        }
        epoch_done(epoch);
    }
    Ok(rbm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::linalg::general_mat_mul;
    use ndarray::{Array2, s};

    /// The training loop as it was written on ndarray and matrixmultiply
    /// before the fused kernels: the reference they must reproduce.
    fn sample_reference<R: RngCore + ?Sized>(p: &mut Array2<f64>, rng: &mut R) {
        p.mapv_inplace(|q| f64::from(u8::from(uniform(rng) < q)));
    }

    fn train_reference(
        data: ArrayView2<f64>,
        cfg: &TrainConfig,
        epoch_done: &mut dyn FnMut(usize),
    ) -> Result<Rbm> {
        cfg.check()?;
        let (n, nv) = check_training_data(data)?;
        let mut rng = stream_rng(cfg.seed, 0);
        let mut rbm = Rbm::new(nv, cfg.hidden, &mut rng)?;
        let nh = cfg.hidden;
        let mut chains_h = Array2::<f64>::zeros((cfg.chains, nh));
        let (mut vw, mut vb, mut vc) = (
            Array2::<f64>::zeros((nv, nh)),
            Array1::<f64>::zeros(nv),
            Array1::<f64>::zeros(nh),
        );
        let n_batches = n.div_ceil(cfg.batch_size);
        let mut order: Vec<usize> = (0..n).collect();
        for epoch in 1..=cfg.epochs {
            if cfg.shuffle {
                for i in (1..n).rev() {
                    let j = ((rng.next_u64() as u128 * (i as u128 + 1)) >> 64) as usize;
                    order.swap(i, j);
                }
            }
            for b in 0..n_batches {
                // gen_even_slices(n, n_batches): the first n % n_batches get one more.
                let (q, r) = (n / n_batches, n % n_batches);
                let start = b * q + b.min(r);
                let len = q + usize::from(b < r);
                let v_pos = if cfg.shuffle {
                    data.select(Axis(0), &order[start..start + len])
                } else {
                    data.slice(s![start..start + len, ..]).to_owned()
                };
                let v_pos = v_pos.view();
                let h_pos = rbm.hidden_probs(v_pos)?;
                // The negative phase.
                let (v_neg, h_neg) = if cfg.persistent {
                    let mut v = rbm.visible_probs(chains_h.view())?;
                    sample_reference(&mut v, &mut rng);
                    let mut hp = rbm.hidden_probs(v.view())?;
                    for _ in 1..cfg.k {
                        sample_reference(&mut hp, &mut rng);
                        v = rbm.visible_probs(hp.view())?;
                        sample_reference(&mut v, &mut rng);
                        hp = rbm.hidden_probs(v.view())?;
                    }
                    (v, hp)
                } else {
                    let mut hs = h_pos.clone();
                    let mut v = Array2::zeros((0, nv));
                    let mut hp = h_pos.clone();
                    for _ in 0..cfg.k {
                        sample_reference(&mut hs, &mut rng);
                        v = rbm.visible_probs(hs.view())?;
                        sample_reference(&mut v, &mut rng);
                        hp = rbm.hidden_probs(v.view())?;
                        hs = hp.clone();
                    }
                    (v, hp)
                };
                let (np, nn) = (len as f64, v_neg.nrows() as f64);
                let (lr, mo) = (cfg.learning_rate, cfg.momentum);
                // Velocity update in place, the weight gradient accumulated by
                // two GEMMs straight into it: vw = mo vw + lr (<vh>_data -
                // <vh>_model - decay W). No temporaries of the weight's size.
                general_mat_mul(lr / np, &v_pos.t(), &h_pos, mo, &mut vw);
                general_mat_mul(-lr / nn, &v_neg.t(), &h_neg, 1.0, &mut vw);
                if cfg.weight_decay > 0.0 {
                    vw.scaled_add(-lr * cfg.weight_decay, &rbm.weights);
                }
                let gb = v_pos.sum_axis(Axis(0)) / np - v_neg.sum_axis(Axis(0)) / nn;
                let gc = h_pos.sum_axis(Axis(0)) / np - h_neg.sum_axis(Axis(0)) / nn;
                vb = vb * mo + gb * lr;
                vc = vc * mo + gc * lr;
                rbm.weights += &vw;
                rbm.visible_bias += &vb;
                rbm.hidden_bias += &vc;
                if cfg.persistent {
                    let mut hs = h_neg;
                    sample_reference(&mut hs, &mut rng);
                    chains_h = hs;
                }
            }
            epoch_done(epoch);
        }
        Ok(rbm)
    }

    #[test]
    fn training_matches_the_ndarray_reference() {
        let mut rng = stream_rng(99, 0);
        // Data with zeros, ones and grey values, 37 rows (uneven batches).
        let data = Array2::from_shape_simple_fn((37, 12), || {
            let u = uniform(&mut rng);
            if u < 0.4 {
                0.0
            } else if u < 0.6 {
                1.0
            } else {
                u
            }
        });
        let mut cases = vec![TrainConfig::sklearn(40)];
        let mut cd = TrainConfig::sklearn(9);
        cd.persistent = false;
        cd.k = 2;
        cd.momentum = 0.5;
        cd.weight_decay = 1e-3;
        cd.shuffle = true;
        cd.batch_size = 7;
        cases.push(cd);
        let mut pcd = TrainConfig::sklearn(33);
        pcd.k = 3;
        pcd.chains = 4;
        pcd.momentum = 0.9;
        cases.push(pcd);
        for mut cfg in cases {
            cfg.epochs = 5;
            cfg.seed = 5;
            let a = train(data.view(), &cfg, &mut |_| {}).unwrap();
            let b = train_reference(data.view(), &cfg, &mut |_| {}).unwrap();
            // Same draws; sums formed in another order differ in the
            // last bits only.
            for (x, y) in a.weights.iter().zip(&b.weights) {
                assert!((x - y).abs() < 1e-12, "{cfg:?}: {x} vs {y}");
            }
            for (x, y) in a.visible_bias.iter().zip(&b.visible_bias) {
                assert!((x - y).abs() < 1e-12, "{cfg:?}: {x} vs {y}");
            }
            for (x, y) in a.hidden_bias.iter().zip(&b.hidden_bias) {
                assert!((x - y).abs() < 1e-12, "{cfg:?}: {x} vs {y}");
            }
        }
    }

    fn random_rbm(nv: usize, nh: usize, scale: f64, seed: u64) -> Rbm {
        let mut rng = stream_rng(seed, 99);
        let w = Array2::from_shape_simple_fn((nv, nh), || scale * normal(&mut rng));
        let b = Array1::from_shape_simple_fn(nv, || 0.5 * normal(&mut rng));
        let c = Array1::from_shape_simple_fn(nh, || 0.5 * normal(&mut rng));
        Rbm::from_parts(w, b, c).unwrap()
    }

    /// ln Z by summing exp(-E(v, h)) over every joint state.
    #[allow(clippy::needless_range_loop)]
    fn ln_z_joint(rbm: &Rbm) -> f64 {
        let (nv, nh) = (rbm.visible(), rbm.hidden());
        let mut terms = Vec::new();
        for vb in 0u32..1 << nv {
            for hb in 0u32..1 << nh {
                let v: Vec<f64> = (0..nv).map(|i| f64::from(vb >> i & 1)).collect();
                let h: Vec<f64> = (0..nh).map(|j| f64::from(hb >> j & 1)).collect();
                let mut e = 0.0;
                for i in 0..nv {
                    e -= v[i] * rbm.visible_bias[i];
                    for j in 0..nh {
                        e -= v[i] * rbm.weights[[i, j]] * h[j];
                    }
                }
                for j in 0..nh {
                    e -= h[j] * rbm.hidden_bias[j];
                }
                terms.push(-e);
            }
        }
        logsumexp(&terms)
    }

    #[test]
    fn exact_ln_z_matches_joint_enumeration_both_ways() {
        for (nv, nh) in [(5, 3), (3, 6), (4, 4)] {
            let rbm = random_rbm(nv, nh, 1.0, (nv * 10 + nh) as u64);
            let a = rbm.ln_z_exact().unwrap();
            let b = ln_z_joint(&rbm);
            assert!(
                (a - b).abs() < 1e-12 * b.abs().max(1.0),
                "{nv}x{nh}: {a} vs {b}"
            );
        }
    }

    #[test]
    fn pseudo_likelihood_exact_matches_conditionals() {
        // ln p(v_i | v_-i) from the two free energies equals the direct
        // conditional from the joint: p(v_i = 1 | v_-i) = sigmoid(F(v_i=0) - F(v_i=1)).
        let rbm = random_rbm(6, 4, 0.8, 3);
        let v = ndarray::array![[1.0, 0.0, 1.0, 1.0, 0.0, 0.0]];
        let pl = rbm.pseudo_likelihood_exact(v.view()).unwrap();
        let mut direct = 0.0;
        for i in 0..6 {
            let mut a = v.clone();
            let mut b = v.clone();
            a[[0, i]] = 0.0;
            b[[0, i]] = 1.0;
            let fa = rbm.free_energy(a.view()).unwrap()[0];
            let fb = rbm.free_energy(b.view()).unwrap()[0];
            let ln_p1 = -fb - logsumexp(&[-fa, -fb]);
            let ln_p0 = -fa - logsumexp(&[-fa, -fb]);
            direct += if v[[0, i]] == 1.0 { ln_p1 } else { ln_p0 };
        }
        assert!((pl - direct).abs() < 1e-12, "{pl} vs {direct}");
    }

    #[test]
    fn sklearn_pseudo_likelihood_is_unbiased_for_the_exact_one() {
        let rbm = random_rbm(8, 5, 0.7, 5);
        let mut rng = stream_rng(1, 1);
        let data = Array2::from_shape_simple_fn((4000, 8), || {
            f64::from(u8::from(uniform(&mut rng) < 0.4))
        });
        let exact = rbm.pseudo_likelihood_exact(data.view()).unwrap();
        // Average of 20 independent one-bit estimates; their spread gives
        // the standard error.
        let est: Vec<f64> = (0..20)
            .map(|s| rbm.pseudo_likelihood_sklearn(data.view(), s).unwrap())
            .collect();
        let mean = est.iter().sum::<f64>() / 20.0;
        let sd = (est.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / 19.0).sqrt();
        assert!(
            (mean - exact).abs() < 4.0 * sd / 20f64.sqrt(),
            "{mean} +- {} vs {exact}",
            sd / 20f64.sqrt()
        );
    }

    #[test]
    fn ais_matches_enumeration() {
        for (nv, nh, seed) in [(10, 6, 1), (16, 8, 2)] {
            let rbm = random_rbm(nv, nh, 1.0, seed);
            let exact = rbm.ln_z_exact().unwrap();
            let est = rbm.ais_ln_z(200, 1000, None, seed).unwrap();
            assert!(
                (est.ln_z - exact).abs() < 4.0 * est.error.max(1e-3),
                "{nv}x{nh}: AIS {} +- {} (ESS {}) vs exact {exact}",
                est.ln_z,
                est.error,
                est.effective_runs
            );
        }
    }

    #[test]
    fn gibbs_chains_sample_the_model() {
        // The empirical distribution of long chains matches p(v) = e^{-F}/Z.
        let rbm = random_rbm(3, 2, 1.5, 8);
        let ln_z = rbm.ln_z_exact().unwrap();
        let chains = 20_000;
        let mut v = Array2::<f64>::zeros((chains, 3));
        rbm.gibbs(&mut v, 30, 4).unwrap();
        let mut counts = [0.0f64; 8];
        for row in v.rows() {
            let k = row
                .iter()
                .enumerate()
                .map(|(i, &x)| (x as usize) << i)
                .sum::<usize>();
            counts[k] += 1.0;
        }
        for (k, &c) in counts.iter().enumerate() {
            let s = ndarray::Array2::from_shape_fn((1, 3), |(_, i)| ((k >> i) & 1) as f64);
            let p = (-rbm.free_energy(s.view()).unwrap()[0] - ln_z).exp();
            let se = (p * (1.0 - p) / chains as f64).sqrt();
            assert!(
                (c / chains as f64 - p).abs() < 4.5 * se,
                "state {k}: {} vs {p}",
                c / chains as f64
            );
        }
    }

    #[test]
    fn rejects_bad_input() {
        let rbm = random_rbm(3, 2, 1.0, 1);
        assert!(rbm.free_energy(Array2::zeros((1, 4)).view()).is_err());
        let cfg = TrainConfig {
            momentum: 1.0,
            ..TrainConfig::sklearn(2)
        };
        assert!(train(Array2::zeros((4, 3)).view(), &cfg, &mut |_| {}).is_err());
        let bad = ndarray::array![[0.0, 2.0]];
        assert!(train(bad.view(), &TrainConfig::sklearn(2), &mut |_| {}).is_err());
        assert!(random_rbm(30, 30, 1.0, 1).ln_z_exact().is_err());
    }
}
