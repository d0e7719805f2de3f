//! Energy units and the physical constants that relate them to kT.
//!
//! Every energy enters the engine as `E / kT`, converted once at the edge
//! by [`Units::beta`]. Two constant sets are provided:
//!
//! - [`Constants::CODATA2018`]: the exact SI 2019 defining constants
//!   (k_B, N_A, h, c, e) and the CODATA 2018 hartree energy. This is the
//!   default and the one to cite.
//! - [`Constants::GOODVIBES`]: the values hard-coded in GoodVibes 4.4
//!   (`goodvibes/constants.py`), so that its Boltzmann weights can be
//!   reproduced to the last digits. Its gas constant (8.3144621, CODATA
//!   2010) and hartree (627.509541 kcal/mol) differ from CODATA 2018 by
//!   6.2e-8 and 1.06e-7 relative, so GoodVibes' `E/kT` for energies in
//!   hartree is 1.7e-7 larger, which moves populations by ~1e-8 to 1e-7.
//!
//! Conversions go through molar quantities: one unit of energy is
//! [`Units::molar_size`] J/mol, and `E / kT = E * molar_size / (R T)`. For
//! the exact SI constants `R = k_B N_A`, so the per-particle and molar
//! routes agree; for GoodVibes' set (whose `k_B N_A != R`) the molar
//! route is the one GoodVibes itself takes (`J_TO_AU / GAS_CONSTANT / T`).
//!
//! ```
//! use boltzmax::thermo::{Constants, EnergyUnit, Units};
//!
//! let u = Units::new(EnergyUnit::KilocaloriePerMole, Constants::CODATA2018);
//! // RT at 298.15 K is 0.5924849... kcal/mol, so 1/beta is that.
//! let rt = 1.0 / u.beta(298.15).unwrap();
//! assert!((rt - 0.592_484_949_7).abs() < 1e-10);
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::params::Temperature;

/// Exact SI 2019 defining constants and CODATA 2018 values, in SI units.
pub mod si {
    /// Boltzmann constant k_B in J/K. Exact by the 2019 SI redefinition
    /// (BIPM, *The International System of Units*, 9th ed., 2019, table 1).
    pub const BOLTZMANN: f64 = 1.380_649e-23;
    /// Avogadro constant N_A in 1/mol. Exact (SI 2019, table 1).
    pub const AVOGADRO: f64 = 6.022_140_76e23;
    /// Planck constant h in J s. Exact (SI 2019, table 1).
    pub const PLANCK: f64 = 6.626_070_15e-34;
    /// Speed of light in vacuum c in m/s. Exact (SI 2019, table 1; fixed
    /// since 1983).
    pub const SPEED_OF_LIGHT: f64 = 299_792_458.0;
    /// Elementary charge e in C (so 1 eV = e J). Exact (SI 2019, table 1).
    pub const ELEMENTARY_CHARGE: f64 = 1.602_176_634e-19;
    /// Hartree energy E_h in J: 4.3597447222071(85)e-18. Measured, not
    /// exact: CODATA 2018 (Tiesinga et al., Rev. Mod. Phys. 93, 025010,
    /// 2021; NIST SP 961).
    pub const HARTREE: f64 = 4.359_744_722_207_1e-18;
    /// Thermochemical calorie in J: exactly 4.184 (NIST SP 811, B.8).
    pub const CALORIE: f64 = 4.184;
    /// Molar gas constant R = k_B N_A in J/(mol K): exact since 2019
    /// (8.314462618... ; this is the f64 nearest the product).
    pub const GAS_CONSTANT: f64 = BOLTZMANN * AVOGADRO;
}

/// A named, self-consistent set of physical constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constants {
    /// Short name (`"codata2018"`, `"goodvibes"`).
    pub name: &'static str,
    /// k_B in J/K.
    pub boltzmann: f64,
    /// N_A in 1/mol.
    pub avogadro: f64,
    /// R in J/(mol K), used for every conversion to kT.
    pub gas_constant: f64,
    /// h in J s.
    pub planck: f64,
    /// c in m/s.
    pub speed_of_light: f64,
    /// e in C.
    pub elementary_charge: f64,
    /// One hartree in J/mol.
    pub hartree_molar: f64,
    /// The calorie in J.
    pub calorie: f64,
}

