//! A streaming logsumexp accumulator that merges partial results
//! (the online-normalizer rule of Milakov and Gimelshein, 2018).
//!
//! [`LogSumExp`] keeps the running shift `m` (the maximum, or the minimum
//! for a negative beta) and `s = sum over i != argmax of exp(z_i)` with
//! `z_i = scale(x_i - m)`. When a larger value `m'` arrives, every term is
//! rescaled at once: `s' = (s + 1) exp(scale(m - m'))` (the old maximum
//! becomes an ordinary term). Two accumulators merge the same way, so a row
//! too long to hold, or split across threads, gives the same value as
//! [`crate::logsumexp_with`] on the whole row within a few ulp, and
//! `value() = scale(m) + log1p(s)` keeps the accuracy of the batch form.
//!
//! It follows the convention table of [`crate::softmax`](mod@crate::softmax): nothing pushed
//! (or only -inf) gives -inf, any +inf gives +inf, any NaN gives NaN, and
//! `beta = 0` gives `ln n`.
//!
//! ```
//! use boltzmax::stream::LogSumExp;
//! let x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 30.0).collect();
//! let mut a = LogSumExp::new();
//! a.push_slice(&x[..300]);
//! let mut b = LogSumExp::new();
//! for &v in &x[300..] {
//!     b.push(v);
//! }
//! a.merge(&b).unwrap();
//! let whole = boltzmax::logsumexp(&x);
//! assert!((a.value() - whole).abs() <= 4.0 * f64::EPSILON * whole.abs());
//! ```

use crate::error::{Error, Result};
use crate::kernel::Scaling;
use crate::params::Params;
use crate::real::Real;
use crate::softmax::shift_f64;

/// Streaming logsumexp of the scaled values pushed so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogSumExp<F> {
    scaling: Scaling<F>,
    /// Values pushed (for `beta = 0`, where the answer is `ln n`).
    n: usize,
    nan: bool,
    /// A value at the top of the scaled range (+inf, or -inf for a
    /// negative beta) was pushed.
    top: bool,
    /// The shift: the best finite value so far, or the bottom of the range
    /// while there is none.
    m: F,
    /// Sum over every value but one copy of `m` of `exp(scale(x - m))`.
    s: f64,
}

impl<F: Real> Default for LogSumExp<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Real> LogSumExp<F> {
    /// An empty accumulator at temperature 1.
    pub fn new() -> Self {
        Self::with_params(&Params::default())
    }

    /// An empty accumulator of `ln sum exp(x_i / T)` (or `beta x_i`) for the
    /// scale in `params` (its undefined-rows policy plays no role here).
    ///
    /// ```
    /// use boltzmax::{Params, stream::LogSumExp};
    /// let p = Params::temperature(0.5_f64).unwrap();
    /// let mut a = LogSumExp::with_params(&p);
    /// a.push_slice(&[1.0, 2.0]);
    /// assert_eq!(a.value(), boltzmax::logsumexp_with(&[1.0, 2.0], &p));
    /// ```
    pub fn with_params(params: &Params<F>) -> Self {
        let scaling = params.scale.scaling();
        LogSumExp {
            scaling,
            n: 0,
            nan: false,
            top: false,
            m: Self::bottom_for(scaling),
            s: 0.0,
        }
    }

    fn bottom_for(scaling: Scaling<F>) -> F {
        if scaling.shifts_by_min() {
            F::INFINITY
        } else {
            F::NEG_INFINITY
        }
    }

    fn bottom(&self) -> F {
        Self::bottom_for(self.scaling)
    }

    /// True when `a` is strictly better (larger, or smaller for a negative
    /// beta) than `b`.
    #[inline]
    fn better(&self, a: F, b: F) -> bool {
        if self.scaling.shifts_by_min() {
            a < b
        } else {
            a > b
        }
    }

