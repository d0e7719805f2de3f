//! The decoding chain: temperature, top-k, top-p (nucleus), min-p and
//! typical sampling, in an order the caller states.
//!
//! # Stages
//!
//! Each stage sees the candidates the previous stages kept, with their
//! probabilities renormalised over that set at the temperature applied so
//! far (`T` below is the product of the temperature stages already run;
//! `z_i = (x_i - m) / T` with `m` the largest kept logit, in `f64`):
//!
//! | stage         | keeps                                                          |
//! |---------------|----------------------------------------------------------------|
//! | temperature t | everything; later stages and the draw see `T * t`              |
//! | top-k k       | the k largest logits                                           |
//! | top-p p       | the fewest most likely candidates whose mass reaches p         |
//! | min-p q       | `p_i >= q * p_max`, tested in logit space: `x_i - m >= T ln q` |
//! | typical τ     | the fewest candidates closest to the entropy, `|-ln p_i - H|`, whose mass reaches τ |
//!
//! # One tie rule at every cut-off
//!
//! Every cut-off is a threshold on a value (a logit, a probability, a
//! typicality score), and a candidate whose value equals the threshold is
//! **kept**: top-k keeps every logit tied with the k-th largest (so it may
//! keep more than k, as Hugging Face's `TopKLogitsWarper` does), top-p and
//! typical keep every candidate tied with the one that reaches the mass.
//! Kept sets therefore never depend on the order of the vocabulary.
//! Greedy decoding is the one place a single index must be chosen: the
//! lowest index among the tied maxima.
//!
//! # Orders
//!
//! [`Order::HuggingFace`] (the default) is the order of `transformers`'
//! `generate`: temperature, top-k, top-p, min-p, typical (temperature
//! first, so it shapes what top-p and min-p see). [`Order::LlamaCpp`] is
//! llama.cpp's default sampler chain: top-k, typical, top-p, min-p,
//! temperature (temperature last: it changes only the final draw).
//! [`Order::Custom`] takes any sequence of stages. Stages left unset are
//! skipped; a stage set but missing from a custom order is an error.
//!
//! # Cost
//!
//! No stage sorts: top-k finds its threshold from the maxima of blocks of
//! 256 logits (one SIMD pass) and looks inside only the blocks that can
//! hold a kept logit, min-p is one comparison per logit, top-p first tries
//! the bounded candidate set `z_i >= -20` (alone when its mass already
//! reaches p; the whole set otherwise) and typical takes every candidate,
//! and both find their mass cut-off by a weighted quickselect (expected
//! linear time) over weights from the f64 SIMD kernels. The kept set is
//! always listed in increasing index order.
//!
//! A stage that keeps the whole vocabulary lists nothing: a threshold that
//! the row's smallest logit passes (min-p, top-p's cut), a top-k whose
//! k-th largest logit is the smallest, and every stage on a flat set (all
//! kept logits equal: each cut-off keeps its ties) leave the set as "every
//! finite logit". [`Chain::sample`] then draws from it without listing
//! indices or weights (see there); only [`Chain::kept`] lists them.
//!
//! # Precision
//!
//! Probabilities of kept candidates are computed in `f64`. On the whole
//! vocabulary, top-p takes the normaliser from the SIMD kernels (exp in the
//! logits' precision, summed in f64), so a nucleus boundary within about
//! 1e-7 (f32) or 1e-15 (f64) of p can fall either way.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand::distr::Distribution;
use rayon::prelude::*;

use super::categorical::Categorical;
use super::rng::{stream_rng, uniform};
use crate::error::{Error, Result};
use crate::params::Scaling;
use crate::real::Real;

/// One stage of the decoding chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Divide the logits by the temperature.
    Temperature,
    /// Keep the k largest logits.
    TopK,
    /// Nucleus: keep the most likely candidates up to mass p.
    TopP,
    /// Keep candidates with probability at least q times the largest.
    MinP,
    /// Locally typical sampling (Meister et al., 2023).
    Typical,
}

impl Stage {
    /// The stage's name as [`FromStr`] reads it: `temperature`, `top-k`,
    /// `top-p`, `min-p`, `typical`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Temperature => "temperature",
            Stage::TopK => "top-k",
            Stage::TopP => "top-p",
            Stage::MinP => "min-p",
            Stage::Typical => "typical",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stage {
    type Err = Error;
    /// Reads a stage name (`_` and `-` both accepted; `temp`, `k`, `p`,
    /// `typical-p` as short forms).
    fn from_str(s: &str) -> Result<Self> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "temperature" | "temp" | "t" => Stage::Temperature,
                "top-k" | "topk" | "k" => Stage::TopK,
                "top-p" | "topp" | "p" | "nucleus" => Stage::TopP,
                "min-p" | "minp" => Stage::MinP,
                "typical" | "typical-p" | "typ-p" => Stage::Typical,
                _ => {
                    return Err(Error::InvalidParameter {
                        name: "order",
                        reason: format!(
                            "unknown stage {s:?}; expected temperature, top-k, top-p, min-p or typical"
                        ),
                    });
                }
            },
        )
    }
}

/// The order in which the stages run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Order {
    /// temperature, top-k, top-p, min-p, typical (Hugging Face
    /// `transformers`; the default).
    #[default]
    HuggingFace,
    /// top-k, typical, top-p, min-p, temperature (llama.cpp's default
    /// sampler chain).
    LlamaCpp,
    /// Any sequence of stages, each at most once.
    Custom(Vec<Stage>),
}

const HF: [Stage; 5] = [
    Stage::Temperature,
    Stage::TopK,
    Stage::TopP,
    Stage::MinP,
    Stage::Typical,
];
const LLAMA: [Stage; 5] = [
    Stage::TopK,
    Stage::Typical,
    Stage::TopP,
    Stage::MinP,
    Stage::Temperature,
];

