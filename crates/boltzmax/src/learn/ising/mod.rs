//! The Ising model: exact references, samplers and observables.
//!
//! - [`exact`]: Onsager's infinite-lattice results, Kaufman's exact finite
//!   periodic lattice, brute-force enumeration and the chain's transfer
//!   matrix.
//! - [`Lattice`] and [`Model`] (J, h, T); [`Sweeper`] applies one of the
//!   [`Algorithm`]s (checkerboard Metropolis, heat bath, Wolff).
//! - [`simulate`] runs one temperature and [`analyze`]s the per-sweep
//!   series into [`Observables`] (E, C, m, |m|, chi, Binder cumulant, with
//!   jackknife error bars and integrated autocorrelation times);
//!   [`temperature_sweep`] runs many temperatures in parallel and
//!   [`parallel_tempering`] exchanges replicas between them.
//! - [`PackedLattice`]: the multi-spin-coded Metropolis sweep (64 spins
//!   per word), for large lattices at h = 0.
//! - [`simulate_chain`]: the periodic chain, against its transfer matrix.
//!
//! Randomness: every run draws from a xoshiro256++ stream derived from
//! `(seed, stream)`; the outputs for a seed are the same on every platform
//! and for any number of threads (but may change between boltzmax
//! versions).
//!
//! ```
//! use boltzmax::learn::ising::{Algorithm, Model, RunConfig, simulate, exact::DensityOfStates};
//! let cfg = RunConfig { l: 4, algorithm: Algorithm::Metropolis, thermalize: 1000, sweeps: 40_000, blocks: 40, seed: 1 };
//! let run = simulate(&cfg, Model::new(1.0, 0.0, 2.5).unwrap(), 0, &|_| {}).unwrap();
//! let exact = DensityOfStates::square(4, 4).unwrap().thermal(1.0, 0.0, 2.5).unwrap();
//! assert!(run.observables.energy.z_score(exact.energy) < 4.0);
//! ```

mod chain;
pub mod exact;
mod jet;
mod lattice;
mod msc;
mod rng;
mod run;
mod stats;
mod update;

pub use chain::simulate_chain;
pub use lattice::{Lattice, Model};
pub use msc::{MetropolisTable, PackedLattice};
pub use run::{Run, RunConfig, Tempering, parallel_tempering, simulate, temperature_sweep};
pub use stats::{Estimate, Observables, analyze, binning_errors, tau_int};
pub use update::{Algorithm, Sweeper};
