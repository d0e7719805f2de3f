//! An ensemble of levels (conformers, states) and its thermodynamics at one
//! temperature.
//!
//! With `x_i = (E_i - E_min) / kT` and weights `w_i = g_i / sigma_i`
//! (degeneracy over symmetry number), everything is a softmax or a moment
//! of it:
//!
//! | quantity | formula | field of [`Thermo`] |
//! |---|---|---|
//! | populations | `p = softmax(-x + ln w)` | `populations` |
//! | partition function | `ln Z = logsumexp(-x + ln w) + (E_ref - E_min)/kT` | `ln_z`, `z` |
//! | internal energy | `U - E_ref = kT <x> - (E_ref - E_min)` | `mean_energy` |
//! | Helmholtz energy | `F - E_ref = -kT ln Z` | `free_energy` |
//! | entropy | `S/k = ln Z + (U - E_ref)/kT` | `entropy` |
//! | heat capacity | `C_v/k = Var(x)` (two passes, shifted) | `heat_capacity` |
//! | conformational entropy | `S_conf/k = -sum p ln(p/w)` | `conformational_entropy` |
//!
//! Energies are only ever subtracted from the minimum (in the user's
//! unit, where close values subtract exactly) and then multiplied by
//! `1/kT`: an offset of 1e6 kJ/mol on every level changes nothing but the
//! last bits of the relative energies. Variances are taken about the mean
//! in a second pass (with the first pass's residual removed), never as
//! `<x^2> - <x>^2`.
//!
//! For levels with fixed energies `S = S_conf` identically; they differ
//! when the "energies" are themselves free energies G_i(T) of conformers,
//! where `S_conf` is the mixing entropy alone. See
//! [`EnsembleFreeEnergies`] for the three "ensemble free energies" that
//! chemistry programs print.
//!
//! ```
//! use boltzmax::thermo::{Constants, EnergyUnit, Ensemble, Units};
//!
//! // Two conformers 1 kcal/mol apart, the upper one doubly degenerate.
//! let units = Units::new(EnergyUnit::KilocaloriePerMole, Constants::CODATA2018);
//! let ens = Ensemble::new(vec![0.0, 1.0], units)?.with_degeneracies(vec![1.0, 2.0])?;
//! let t = ens.at(298.15)?;
//! let rt: f64 = 0.592_484_949_713_764; // kcal/mol
//! let b = 2.0 * (-1.0 / rt).exp();
//! assert!((t.populations[1] - b / (1.0 + b)).abs() < 1e-14);
//! assert!((t.entropy - t.conformational_entropy).abs() < 1e-14);
//! # Ok::<(), boltzmax::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::params::Params;
use crate::softmax::{log_softmax_with, logsumexp_with, softmax_with};
use crate::thermo::units::Units;

/// The zero of energy that relative energies, `ln Z`, `U` and `F` refer to.
/// Populations, entropies and heat capacities do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Reference {
    /// The lowest level (the default: what chemists tabulate).
    #[default]
    Minimum,
    /// The level with this index.
    Level(usize),
    /// A given energy, in the ensemble's unit.
    Value(f64),
    /// The energies as given (absolute): the same as `Value(0.0)`.
    Absolute,
}

/// A named column of per-level values (a dipole moment, a shift, ...)
/// whose Boltzmann-weighted mean and standard deviation [`Thermo`]
/// reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// The column's name.
    pub name: String,
    /// One value per level.
    pub values: Vec<f64>,
}

/// The Boltzmann-weighted mean and standard deviation of a [`Property`].
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyAverage {
    /// The column's name.
    pub name: String,
    /// `sum p_i v_i`.
    pub mean: f64,
    /// `sqrt(sum p_i (v_i - mean)^2)` (two passes).
    pub std: f64,
}

/// Levels with energies, degeneracies, symmetry numbers and properties,
/// in one energy unit.
///
/// Built with [`Ensemble::new`] and the `with_*` methods, each of which
/// validates its input and names the offending level in the error.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    energies: Vec<f64>,
    degeneracies: Vec<f64>,
    symmetry_numbers: Vec<f64>,
    /// `ln(g_i / sigma_i)`, kept in sync with the two above.
    ln_weights: Vec<f64>,
    properties: Vec<Property>,
    units: Units,
    reference: Reference,
    min_index: usize,
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