impl Order {
    /// The stages in order.
    pub fn stages(&self) -> &[Stage] {
        match self {
            Order::HuggingFace => &HF,
            Order::LlamaCpp => &LLAMA,
            Order::Custom(v) => v,
        }
    }
}

impl FromStr for Order {
    type Err = Error;
    /// `hf` / `huggingface` / `vllm`, `llama` / `llama.cpp`, or a comma
    /// separated list of stages such as `top-k,min-p,temperature`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hf" | "huggingface" | "hugging-face" | "transformers" | "vllm" => {
                Ok(Order::HuggingFace)
            }
            "llama" | "llama.cpp" | "llamacpp" | "llama-cpp" => Ok(Order::LlamaCpp),
            list => list
                .split(',')
                .map(Stage::from_str)
                .collect::<Result<Vec<_>>>()
                .map(Order::Custom),
        }
    }
}

/// What a [`Chain`] does; validated by [`Chain::new`].
///
/// ```
/// use boltzmax::sample::{Chain, ChainConfig, Order};
/// let chain = Chain::new(&ChainConfig {
///     temperature: 0.8,
///     top_k: Some(50),
///     top_p: Some(0.9),
///     ..ChainConfig::default()
/// })
/// .unwrap();
/// let kept = chain.kept(&[3.0_f32, 1.0, 2.5, -1.0, 2.9]).unwrap();
/// assert_eq!(kept.indices(), &[0, 2, 4]);
/// let total: f64 = kept.probabilities().iter().sum();
/// assert!((total - 1.0).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ChainConfig {
    /// Temperature (finite, > 0; default 1). For T = 0 use [`Chain::greedy`].
    pub temperature: f64,
    /// Top-k: k >= 1.
    pub top_k: Option<usize>,
    /// Top-p: p in (0, 1]; 1 keeps everything.
    pub top_p: Option<f64>,
    /// Min-p: q in [0, 1]; 0 keeps everything, 1 only the maxima.
    pub min_p: Option<f64>,
    /// Typical: mass in (0, 1]; 1 keeps everything.
    pub typical: Option<f64>,
    /// The order the stages run in.
    pub order: Order,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            temperature: 1.0,
            top_k: None,
            top_p: None,
            min_p: None,
            typical: None,
            order: Order::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Temperature(f64),
    TopK(usize),
    TopP(f64),
    MinP(f64),
    Typical(f64),
}

/// A validated decoding chain (or greedy decoding).
///
/// [`Chain::kept`] gives the kept set and its renormalised probabilities;
/// [`Chain::sample`] draws from it with one `u64` from the generator
/// (the inverse CDF of [`Categorical`] over the kept set in increasing
/// index order). Value stability: for a given generator state and logits
/// the draw is fixed across platforms and boltzmax 0.x releases, up to
/// last-bit differences of `exp` between SIMD paths (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    ops: Vec<Op>,
    greedy: bool,
}

fn bad(name: &'static str, reason: String) -> Error {
    Error::InvalidParameter { name, reason }
}

