//! softmax, log-softmax and logsumexp of one row (a slice).
//!
//! Every function here follows one convention table (see the crate docs):
//!
//! | input (kept entries)          | softmax            | log-softmax        | logsumexp |
//! |-------------------------------|--------------------|--------------------|-----------|
//! | empty                         | empty              | empty              | -inf      |
//! | all -inf, or all masked       | NaN (or 0)         | NaN (or -inf)      | -inf      |
//! | exactly one +inf              | one-hot            | 0 there, -inf else | +inf      |
//! | two or more +inf              | NaN                | NaN                | +inf      |
//! | any NaN                       | NaN                | NaN                | NaN       |
//! | `beta = 0`                    | 1/n                | -ln n              | ln n      |
//!
//! "+inf" and "-inf" are meant after scaling: with a negative beta the
//! smallest entry plays the role of the largest. Masked-out entries are
//! ignored whatever they hold; softmax writes 0 and log-softmax -inf
//! there, except in a row without an answer (NaN, or undefined under the
//! default policy), which is NaN in every slot. The full table with the
//! reasoning and the tests of each row is `docs/conventions.md`. Ties at the maximum share the mass equally at every temperature,
//! so the T -> 0 limit is an even split among the tied maxima.
//!
//! The numerics follow Blanchard, Higham and Higham (2021): shift by the
//! maximum `m` and then scale, `z_i = (x_i - m) / T`;
//! `s = sum over i != argmax of exp(z_i)`;
//! `logsumexp = m / T + log1p(s)`, `softmax_i = exp(z_i) / (1 + s)`,
//! `log_softmax_i = z_i - log1p(s)`.

use crate::error::{Error, Result};
use crate::kernel::{BLOCK, ExpSum, FUSED_MIN_BYTES, Kernels, MaxExpSumStore};
use crate::params::{Params, Scaling, UndefinedRows};
use crate::real::Real;

/// What a row's answer is, decided before anything is written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan<F> {
    /// No kept entries because the row is empty.
    Empty,
    /// A NaN among the kept entries.
    Nan,
    /// Every kept entry is -inf after scaling, or none is kept.
    Undefined,
    /// `count` kept entries are +inf after scaling; the first is at `first`.
    Infinite {
        first: usize,
        count: usize,
        value: F,
    },
    /// `beta = 0`: `n` kept entries share the mass.
    Uniform { n: usize },
    /// The regular case: finite shift `m`, `s` as in the module docs.
    Regular { m: F, s: f64 },
    /// The regular case with the sum left to the writer (which forms it
    /// while storing the exps: one exp per entry).
    Shift { m: F },
}

/// Access to a row's kept entries, dense or masked.
trait Row<F: Real> {
    fn max(&self) -> F;
    fn min(&self) -> F;
    fn kept(&self) -> usize;
    fn exp_sum(&self, m: F, scaling: Scaling<F>) -> ExpSum;
    /// The maximum and [`ExpSum`] in one pass, where that saves a pass
    /// over memory; `None` to take the usual path.
    fn fused(&self, _scaling: Scaling<F>) -> Option<(F, ExpSum)> {
        None
    }
    /// Number of kept entries equal to `v` and the index of the first.
    fn count_equal(&self, v: F) -> (usize, usize);
}

struct Dense<'a, F: 'static> {
    k: &'a Kernels<F>,
    x: &'a [F],
}

impl<F: Real> Row<F> for Dense<'_, F> {
    fn max(&self) -> F {
        (self.k.max)(self.x)
    }
    fn min(&self) -> F {
        (self.k.min)(self.x)
    }
    fn kept(&self) -> usize {
        self.x.len()
    }
    fn exp_sum(&self, m: F, scaling: Scaling<F>) -> ExpSum {
        (self.k.exp_sum)(self.x, m, scaling)
    }
    fn fused(&self, scaling: Scaling<F>) -> Option<(F, ExpSum)> {
        if std::mem::size_of_val(self.x) >= FUSED_MIN_BYTES {
            (self.k.max_exp_sum)(self.x, scaling)
        } else {
            None
        }
    }
    fn count_equal(&self, v: F) -> (usize, usize) {
        count_equal(self.x.iter().copied().enumerate(), v)
    }
}

struct Masked<'a, F> {
    x: &'a [F],
    mask: &'a [bool],
}

