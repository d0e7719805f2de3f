//! The ensemble API for Python: levels with units and degeneracies in,
//! populations and thermodynamics out.

use std::collections::HashMap;

use boltzmax::nd::Par;
use boltzmax::thermo::{Constants, EnergyUnit, Ensemble, Sweep, Thermo, Units};
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn err(e: boltzmax::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Energy levels (or conformers) with degeneracies, symmetry numbers and
/// named property columns, in one energy unit.
///
/// Ensemble(energies, unit="kcal/mol", degeneracies=None,
///          symmetry_numbers=None, properties=None, constants="codata2018")
///
/// unit: Eh, kcal/mol, kJ/mol, J/mol, J, eV, meV, cm^-1, K or kT.
/// constants: "codata2018" (exact SI 2019 and CODATA 2018 hartree) or
/// "goodvibes" (the values GoodVibes uses, to reproduce its numbers).
#[pyclass(name = "Ensemble", module = "boltzmax", frozen)]
pub struct PyEnsemble {
    inner: Ensemble,
}

fn thermo_dict<'py>(py: Python<'py>, t: &Thermo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("temperature", t.temperature)?;
    d.set_item("kT", t.kt)?;
    d.set_item("unit", t.units.energy.symbol())?;
    d.set_item("reference_energy", t.reference_energy)?;
    d.set_item("populations", PyArray1::from_slice(py, &t.populations))?;
    d.set_item("ln_z", t.ln_z)?;
    d.set_item("z", t.z)?;
    d.set_item("U", t.mean_energy)?;
    d.set_item("energy_std", t.energy_std)?;
    d.set_item("F", t.free_energy)?;
    d.set_item("S", t.entropy)?;
    d.set_item("Cv", t.heat_capacity)?;
    d.set_item("S_conf", t.conformational_entropy)?;
    let f = t.ensemble_free_energies();
    let fe = PyDict::new(py);
    fe.set_item("partition (GoodVibes, -kT ln Z)", f.partition)?;
    fe.set_item("boltzmann_average (CENSO, sum p G)", f.boltzmann_average)?;
    fe.set_item("minus_t_s_conf (CREST, -T S_conf)", f.minus_t_s_conf)?;
    d.set_item("ensemble_free_energies", fe)?;
    let props = PyDict::new(py);
    for p in &t.properties {
        props.set_item(&p.name, (p.mean, p.std))?;
    }
    d.set_item("properties", props)?;
    Ok(d)
}

#[pymethods]
impl PyEnsemble {
    #[new]
    #[pyo3(signature = (energies, unit="kcal/mol", degeneracies=None, symmetry_numbers=None, properties=None, constants="codata2018"))]
    fn new(
        energies: Vec<f64>,
        unit: &str,
        degeneracies: Option<Vec<f64>>,
        symmetry_numbers: Option<Vec<f64>>,
        properties: Option<HashMap<String, Vec<f64>>>,
        constants: &str,
    ) -> PyResult<Self> {
        let energy: EnergyUnit = unit.parse().map_err(err)?;
        let constants: Constants = constants.parse().map_err(err)?;
        let mut e = Ensemble::new(energies, Units::new(energy, constants)).map_err(err)?;
        if let Some(g) = degeneracies {
            e = e.with_degeneracies(g).map_err(err)?;
        }
        if let Some(s) = symmetry_numbers {
            e = e.with_symmetry_numbers(s).map_err(err)?;
        }
        if let Some(props) = properties {
            let mut names: Vec<_> = props.into_iter().collect();
            names.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, values) in names {
                e = e.with_property(name, values).map_err(err)?;
            }
        }
        Ok(PyEnsemble { inner: e })
    }

    /// Number of levels.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Energies relative to the lowest level, in the ensemble's unit.
    fn relative_energies<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.inner.relative_energies())
    }

    /// Populations and thermodynamics at `temperature` (K), as a dict:
    /// populations, ln_z, z, U, F (energies in the ensemble's unit,
    /// relative to the lowest level), S, Cv, S_conf (in units of k, or R
    /// for molar units), each tool's "ensemble free energy" by name, and
    /// the weighted mean and standard deviation of every property column.
    #[pyo3(signature = (temperature=298.15))]
    fn at<'py>(&self, py: Python<'py>, temperature: f64) -> PyResult<Bound<'py, PyDict>> {
        let t = py.detach(|| self.inner.at(temperature)).map_err(err)?;
        thermo_dict(py, &t)
    }

    /// The same quantities at every temperature of `temperatures` (K),
    /// as a dict of arrays (populations: one row per temperature),
    /// computed analytically (moments, no finite differences) on all cores.
    fn sweep<'py>(&self, py: Python<'py>, temperatures: Vec<f64>) -> PyResult<Bound<'py, PyDict>> {
        let sweep = Sweep::from_temperatures(temperatures).map_err(err)?;
        let rows = py
            .detach(|| self.inner.sweep(&sweep, Par::Threads(0)))
            .map_err(err)?;
        let d = PyDict::new(py);
        let col = |f: &dyn Fn(&Thermo) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
        d.set_item(
            "temperature",
            PyArray1::from_vec(py, col(&|t| t.temperature)),
        )?;
        d.set_item("ln_z", PyArray1::from_vec(py, col(&|t| t.ln_z)))?;
        d.set_item("U", PyArray1::from_vec(py, col(&|t| t.mean_energy)))?;
        d.set_item("F", PyArray1::from_vec(py, col(&|t| t.free_energy)))?;
        d.set_item("S", PyArray1::from_vec(py, col(&|t| t.entropy)))?;
        d.set_item("Cv", PyArray1::from_vec(py, col(&|t| t.heat_capacity)))?;
        d.set_item(
            "S_conf",
            PyArray1::from_vec(py, col(&|t| t.conformational_entropy)),
        )?;
        let pops: Vec<Vec<f64>> = rows.iter().map(|t| t.populations.clone()).collect();
        d.set_item("populations", PyArray2::from_vec2(py, &pops)?)?;
        Ok(d)
    }
}

/// boltzmann_weights(energies, temperature=298.15, unit="kcal/mol", degeneracies=None)
/// --
///
/// Boltzmann populations p_i = g_i exp(-E_i/kT) / Z of levels given in `unit`.
#[pyfunction]
#[pyo3(signature = (energies, temperature=298.15, unit="kcal/mol", degeneracies=None))]
pub fn boltzmann_weights<'py>(
    py: Python<'py>,
    energies: Vec<f64>,
    temperature: f64,
    unit: &str,
    degeneracies: Option<Vec<f64>>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let e = PyEnsemble::new(energies, unit, degeneracies, None, None, "codata2018")?;
    let t = py.detach(|| e.inner.at(temperature)).map_err(err)?;
    Ok(PyArray1::from_vec(py, t.populations))
}