impl Constants {
    /// The exact SI 2019 constants and the CODATA 2018 hartree (see
    /// [`si`]). The default.
    pub const CODATA2018: Constants = Constants {
        name: "codata2018",
        boltzmann: si::BOLTZMANN,
        avogadro: si::AVOGADRO,
        gas_constant: si::GAS_CONSTANT,
        planck: si::PLANCK,
        speed_of_light: si::SPEED_OF_LIGHT,
        elementary_charge: si::ELEMENTARY_CHARGE,
        hartree_molar: si::HARTREE * si::AVOGADRO,
        calorie: si::CALORIE,
    };

    /// The constants of GoodVibes 4.4 (`goodvibes/constants.py` and
    /// `thermo.py`): R = 8.3144621 J/(mol K), 1 hartree = 627.509541
    /// kcal/mol with the 4.184 J calorie (`J_TO_AU`), k_B = 1.3806488e-23,
    /// h = 6.62606957e-34, N_A = 6.0221415e23, c = 2.99792458e8 m/s.
    /// GoodVibes defines no elementary charge; the CODATA 2010 value
    /// 1.602176565e-19 C (the vintage of its R, k_B and h) stands in.
    pub const GOODVIBES: Constants = Constants {
        name: "goodvibes",
        boltzmann: 1.380_648_8e-23,
        avogadro: 6.022_141_5e23,
        gas_constant: 8.314_462_1,
        planck: 6.626_069_57e-34,
        speed_of_light: 2.997_924_58e8,
        elementary_charge: 1.602_176_565e-19,
        hartree_molar: 4.184 * 627.509_541 * 1000.0,
        calorie: 4.184,
    };
}

impl Default for Constants {
    fn default() -> Self {
        Constants::CODATA2018
    }
}

impl FromStr for Constants {
    type Err = Error;
    /// `codata2018` (or `codata`, `si`) and `goodvibes`.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "codata2018" | "codata" | "si" | "si2019" => Ok(Constants::CODATA2018),
            "goodvibes" => Ok(Constants::GOODVIBES),
            _ => Err(Error::InvalidParameter {
                name: "constants",
                reason: format!("unknown constant set {s:?} (expected codata2018 or goodvibes)"),
            }),
        }
    }
}

/// Whether an energy unit counts per particle (J, eV, hartree, ...) or per
/// mole (J/mol, kJ/mol, kcal/mol). It decides the SI unit of the outputs:
/// J and J/K, or J/mol and J/(mol K).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Per particle: SI energies in J, entropies in J/K.
    Particle,
    /// Per mole: SI energies in J/mol, entropies in J/(mol K).
    Mole,
}

/// The unit energies are given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnergyUnit {
    /// Joule per particle.
    Joule,
    /// J/mol.
    JoulePerMole,
    /// kJ/mol.
    KilojoulePerMole,
    /// kcal/mol with the thermochemical calorie (4.184 J).
    KilocaloriePerMole,
    /// Electronvolt per particle.
    ElectronVolt,
    /// Millielectronvolt per particle.
    MilliElectronVolt,
    /// Hartree (atomic unit of energy) per particle.
    Hartree,
    /// Wavenumber, cm^-1: E = h c (100 x) J.
    Wavenumber,
    /// Energy as a temperature, E / k_B in K (so E/kT = x / T exactly).
    Kelvin,
    /// Dimensionless: E / kT at the reference temperature of [`Units`]
    /// (its `kt_reference`, 298.15 K unless set). At that temperature the
    /// numbers are used as they are; at another T they scale as
    /// `x * T_ref / T`.
    Kt,
}

impl EnergyUnit {
    /// Every unit, in the order the CLI lists them.
    pub const ALL: [EnergyUnit; 10] = [
        EnergyUnit::Hartree,
        EnergyUnit::KilocaloriePerMole,
        EnergyUnit::KilojoulePerMole,
        EnergyUnit::JoulePerMole,
        EnergyUnit::Joule,
        EnergyUnit::ElectronVolt,
        EnergyUnit::MilliElectronVolt,
        EnergyUnit::Wavenumber,
        EnergyUnit::Kelvin,
        EnergyUnit::Kt,
    ];