impl Chain {
    /// Validates the configuration: an invalid temperature, k = 0, top-p
    /// outside (0, 1], min-p outside [0, 1], typical outside (0, 1], a
    /// stage listed twice, or a set stage missing from a custom order is
    /// an error.
    pub fn new(c: &ChainConfig) -> Result<Self> {
        if !(c.temperature.is_finite() && c.temperature > 0.0) {
            return Err(Error::InvalidTemperature {
                value: format!("{}", c.temperature),
            });
        }
        if c.top_k == Some(0) {
            return Err(bad("top-k", "k must be at least 1, got 0".into()));
        }
        if let Some(p) = c.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(bad("top-p", format!("p must be in (0, 1], got {p}")));
        }
        if let Some(q) = c.min_p
            && !(0.0..=1.0).contains(&q)
        {
            return Err(bad("min-p", format!("min-p must be in [0, 1], got {q}")));
        }
        if let Some(m) = c.typical
            && !(m > 0.0 && m <= 1.0)
        {
            return Err(bad("typical", format!("mass must be in (0, 1], got {m}")));
        }
        let stages = c.order.stages();
        for (i, s) in stages.iter().enumerate() {
            if stages[..i].contains(s) {
                return Err(bad("order", format!("stage {s} is listed twice")));
            }
        }
        let set = [
            (Stage::Temperature, c.temperature != 1.0),
            (Stage::TopK, c.top_k.is_some()),
            (Stage::TopP, c.top_p.is_some()),
            (Stage::MinP, c.min_p.is_some()),
            (Stage::Typical, c.typical.is_some()),
        ];
        for (s, on) in set {
            if on && !stages.contains(&s) {
                return Err(bad("order", format!("{s} is set but not in the order")));
            }
        }
        let ops = stages
            .iter()
            .filter_map(|s| match s {
                Stage::Temperature => {
                    (c.temperature != 1.0).then_some(Op::Temperature(c.temperature))
                }
                Stage::TopK => c.top_k.map(Op::TopK),
                Stage::TopP => c.top_p.map(Op::TopP),
                Stage::MinP => c.min_p.map(Op::MinP),
                Stage::Typical => c.typical.map(Op::Typical),
            })
            .collect();
        Ok(Chain { ops, greedy: false })
    }

    /// Greedy decoding (the T = 0 limit as an explicit mode): the largest
    /// logit, the lowest index among ties (several +inf logits included).
    ///
    /// ```
    /// use boltzmax::sample::Chain;
    /// let k = Chain::greedy().kept(&[1.0_f64, 3.0, 3.0, 2.0]).unwrap();
    /// assert_eq!((k.indices(), k.probabilities()), (&[1][..], &[1.0][..]));
    /// ```
    pub fn greedy() -> Self {
        Chain {
            ops: Vec::new(),
            greedy: true,
        }
    }

    /// True for [`Chain::greedy`].
    pub fn is_greedy(&self) -> bool {
        self.greedy
    }

    /// The kept set of `logits` and its renormalised probabilities.
    ///
    /// Errors: an empty row, a NaN logit ([`Error::NanLogit`]), every logit
    /// -inf, or two +inf logits outside greedy mode
    /// ([`Error::NothingToSample`]). One +inf logit is kept alone.
    pub fn kept<F: Real>(&self, logits: &[F]) -> Result<Kept> {
        let (indices, weights) = self.run(logits)?.weights(logits);
        // Every weight is exp(z) <= 1 with the maximum's exactly 1.
        let cat = Categorical::from_valid_weights(&weights);
        // Directly w_i / sum, not differences of the running sums (which
        // lose the relative accuracy of small probabilities).
        let total: f64 = weights.iter().sum();
        let probs = weights.iter().map(|w| w / total).collect();
        Ok(Kept {
            indices,
            probs,
            cat,
        })
    }

    /// One draw: the inverse CDF over the kept set of [`Chain::kept`]
    /// (one `u64` from `rng`; none in greedy mode).
    ///
    /// Nothing is listed that the draw does not need: when the kept set is
    /// the whole vocabulary (every stage kept everything, as on flat
    /// logits), the weights come from the SIMD kernels block by block
    /// (f64 `exp` within 2 ulp of the scalar one) and only the block
    /// holding the draw is read twice; when every logit is equal, the draw
    /// is `floor(u n)`, the inverse CDF of equal weights.
    pub fn sample<F: Real, R: Rng + ?Sized>(&self, logits: &[F], rng: &mut R) -> Result<usize> {
        if self.greedy {
            return greedy(logits);
        }
        let u = uniform(rng);
        Ok(match self.run(logits)? {
            Outcome::One(i) => i,
            Outcome::All { flat: true, .. } => draw_flat(logits.len(), u),
            Outcome::All { m, t, flat: false } => draw_all(logits, m, t, u),
            Outcome::Listed { idx, t } => {
                idx[invert_weights(&listed_weights(logits, &idx, t), u)] as usize
            }
        })
    }

    /// One draw per row of a row-major batch (`rows.len()` a multiple of
    /// `width`), rows in parallel on rayon's pool. Row `r` draws from
    /// `stream_rng(seed, r)`, so the result does not depend on the number
    /// of threads. The first failing row's error is returned.
    pub fn sample_rows<F: Real>(&self, rows: &[F], width: usize, seed: u64) -> Result<Vec<usize>> {
        if width == 0 || !rows.len().is_multiple_of(width) {
            return Err(Error::LengthMismatch {
                what: "rows",
                got: rows.len(),
                expected: rows.len().div_ceil(width.max(1)) * width.max(1),
            });
        }
        rows.par_chunks(width)
            .enumerate()
            .map(|(r, row)| self.sample(row, &mut stream_rng(seed, r as u64)))
            .collect()
    }

    /// Runs the stages: what they keep, listed only where it is not the
    /// whole vocabulary.
    fn run<F: Real>(&self, x: &[F]) -> Result<Outcome> {
        if x.len() > u32::MAX as usize {
            return Err(bad(
                "logits",
                format!("{} entries; at most 2^32 - 1 are supported", x.len()),
            ));
        }
        if self.greedy {
            return Ok(Outcome::One(greedy(x)?));
        }
        let m = (F::kernels().max)(x);
        if x.is_empty() {
            return Err(Error::NothingToSample {
                reason: "the row is empty".into(),
            });
        }
        if m.is_nan() {
            let index = x.iter().position(|v| v.is_nan()).unwrap_or(0);
            return Err(Error::NanLogit { index });
        }
        if m == F::NEG_INFINITY {
            return Err(Error::NothingToSample {
                reason: "every logit is -inf".into(),
            });
        }
        if m == F::INFINITY {
            let mut infs = x.iter().enumerate().filter(|(_, v)| **v == F::INFINITY);
            let first = infs.next().map(|(i, _)| i).unwrap_or(0);
            if let Some((second, _)) = infs.next() {
                return Err(Error::NothingToSample {
                    reason: format!(
                        "logits {first} and {second} are both +inf: their probabilities are undefined"
                    ),
                });
            }
            return Ok(Outcome::One(first));
        }
        let mut st = State::new(x, m);
        for &op in &self.ops {
            st.apply(op)?;
        }
        Ok(st.outcome())
    }
}

/// What the stages kept.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// One index with probability 1 (greedy, a lone +inf logit).
    One(usize),
    /// Every finite logit, not listed: `m` the largest, `t` the
    /// temperature, `flat` when every logit is equal (so none is -inf).
    All { m: f64, t: f64, flat: bool },
    /// The listed candidates, in increasing index order, at temperature `t`.
    Listed { idx: Vec<u32>, t: f64 },
}

impl Outcome {
    /// The kept indices and their unnormalised weights `exp(z_i) <= 1`
    /// (f64), the maximum's 1.
    fn weights<F: Real>(self, x: &[F]) -> (Vec<usize>, Vec<f64>) {
        match self {
            Outcome::One(i) => (vec![i], vec![1.0]),
            Outcome::All { t, .. } => {
                let idx: Vec<u32> = (0..x.len() as u32)
                    .filter(|&i| x[i as usize] > F::NEG_INFINITY)
                    .collect();
                let w = listed_weights(x, &idx, t);
                (idx.into_iter().map(|i| i as usize).collect(), w)
            }
            Outcome::Listed { idx, t } => {
                let w = listed_weights(x, &idx, t);
                (idx.into_iter().map(|i| i as usize).collect(), w)
            }
        }
    }
}

