//! Temperature, inverse temperature and the options every softmax call takes.

use crate::error::{Error, Result};
use crate::real::Real;

/// A validated temperature: finite and strictly positive.
///
/// Subnormal temperatures are valid. boltzmax never precomputes `1/T`
/// (which overflows for T below about 5.6e-309 in f64): it divides the
/// shifted logits by T, so T -> 0 gives the argmax limit with ties sharing
/// the mass.
///
/// ```
/// use boltzmax::Temperature;
/// assert!(Temperature::new(0.5_f64).is_ok());
/// assert!(Temperature::new(1e-310_f64).is_ok()); // subnormal: valid
/// assert!(Temperature::new(0.0_f64).is_err());
/// assert!(Temperature::new(-1.0_f32).is_err());
/// assert!(Temperature::new(f64::NAN).is_err());
/// assert!(Temperature::new(f64::INFINITY).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Temperature<F>(F);

impl<F: Real> Temperature<F> {
    /// Checks that `t` is finite and > 0.
    pub fn new(t: F) -> Result<Self> {
        if t.is_finite() && t > F::ZERO {
            Ok(Temperature(t))
        } else {
            Err(Error::InvalidTemperature {
                value: format!("{t}"),
            })
        }
    }

    /// The value.
    #[inline]
    pub fn get(self) -> F {
        self.0
    }
}

/// A validated inverse temperature `beta = 1/T`: any finite value.
///
/// `beta = 0` is the infinite-temperature limit (uniform over the kept
/// entries, whatever their values); a negative beta tilts the
/// distribution toward the smallest entries.
///
/// ```
/// use boltzmax::Beta;
/// assert!(Beta::new(0.0_f64).is_ok());
/// assert!(Beta::new(-2.0_f64).is_ok());
/// assert!(Beta::new(f64::INFINITY).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Beta<F>(F);

impl<F: Real> Beta<F> {
    /// Checks that `beta` is finite.
    pub fn new(beta: F) -> Result<Self> {
        if beta.is_finite() {
            Ok(Beta(beta))
        } else {
            Err(Error::InvalidBeta {
                value: format!("{beta}"),
            })
        }
    }

    /// The value.
    #[inline]
    pub fn get(self) -> F {
        self.0
    }
}

/// How logits are scaled before the exponential: divided by a temperature
/// or multiplied by an inverse temperature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale<F> {
    /// `softmax(x / T)`.
    Temperature(Temperature<F>),
    /// `softmax(beta * x)`.
    Beta(Beta<F>),
}

impl<F: Real> Default for Scale<F> {
    fn default() -> Self {
        Scale::Beta(Beta(F::ONE))
    }
}

impl<F: Real> Scale<F> {
    /// The scaling the kernels apply to a shifted logit `x - m`.
    #[inline]
    pub(crate) fn scaling(self) -> Scaling<F> {
        match self {
            Scale::Temperature(t) if t.0 == F::ONE => Scaling::One,
            Scale::Temperature(t) => Scaling::Div(t.0),
            Scale::Beta(b) if b.0 == F::ONE => Scaling::One,
            Scale::Beta(b) if b.0 == F::ZERO => Scaling::Uniform,
            Scale::Beta(b) => Scaling::Mul(b.0),
        }
    }
}

/// The scaling as the kernels see it: `z = (x - m) / t`, `(x - m) * b`, or
/// `x - m`. The shift `m` is the maximum of the row, or its minimum when
/// `b < 0`, so that `z <= 0` always.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scaling<F> {
    /// `z = x - m`.
    One,
    /// `z = (x - m) / t`, with `t` finite and > 0.
    Div(F),
    /// `z = (x - m) * b`, with `b` finite and nonzero.
    Mul(F),
    /// `beta = 0`: every kept entry gets the same weight.
    Uniform,
}

impl<F: Real> Scaling<F> {
    /// True when the shift is the row's minimum (a negative beta).
    #[inline]
    pub fn shifts_by_min(self) -> bool {
        matches!(self, Scaling::Mul(b) if b < F::ZERO)
    }

    /// [`Scaling::apply`] with the operands and the scale widened to f64
    /// (`Uniform` counting as `One`): the exponent of the factor that moves
    /// a block stored relative to one shift to another.
    #[inline(always)]
    pub(crate) fn apply_f64(self, x: F, m: F) -> f64 {
        let s = match self {
            Scaling::One | Scaling::Uniform => Scaling::One,
            Scaling::Div(t) => Scaling::Div(t.to_f64()),
            Scaling::Mul(b) => Scaling::Mul(b.to_f64()),
        };
        s.apply(x.to_f64(), m.to_f64())
    }

    /// `z = scale(x - m)`, falling back to `scale(x) - scale(m)` where the
    /// subtraction overflows but the scaled difference may not.
    #[inline(always)]
    pub fn apply(self, x: F, m: F) -> F {
        let d = x - m;
        match self {
            Scaling::One | Scaling::Uniform => d,
            Scaling::Div(t) => {
                if d.is_infinite() && x.is_finite() && m.is_finite() {
                    x / t - m / t
                } else {
                    d / t
                }
            }
            Scaling::Mul(b) => {
                if d.is_infinite() && x.is_finite() && m.is_finite() {
                    x * b - m * b
                } else {
                    d * b
                }
            }
        }
    }

    /// `scale(m)`: the shift in the scaled units, as added back by
    /// logsumexp.
    #[inline]
    pub fn apply_to_shift(self, m: F) -> F {
        match self {
            Scaling::One | Scaling::Uniform => m,
            Scaling::Div(t) => m / t,
            Scaling::Mul(b) => m * b,
        }
    }
}

/// What softmax and log-softmax return for a row with no defined answer:
/// every kept entry -inf (in the scaled sense), or every entry masked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UndefinedRows {
    /// NaN everywhere in the row (the default: 0/0 is not silently 0).
    #[default]
    Nan,
    /// Zeros from softmax and -inf from log-softmax, as attention code
    /// with fully masked rows wants.
    Zeros,
}

/// The options every softmax, log-softmax and logsumexp call takes.
///
/// ```
/// use boltzmax::{Params, softmax_with};
/// let p = Params::temperature(2.0_f64).unwrap();
/// let y = softmax_with(&[0.0, 2.0_f64.ln() * 2.0], &p);
/// assert!((y[1] - 2.0 / 3.0).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params<F> {
    /// Temperature or inverse temperature (default: beta = 1).
    pub scale: Scale<F>,
    /// The answer for rows without one (default: NaN).
    pub undefined_rows: UndefinedRows,
}

impl<F: Real> Default for Params<F> {
    fn default() -> Self {
        Params {
            scale: Scale::default(),
            undefined_rows: UndefinedRows::Nan,
        }
    }
}

impl<F: Real> Params<F> {
    /// Temperature 1, NaN for undefined rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Divide the logits by a temperature `t` (finite, > 0).
    pub fn temperature(t: F) -> Result<Self> {
        Ok(Params {
            scale: Scale::Temperature(Temperature::new(t)?),
            ..Self::default()
        })
    }

    /// Multiply the logits by an inverse temperature `beta` (finite).
    pub fn beta(beta: F) -> Result<Self> {
        Ok(Params {
            scale: Scale::Beta(Beta::new(beta)?),
            ..Self::default()
        })
    }

    /// The same parameters with another policy for undefined rows.
    pub fn with_undefined_rows(self, policy: UndefinedRows) -> Self {
        Params {
            undefined_rows: policy,
            ..self
        }
    }
}