    /// The unit's symbol, as [`FromStr`] accepts it.
    pub fn symbol(self) -> &'static str {
        match self {
            EnergyUnit::Joule => "J",
            EnergyUnit::JoulePerMole => "J/mol",
            EnergyUnit::KilojoulePerMole => "kJ/mol",
            EnergyUnit::KilocaloriePerMole => "kcal/mol",
            EnergyUnit::ElectronVolt => "eV",
            EnergyUnit::MilliElectronVolt => "meV",
            EnergyUnit::Hartree => "Eh",
            EnergyUnit::Wavenumber => "cm^-1",
            EnergyUnit::Kelvin => "K",
            EnergyUnit::Kt => "kT",
        }
    }

    /// Per particle or per mole.
    pub fn basis(self) -> Basis {
        match self {
            EnergyUnit::JoulePerMole
            | EnergyUnit::KilojoulePerMole
            | EnergyUnit::KilocaloriePerMole => Basis::Mole,
            _ => Basis::Particle,
        }
    }
}

impl fmt::Display for EnergyUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for EnergyUnit {
    type Err = Error;
    /// Case-insensitive symbols and a few common spellings: `J`, `J/mol`,
    /// `kJ/mol` (`kjmol`), `kcal/mol` (`kcal`, `kcalmol`), `eV`, `meV`,
    /// `Eh` (`hartree`, `au`), `cm-1` (`cm^-1`, `wavenumber`), `K`
    /// (`kelvin`), `kT` (`dimensionless`).
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase().replace(' ', "");
        Ok(match t.as_str() {
            "j" | "joule" => EnergyUnit::Joule,
            "j/mol" | "jmol" => EnergyUnit::JoulePerMole,
            "kj/mol" | "kjmol" | "kj" => EnergyUnit::KilojoulePerMole,
            "kcal/mol" | "kcalmol" | "kcal" => EnergyUnit::KilocaloriePerMole,
            "ev" => EnergyUnit::ElectronVolt,
            "mev" => EnergyUnit::MilliElectronVolt,
            "eh" | "hartree" | "au" | "ha" => EnergyUnit::Hartree,
            "cm-1" | "cm^-1" | "1/cm" | "wavenumber" => EnergyUnit::Wavenumber,
            "k" | "kelvin" => EnergyUnit::Kelvin,
            "kt" | "dimensionless" => EnergyUnit::Kt,
            _ => {
                return Err(Error::InvalidParameter {
                    name: "unit",
                    reason: format!(
                        "unknown energy unit {s:?} (expected one of Eh, kcal/mol, kJ/mol, J/mol, J, eV, meV, cm^-1, K, kT)"
                    ),
                });
            }
        })
    }
}

/// The standard temperature chemists report at, 298.15 K.
pub const STANDARD_TEMPERATURE: f64 = 298.15;

/// An energy unit together with the constants that convert it to kT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Units {
    /// The unit energies are in.
    pub energy: EnergyUnit,
    /// The constants used to convert.
    pub constants: Constants,
    /// The temperature (K) whose kT is the unit of [`EnergyUnit::Kt`];
    /// unused by the other units.
    pub kt_reference: f64,
}

impl Units {
    /// A unit with a constant set (`kt_reference` = 298.15 K).
    pub fn new(energy: EnergyUnit, constants: Constants) -> Self {
        Units {
            energy,
            constants,
            kt_reference: STANDARD_TEMPERATURE,
        }
    }

    /// The same units with another reference temperature for
    /// [`EnergyUnit::Kt`] (finite, > 0).
    pub fn with_kt_reference(self, kelvin: f64) -> Result<Self> {
        Temperature::new(kelvin)?;
        Ok(Units {
            kt_reference: kelvin,
            ..self
        })
    }

    /// One unit of energy in J/mol (per-particle units times N_A).
    pub fn molar_size(&self) -> f64 {
        let c = &self.constants;
        match self.energy {
            EnergyUnit::Joule => c.avogadro,
            EnergyUnit::JoulePerMole => 1.0,
            EnergyUnit::KilojoulePerMole => 1000.0,
            EnergyUnit::KilocaloriePerMole => 1000.0 * c.calorie,
            EnergyUnit::ElectronVolt => c.elementary_charge * c.avogadro,
            EnergyUnit::MilliElectronVolt => 1e-3 * c.elementary_charge * c.avogadro,
            EnergyUnit::Hartree => c.hartree_molar,
            // 1 cm^-1 = h c * 100 m^-1.
            EnergyUnit::Wavenumber => c.planck * c.speed_of_light * 100.0 * c.avogadro,
            EnergyUnit::Kelvin => c.gas_constant,
            EnergyUnit::Kt => c.gas_constant * self.kt_reference,
        }
    }