fn check_positive(what: &str, values: &[f64]) -> Result<()> {
    for (index, &v) in values.iter().enumerate() {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::InvalidLevel {
                index,
                what: what.to_string(),
                expected: "finite and > 0",
                value: format!("{v}"),
            });
        }
    }
    Ok(())
}

fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    for (index, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::InvalidLevel {
                index,
                what: what.to_string(),
                expected: "finite",
                value: format!("{v}"),
            });
        }
    }
    Ok(())
}

impl Ensemble {
    /// Levels with these energies (in `units`), each with degeneracy 1 and
    /// symmetry number 1. Errors on an empty list or a non-finite energy.
    pub fn new(energies: Vec<f64>, units: Units) -> Result<Self> {
        if energies.is_empty() {
            return Err(Error::InvalidParameter {
                name: "energies",
                reason: "an ensemble needs at least one level".to_string(),
            });
        }
        check_finite("energy", &energies)?;
        let n = energies.len();
        let mut min_index = 0;
        for (i, e) in energies.iter().enumerate() {
            if *e < energies[min_index] {
                min_index = i;
            }
        }
        Ok(Ensemble {
            energies,
            degeneracies: vec![1.0; n],
            symmetry_numbers: vec![1.0; n],
            ln_weights: vec![0.0; n],
            properties: Vec::new(),
            units,
            reference: Reference::Minimum,
            min_index,
        })
    }

    /// Sets the degeneracies `g_i` (finite and > 0; need not be integers,
    /// so that a level can stand for a group of near-degenerate ones).
    pub fn with_degeneracies(mut self, g: Vec<f64>) -> Result<Self> {
        check_len("degeneracies", g.len(), self.len())?;
        check_positive("degeneracy", &g)?;
        self.degeneracies = g;
        self.update_weights();
        Ok(self)
    }

    /// Sets the symmetry numbers `sigma_i` (finite and > 0): each level's
    /// weight is `g_i / sigma_i`, as a rotational symmetry number divides
    /// the rotational partition function.
    pub fn with_symmetry_numbers(mut self, sigma: Vec<f64>) -> Result<Self> {
        check_len("symmetry numbers", sigma.len(), self.len())?;
        check_positive("symmetry number", &sigma)?;
        self.symmetry_numbers = sigma;
        self.update_weights();
        Ok(self)
    }

    /// Adds a named property column (one finite value per level).
    pub fn with_property(mut self, name: impl Into<String>, values: Vec<f64>) -> Result<Self> {
        let name = name.into();
        check_len("property", values.len(), self.len())?;
        check_finite(&name, &values)?;
        self.properties.push(Property { name, values });
        Ok(self)
    }

    /// Sets the zero of energy (default: the minimum).
    pub fn with_reference(mut self, reference: Reference) -> Result<Self> {
        match reference {
            Reference::Level(i) if i >= self.len() => {
                return Err(Error::InvalidParameter {
                    name: "reference",
                    reason: format!("level {i} does not exist ({} levels)", self.len()),
                });
            }
            Reference::Value(v) if !v.is_finite() => {
                return Err(Error::InvalidParameter {
                    name: "reference",
                    reason: format!("reference energy must be finite, got {v}"),
                });
            }
            _ => {}
        }
        self.reference = reference;
        Ok(self)
    }

    fn update_weights(&mut self) {
        self.ln_weights = self
            .degeneracies
            .iter()
            .zip(&self.symmetry_numbers)
            .map(|(g, s)| (g / s).ln())
            .collect();
    }