impl<F: Real> Masked<'_, F> {
    fn values(&self) -> impl Iterator<Item = (usize, F)> + '_ {
        self.x
            .iter()
            .zip(self.mask)
            .enumerate()
            .filter(|(_, (_, keep))| **keep)
            .map(|(i, (&v, _))| (i, v))
    }
}

impl<F: Real> Row<F> for Masked<'_, F> {
    fn max(&self) -> F {
        let mut m = F::NEG_INFINITY;
        for (_, v) in self.values() {
            if v.is_nan() {
                return v;
            }
            m = m.max(v);
        }
        m
    }
    fn min(&self) -> F {
        let mut m = F::INFINITY;
        for (_, v) in self.values() {
            if v.is_nan() {
                return v;
            }
            m = m.min(v);
        }
        m
    }
    fn kept(&self) -> usize {
        self.mask.iter().filter(|&&k| k).count()
    }
    fn exp_sum(&self, m: F, scaling: Scaling<F>) -> ExpSum {
        let mut sum = 0.0f64;
        let mut ties = 0usize;
        for (_, v) in self.values() {
            let z = scaling.apply(v, m);
            if z == F::ZERO {
                ties += 1;
            } else {
                sum += z.exp().to_f64();
            }
        }
        ExpSum { sum, ties }
    }
    fn count_equal(&self, v: F) -> (usize, usize) {
        count_equal(self.values(), v)
    }
}

fn count_equal<F: Real>(it: impl Iterator<Item = (usize, F)>, v: F) -> (usize, usize) {
    let mut count = 0;
    let mut first = usize::MAX;
    for (i, x) in it {
        if x == v {
            if count == 0 {
                first = i;
            }
            count += 1;
        }
    }
    (count, first)
}

/// Rows up to this many bytes that do not take the one pass (`one_pass_row`:
/// rows of one block, a negative beta) take softmax's one-exp path (store
/// the exps with the sum, then scale them while they are still in L2 or
/// L3); longer ones the two-exp path (one-pass max and sum, then one pass
/// that reads the input and writes the output). Measured here (Zen 4,
/// 1 MiB L2): (1, 128256) f32 goes from 0.42 to 0.30 ns per element on the
/// one-exp path.
const STORE_THEN_SCALE_MAX_BYTES: usize = 1024 * 1024;

/// Batches of at most this many input bytes scale each row in the loop
/// that finds the next row's maximum ([`softmax_rows_into_using`]); it
/// implies rows of at most [`STORE_THEN_SCALE_MAX_BYTES`].
const PAIRED_MAX_BYTES: usize = 1024 * 1024;

/// The row's plan; with `defer_sum`, a short regular row's sum is left to
/// the writer ([`Plan::Shift`]).
fn plan<F: Real, R: Row<F>>(row: &R, len: usize, scaling: Scaling<F>, defer_sum: bool) -> Plan<F> {
    plan_with(row, len, scaling, defer_sum, None)
}

/// [`plan`], with the row's maximum already known (exactly `row.max()`,
/// NaN included) where `known_max` is given; used only with a shift by
/// the maximum.
fn plan_with<F: Real, R: Row<F>>(
    row: &R,
    len: usize,
    scaling: Scaling<F>,
    defer_sum: bool,
    known_max: Option<F>,
) -> Plan<F> {
    if len == 0 {
        return Plan::Empty;
    }
    let kept = row.kept();
    if kept == 0 {
        return Plan::Undefined;
    }
    let by_min = scaling.shifts_by_min();
    // A long regular row (the common case) in one pass; anything else,
    // every edge case included, goes the two-pass way below.
    if !by_min
        && scaling != Scaling::Uniform
        && !(defer_sum && len * std::mem::size_of::<F>() <= STORE_THEN_SCALE_MAX_BYTES)
        && let Some((m, e)) = row.fused(scaling)
    {
        return Plan::Regular { m, s: e.rest() };
    }
    let m = match (by_min, known_max) {
        (true, _) => row.min(),
        (false, Some(m)) => m,
        (false, None) => row.max(),
    };
    if m.is_nan() {
        return Plan::Nan;
    }
    if scaling == Scaling::Uniform {
        return Plan::Uniform { n: kept };
    }
    // The top of the scaled row: +inf for a positive scale, -inf for a
    // negative beta (whose shift is the minimum).
    let top = if by_min { F::NEG_INFINITY } else { F::INFINITY };
    if m == top {
        let (count, first) = row.count_equal(m);
        return Plan::Infinite {
            first,
            count,
            value: m,
        };
    }
    if m == -top {
        // Every kept entry sits at the bottom of the scaled range.
        return Plan::Undefined;
    }
    if defer_sum && len * std::mem::size_of::<F>() <= STORE_THEN_SCALE_MAX_BYTES {
        return Plan::Shift { m };
    }
    let e = row.exp_sum(m, scaling);
    Plan::Regular { m, s: e.rest() }
}

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            got,
            expected,
        })
    }
}