    /// One unit of energy in SI: J for per-particle units, J/mol for molar
    /// ones.
    pub fn si_size(&self) -> f64 {
        match self.energy.basis() {
            Basis::Mole => self.molar_size(),
            Basis::Particle => match self.energy {
                EnergyUnit::Joule => 1.0,
                _ => self.molar_size() / self.constants.avogadro,
            },
        }
    }

    /// The SI unit of energies: `"J"` or `"J/mol"`.
    pub fn si_symbol(&self) -> &'static str {
        match self.energy.basis() {
            Basis::Mole => "J/mol",
            Basis::Particle => "J",
        }
    }

    /// k_B (J/K) or R (J/(mol K)), matching [`Units::si_symbol`]: the SI
    /// value of one unit of entropy or heat capacity in units of k.
    pub fn si_boltzmann(&self) -> f64 {
        match self.energy.basis() {
            Basis::Mole => self.constants.gas_constant,
            Basis::Particle => self.constants.gas_constant / self.constants.avogadro,
        }
    }

    /// `1 / kT` in inverse energy units at `kelvin`: multiply an energy in
    /// this unit by it to get `E / kT`. Errors on a temperature that is not
    /// finite and > 0.
    pub fn beta(&self, kelvin: f64) -> Result<f64> {
        let t = Temperature::new(kelvin)?.get();
        match self.energy {
            // Exact ratios where the unit is itself a temperature, so that
            // E/kT does not pick up rounding from R / R.
            EnergyUnit::Kelvin => Ok(1.0 / t),
            EnergyUnit::Kt => Ok(self.kt_reference / t),
            _ => Ok(self.molar_size() / (self.constants.gas_constant * t)),
        }
    }

    /// kT in this unit at `kelvin`.
    pub fn kt(&self, kelvin: f64) -> Result<f64> {
        let t = Temperature::new(kelvin)?.get();
        match self.energy {
            EnergyUnit::Kelvin => Ok(t),
            EnergyUnit::Kt => Ok(t / self.kt_reference),
            _ => Ok(self.constants.gas_constant * t / self.molar_size()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_constants_and_derived_values() {
        // R = k_B N_A = 8.314462618... J/(mol K) (CODATA 2018 lists it as exact).
        assert!((si::GAS_CONSTANT - 8.314_462_618_153_24).abs() < 1e-14);
        // Hartree in kcal/mol: 627.50947406306 (CODATA 2018 with 4.184 J/cal).
        let u = Units::new(EnergyUnit::Hartree, Constants::CODATA2018);
        let kcal = u.molar_size() / 4184.0;
        assert!((kcal - 627.509_474_063_056).abs() < 1e-10, "{kcal}");
        // 1 eV = 96.485332123... kJ/mol (F = N_A e, exact).
        let ev = Units::new(EnergyUnit::ElectronVolt, Constants::CODATA2018).molar_size();
        assert!((ev / 1000.0 - 96.485_332_123_310_02).abs() < 1e-11);
        // 1 cm^-1 = 11.9626565... J/mol; 1 K = R J/mol.
        let w = Units::new(EnergyUnit::Wavenumber, Constants::CODATA2018).molar_size();
        assert!((w - 11.962_656_563_869_7).abs() < 1e-11, "{w}");
    }

    #[test]
    fn kelvin_and_kt_units_are_exact_ratios() {
        let k = Units::new(EnergyUnit::Kelvin, Constants::CODATA2018);
        assert_eq!(k.beta(300.0).unwrap(), 1.0 / 300.0);
        let t = Units::new(EnergyUnit::Kt, Constants::CODATA2018)
            .with_kt_reference(300.0)
            .unwrap();
        assert_eq!(t.beta(300.0).unwrap(), 1.0);
        assert_eq!(t.beta(600.0).unwrap(), 0.5);
    }

    #[test]
    fn parse_units_and_reject_bad_temperatures() {
        for u in EnergyUnit::ALL {
            assert_eq!(u.symbol().parse::<EnergyUnit>().unwrap(), u);
        }
        assert!("furlong".parse::<EnergyUnit>().is_err());
        let u = Units::new(EnergyUnit::Hartree, Constants::GOODVIBES);
        assert!(u.beta(0.0).is_err());
        assert!(u.beta(-1.0).is_err());
        assert!(u.beta(f64::NAN).is_err());
        assert_eq!(
            "goodvibes".parse::<Constants>().unwrap(),
            Constants::GOODVIBES
        );
    }
}
