//! The Ising model: exact references, samplers and observables.
//!
//! - [`exact`]: Onsager's infinite-lattice results, Kaufman's exact finite
//!   periodic lattice, brute-force enumeration and the chain's transfer
//!   matrix.

pub mod exact;
mod jet;