/// Which of the three functions is being written.
#[derive(Clone, Copy, PartialEq)]
enum Output {
    Softmax,
    LogSoftmax,
}

impl Output {
    fn masked<F: Real>(self) -> F {
        match self {
            Output::Softmax => F::ZERO,
            Output::LogSoftmax => F::NEG_INFINITY,
        }
    }
    fn hot<F: Real>(self) -> F {
        match self {
            Output::Softmax => F::ONE,
            Output::LogSoftmax => F::ZERO,
        }
    }
    fn uniform<F: Real>(self, n: usize) -> F {
        match self {
            Output::Softmax => F::from_f64(1.0 / n as f64),
            Output::LogSoftmax => F::from_f64(-(n as f64).ln()),
        }
    }
}

/// Writes every non-regular answer; returns the regular plan's `(m, s)`
/// for the kernels to finish (`s` is `None` for [`Plan::Shift`]).
fn write_special<F: Real>(
    out: &mut [F],
    mask: Option<&[bool]>,
    plan: Plan<F>,
    policy: UndefinedRows,
    what: Output,
) -> Option<(F, Option<f64>)> {
    let kept = |i: usize| mask.is_none_or(|m| m[i]);
    let fill = |out: &mut [F], value: F| {
        for (i, o) in out.iter_mut().enumerate() {
            *o = if kept(i) { value } else { what.masked() };
        }
    };
    match plan {
        Plan::Empty => {}
        // A row without an answer is NaN in every slot, masked ones
        // included: a fully masked row must not look like a valid one.
        Plan::Nan => out.fill(F::NAN),
        Plan::Undefined => match policy {
            UndefinedRows::Nan => out.fill(F::NAN),
            UndefinedRows::Zeros => fill(out, what.masked()),
        },
        Plan::Infinite { count, .. } if count > 1 => out.fill(F::NAN),
        Plan::Infinite { first, .. } => {
            fill(out, what.masked());
            out[first] = what.hot();
        }
        Plan::Uniform { n } => fill(out, what.uniform(n)),
        Plan::Regular { m, s } => return Some((m, Some(s))),
        Plan::Shift { m } => return Some((m, None)),
    }
    None
}

/// Rows of more than one block ([`BLOCK`] entries), of any length, take
/// softmax in one pass over the input ([`Kernels::max_exp_sum_store`],
/// then [`Kernels::scale_blocks`]). Rows of 4 MiB (16, 1048576) f32 went
/// from 1.33-1.36x to 1.03-1.09x the copy time (medians of 41 interleaved
/// rounds, 2026-11-29 10:59) against the two-exp path they took before.
fn one_pass_row<F: Real>(len: usize, scaling: Scaling<F>) -> bool {
    len > BLOCK && !scaling.shifts_by_min() && scaling != Scaling::Uniform
}

/// Whether a batch takes each row's maximum in the loop that finishes
/// the previous row (`max_scale`, `max_log_store`). Only batches that fit
/// in L2 (1 MiB of input here): from memory the combined loop holds fewer
/// loads in flight than a plain max pass, and (4096, 4096) f32 went from
/// 0.47 to 0.51 ns/elem, while (64, 1024) went from 0.266 to 0.251 (min
/// of 21 interleaved rounds, 2026-11-29).
fn paired_batch<F: Real>(x: &[F], scaling: Scaling<F>) -> bool {
    !scaling.shifts_by_min()
        && scaling != Scaling::Uniform
        && std::mem::size_of_val(x) <= PAIRED_MAX_BYTES
}

/// Rows of up to this many blocks keep their per-block shifts on the
/// stack (1 MiB of f32); longer ones allocate them (one `F` per 4 KiB of
/// row, nothing beside the row's own cost).
const STACK_SHIFTS: usize = 256;