/// `exp((x_i - m) / t)` in f64 over the listed indices, `m` their largest
/// logit (the f64 SIMD kernel's `exp`, within 2 ulp of libm's).
fn listed_weights<F: Real>(x: &[F], idx: &[u32], t: f64) -> Vec<f64> {
    let mk = idx
        .iter()
        .map(|&i| x[i as usize].to_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    let mut w = vec![0.0; idx.len()];
    for_each_weight(x, Some(idx), mk, t, f64::NEG_INFINITY, |k, _, wk| w[k] = wk);
    w
}

/// The inverse CDF of weights `w` (finite, >= 0, some positive) at `u`:
/// the first index whose running sum exceeds `u` times the sum, else the
/// last positive weight; the index [`Categorical`] gives, bit for bit,
/// without storing the running sums.
fn invert_weights(w: &[f64], u: f64) -> usize {
    let target = u * w.iter().sum::<f64>();
    let mut acc = 0.0;
    for (i, &wi) in w.iter().enumerate() {
        acc += wi;
        if acc > target {
            return i;
        }
    }
    w.iter().rposition(|&wi| wi > 0.0).unwrap_or(0)
}

/// Calls `f(k, z_k, exp z_k)` for the entries `x_i` listed in `idx` (`k`
/// their position there) or, with `idx = None`, for all of `x` (`k = i`;
/// blocks whose maximum gives `z < zmin` are skipped after one SIMD max),
/// with `z = (x_i - m) / t` in f64, where `z >= zmin` and `x_i > -inf`.
/// The exponentials come from the f64 SIMD kernel in blocks of
/// [`DRAW_BLOCK`] (stack buffers: nothing allocated); `m` is at least
/// every logit visited, so the kernel sees a regular row.
fn for_each_weight<F: Real>(
    x: &[F],
    idx: Option<&[u32]>,
    m: f64,
    t: f64,
    zmin: f64,
    mut f: impl FnMut(usize, f64, f64),
) {
    let k = crate::kernel::detected_f64();
    let max = F::kernels().max;
    let scaling = if t == 1.0 {
        Scaling::One
    } else {
        Scaling::Div(t)
    };
    let n = idx.map_or(x.len(), <[u32]>::len);
    let mut v = [0.0f64; DRAW_BLOCK];
    let mut w = [0.0f64; DRAW_BLOCK];
    let mut start = 0;
    while start < n {
        let len = DRAW_BLOCK.min(n - start);
        match idx {
            None => {
                let block = &x[start..start + len];
                if zmin > f64::NEG_INFINITY && (max(block).to_f64() - m) / t < zmin {
                    start += len;
                    continue;
                }
                for (o, e) in v.iter_mut().zip(block) {
                    *o = e.to_f64();
                }
            }
            Some(idx) => {
                for (o, &i) in v.iter_mut().zip(&idx[start..start + len]) {
                    *o = x[i as usize].to_f64();
                }
            }
        }
        (k.exp_sum_store)(&mut w[..len], &v[..len], m, scaling);
        for j in 0..len {
            let z = (v[j] - m) / t;
            if z >= zmin && v[j] > f64::NEG_INFINITY {
                f(start + j, z, w[j]);
            }
        }
        start += len;
    }
}

/// The inverse CDF of `n` equal weights at `u`: the running sums are the
/// integers `1..=n` (exact in f64), so the first one above `u n` is
/// `floor(u n)`, capped at `n - 1` where `u n` rounds up to `n`. The same
/// index as [`Categorical`] over `n` weights 1.
fn draw_flat(n: usize, u: f64) -> usize {
    ((u * n as f64) as usize).min(n - 1)
}

/// Number of `z` bins of [`State::nucleus_by_bins`], and the set size
/// above which top-p uses them (smaller sets are selected directly).
const NUCLEUS_BINS: usize = 4096;

/// Block length of [`draw_all`]: its f64 weights (16 KiB) stay in L1.
const DRAW_BLOCK: usize = 2048;

/// The inverse CDF over `w_i = exp((x_i - m) / t)` of every entry (0 for
/// -inf) at `u`, without listing the weights: one pass of the f64 SIMD
/// kernels gives each block's sum, the running sum of the block sums
/// finds the block holding `u * total`, and that block alone is
/// exponentiated again (same kernel, same values) and scanned. The index
/// is that of [`Categorical`] over the same weights except where `u`
/// falls within rounding of a cumulative boundary (the sums are added in
/// another order).
fn draw_all<F: Real>(x: &[F], m: f64, t: f64, u: f64) -> usize {
    let k = crate::kernel::detected_f64();
    // `(x - m) / 1` is `x - m` exactly: skip the division.
    let scaling = if t == 1.0 {
        Scaling::One
    } else {
        Scaling::Div(t)
    };
    let mut z = [0.0f64; DRAW_BLOCK];
    let widen = |z: &mut [f64; DRAW_BLOCK], block: &[F]| {
        for (o, v) in z.iter_mut().zip(block) {
            *o = v.to_f64();
        }
    };
    let sums: Vec<f64> = x
        .chunks(DRAW_BLOCK)
        .map(|block| {
            widen(&mut z, block);
            let s = (k.exp_sum)(&z[..block.len()], m, scaling);
            s.sum + s.ties as f64
        })
        .collect();
    let target = u * sums.iter().sum::<f64>();
    let mut acc = 0.0;
    let mut chosen = None;
    for (b, &s) in sums.iter().enumerate() {
        if acc + s > target {
            chosen = Some(b);
            break;
        }
        acc += s;
    }
    // `u * total` rounded up to the total: the last positive weight, as
    // `Categorical` answers. Some block is positive (it holds `m`).
    let (b, scan) = match chosen {
        Some(b) => (b, true),
        None => (sums.iter().rposition(|&s| s > 0.0).unwrap_or(0), false),
    };
    let block = &x[b * DRAW_BLOCK..((b + 1) * DRAW_BLOCK).min(x.len())];
    widen(&mut z, block);
    let mut w = [0.0f64; DRAW_BLOCK];
    (k.exp_sum_store)(&mut w[..block.len()], &z[..block.len()], m, scaling);
    let mut last = 0;
    for (j, &wj) in w[..block.len()].iter().enumerate() {
        if wj > 0.0 {
            last = j;
            acc += wj;
            if scan && acc > target {
                return b * DRAW_BLOCK + j;
            }
        }
    }
    // Rounding kept the block's scan below the target: its last positive
    // weight.
    b * DRAW_BLOCK + last
}

/// Argmax, lowest index among ties; errors for empty rows, NaN, all -inf.
fn greedy<F: Real>(x: &[F]) -> Result<usize> {
    let mut best: Option<(usize, F)> = None;
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            return Err(Error::NanLogit { index: i });
        }
        if v > F::NEG_INFINITY && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i).ok_or_else(|| Error::NothingToSample {
        reason: if x.is_empty() {
            "the row is empty".into()
        } else {
            "every logit is -inf".into()
        },
    })
}