    /// Number of levels (at least 1).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.energies.len()
    }

    /// The energies as given.
    pub fn energies(&self) -> &[f64] {
        &self.energies
    }

    /// The degeneracies.
    pub fn degeneracies(&self) -> &[f64] {
        &self.degeneracies
    }

    /// The symmetry numbers.
    pub fn symmetry_numbers(&self) -> &[f64] {
        &self.symmetry_numbers
    }

    /// The property columns.
    pub fn properties(&self) -> &[Property] {
        &self.properties
    }

    /// The units energies are in.
    pub fn units(&self) -> &Units {
        &self.units
    }

    /// The reference policy.
    pub fn reference(&self) -> Reference {
        self.reference
    }

    /// Index of the lowest level (the first, among ties).
    pub fn min_index(&self) -> usize {
        self.min_index
    }

    /// The reference energy `E_ref` in the ensemble's unit.
    pub fn reference_energy(&self) -> f64 {
        match self.reference {
            Reference::Minimum => self.energies[self.min_index],
            Reference::Level(i) => self.energies[i],
            Reference::Value(v) => v,
            Reference::Absolute => 0.0,
        }
    }

    /// `E_i - E_ref` for every level.
    pub fn relative_energies(&self) -> Vec<f64> {
        let r = self.reference_energy();
        self.energies.iter().map(|e| e - r).collect()
    }

    /// The levels with these indices (in this order), with their
    /// degeneracies, symmetry numbers and properties. A
    /// [`Reference::Level`] becomes the [`Reference::Value`] of that level,
    /// so relative energies keep their zero.
    pub fn select(&self, indices: &[usize]) -> Result<Ensemble> {
        for &i in indices {
            if i >= self.len() {
                return Err(Error::InvalidParameter {
                    name: "indices",
                    reason: format!("level {i} does not exist ({} levels)", self.len()),
                });
            }
        }
        let pick = |v: &[f64]| indices.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let mut out = Ensemble::new(pick(&self.energies), self.units)?
            .with_degeneracies(pick(&self.degeneracies))?
            .with_symmetry_numbers(pick(&self.symmetry_numbers))?;
        for p in &self.properties {
            out = out.with_property(p.name.clone(), pick(&p.values))?;
        }
        out.reference = match self.reference {
            Reference::Level(i) => Reference::Value(self.energies[i]),
            r => r,
        };
        Ok(out)
    }

    /// The indices of the levels at most `width` (in the ensemble's unit,
    /// finite and >= 0) above the minimum, in input order.
    pub fn window_indices(&self, width: f64) -> Result<Vec<usize>> {
        if !(width.is_finite() && width >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "window",
                reason: format!("energy window must be finite and >= 0, got {width}"),
            });
        }
        let emin = self.energies[self.min_index];
        Ok((0..self.len())
            .filter(|&i| self.energies[i] - emin <= width)
            .collect())
    }

    /// The thermodynamics at `kelvin` (finite, > 0).
    pub fn at(&self, kelvin: f64) -> Result<Thermo> {
        let beta = self.units.beta(kelvin)?;
        let kt = self.units.kt(kelvin)?;
        let emin = self.energies[self.min_index];
        // Dimensionless energies above the minimum: x_i >= 0, computed as
        // (E_i - E_min) * beta so that a common offset cancels exactly
        // before scaling.
        let x: Vec<f64> = self.energies.iter().map(|e| (e - emin) * beta).collect();
        let logits: Vec<f64> = x.iter().zip(&self.ln_weights).map(|(x, w)| w - x).collect();
        let params = Params::default();
        let populations = softmax_with(&logits, &params);
        let log_p = log_softmax_with(&logits, &params);
        let ln_z_min = logsumexp_with(&logits, &params);

        let (mean_x, var_x, k3_x) = moments(&populations, &x);
        // S_conf/k = -sum p (ln p - ln w); p = 0 contributes 0 (its limit).
        let s_conf = -sum(populations
            .iter()
            .zip(&log_p)
            .zip(&self.ln_weights)
            .filter(|((p, _), _)| **p > 0.0)
            .map(|((p, lp), lw)| p * (lp - lw)));

        let r = self.reference_energy() - emin; // E_ref - E_min, user unit
        // Measured from E_ref = E_min + r: ln Z' = ln Z_min + r / kT.
        let ln_z = ln_z_min + r * beta;
        let z = ln_z.exp();
        let properties = self
            .properties
            .iter()
            .map(|p| {
                let (mean, var, _) = moments(&populations, &p.values);
                PropertyAverage {
                    name: p.name.clone(),
                    mean,
                    std: var.sqrt(),
                }
            })
            .collect();
        Ok(Thermo {
            temperature: kelvin,
            kt,
            units: self.units,
            reference_energy: self.reference_energy(),
            populations,
            ln_z,
            z: (z.is_normal()).then_some(z),
            mean_energy: mean_x * kt - r,
            energy_std: var_x.sqrt() * kt,
            free_energy: -ln_z_min * kt - r,
            entropy: ln_z_min + mean_x,
            heat_capacity: var_x,
            third_cumulant: k3_x,
            conformational_entropy: s_conf,
            properties,
        })
    }
}