/// A regular row in one pass over `x`: `store` (a one-pass kernel that
/// records each block's shift) then `finish` with the shifts, the maximum
/// and the sum; `false` (with `out` partly written) if the row is not
/// regular, for the caller's plan to write every entry.
fn one_pass<F: Real>(
    out: &mut [F],
    x: &[F],
    scaling: Scaling<F>,
    store: MaxExpSumStore<F>,
    finish: impl FnOnce(&mut [F], &[F], F, ExpSum),
) -> bool {
    let blocks = x.len().div_ceil(BLOCK);
    let mut stack = [F::ZERO; STACK_SHIFTS];
    let mut heap = Vec::new();
    let shifts: &mut [F] = if blocks <= STACK_SHIFTS {
        &mut stack[..blocks]
    } else {
        heap.resize(blocks, F::ZERO);
        &mut heap
    };
    match store(out, x, scaling, shifts) {
        Some((m, e)) => {
            finish(out, shifts, m, e);
            true
        }
        None => false,
    }
}

/// softmax of a regular row in one pass over `x` (see [`one_pass`]).
fn softmax_one_pass<F: Real>(k: &Kernels<F>, out: &mut [F], x: &[F], scaling: Scaling<F>) -> bool {
    one_pass(out, x, scaling, k.max_exp_sum_store, |o, sh, m, e| {
        (k.scale_blocks)(o, sh, m, scaling, 1.0 + e.rest())
    })
}

/// Rows of at least [`FUSED_MIN_BYTES`] take log-softmax in one pass over
/// the input ([`Kernels::max_z_sum_store`], then
/// [`Kernels::shift_blocks`]), the rows that already found their maximum
/// and sum in one pass: the last pass then runs on `out` in cache instead
/// of reading `x` again while the output's lines come from memory.
/// Shorter rows keep the two passes and the next-row pairing of
/// [`log_softmax_rows_into_using`].
fn log_one_pass_row<F: Real>(len: usize, scaling: Scaling<F>) -> bool {
    len * std::mem::size_of::<F>() >= FUSED_MIN_BYTES
        && !scaling.shifts_by_min()
        && scaling != Scaling::Uniform
}

/// log-softmax of a regular row in one pass over `x` (see [`one_pass`]).
fn log_softmax_one_pass<F: Real>(
    k: &Kernels<F>,
    out: &mut [F],
    x: &[F],
    scaling: Scaling<F>,
) -> bool {
    one_pass(out, x, scaling, k.max_z_sum_store, |o, sh, m, e| {
        (k.shift_blocks)(o, sh, m, scaling, F::from_f64(e.rest().ln_1p()))
    })
}

/// softmax of `x` into `out` with the kernels `k` (any table, for tests).
pub fn softmax_into_using<F: Real>(
    k: &Kernels<F>,
    out: &mut [F],
    x: &[F],
    params: &Params<F>,
) -> Result<()> {
    check_len("out", out.len(), x.len())?;
    let scaling = params.scale.scaling();
    if one_pass_row(x.len(), scaling) && softmax_one_pass(k, out, x, scaling) {
        return Ok(());
    }
    let plan = plan(&Dense { k, x }, x.len(), scaling, true);
    match write_special(out, None, plan, params.undefined_rows, Output::Softmax) {
        Some((m, Some(s))) => (k.exp_store)(out, x, m, scaling, 1.0 + s),
        Some((m, None)) => {
            let e = (k.exp_sum_store)(out, x, m, scaling);
            (k.scale)(out, 1.0 + e.rest());
        }
        None => {}
    }
    Ok(())
}