    /// `exp(scale(x - m))` in f64 for `x` no better than `m`.
    #[inline]
    fn term(&self, x: F, m: F) -> f64 {
        self.scaling.apply(x, m).to_f64().exp()
    }

    /// Folds in a finite shift `m2` with its rest-sum `s2`.
    fn combine(&mut self, m2: F, s2: f64) {
        if self.m == self.bottom() {
            self.m = m2;
            self.s = s2;
        } else if self.better(m2, self.m) {
            self.s = (self.s + 1.0) * self.term(self.m, m2) + s2;
            self.m = m2;
        } else {
            self.s += (s2 + 1.0) * self.term(m2, self.m);
        }
    }

    /// Adds one value.
    pub fn push(&mut self, x: F) {
        self.n += 1;
        if self.scaling == Scaling::Uniform {
            self.nan |= x.is_nan();
            return;
        }
        if x.is_nan() {
            self.nan = true;
        } else if x == -self.bottom() {
            self.top = true;
        } else if x != self.bottom() {
            self.combine(x, 0.0);
        }
    }

    /// Adds every value of a slice (one pass of the run-time kernels).
    pub fn push_slice(&mut self, x: &[F]) {
        self.n += x.len();
        let k = F::kernels();
        let by_min = self.scaling.shifts_by_min();
        let m = if by_min { (k.min)(x) } else { (k.max)(x) };
        if m.is_nan() {
            self.nan = true;
            return;
        }
        if self.scaling == Scaling::Uniform || x.is_empty() || m == self.bottom() {
            return;
        }
        if m == -self.bottom() {
            self.top = true;
            return;
        }
        let e = (k.exp_sum)(x, m, self.scaling);
        self.combine(m, e.rest());
    }

    /// Folds in another accumulator, as if its values had been pushed here.
    ///
    /// Errors if the two were built with different scales.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if other.scaling != self.scaling {
            return Err(Error::InvalidParameter {
                name: "scale",
                reason: format!(
                    "cannot merge accumulators of different scales ({:?} and {:?})",
                    self.scaling, other.scaling
                ),
            });
        }
        self.n += other.n;
        self.nan |= other.nan;
        self.top |= other.top;
        if other.m != other.bottom() {
            self.combine(other.m, other.s);
        }
        Ok(())
    }

    /// Number of values pushed (merged ones included).
    pub fn count(&self) -> usize {
        self.n
    }

    /// The logsumexp of everything pushed so far.
    ///
    /// ```
    /// use boltzmax::stream::LogSumExp;
    /// let mut a = LogSumExp::<f32>::new();
    /// assert_eq!(a.value(), f32::NEG_INFINITY);
    /// a.push(f32::INFINITY);
    /// assert_eq!(a.value(), f32::INFINITY);
    /// a.push(f32::NAN);
    /// assert!(a.value().is_nan());
    /// ```
    pub fn value(&self) -> F {
        if self.nan {
            F::NAN
        } else if self.scaling == Scaling::Uniform {
            if self.n == 0 {
                F::NEG_INFINITY
            } else {
                F::from_f64((self.n as f64).ln())
            }
        } else if self.top {
            F::INFINITY
        } else if self.m == self.bottom() {
            F::NEG_INFINITY
        } else {
            F::from_f64(shift_f64(self.scaling, self.m) + self.s.ln_1p())
        }
    }
}

impl<F: Real> Extend<F> for LogSumExp<F> {
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for x in iter {
            self.push(x);
        }
    }
}

impl<F: Real> FromIterator<F> for LogSumExp<F> {
    /// The accumulator at temperature 1 of every value of the iterator.
    ///
    /// ```
    /// use boltzmax::stream::LogSumExp;
    /// let a: LogSumExp<f64> = [0.0, 0.0].into_iter().collect();
    /// assert_eq!(a.value(), 2f64.ln());
    /// ```
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut a = Self::new();
        a.extend(iter);
        a
    }
}