/// Neumaier's compensated sum: ensembles with many tiny populations keep
/// every digit of the large ones.
fn sum(it: impl Iterator<Item = f64>) -> f64 {
    let mut s = 0.0f64;
    let mut c = 0.0f64;
    for v in it {
        let t = s + v;
        if s.abs() >= v.abs() {
            c += (s - t) + v;
        } else {
            c += (v - t) + s;
        }
        s = t;
    }
    s + c
}

/// Weighted mean, variance and third central moment of `x` under `p`,
/// in two passes: the mean, then moments of `d = x - mean` with the first
/// pass's residual `sum p d` removed (the "corrected two-pass" algorithm of
/// Chan, Golub and LeVeque, 1983).
fn moments(p: &[f64], x: &[f64]) -> (f64, f64, f64) {
    let mean = sum(p.iter().zip(x).map(|(p, x)| p * x));
    let resid = sum(p.iter().zip(x).map(|(p, x)| p * (x - mean)));
    let var = sum(p.iter().zip(x).map(|(p, x)| p * (x - mean) * (x - mean))) - resid * resid;
    let m = mean + resid;
    let k3 = sum(p.iter().zip(x).map(|(p, x)| {
        let d = x - m;
        p * d * d * d
    }));
    (m, var.max(0.0), k3)
}

/// The thermodynamics of an [`Ensemble`] at one temperature.
///
/// Energies are in the ensemble's unit and relative to its reference
/// energy; entropies and heat capacities are in units of k (per particle)
/// or R (per mole); [`Thermo::energy_si`], [`Thermo::entropy_per_kelvin`]
/// and [`Thermo::entropy_si`] convert.
#[derive(Debug, Clone, PartialEq)]
pub struct Thermo {
    /// T in K.
    pub temperature: f64,
    /// kT in the ensemble's unit.
    pub kt: f64,
    /// The units of the ensemble.
    pub units: Units,
    /// The zero of the energies below, in the ensemble's unit.
    pub reference_energy: f64,
    /// `p_i`, summing to 1.
    pub populations: Vec<f64>,
    /// `ln Z` with energies measured from the reference.
    pub ln_z: f64,
    /// `Z = exp(ln Z)` when it is a normal f64 (neither overflows nor
    /// underflows), else `None`.
    pub z: Option<f64>,
    /// `U - E_ref = <E> - E_ref`: the Boltzmann-averaged energy (CENSO's
    /// averaged free energy when the inputs are free energies).
    pub mean_energy: f64,
    /// The standard deviation of the energy, `sqrt(Var E)`.
    pub energy_std: f64,
    /// `F - E_ref = -kT ln Z`.
    pub free_energy: f64,
    /// `S / k = ln Z + (U - E_ref)/kT`.
    pub entropy: f64,
    /// `C_v / k = Var(E) / (kT)^2`.
    pub heat_capacity: f64,
    /// The third cumulant of `E/kT`; `d(C_v/k)/dT = (kappa3 - 2 C_v/k) / T`.
    pub third_cumulant: f64,
    /// `S_conf / k = -sum p_i ln(p_i / w_i)` with `w_i = g_i / sigma_i`.
    pub conformational_entropy: f64,
    /// Weighted mean and standard deviation of each property column.
    pub properties: Vec<PropertyAverage>,
}

/// The three numbers that chemistry programs each call the "ensemble free
/// energy", in the ensemble's unit, relative to its reference. With
/// `G_i` the input energies:
///
/// - `partition = -kT ln sum w_i exp(-G_i/kT)`: GoodVibes' conformer-
///   corrected G ("gconf": Boltzmann-averaged G plus the mixing entropy
///   term), the thermodynamic free energy of the ensemble.
/// - `boltzmann_average = sum p_i G_i`: CENSO's Boltzmann-averaged free
///   energy (no mixing entropy).
/// - `minus_t_s_conf = -T S_conf`: what CREST (CREGEN) prints as "ensemble
///   free energy", the mixing term alone, next to the conformational
///   entropy.
///
/// They are tied by `partition = boltzmann_average + minus_t_s_conf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnsembleFreeEnergies {
    /// `-kT ln Z` (GoodVibes).
    pub partition: f64,
    /// `sum p G` (CENSO).
    pub boltzmann_average: f64,
    /// `-T S_conf` (CREST).
    pub minus_t_s_conf: f64,
}

impl Thermo {
    /// An energy in the ensemble's unit, in SI (J or J/mol).
    pub fn energy_si(&self, e: f64) -> f64 {
        e * self.units.si_size()
    }