/// softmax of each `n`-element row of `x` into the same row of `out`
/// (C-contiguous batches), bitwise as [`softmax_into_using`] row by row.
///
/// A row's last pass (scaling by `1/(1 + s)`) waits for its sum, whose
/// latency (the last exps, a reduction, a division: about 100 cycles)
/// leaves the FMA pipes idle once per row when the rows run one after
/// the other. Here it is issued after the next row's exps, so the two
/// overlap: (64, 1024) f32 rows 0.264-0.272 -> 0.256-0.260 ns/elem
/// (min of 2000 interleaved rounds, 2026-11-29). In batches that fit in
/// L2 the scaling runs in the same loop as the next row's maximum
/// ([`Kernels::max_scale`], see `paired_batch`); rows of more than one
/// block take the one pass of [`softmax_into_using`].
pub(crate) fn softmax_rows_into_using<F: Real>(
    k: &Kernels<F>,
    out: &mut [F],
    x: &[F],
    n: usize,
    params: &Params<F>,
) {
    debug_assert!(n > 0 && out.len() == x.len() && x.len().is_multiple_of(n));
    let scaling = params.scale.scaling();
    let mut pending: Option<(&mut [F], f64)> = None;
    // Rows of more than one block take the one pass, as the slice
    // function does (the batch stays bitwise equal to it, row by row).
    let one_pass = one_pass_row(n, scaling);
    let paired = !one_pass && paired_batch(x, scaling);
    for (o, r) in out.chunks_exact_mut(n).zip(x.chunks_exact(n)) {
        if one_pass && softmax_one_pass(k, o, r, scaling) {
            continue;
        }
        let known_max = match (paired, pending.take()) {
            (true, Some((p, d))) => Some((k.max_scale)(r, p, d)),
            (_, Some((p, d))) => {
                (k.scale)(p, d);
                None
            }
            (_, None) => None,
        };
        let plan = plan_with(&Dense { k, x: r }, n, scaling, true, known_max);
        match write_special(o, None, plan, params.undefined_rows, Output::Softmax) {
            Some((m, Some(s))) => (k.exp_store)(o, r, m, scaling, 1.0 + s),
            Some((m, None)) => {
                let e = (k.exp_sum_store)(o, r, m, scaling);
                pending = Some((o, 1.0 + e.rest()));
            }
            None => {}
        }
    }
    if let Some((p, d)) = pending {
        (k.scale)(p, d);
    }
}

/// log-softmax of each `n`-element row of `x` into the same row of `out`
/// (C-contiguous batches), bitwise as [`log_softmax_into_using`] row by
/// row. In batches of at most [`PAIRED_MAX_BYTES`] with rows on the
/// two-pass path, a row's last pass (`z_i - log1p(s)`) runs in the loop
/// that finds the next row's maximum ([`Kernels::max_log_store`]), as
/// [`softmax_rows_into_using`] does with its scaling.
pub(crate) fn log_softmax_rows_into_using<F: Real>(
    k: &Kernels<F>,
    out: &mut [F],
    x: &[F],
    n: usize,
    params: &Params<F>,
) {
    debug_assert!(n > 0 && out.len() == x.len() && x.len().is_multiple_of(n));
    let scaling = params.scale.scaling();
    let one_pass = log_one_pass_row(n, scaling);
    let paired = !one_pass && paired_batch(x, scaling);
    let mut pending: Option<(&mut [F], &[F], F, F)> = None;
    for (o, r) in out.chunks_exact_mut(n).zip(x.chunks_exact(n)) {
        if one_pass && log_softmax_one_pass(k, o, r, scaling) {
            continue;
        }
        let known_max = match (paired, pending.take()) {
            (true, Some((po, px, m, c))) => Some((k.max_log_store)(r, po, px, m, scaling, c)),
            (_, Some((po, px, m, c))) => {
                (k.log_store)(po, px, m, scaling, c);
                None
            }
            (_, None) => None,
        };
        let plan = plan_with(&Dense { k, x: r }, n, scaling, false, known_max);
        if let Some((m, Some(s))) =
            write_special(o, None, plan, params.undefined_rows, Output::LogSoftmax)
        {
            pending = Some((o, r, m, F::from_f64(s.ln_1p())));
        }
    }
    if let Some((po, px, m, c)) = pending {
        (k.log_store)(po, px, m, scaling, c);
    }
}

/// log-softmax of `x` into `out` with the kernels `k` (any table, for tests).
pub fn log_softmax_into_using<F: Real>(
    k: &Kernels<F>,
    out: &mut [F],
    x: &[F],
    params: &Params<F>,
) -> Result<()> {
    check_len("out", out.len(), x.len())?;
    let scaling = params.scale.scaling();
    if log_one_pass_row(x.len(), scaling) && log_softmax_one_pass(k, out, x, scaling) {
        return Ok(());
    }
    let plan = plan(&Dense { k, x }, x.len(), scaling, false);
    if let Some((m, Some(s))) =
        write_special(out, None, plan, params.undefined_rows, Output::LogSoftmax)
    {
        (k.log_store)(out, x, m, scaling, F::from_f64(s.ln_1p()));
    }
    Ok(())
}

/// logsumexp of `x` with the kernels `k` (any table, for tests).
pub fn logsumexp_using<F: Real>(k: &Kernels<F>, x: &[F], params: &Params<F>) -> F {
    let scaling = params.scale.scaling();
    lse_of_plan(plan(&Dense { k, x }, x.len(), scaling, false), scaling)
}