/// Block length of the whole-vocabulary scans: long enough for the SIMD
/// max to pay, short enough that a block holding one kept entry is cheap.
const BLOCK: usize = 256;

/// Calls `f(i, x_i)` for every entry, skipping each block whose maximum
/// fails `skip_unless` (a predicate nondecreasing in `x`, so no entry of
/// such a block can pass it). The blocks' maxima come from the SIMD
/// kernels; no NaN reaches here.
fn for_each_block<F: Real>(
    x: &[F],
    skip_unless: Option<&dyn Fn(F) -> bool>,
    mut f: impl FnMut(usize, F),
) {
    let max = F::kernels().max;
    for (b, block) in x.chunks(BLOCK).enumerate() {
        if let Some(pass) = skip_unless
            && !pass(max(block))
        {
            continue;
        }
        for (j, &v) in block.iter().enumerate() {
            f(b * BLOCK + j, v);
        }
    }
}

/// The candidates so far: `None` is every finite logit (not materialised).
struct State<'a, F> {
    x: &'a [F],
    cand: Option<Vec<u32>>,
    /// Product of the temperatures applied so far.
    t: f64,
    /// The largest logit of the current set.
    m: f64,
    /// The row's smallest logit, found (one SIMD pass) when first asked.
    min: Option<F>,
}

/// The cut-off key of a mass threshold over `(key, mass)` pairs: the
/// largest key `v` such that the pairs with keys `>= v` hold mass
/// `>= target` (the key at which the running mass, in decreasing key
/// order, first reaches `target`), or the smallest key if rounding keeps
/// the whole mass below `target`. A cut at `v` keeps every pair tied with
/// it.
///
/// A quickselect on the key that carries the mass of the part above, not
/// a sort: expected O(n) (median-of-three pivots, three-way partitions for
/// ties). The masses are added in another order than a sorted running sum,
/// so a mass within rounding of `target` at a boundary can fall either way.
fn mass_select(pairs: &mut [(f64, f64)], target: f64) -> f64 {
    let min_key = || pairs.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    if pairs.iter().map(|p| p.1).sum::<f64>() < target {
        return min_key();
    }
    let mut c = pairs;
    let mut need = target;
    loop {
        let n = c.len();
        let mut three = [c[0].0, c[n / 2].0, c[n - 1].0];
        three.sort_unstable_by(f64::total_cmp);
        let pivot = three[1];
        // c[..hi] > pivot, c[hi..i] == pivot, c[lo..] < pivot.
        let (mut hi, mut i, mut lo) = (0, 0, n);
        while i < lo {
            match c[i].0.total_cmp(&pivot) {
                std::cmp::Ordering::Greater => {
                    c.swap(hi, i);
                    hi += 1;
                    i += 1;
                }
                std::cmp::Ordering::Equal => i += 1,
                std::cmp::Ordering::Less => {
                    lo -= 1;
                    c.swap(i, lo);
                }
            }
        }
        let above: f64 = c[..hi].iter().map(|p| p.1).sum();
        if hi > 0 && above >= need {
            c = &mut c[..hi];
            continue;
        }
        let tied: f64 = c[hi..lo].iter().map(|p| p.1).sum();
        if above + tied >= need || lo == n {
            return pivot;
        }
        need -= above + tied;
        c = &mut c[lo..];
    }
}

impl<'a, F: Real> State<'a, F> {
    /// Every finite logit of `x`, whose maximum `m` is finite.
    fn new(x: &'a [F], m: F) -> Self {
        State {
            x,
            cand: None,
            t: 1.0,
            m: m.to_f64(),
            min: None,
        }
    }

    fn len(&self) -> usize {
        self.cand.as_ref().map_or(self.x.len(), Vec::len)
    }

    /// The smallest logit of the row (-inf if any entry is).
    fn row_min(&mut self) -> F {
        let x = self.x;
        *self.min.get_or_insert_with(|| (F::kernels().min)(x))
    }

    /// True when every current candidate has the same logit (the
    /// maximum): then every stage keeps them all, since each cut-off keeps
    /// the candidates tied with the threshold. On the whole vocabulary this
    /// also says that no entry is -inf.
    fn is_flat(&mut self) -> bool {
        let m = self.m;
        match &self.cand {
            Some(c) => c.iter().all(|&i| self.x[i as usize].to_f64() == m),
            None => self.row_min().to_f64() == m,
        }
    }

    /// What is kept, listed only where it is not every finite logit.
    fn outcome(mut self) -> Outcome {
        match self.cand.take() {
            Some(idx) => Outcome::Listed { idx, t: self.t },
            None => Outcome::All {
                m: self.m,
                t: self.t,
                flat: self.is_flat(),
            },
        }
    }

