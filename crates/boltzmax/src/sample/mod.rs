//! Categorical sampling from logits.
//!
//! Every sampler here draws from `softmax(logits / T)` (or
//! `softmax(beta logits)`) as the core [`crate::softmax_with`] defines it,
//! with randomness injected as a `rand::Rng`:
//!
//! - [`Categorical`]: inverse CDF. O(n) setup, O(log n) per draw; implements
//!   [`rand::distr::Distribution<usize>`].
//! - [`gumbel_max`]: one draw in one pass, no exponentials, no normaliser.
//! - [`exponential_race`]: the first of exponential clocks `E_i / p_i`.
//! - [`AliasTable`]: Vose's alias method, O(1) draws (one `u64` each) from
//!   one fixed distribution.
//! - [`GumbelSoftmax`]: the relaxed one-hot sample, straight-through
//!   hard option, forward and backward.
//! - [`Chain`]: the decoding chain (temperature, top-k, top-p, min-p,
//!   typical in a stated order, or greedy), giving the [`Kept`] set, its
//!   renormalised probabilities and a draw.
//!
//! # Reproducibility
//!
//! Use [`PortableRng`] (xoshiro256++) and [`stream_rng`]`(seed, stream)`:
//! one stream per row (or environment, or chain) makes results independent
//! of the number of threads. Uniforms come from our own conversion
//! [`open01`] (53 bits, open interval), not from `rand`'s, so pinned draws
//! do not move when `rand` changes. Each sampler documents how many
//! `u64`s a draw consumes.
//!
//! # Errors, not NaN draws
//!
//! Constructors validate: an empty row, a NaN logit
//! ([`crate::Error::NanLogit`]), a row with every entry -inf or masked,
//! and two or more +inf logits ([`crate::Error::NothingToSample`]) are
//! errors; drawing from a validated sampler cannot fail.
//!
//! ```
//! use boltzmax::Params;
//! use boltzmax::sample::{Categorical, gumbel_max, stream_rng};
//! use rand::distr::Distribution;
//!
//! let logits = [2.0_f32, 1.0, 0.5, -1.0];
//! let params = Params::temperature(0.7).unwrap();
//! let mut rng = stream_rng(2024, 0);
//!
//! let c = Categorical::new(&logits, &params).unwrap();
//! let a = c.sample(&mut rng);
//! let b = gumbel_max(&logits, &params, &mut rng).unwrap();
//! assert!(a < 4 && b < 4);
//! ```

mod alias;
mod categorical;
mod chain;
mod check;
mod gumbel;
mod gumbel_softmax;
mod race;
mod rng;

pub use alias::AliasTable;
pub use categorical::Categorical;
pub use chain::{Chain, ChainConfig, Kept, Order, Stage};
pub use gumbel::gumbel_max;
pub use gumbel_softmax::GumbelSoftmax;
pub use race::{exponential_race, exponential_race_weights};
pub use rng::{
    PortableRng, SplitMix64, Xoshiro256PlusPlus, exponential, gumbel, open01, open01_f32,
    stream_rng, uniform,
};