fn lse_of_plan<F: Real>(plan: Plan<F>, scaling: Scaling<F>) -> F {
    match plan {
        Plan::Empty | Plan::Undefined => F::NEG_INFINITY,
        Plan::Nan => F::NAN,
        Plan::Infinite { .. } => F::INFINITY,
        Plan::Uniform { n } => F::from_f64((n as f64).ln()),
        // Added in f64 and rounded once: exact shift for f32 data.
        Plan::Regular { m, s } => F::from_f64(shift_f64(scaling, m) + s.ln_1p()),
        Plan::Shift { .. } => unreachable!("logsumexp plans are made with defer_sum = false"),
    }
}

/// `scale(m)` in f64 (exact for f32 data with beta, one rounding with T).
pub(crate) fn shift_f64<F: Real>(scaling: Scaling<F>, m: F) -> f64 {
    let m = m.to_f64();
    match scaling {
        Scaling::One | Scaling::Uniform => m,
        Scaling::Div(t) => m / t.to_f64(),
        Scaling::Mul(b) => m * b.to_f64(),
    }
}

/// softmax at temperature 1.
///
/// ```
/// let p = boltzmax::softmax(&[1.0_f64, 2.0, 3.0]);
/// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
/// // One +inf gives a one-hot vector, not NaN:
/// assert_eq!(boltzmax::softmax(&[0.0_f32, f32::INFINITY]), vec![0.0, 1.0]);
/// ```
pub fn softmax<F: Real>(x: &[F]) -> Vec<F> {
    softmax_with(x, &Params::default())
}

/// softmax with the given temperature and options, into a new vector.
pub fn softmax_with<F: Real>(x: &[F], params: &Params<F>) -> Vec<F> {
    let mut out = vec![F::ZERO; x.len()];
    softmax_into_using(F::kernels(), &mut out, x, params).expect("lengths match");
    out
}

/// softmax into a caller's buffer of the same length.
///
/// ```
/// use boltzmax::{Params, softmax_into};
/// let mut out = [0.0_f32; 3];
/// softmax_into(&mut out, &[1.0, 1.0, 1.0], &Params::default()).unwrap();
/// assert_eq!(out, [1.0 / 3.0; 3]);
/// assert!(softmax_into(&mut out, &[1.0, 2.0], &Params::default()).is_err());
/// ```
pub fn softmax_into<F: Real>(out: &mut [F], x: &[F], params: &Params<F>) -> Result<()> {
    softmax_into_using(F::kernels(), out, x, params)
}

/// softmax in place.
///
/// The row is read by a max pass first, whatever its length: the one pass
/// of [`softmax_into`] would have overwritten early blocks before it could
/// find a NaN or +inf in a later one, with nothing left to fall back on.
/// For rows of more than 1024 entries whose maximum is not in the first
/// 1024, results may therefore differ from [`softmax_into`]'s in the last
/// bits (both within the documented bound).
///
/// ```
/// let mut x = [0.0_f64, 0.0];
/// boltzmax::softmax_in_place(&mut x, &boltzmax::Params::default());
/// assert_eq!(x, [0.5, 0.5]);
/// ```
pub fn softmax_in_place<F: Real>(x: &mut [F], params: &Params<F>) {
    let k = F::kernels();
    let scaling = params.scale.scaling();
    let plan = plan(&Dense { k, x }, x.len(), scaling, true);
    match write_special(x, None, plan, params.undefined_rows, Output::Softmax) {
        Some((m, Some(s))) => (k.exp_store_in_place)(x, m, scaling, 1.0 + s),
        Some((m, None)) => {
            let e = (k.exp_sum_store_in_place)(x, m, scaling);
            (k.scale)(x, 1.0 + e.rest());
        }
        None => {}
    }
}

/// softmax over the entries where `mask` is true; 0 where it is false.
///
/// Masked-out entries are ignored even if they hold NaN or inf.
///
/// ```
/// use boltzmax::{Params, softmax_masked};
/// let p = softmax_masked(&[0.0_f64, f64::NAN, 0.0], &[true, false, true], &Params::default()).unwrap();
/// assert_eq!(p, vec![0.5, 0.0, 0.5]);
/// ```
pub fn softmax_masked<F: Real>(x: &[F], mask: &[bool], params: &Params<F>) -> Result<Vec<F>> {
    let mut out = vec![F::ZERO; x.len()];
    softmax_masked_into(&mut out, x, mask, params)?;
    Ok(out)
}

