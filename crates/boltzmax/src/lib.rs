//! # boltzmax
//!
//! The softmax function is the Boltzmann distribution:
//! `softmax(z / T)_i = exp(z_i / T) / sum_j exp(z_j / T)`, and with
//! `z = -E / k` it is `p_i = exp(-E_i / kT) / Z`, while logsumexp gives
//! `ln Z`. boltzmax is one engine for that identity.
//!
//! ## The core
//!
//! - [`softmax()`], [`log_softmax`], [`logsumexp`] on slices of `f32` or
//!   `f64`, each with `_with` (options), `_into` (a caller's buffer),
//!   `_in_place` and `_masked` forms, and [`logsumexp_weighted`] with
//!   scipy-style weights and a sign.
//! - [`Params`] carries a validated [`Temperature`] or inverse temperature
//!   [`Beta`], and the policy for rows with no defined answer.
//! - [`kernel`] holds the hot loops: a scalar reference and SIMD tables
//!   chosen at run time.
//!
//! - [`nd`]: the same along any axis of an n-dimensional array, with a
//!   [`nd::Par`] argument for threads.
//! - [`backward`]: vector-Jacobian products of softmax and log-softmax and
//!   the fused softmax cross-entropy.
//! - [`stream::LogSumExp`]: logsumexp of a stream, mergeable across
//!   chunks and threads.
//!
//! ## Users of the core
//!
//! - [`thermo`]: energy levels with units, degeneracies and symmetry
//!   numbers; populations, `ln Z`, U, S, F, C_v and conformational entropy,
//!   temperature sweeps (the chemist's conformer ensemble).
//! - [`sample`]: categorical draws (inverse CDF, Gumbel-max, exponential
//!   race, alias tables), the decoding chain (temperature, top-k, top-p,
//!   min-p, typical), Gumbel-softmax, portable seeded streams.
//! - [`learn`]: temperature scaling and calibration metrics, softmax
//!   regression, Boltzmann exploration in bandits and tabular RL, the Ising
//!   model and restricted Boltzmann machines, each checked against exact
//!   results or a peer library.
//!
//! Every edge case has one answer, listed in the [`softmax`](mod@softmax)
//! module's table (and, with the reasons and tests, in
//! `docs/conventions.md`); the accuracy bound is in `docs/accuracy.md`.
//!
//! ```
//! use boltzmax::{Params, softmax_with, logsumexp};
//!
//! // Boltzmann populations of three levels at kT = 0.5 (energies in kT units
//! // enter as negative logits).
//! let energies = [0.0_f64, 0.5, 1.0];
//! let logits: Vec<f64> = energies.iter().map(|e| -e).collect();
//! let p = softmax_with(&logits, &Params::temperature(0.5).unwrap());
//! assert!((p[0] - 1.0 / (1.0 + (-1.0f64).exp() + (-2.0f64).exp())).abs() < 1e-15);
//!
//! // ln Z at T = 1.
//! let ln_z = logsumexp(&logits);
//! assert!(ln_z > 0.0);
//! ```
#![deny(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

pub mod backward;
mod cols;
pub mod error;
pub mod kernel;
pub mod learn;
pub mod nd;
pub mod params;
pub mod real;
pub mod sample;
pub mod softmax;
pub mod stream;
pub mod thermo;

pub use error::{Error, Result};
pub use params::{Beta, Params, Scale, Scaling, Temperature, UndefinedRows};
pub use real::Real;
pub use softmax::{
    SignedLog, log_softmax, log_softmax_in_place, log_softmax_into, log_softmax_masked,
    log_softmax_masked_into, log_softmax_with, logsumexp, logsumexp_masked, logsumexp_weighted,
    logsumexp_with, softmax, softmax_in_place, softmax_into, softmax_masked, softmax_masked_into,
    softmax_with,
};