    /// Keeps the candidates for which `keep(x_i)` holds, in index order.
    /// `monotone`: `keep` is nondecreasing in `x` (a threshold), so that
    /// on the whole vocabulary a block whose maximum fails is skipped
    /// after one SIMD max.
    /// On the whole vocabulary, a threshold that the smallest logit passes
    /// keeps everything: the set stays unlisted.
    fn keep(&mut self, monotone: bool, keep: impl Fn(F) -> bool) {
        if self.cand.is_none() && monotone && keep(self.row_min()) {
            return;
        }
        let x = self.x;
        match &mut self.cand {
            Some(c) => c.retain(|&i| keep(x[i as usize])),
            None => {
                let mut out = Vec::new();
                for_each_block(x, monotone.then_some(&keep), |i, v| {
                    if v > F::NEG_INFINITY && keep(v) {
                        out.push(i as u32);
                    }
                });
                self.cand = Some(out);
            }
        }
        self.m = self.fold_max();
    }

    fn fold_max(&self) -> f64 {
        match &self.cand {
            Some(c) => c
                .iter()
                .map(|&i| self.x[i as usize].to_f64())
                .fold(f64::NEG_INFINITY, f64::max),
            None => self.m,
        }
    }

    /// `(z_i, exp z_i)` of every current candidate with `z_i >= zmin`,
    /// `z_i = (x_i - m) / T`.
    fn scaled(&self, zmin: f64) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        for_each_weight(
            self.x,
            self.cand.as_deref(),
            self.m,
            self.t,
            zmin,
            |_, z, w| out.push((z, w)),
        );
        out
    }

    fn apply(&mut self, op: Op) -> Result<()> {
        match op {
            Op::Temperature(t) => {
                self.t *= t;
                if !(self.t.is_finite() && self.t > 0.0) {
                    return Err(Error::InvalidTemperature {
                        value: format!("{} (the product of the chain's temperatures)", self.t),
                    });
                }
            }
            Op::TopK(k) => self.top_k(k),
            Op::MinP(q) => {
                if q > 0.0 {
                    let (m, thr) = (self.m, self.t * q.ln());
                    self.keep(true, |v| v.to_f64() - m >= thr);
                }
            }
            Op::TopP(p) => {
                if p < 1.0 {
                    self.top_p(p);
                }
            }
            Op::Typical(mass) => {
                if mass < 1.0 {
                    self.typical(mass);
                }
            }
        }
        Ok(())
    }

    fn top_k(&mut self, k: usize) {
        if self.len() <= k {
            return;
        }
        let kth = match &self.cand {
            Some(c) => {
                let mut v: Vec<F> = c.iter().map(|&i| self.x[i as usize]).collect();
                let (_, kth, _) = v.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
                *kth
            }
            None => {
                self.top_k_dense(k);
                return;
            }
        };
        self.keep(true, |v| v >= kth);
    }

    /// Top-k on the whole vocabulary without touching most of it: the k
    /// largest block maxima are k distinct entries, so the k-th largest
    /// of them (`lo`) bounds the k-th largest entry from below; only the
    /// blocks whose maximum reaches `lo` can hold a kept entry.
    fn top_k_dense(&mut self, k: usize) {
        if self.is_flat() {
            return; // every logit ties with the k-th largest
        }
        let x = self.x;
        let max = F::kernels().max;
        let bmax: Vec<F> = x.chunks(BLOCK).map(max).collect();
        let lo = if bmax.len() >= k {
            let mut b = bmax.clone();
            *b.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a)).1
        } else {
            F::NEG_INFINITY
        };
        let bmax = &bmax;
        let blocks = |t: F| {
            x.chunks(BLOCK)
                .enumerate()
                .filter(move |(bi, _)| bmax[*bi] >= t)
        };
        let mut vals: Vec<F> = Vec::new();
        for (_, block) in blocks(lo) {
            vals.extend(block.iter().filter(|&&v| v >= lo && v > F::NEG_INFINITY));
        }
        if lo == F::NEG_INFINITY && vals.len() <= k {
            return; // at most k finite logits: all kept
        }
        // Otherwise `vals` holds at least the k block maxima >= lo.
        let kth = *vals.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a)).1;
        if kth <= self.row_min() {
            return; // every logit reaches the k-th largest: all kept
        }
        let mut out = Vec::new();
        for (bi, block) in blocks(kth) {
            for (j, &v) in block.iter().enumerate() {
                if v >= kth {
                    out.push((bi * BLOCK + j) as u32);
                }
            }
        }
        self.cand = Some(out);
        self.m = self.fold_max();
    }

    fn top_p(&mut self, p: f64) {
        if self.is_flat() {
            return; // equal probabilities, all tied with the threshold
        }
        // The normaliser of the current set, relative to its maximum.
        let total = match &self.cand {
            Some(_) => self
                .scaled(f64::NEG_INFINITY)
                .iter()
                .map(|e| e.1)
                .sum::<f64>(),
            None => {
                let s = (F::kernels().exp_sum)(
                    self.x,
                    F::from_f64(self.m),
                    Scaling::Div(F::from_f64(self.t)),
                );
                1.0 + s.rest()
            }
        };
        let target = p * total;
        if self.len() > NUCLEUS_BINS {
            let zmin = self.nucleus_by_bins(target);
            let (m, t) = (self.m, self.t);
            self.keep(true, |v| (v.to_f64() - m) / t >= zmin);
            return;
        }
        // Bounded candidate set first: everything within e^-20 of the top.
        // If its mass reaches the target, the nucleus lies inside it
        // (every candidate outside is less likely than every one inside).
        let mut c = self.scaled(-20.0);
        let inside: f64 = c.iter().map(|e| e.1).sum();
        if inside < target && c.len() < self.len() {
            c = self.scaled(f64::NEG_INFINITY); // fallback: the whole set
        }
        let zmin = mass_select(&mut c, target);
        let (m, t) = (self.m, self.t);
        self.keep(true, |v| (v.to_f64() - m) / t >= zmin);
    }

    /// Top-p's cut-off `z` on a large set without listing it: one pass
    /// adds each candidate's weight (f64 SIMD kernel) into one of
    /// [`NUCLEUS_BINS`] bins of `z` (monotone in `z`, so every candidate of
    /// a higher bin is more likely than every one of a lower bin), the
    /// running mass from the top bin down finds the bin where it reaches
    /// `target`, and only that bin's candidates are listed and selected
    /// ([`mass_select`]) with the mass still needed. The bins span
    /// `[max(z_min, -40), 0]`, plus one for everything below -40.
    fn nucleus_by_bins(&mut self, target: f64) -> f64 {
        let (x, m, t) = (self.x, self.m, self.t);
        let z = |v: F| (v.to_f64() - m) / t;
        let zlo = match &self.cand {
            Some(c) => c.iter().map(|&i| z(x[i as usize])).fold(0.0, f64::min),
            None => z(self.row_min()),
        };
        let lo = zlo.max(-40.0);
        let scale = NUCLEUS_BINS as f64 / -lo; // lo < 0: the set is not flat
        let bin = |z: f64| {
            if z < lo {
                0
            } else {
                1 + (((z - lo) * scale) as usize).min(NUCLEUS_BINS - 1)
            }
        };
        let mut hist = vec![0.0f64; NUCLEUS_BINS + 1];
        for_each_weight(
            x,
            self.cand.as_deref(),
            m,
            t,
            f64::NEG_INFINITY,
            |_, z, w| hist[bin(z)] += w,
        );
        let mut above = 0.0;
        let mut cut = None;
        for (b, &h) in hist.iter().enumerate().rev() {
            if h > 0.0 && above + h >= target {
                cut = Some(b);
                break;
            }
            above += h;
        }
        // Rounding kept the whole mass below the target: the smallest key.
        let Some(b) = cut else {
            return zlo;
        };
        let mut pairs = Vec::new();
        let mut push = |v: F| {
            let zi = z(v);
            if v > F::NEG_INFINITY && bin(zi) == b {
                pairs.push((zi, zi.exp()));
            }
        };
        match &self.cand {
            Some(c) => c.iter().for_each(|&i| push(x[i as usize])),
            None => x.iter().for_each(|&v| push(v)),
        }
        mass_select(&mut pairs, target - above)
    }

    fn typical(&mut self, mass: f64) {
        if self.is_flat() {
            return; // equal typicality scores, all tied with the threshold
        }
        let c = self.scaled(f64::NEG_INFINITY);
        let total: f64 = c.iter().map(|e| e.1).sum();
        let ln_total = total.ln();
        // H = -sum p ln p with ln p = z - ln(total).
        let h: f64 = -c
            .iter()
            .map(|&(z, w)| {
                if w > 0.0 {
                    w / total * (z - ln_total)
                } else {
                    0.0
                }
            })
            .sum::<f64>();
        let score = |z: f64| (-(z - ln_total) - h).abs();
        // Keyed by -score: the most typical first.
        let mut s: Vec<(f64, f64)> = c.iter().map(|&(z, w)| (-score(z), w / total)).collect();
        let smax = -mass_select(&mut s, mass);
        let (m, t) = (self.m, self.t);
        self.keep(false, |v| score((v.to_f64() - m) / t) <= smax);
    }
}

