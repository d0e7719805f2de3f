//! The library's error type.

use thiserror::Error;

/// Everything that can go wrong in a boltzmax call.
///
/// Each variant names the value or the place that is wrong, so that a
/// caller can print it as a one-line message.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A temperature that is zero, negative, infinite or NaN.
    #[error("temperature must be finite and > 0, got {value}")]
    InvalidTemperature {
        /// The rejected value, as written by `{}`.
        value: String,
    },
    /// An inverse temperature that is infinite or NaN.
    #[error("inverse temperature beta must be finite, got {value}")]
    InvalidBeta {
        /// The rejected value.
        value: String,
    },
    /// Two buffers that must have the same length do not.
    #[error("length mismatch: {what} has length {got}, expected {expected}")]
    LengthMismatch {
        /// Which argument is off ("out", "mask", "weights", ...).
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length it must have.
        expected: usize,
    },
    /// An axis outside `-ndim..ndim`.
    #[error("axis {axis} is out of range for an array of {ndim} dimensions")]
    AxisOutOfRange {
        /// The axis as given (negative counts from the end).
        axis: isize,
        /// The array's number of dimensions.
        ndim: usize,
    },
    /// Two arrays whose shapes must agree do not.
    #[error("shape mismatch: {what} has shape {got:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Which argument is off.
        what: &'static str,
        /// Its shape.
        got: Vec<usize>,
        /// The shape it must have.
        expected: Vec<usize>,
    },
    /// A class label that is not below the number of classes.
    #[error("row {row}: label {label} is out of range for {classes} classes")]
    LabelOutOfRange {
        /// The row (sample) index.
        row: usize,
        /// The label found there.
        label: usize,
        /// The number of classes `k`.
        classes: usize,
    },
    /// A NaN logit where a sampler needs every kept logit to be a number.
    #[error("logit at index {index} is NaN")]
    NanLogit {
        /// Index of the first NaN logit.
        index: usize,
    },
    /// A row a sampler cannot draw from: empty, every entry masked or
    /// -inf, or several +inf logits (whose probabilities are undefined).
    #[error("nothing to sample: {reason}")]
    NothingToSample {
        /// Why, naming the values involved.
        reason: String,
    },
    /// A value outside the domain of a parameter (a probability outside
    /// (0, 1], a zero count, ...).
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A level of an ensemble with a value outside its domain: a
    /// non-finite energy or property, a degeneracy or symmetry number that
    /// is not finite and > 0.
    #[error("level {index}: {what} must be {expected}, got {value}")]
    InvalidLevel {
        /// The level's index (0-based, in input order).
        index: usize,
        /// Which value ("energy", "degeneracy", a property's name, ...).
        what: String,
        /// What it must be ("finite", "finite and > 0").
        expected: &'static str,
        /// The rejected value.
        value: String,
    },
}

/// Shorthand for `Result<T, boltzmax::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