/// [`softmax_masked`] into a caller's buffer.
pub fn softmax_masked_into<F: Real>(
    out: &mut [F],
    x: &[F],
    mask: &[bool],
    params: &Params<F>,
) -> Result<()> {
    masked_into(out, x, mask, params, Output::Softmax)
}

fn masked_into<F: Real>(
    out: &mut [F],
    x: &[F],
    mask: &[bool],
    params: &Params<F>,
    what: Output,
) -> Result<()> {
    check_len("out", out.len(), x.len())?;
    check_len("mask", mask.len(), x.len())?;
    let scaling = params.scale.scaling();
    let plan = plan(&Masked { x, mask }, x.len(), scaling, false);
    if let Some((m, Some(s))) = write_special(out, Some(mask), plan, params.undefined_rows, what) {
        let denom = 1.0 + s;
        let c = s.ln_1p();
        for ((o, &v), &keep) in out.iter_mut().zip(x).zip(mask) {
            let z = scaling.apply(v, m);
            *o = match (keep, what) {
                (false, _) => what.masked(),
                (true, Output::Softmax) => F::from_f64(z.exp().to_f64() / denom),
                (true, Output::LogSoftmax) => z - F::from_f64(c),
            };
        }
    }
    Ok(())
}

/// log-softmax at temperature 1.
///
/// ```
/// // The small term is kept: naive formulas return exactly 0 here.
/// let y = boltzmax::log_softmax(&[0.0_f64, -40.0]);
/// assert!(y[0] < 0.0 && (y[0] + 4.248354255291589e-18).abs() < 1e-30);
/// ```
pub fn log_softmax<F: Real>(x: &[F]) -> Vec<F> {
    log_softmax_with(x, &Params::default())
}

/// log-softmax with the given temperature and options, into a new vector.
pub fn log_softmax_with<F: Real>(x: &[F], params: &Params<F>) -> Vec<F> {
    let mut out = vec![F::ZERO; x.len()];
    log_softmax_into_using(F::kernels(), &mut out, x, params).expect("lengths match");
    out
}

/// log-softmax into a caller's buffer of the same length.
pub fn log_softmax_into<F: Real>(out: &mut [F], x: &[F], params: &Params<F>) -> Result<()> {
    log_softmax_into_using(F::kernels(), out, x, params)
}

/// log-softmax in place.
///
/// As [`softmax_in_place`], the row is read by a max pass first: for rows
/// of 16 KiB and more whose maximum is not in their first 1024 entries,
/// results may differ from [`log_softmax_into`]'s (which stores each
/// block's `z` relative to the running maximum, then shifts it) in the
/// last bits, both within the documented bound.
///
/// ```
/// let mut x = [0.0_f64, 0.0];
/// boltzmax::log_softmax_in_place(&mut x, &boltzmax::Params::default());
/// assert_eq!(x, [-std::f64::consts::LN_2; 2]);
/// ```
pub fn log_softmax_in_place<F: Real>(x: &mut [F], params: &Params<F>) {
    let k = F::kernels();
    let scaling = params.scale.scaling();
    let plan = plan(&Dense { k, x }, x.len(), scaling, false);
    if let Some((m, Some(s))) =
        write_special(x, None, plan, params.undefined_rows, Output::LogSoftmax)
    {
        (k.log_store_in_place)(x, m, scaling, F::from_f64(s.ln_1p()));
    }
}

/// log-softmax over the entries where `mask` is true; -inf where it is false.
pub fn log_softmax_masked<F: Real>(x: &[F], mask: &[bool], params: &Params<F>) -> Result<Vec<F>> {
    let mut out = vec![F::ZERO; x.len()];
    log_softmax_masked_into(&mut out, x, mask, params)?;
    Ok(out)
}

/// [`log_softmax_masked`] into a caller's buffer.
pub fn log_softmax_masked_into<F: Real>(
    out: &mut [F],
    x: &[F],
    mask: &[bool],
    params: &Params<F>,
) -> Result<()> {
    masked_into(out, x, mask, params, Output::LogSoftmax)
}

/// logsumexp at temperature 1: `ln sum exp(x_i)`.
///
/// ```
/// assert_eq!(boltzmax::logsumexp::<f64>(&[]), f64::NEG_INFINITY);
/// assert_eq!(boltzmax::logsumexp(&[1000.0_f64, 1000.0]), 1000.0 + 2f64.ln());
/// ```
pub fn logsumexp<F: Real>(x: &[F]) -> F {
    logsumexp_with(x, &Params::default())
}