/// The outcome of a [`Chain`]: the kept vocabulary indices (increasing)
/// and their renormalised probabilities; implements
/// `Distribution<usize>` returning vocabulary indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    indices: Vec<usize>,
    probs: Vec<f64>,
    cat: Categorical,
}

impl Kept {
    /// The kept vocabulary indices, increasing.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The probability of each kept index (same order), summing to 1.
    pub fn probabilities(&self) -> &[f64] {
        &self.probs
    }

    /// The probability of every vocabulary entry (0 outside the kept set).
    pub fn dense_probabilities(&self, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; n];
        for (&i, &p) in self.indices.iter().zip(&self.probs) {
            out[i] = p;
        }
        out
    }

    /// Number of kept entries (at least 1).
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Always false: a kept set has an entry.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

impl Distribution<usize> for Kept {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        self.indices[self.cat.sample(rng)]
    }
}

#[cfg(test)]
mod tests {
    //! The whole-vocabulary paths (unlisted kept set, flat shortcuts,
    //! blockwise draw) against the general listed paths on the same input.

    use super::*;
    use crate::sample::rng::{open01, stream_rng};
    use rand::RngCore;

    /// The kept indices with the set starting unlisted (`listed = false`,
    /// the fast paths) or listed explicitly (the general paths).
    fn kept_by<F: Real>(x: &[F], ops: &[Op], listed: bool) -> Vec<usize> {
        let mut st = State::new(x, (F::kernels().max)(x));
        if listed {
            st.cand = Some(
                (0..x.len() as u32)
                    .filter(|&i| x[i as usize] > F::NEG_INFINITY)
                    .collect(),
            );
        }
        for &op in ops {
            st.apply(op).unwrap();
        }
        st.outcome().weights(x).0
    }

    fn rows(n: usize) -> Vec<Vec<f64>> {
        let mut rng = stream_rng(11, n as u64);
        let mut u = || open01(rng.next_u64());
        let flat = vec![0.25; n];
        let mut flat_inf = flat.clone();
        flat_inf[n / 3] = f64::NEG_INFINITY;
        let mut one_low = flat.clone();
        one_low[n / 2] = 0.2;
        let mut one_high = flat.clone();
        one_high[n - 1] = 0.3;
        let nearly: Vec<f64> = (0..n).map(|_| 0.01 * u()).collect();
        let wide: Vec<f64> = (0..n).map(|_| 8.0 * u()).collect();
        let few: Vec<f64> = (0..n).map(|_| (4.0 * u()).floor()).collect();
        let all = vec![flat, flat_inf, one_low, one_high, nearly, wide, few];
        // A row needs a finite entry (`Chain::run` rejects the others).
        all.into_iter()
            .filter(|x| x.iter().any(|v| v.is_finite()))
            .collect()
    }