    /// An entropy or heat capacity in units of k, in the ensemble's unit
    /// per kelvin (e.g. kcal/(mol K)).
    pub fn entropy_per_kelvin(&self, s_over_k: f64) -> f64 {
        s_over_k * self.kt / self.temperature
    }

    /// An entropy or heat capacity in units of k, in SI (J/K or
    /// J/(mol K)).
    pub fn entropy_si(&self, s_over_k: f64) -> f64 {
        s_over_k * self.units.si_boltzmann()
    }

    /// The three "ensemble free energies" (see [`EnsembleFreeEnergies`]).
    pub fn ensemble_free_energies(&self) -> EnsembleFreeEnergies {
        EnsembleFreeEnergies {
            partition: self.free_energy,
            boltzmann_average: self.mean_energy,
            minus_t_s_conf: -self.conformational_entropy * self.kt,
        }
    }

    /// `d(C_v/k)/dT` in 1/K, from the moments (no finite differences).
    pub fn heat_capacity_slope(&self) -> f64 {
        (self.third_cumulant - 2.0 * self.heat_capacity) / self.temperature
    }

    /// The smallest set of levels, most populated first, whose populations
    /// add up to at least `fraction` (in (0, 1]); ties in population keep
    /// input order. With `fraction = 1` every level is kept.
    pub fn cumulative_cutoff(&self, fraction: f64) -> Result<Vec<usize>> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(Error::InvalidParameter {
                name: "cutoff",
                reason: format!("cumulative population must be in (0, 1], got {fraction}"),
            });
        }
        let mut order: Vec<usize> = (0..self.populations.len()).collect();
        order.sort_by(|&a, &b| {
            self.populations[b]
                .total_cmp(&self.populations[a])
                .then(a.cmp(&b))
        });
        if fraction == 1.0 {
            return Ok(order);
        }
        let mut cum = 0.0;
        let mut keep = Vec::new();
        for i in order {
            keep.push(i);
            cum += self.populations[i];
            if cum >= fraction {
                break;
            }
        }
        Ok(keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thermo::units::{Constants, EnergyUnit};

    fn kelvin() -> Units {
        Units::new(EnergyUnit::Kelvin, Constants::CODATA2018)
    }

    #[test]
    fn validation_names_the_level() {
        let e = Ensemble::new(vec![0.0, f64::NAN], kelvin()).unwrap_err();
        assert!(matches!(e, Error::InvalidLevel { index: 1, .. }), "{e}");
        let e = Ensemble::new(vec![0.0, 1.0], kelvin())
            .unwrap()
            .with_degeneracies(vec![1.0, -2.0])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "level 1: degeneracy must be finite and > 0, got -2"
        );
        assert!(Ensemble::new(vec![], kelvin()).is_err());
        assert!(
            Ensemble::new(vec![0.0], kelvin())
                .unwrap()
                .with_property("mu", vec![1.0, 2.0])
                .is_err()
        );
        assert!(Ensemble::new(vec![0.0], kelvin()).unwrap().at(0.0).is_err());
    }

    #[test]
    fn cutoff_and_window() {
        let ens = Ensemble::new(vec![0.0, 100.0, 50.0, 400.0], kelvin()).unwrap();
        let t = ens.at(100.0).unwrap();
        // Populations: 1, e^-1, e^-0.5, e^-4 over their sum.
        assert_eq!(t.cumulative_cutoff(0.5).unwrap(), vec![0]);
        let keep = t.cumulative_cutoff(0.95).unwrap();
        assert_eq!(keep, vec![0, 2, 1]);
        assert_eq!(t.cumulative_cutoff(1.0).unwrap().len(), 4);
        assert!(t.cumulative_cutoff(0.0).is_err());
        assert_eq!(ens.window_indices(60.0).unwrap(), vec![0, 2]);
        let sub = ens.select(&[0, 2]).unwrap();
        assert_eq!(sub.energies(), &[0.0, 50.0]);
    }

    #[test]
    fn moments_two_pass_survive_a_huge_offset() {
        let p = [0.25, 0.5, 0.25];
        let x = [1e12 - 1.0, 1e12, 1e12 + 1.0];
        let (m, v, k3) = moments(&p, &x);
        assert_eq!(m, 1e12);
        assert_eq!(v, 0.5);
        assert_eq!(k3, 0.0);
    }
}