/// logsumexp of the scaled row: `ln sum exp(x_i / T)` or `ln sum exp(beta x_i)`.
pub fn logsumexp_with<F: Real>(x: &[F], params: &Params<F>) -> F {
    logsumexp_using(F::kernels(), x, params)
}

/// logsumexp over the entries where `mask` is true (-inf if none).
pub fn logsumexp_masked<F: Real>(x: &[F], mask: &[bool], params: &Params<F>) -> Result<F> {
    check_len("mask", mask.len(), x.len())?;
    let scaling = params.scale.scaling();
    Ok(lse_of_plan(
        plan(&Masked { x, mask }, x.len(), scaling, false),
        scaling,
    ))
}

/// A logarithm with a sign: the value is `sign * exp(log_abs)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedLog<F> {
    /// `ln |value|`.
    pub log_abs: F,
    /// -1, 0 or +1 (NaN when the value is NaN).
    pub sign: F,
}

/// logsumexp with weights, as `scipy.special.logsumexp(a, b=b,
/// return_sign=True)`: `ln |sum b_i exp(x_i / T)|` and the sum's sign.
///
/// Entries with `b_i == 0` are ignored whatever `x_i` holds. A sum of zero
/// gives `(-inf, 0)`; +inf entries whose weights cancel give NaN.
///
/// ```
/// use boltzmax::{Params, logsumexp_weighted};
/// let r = logsumexp_weighted(&[0.0_f64, 0.0], &[1.0, -2.0], &Params::default()).unwrap();
/// assert_eq!((r.log_abs, r.sign), (0.0, -1.0));
/// ```
pub fn logsumexp_weighted<F: Real>(x: &[F], b: &[F], params: &Params<F>) -> Result<SignedLog<F>> {
    check_len("weights", b.len(), x.len())?;
    let scaling = params.scale.scaling();
    let nan = SignedLog {
        log_abs: F::NAN,
        sign: F::NAN,
    };
    let kept = || {
        x.iter()
            .zip(b)
            .filter(|(_, w)| **w != F::ZERO)
            .map(|(&v, &w)| (v, w))
    };
    if kept().any(|(v, w)| v.is_nan() || w.is_nan()) {
        return Ok(nan);
    }
    let signed = |total: f64, log_abs: f64| SignedLog {
        log_abs: F::from_f64(log_abs),
        sign: F::from_f64(if total > 0.0 {
            1.0
        } else if total < 0.0 {
            -1.0
        } else {
            0.0
        }),
    };
    if scaling == Scaling::Uniform {
        let total: f64 = kept().map(|(_, w)| w.to_f64()).sum();
        return Ok(signed(total, total.abs().ln()));
    }
    let by_min = scaling.shifts_by_min();
    // The shift and the first entry that attains it.
    let mut best: Option<(F, F)> = None;
    for (v, w) in kept() {
        let better = match best {
            None => true,
            Some((m, _)) => {
                if by_min {
                    v < m
                } else {
                    v > m
                }
            }
        };
        if better {
            best = Some((v, w));
        }
    }
    let Some((m, wm)) = best else {
        return Ok(SignedLog {
            log_abs: F::NEG_INFINITY,
            sign: F::ZERO,
        });
    };
    let top = if by_min { F::NEG_INFINITY } else { F::INFINITY };
    if m == top {
        let total: f64 = kept()
            .filter(|(v, _)| *v == m)
            .map(|(_, w)| w.to_f64())
            .sum();
        if total == 0.0 || total.is_nan() {
            return Ok(nan);
        }
        return Ok(signed(total, f64::INFINITY));
    }
    if m == -top {
        // Every kept entry is at the bottom: every term is 0.
        return Ok(SignedLog {
            log_abs: F::NEG_INFINITY,
            sign: F::ZERO,
        });
    }
    // Sum of every term but the first maximum's, relative to its weight,
    // so that the common all-positive case keeps log1p's accuracy.
    let mut rest = 0.0f64;
    let mut skipped = false;
    for (v, w) in kept() {
        if !skipped && v == m && w == wm {
            skipped = true;
            continue;
        }
        rest += w.to_f64() * scaling.apply(v, m).exp().to_f64();
    }
    let wm = wm.to_f64();
    let t = rest / wm;
    let total = wm + rest;
    let log_abs = if t > -1.0 {
        wm.abs().ln() + t.ln_1p()
    } else {
        total.abs().ln()
    };
    let shift = shift_f64(scaling, m);
    Ok(signed(total, shift + log_abs))
}