    fn op_lists() -> Vec<Vec<Op>> {
        use Op::*;
        vec![
            vec![Temperature(0.8), TopK(50), TopP(0.9)],
            vec![TopK(3000)],
            vec![MinP(0.05)],
            vec![MinP(0.9), Typical(0.9)],
            vec![Temperature(1.7), TopP(0.95)],
            vec![Typical(0.5)],
            vec![
                TopK(40),
                Typical(0.9),
                TopP(0.5),
                MinP(0.1),
                Temperature(1.3),
            ],
        ]
    }

    #[test]
    fn unlisted_and_listed_sets_agree_f64_and_f32() {
        for n in [1, 7, 300, 5000] {
            for x in rows(n) {
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                for ops in op_lists() {
                    assert_eq!(kept_by(&x, &ops, false), kept_by(&x, &ops, true));
                    assert_eq!(kept_by(&x32, &ops, false), kept_by(&x32, &ops, true));
                }
            }
        }
    }

    #[test]
    fn flat_rows_stay_unlisted() {
        let x = vec![1.5_f32; 5000];
        for ops in op_lists() {
            let mut st = State::new(&x, 1.5);
            for &op in &ops {
                st.apply(op).unwrap();
            }
            assert!(st.cand.is_none(), "{ops:?}");
            assert!(matches!(st.outcome(), Outcome::All { flat: true, .. }));
        }
    }

    /// Draws `draw_all` against `Categorical` over the listed weights:
    /// equal, except where `u` lies within rounding of a cumulative
    /// boundary (the blockwise draw adds the weights in another order).
    fn check_draws<F: Real>(x: &[F], t: f64) {
        let m = (F::kernels().max)(x).to_f64();
        let idx: Vec<u32> = (0..x.len() as u32).collect();
        let w = listed_weights(x, &idx, t);
        let cat = Categorical::from_valid_weights(&w);
        let cdf: Vec<f64> = w
            .iter()
            .scan(0.0, |acc, v| {
                *acc += v;
                Some(*acc)
            })
            .collect();
        let total = cdf[cdf.len() - 1];
        let mut rng = stream_rng(3, x.len() as u64);
        let edges = [open01(0), open01(u64::MAX), 0.5];
        let us = edges
            .into_iter()
            .chain((0..300).map(|_| open01(rng.next_u64())));
        for u in us {
            let (got, want) = (draw_all(x, m, t, u), cat.invert(u));
            let near = (cdf[got.min(want)] - u * total).abs() <= 1e-12 * total;
            assert!(
                got == want || near,
                "n {} t {t} u {u}: {got} vs {want}",
                x.len()
            );
        }
    }

    #[test]
    fn blockwise_draw_is_the_inverse_cdf_f64_and_f32() {
        for n in [1, 2, 255, 2048, 2049, 7000] {
            for x in rows(n) {
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                for t in [1.0, 0.7, 2.5] {
                    check_draws(&x, t);
                    check_draws(&x32, t);
                }
            }
        }
    }

    #[test]
    fn flat_draw_is_the_inverse_cdf_of_equal_weights() {
        let mut rng = stream_rng(4, 0);
        for n in [1usize, 2, 3, 1000, 128_256] {
            let cat = Categorical::from_valid_weights(&vec![1.0; n]);
            let edges = [open01(0), open01(u64::MAX), 0.5, 1.0 / 3.0];
            for u in edges
                .into_iter()
                .chain((0..500).map(|_| open01(rng.next_u64())))
            {
                // Exact: the running sums of ones are exact integers.
                assert_eq!(draw_flat(n, u), cat.invert(u), "n {n} u {u}");
            }
        }
    }
}

#[cfg(test)]
mod select_tests {
    use super::mass_select;
    use crate::sample::rng::{open01, stream_rng};
    use rand::RngCore;

    /// The sort-based definition: sort by decreasing key, the key at which
    /// the running mass first reaches the target (the last key if never).
    fn by_sort(pairs: &[(f64, f64)], target: f64) -> f64 {
        let mut v = pairs.to_vec();
        v.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut acc = 0.0;
        for &(k, w) in &v {
            acc += w;
            if acc >= target {
                return k;
            }
        }
        v[v.len() - 1].0
    }

    #[test]
    fn mass_select_is_the_sorted_cut_off() {
        let mut rng = stream_rng(12, 0);
        let mut u = || open01(rng.next_u64());
        for case in 0..3000 {
            let n = 1 + (u() * [5.0, 60.0, 3000.0][case % 3]) as usize;
            let levels = 1 + (u() * 8.0) as usize; // many ties when few
            let ties = case % 2 == 0;
            let pairs: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    let k = if ties {
                        (u() * levels as f64).floor()
                    } else {
                        u() * 10.0 - 5.0
                    };
                    // Masses on a dyadic grid: every partial sum is exact,
                    // so the order of addition cannot matter.
                    (k, (1.0 + (u() * 64.0).floor()) / 64.0)
                })
                .collect();
            let total: f64 = pairs.iter().map(|p| p.1).sum();
            for target in [u() * total, total, 1.0 / 64.0, total * 0.5, total + 1.0] {
                let mut c = pairs.clone();
                assert_eq!(
                    mass_select(&mut c, target),
                    by_sort(&pairs, target),
                    "n {n} target {target}"
                );
            }
        }
    }
}
