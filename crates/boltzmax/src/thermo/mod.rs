//! Statistical mechanics on the softmax engine: units and constants, ensembles of levels, thermodynamics and temperature sweeps.
//!
//! - [`Units`] pairs an [`EnergyUnit`] (J, J/mol, kJ/mol, kcal/mol, eV,
//!   meV, hartree, cm^-1, K, kT) with a [`Constants`] set (exact SI 2019
//!   with the CODATA 2018 hartree, or GoodVibes' values) and converts
//!   energies to `E/kT`, once, at the edge.
//! - [`Ensemble`] holds levels with degeneracies, symmetry numbers and
//!   named property columns; [`Ensemble::at`] gives a [`Thermo`]:
//!   populations (a softmax), `ln Z` (a logsumexp), `U`, `S`, `F`, `C_v`
//!   (a variance), `S_conf`, property averages, and the three "ensemble
//!   free energies" of GoodVibes, CENSO and CREST by name
//!   ([`EnsembleFreeEnergies`]).
//! - [`Sweep`] lists temperatures (linear or log spaced) and
//!   [`Ensemble::sweep`] evaluates them in parallel, reproducibly.
//!
//! Thermodynamics are computed in `f64` only: they are used on small
//! ensembles where the cost is nothing and the digits matter.
//!
//! ```
//! use boltzmax::thermo::{Constants, EnergyUnit, Ensemble, Units};
//!
//! // Three conformers (hartree), as a CREST ensemble file lists them.
//! let units = Units::new(EnergyUnit::Hartree, Constants::CODATA2018);
//! let ens = Ensemble::new(vec![-40.123456, -40.122800, -40.121000], units)?;
//! let t = ens.at(298.15)?;
//! assert!((t.populations.iter().sum::<f64>() - 1.0).abs() < 1e-15);
//! assert!(t.populations[0] > t.populations[1] && t.populations[1] > t.populations[2]);
//! let g = t.ensemble_free_energies();
//! assert!((g.partition - (g.boltzmann_average + g.minus_t_s_conf)).abs() < 1e-15);
//! # Ok::<(), boltzmax::Error>(())
//! ```

pub mod ensemble;
pub mod sweep;
pub mod units;

pub use ensemble::{Ensemble, EnsembleFreeEnergies, Property, PropertyAverage, Reference, Thermo};
pub use sweep::Sweep;
pub use units::{Basis, Constants, EnergyUnit, STANDARD_TEMPERATURE, Units, si};
