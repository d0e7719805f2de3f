//! The periodic square lattice, its parameters and its energy.

use crate::error::{Error, Result};

/// Coupling `j`, field `h` and temperature `t` (k = 1) of
/// `E(s) = -J sum_<ik> s_i s_k - h sum_i s_i`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    /// Nearest-neighbour coupling J (> 0 ferromagnetic).
    pub j: f64,
    /// External field h.
    pub h: f64,
    /// Temperature T, in the units of J.
    pub t: f64,
}

impl Model {
    /// Checks that `j` and `h` are finite and `t` finite and > 0.
    ///
    /// ```
    /// use boltzmax::learn::ising::Model;
    /// assert!(Model::new(1.0, 0.0, 2.0).is_ok());
    /// assert!(Model::new(1.0, 0.0, 0.0).is_err());
    /// ```
    pub fn new(j: f64, h: f64, t: f64) -> Result<Model> {
        for (name, v) in [("coupling J", j), ("field h", h)] {
            if !v.is_finite() {
                return Err(Error::InvalidParameter {
                    name,
                    reason: format!("must be finite, got {v}"),
                });
            }
        }
        crate::Temperature::new(t)?;
        Ok(Model { j, h, t })
    }

    /// `beta = 1 / T`.
    pub fn beta(&self) -> f64 {
        1.0 / self.t
    }
}

/// An `L x L` periodic square lattice of spins `+1`/`-1`, row-major.
///
/// Each site is bonded to its four neighbours; on `L = 2` the left and
/// right neighbour are the same spin and both bonds count, matching the
/// exact enumeration in [`super::exact::DensityOfStates::square`].
#[derive(Debug, Clone, PartialEq)]
pub struct Lattice {
    l: usize,
    spins: Vec<i8>,
}

impl Lattice {
    /// All spins up. `l` must be even and at least 2 (the checkerboard
    /// updates need two sublattices).
    pub fn new(l: usize) -> Result<Lattice> {
        if l < 2 || !l.is_multiple_of(2) {
            return Err(Error::InvalidParameter {
                name: "lattice side L",
                reason: format!("must be even and >= 2, got {l}"),
            });
        }
        Ok(Lattice {
            l,
            spins: vec![1; l * l],
        })
    }

    /// A random configuration (infinite temperature) from `rng`.
    pub fn random<R: rand::RngCore + ?Sized>(l: usize, rng: &mut R) -> Result<Lattice> {
        let mut lat = Lattice::new(l)?;
        for s in &mut lat.spins {
            *s = if rng.next_u64() >> 63 == 1 { 1 } else { -1 };
        }
        Ok(lat)
    }

    /// The side L.
    pub fn side(&self) -> usize {
        self.l
    }

    /// Number of spins, `L^2`.
    pub fn sites(&self) -> usize {
        self.spins.len()
    }

    /// The spins, row-major.
    pub fn spins(&self) -> &[i8] {
        &self.spins
    }

    /// Mutable spins (each must stay `+1` or `-1`).
    pub fn spins_mut(&mut self) -> &mut [i8] {
        &mut self.spins
    }

    /// Sum of the four neighbours of site `(r, c)`.
    #[inline(always)]
    pub(crate) fn neighbour_sum(&self, r: usize, c: usize) -> i32 {
        let l = self.l;
        let up = if r == 0 { l - 1 } else { r - 1 };
        let down = if r + 1 == l { 0 } else { r + 1 };
        let left = if c == 0 { l - 1 } else { c - 1 };
        let right = if c + 1 == l { 0 } else { c + 1 };
        let s = &self.spins;
        i32::from(s[up * l + c])
            + i32::from(s[down * l + c])
            + i32::from(s[r * l + left])
            + i32::from(s[r * l + right])
    }

    /// The bond sum `B = sum_<ik> s_i s_k` and magnetisation `M = sum s_i`.
    pub fn bond_sum_magnetization(&self) -> (i64, i64) {
        let l = self.l;
        let (mut b, mut m) = (0i64, 0i64);
        // Row by row without index arithmetic in the inner loop: it runs
        // after every sweep and costs about as much as the sweep itself.
        for r in 0..l {
            let row = &self.spins[r * l..(r + 1) * l];
            let below = &self.spins[((r + 1) % l) * l..((r + 1) % l + 1) * l];
            let mut rb = 0i32;
            let mut rm = 0i32;
            for c in 0..l - 1 {
                let s = i32::from(row[c]);
                rb += s * (i32::from(row[c + 1]) + i32::from(below[c]));
                rm += s;
            }
            let s = i32::from(row[l - 1]);
            rb += s * (i32::from(row[0]) + i32::from(below[l - 1]));
            rm += s;
            b += i64::from(rb);
            m += i64::from(rm);
        }
        (b, m)
    }

    /// Energy per spin and magnetisation per spin under `model`.
    pub fn energy_magnetization(&self, model: &Model) -> (f64, f64) {
        let (b, m) = self.bond_sum_magnetization();
        let n = self.sites() as f64;
        ((-model.j * b as f64 - model.h * m as f64) / n, m as f64 / n)
    }
}
