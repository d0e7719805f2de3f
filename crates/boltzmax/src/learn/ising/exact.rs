//! Exact results for the Ising model, for users and tests to compare
//! simulations against.
//!
//! Units: Boltzmann's constant is 1, so the temperature `t` is in the units
//! of the coupling `j` (an energy); every extensive quantity is reported
//! per spin. The Hamiltonian is `E(s) = -J sum_<ik> s_i s_k - h sum_i s_i`
//! over nearest-neighbour bonds, each bond counted once (on a periodic
//! lattice of side 2 the two bonds between the same pair both count, as
//! they do in the samplers).
//!
//! - The infinite square lattice (Onsager 1944, Yang 1952):
//!   [`critical_temperature`], [`onsager_free_energy`], [`onsager_energy`],
//!   [`onsager_specific_heat`], [`spontaneous_magnetization`].
//! - The finite periodic `rows x cols` lattice at `h = 0` (Kaufman 1949):
//!   [`kaufman`] gives `ln Z` and its first two derivatives exactly, in log
//!   space, for any size.
//! - Brute-force enumeration of small lattices and chains, with a field:
//!   [`DensityOfStates`], the cross-check for both of the above and the
//!   only exact source here for `<|m|>` and the Binder cumulant.
//! - The periodic chain in a field by its 2 x 2 transfer matrix:
//!   [`chain_transfer_matrix`].
//!
//! ```
//! use boltzmax::learn::ising::exact::{critical_temperature, kaufman, onsager_energy};
//!
//! let tc = critical_temperature(1.0).unwrap();
//! assert!((tc - 2.269_185_314_213_022).abs() < 1e-14);
//! // A 64 x 64 periodic lattice at T = 2 is within 1e-9 of the bulk energy.
//! let finite = kaufman(64, 64, 1.0, 2.0).unwrap();
//! assert!((finite.energy - onsager_energy(1.0, 2.0).unwrap()).abs() < 1e-9);
//! ```

use super::jet::Jet;
use crate::error::{Error, Result};
use crate::{logsumexp, softmax};
use std::f64::consts::PI;

fn check_coupling(j: f64) -> Result<()> {
    if j.is_finite() && j > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "coupling J",
            reason: format!("the exact square-lattice results need a finite J > 0, got {j}"),
        })
    }
}

fn check_temperature(t: f64) -> Result<()> {
    crate::Temperature::new(t).map(|_| ())
}

fn check_field(h: f64) -> Result<()> {
    if h.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "field h",
            reason: format!("must be finite, got {h}"),
        })
    }
}

/// Onsager's critical temperature of the square lattice,
/// `T_c = 2 J / ln(1 + sqrt 2)` (about `2.269185 J`).
///
/// ```
/// let tc = boltzmax::learn::ising::exact::critical_temperature(1.0).unwrap();
/// assert!((tc - 2.0 / (1.0 + 2f64.sqrt()).ln()).abs() < 1e-15);
/// ```
pub fn critical_temperature(j: f64) -> Result<f64> {
    check_coupling(j)?;
    Ok(2.0 * j / std::f64::consts::SQRT_2.ln_1p())
}

/// The complete elliptic integrals `K(k)` and `E(k)` of the first and
/// second kind, by the arithmetic-geometric mean; `kp = sqrt(1 - k^2)` is
/// passed separately because near `k = 1` it cannot be recovered from `k`.
fn elliptic_ke(k: f64, kp: f64) -> (f64, f64) {
    if kp == 0.0 {
        return (f64::INFINITY, 1.0);
    }
    let (mut a, mut b) = (1.0_f64, kp);
    let mut sum = 0.5 * k * k; // 2^(n-1) c_n^2 at n = 0
    let mut pow = 0.5;
    for _ in 0..64 {
        let c = 0.5 * (a - b);
        let an = 0.5 * (a + b);
        b = (a * b).sqrt();
        a = an;
        pow *= 2.0;
        sum += pow * c * c;
        if c.abs() <= 1e-17 * a {
            break;
        }
    }
    let kk = PI / (2.0 * a);
    (kk, kk * (1.0 - sum))
}

/// The elliptic modulus of Onsager's solution, `kappa = 2 sinh 2K /
/// cosh^2 2K`, and its complement `sqrt(1 - kappa^2) = |sinh^2 2K - 1| /
/// cosh^2 2K` written so that it keeps its digits near `T_c`.
fn onsager_modulus(k: f64) -> (f64, f64) {
    let s = (2.0 * k).sinh();
    let c2 = (2.0 * k).cosh().powi(2);
    (2.0 * s / c2, ((s - 1.0) * (s + 1.0)).abs() / c2)
}

/// Free energy per spin of the infinite square lattice at `h = 0`,
/// `f = -T [ln(2 cosh 2K) + (1/pi) int_0^{pi/2} ln((1 + sqrt(1 - kappa^2
/// sin^2 t)) / 2) dt]` with `K = J/T` (composite Simpson rule on 4096
/// panels; the integrand is smooth for every T, including T_c).
///
/// ```
/// use boltzmax::learn::ising::exact::onsager_free_energy;
/// // Ground state: f -> -2J as T -> 0.
/// assert!((onsager_free_energy(1.0, 0.2).unwrap() + 2.0).abs() < 1e-6);
/// ```
pub fn onsager_free_energy(j: f64, t: f64) -> Result<f64> {
    check_coupling(j)?;
    check_temperature(t)?;
    let k = j / t;
    let (kappa, _) = onsager_modulus(k);
    let n = 4096;
    let h = 0.5 * PI / n as f64;
    let g = |x: f64| {
        let s = x.sin();
        (0.5 * (1.0 + (1.0 - kappa * kappa * s * s).max(0.0).sqrt())).ln()
    };
    let mut sum = g(0.0) + g(0.5 * PI);
    for i in 1..n {
        sum += if i % 2 == 1 { 4.0 } else { 2.0 } * g(i as f64 * h);
    }
    let integral = sum * h / 3.0;
    let minus_beta_f = Jet::constant(2.0 * k).ln_2cosh().v + integral / PI;
    Ok(-t * minus_beta_f)
}

/// Onsager's energy per spin in units of J, as a jet in `K = J/T`:
/// `u = -coth 2K [1 + (2/pi)(2 tanh^2 2K - 1) K(kappa)]`. Only the value
/// and first derivative are filled (`dK(k)/dk = E/(k k'^2) - K/k`); the
/// second is NaN so that nothing can use it by mistake.
fn onsager_energy_jet(kc: f64) -> Jet {
    let k = Jet::linear(kc, 1.0);
    let two_k = k.scale(2.0);
    let (kappa_v, kp) = onsager_modulus(kc);
    let kappa = two_k.sinh().scale(2.0) / (two_k.cosh() * two_k.cosh());
    let (kk, ee) = elliptic_ke(kappa_v, kp);
    let dk_dkappa = ee / (kappa_v * kp * kp) - kk / kappa_v;
    let ell = Jet {
        v: kk,
        d: dk_dkappa * kappa.d,
        dd: f64::NAN,
    };
    let th = two_k.tanh();
    let factor = th * th * Jet::constant(2.0) - Jet::constant(1.0);
    let one = Jet::constant(1.0);
    -(one / th) * (one + (factor * ell).scale(2.0 / PI))
}

/// Energy per spin of the infinite square lattice at `h = 0`,
/// `u = -J coth 2K [1 + (2/pi)(2 tanh^2 2K - 1) K(kappa)]` with `K = J/T`
/// and `K(kappa)` the complete elliptic integral of the first kind.
/// Continuous at `T_c`, where it equals `-sqrt(2) J`.
pub fn onsager_energy(j: f64, t: f64) -> Result<f64> {
    check_coupling(j)?;
    check_temperature(t)?;
    let k = j / t;
    let (kappa, kp) = onsager_modulus(k);
    if kp == 0.0 {
        // T_c: the factor 2 tanh^2 2K - 1 vanishes where K(kappa) diverges
        // (only logarithmically), so the product is 0.
        return Ok(-j / (2.0 * k).tanh());
    }
    let _ = kappa;
    Ok(j * onsager_energy_jet(k).v)
}

/// Specific heat per spin (in units of k) of the infinite square lattice
/// at `h = 0`, `c = du/dT`, from the derivative of [`onsager_energy`]
/// carried analytically through the elliptic integral; `+inf` at `T_c`
/// (the logarithmic divergence).
pub fn onsager_specific_heat(j: f64, t: f64) -> Result<f64> {
    check_coupling(j)?;
    check_temperature(t)?;
    let k = j / t;
    let (_, kp) = onsager_modulus(k);
    if kp == 0.0 {
        return Ok(f64::INFINITY);
    }
    // c = du/dT = -(K^2 / J) du/dK, and u = J * jet.
    Ok(-k * k * onsager_energy_jet(k).d)
}

/// Spontaneous magnetisation per spin of the infinite square lattice
/// (Yang 1952): `(1 - sinh^-4 2K)^(1/8)` below `T_c`, 0 at and above.
///
/// ```
/// use boltzmax::learn::ising::exact::spontaneous_magnetization;
/// assert_eq!(spontaneous_magnetization(1.0, 2.5).unwrap(), 0.0);
/// assert!(spontaneous_magnetization(1.0, 1.0).unwrap() > 0.999);
/// ```
pub fn spontaneous_magnetization(j: f64, t: f64) -> Result<f64> {
    check_coupling(j)?;
    check_temperature(t)?;
    let s = (2.0 * j / t).sinh();
    let x = 1.0 - s.powi(-4);
    Ok(if x > 0.0 { x.powf(0.125) } else { 0.0 })
}

/// Exact thermodynamics of a finite lattice at one temperature, per spin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FiniteExact {
    /// `ln Z` of the whole lattice (not per spin).
    pub ln_z: f64,
    /// Free energy per spin, `-T ln Z / N`.
    pub free_energy: f64,
    /// Mean energy per spin, `<E> / N`.
    pub energy: f64,
    /// Specific heat per spin, `Var(E) / (N T^2)`.
    pub specific_heat: f64,
}

/// `ln Z` of the periodic `rows x cols` square lattice at `h = 0` as a
/// jet in `K = J/T` (Kaufman 1949, in the form of Beale 1996):
///
/// `Z = 1/2 (2 sinh 2K)^(nm/2) (Z1 + Z2 + Z3 + Z4)` with
/// `Z1 = prod_r 2 cosh(m g_{2r+1} / 2)`, `Z2 = prod_r 2 sinh(m g_{2r+1} / 2)`,
/// `Z3 = prod_r 2 cosh(m g_{2r} / 2)`, `Z4 = prod_r 2 sinh(m g_{2r} / 2)`,
/// `r = 0..n`, `cosh g_k = cosh 2K coth 2K - cos(pi k / n)` for `k > 0` and
/// `g_0 = 2K + ln tanh K` (negative above `T_c`, so `Z4` changes sign
/// there).
///
/// Every product is kept as a logarithm (`ln 2 sinh = ln 2 cosh + ln
/// tanh`) except the one factor `tanh(m g_0 / 2)` that crosses zero at
/// `T_c`; the four terms are then summed after shifting by the largest,
/// so nothing overflows for any size.
fn kaufman_ln_z(n: usize, m: usize, kc: f64) -> Jet {
    let k = Jet::linear(kc, 1.0);
    let two_k = k.scale(2.0);
    let c = two_k.cosh() * two_k.cosh() / two_k.sinh();
    let half_m = 0.5 * m as f64;
    let gamma = |idx: usize| -> Jet {
        if idx == 0 {
            two_k + k.ln_tanh()
        } else {
            (c - Jet::constant((PI * idx as f64 / n as f64).cos())).acosh()
        }
    };
    let zero = Jet::constant(0.0);
    let (mut a1, mut a2, mut a3, mut a4) = (zero, zero, zero, zero);
    let mut f4 = Jet::constant(1.0);
    for r in 0..n {
        let odd = gamma(2 * r + 1).scale(half_m);
        let l2c = odd.ln_2cosh();
        a1 = a1 + l2c;
        a2 = a2 + l2c + odd.ln_tanh();
        let even = gamma(2 * r).scale(half_m);
        let l2c = even.ln_2cosh();
        a3 = a3 + l2c;
        a4 = a4 + l2c;
        if r == 0 {
            f4 = even.tanh();
        } else {
            a4 = a4 + even.ln_tanh();
        }
    }
    let terms = [(a1, None), (a2, None), (a3, None), (a4, Some(f4))];
    let shift = terms
        .iter()
        .map(|(a, _)| a.v)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sum = zero;
    for (a, f) in terms {
        let e = (a - Jet::constant(shift)).exp();
        sum = sum + f.map_or(e, |f| e * f);
    }
    let pre = Jet::constant(0.5).ln() + (two_k.sinh().scale(2.0)).ln().scale(0.5 * (n * m) as f64);
    pre + Jet::constant(shift) + sum.ln()
}

/// Exact `ln Z`, free energy, energy and specific heat of the periodic
/// `rows x cols` square lattice at `h = 0`, coupling `j > 0` and
/// temperature `t` (Kaufman 1949). The energy and specific heat are the
/// first and second derivatives of `ln Z`, carried analytically through
/// the formula (no finite differences), so they hold to about 1e-12
/// relative for any size, `T_c` included.
///
/// ```
/// use boltzmax::learn::ising::exact::kaufman;
/// // 2 x 2 periodic: every bond is doubled, Z = 2 e^{8K} + 12 + 2 e^{-8K}.
/// let k: f64 = 0.3;
/// let z = 2.0 * (8.0 * k).exp() + 12.0 + 2.0 * (-8.0 * k).exp();
/// let e = kaufman(2, 2, 1.0, 1.0 / k).unwrap();
/// assert!((e.ln_z - z.ln()).abs() < 1e-12);
/// ```
pub fn kaufman(rows: usize, cols: usize, j: f64, t: f64) -> Result<FiniteExact> {
    check_coupling(j)?;
    check_temperature(t)?;
    if rows < 2 || cols < 2 {
        return Err(Error::InvalidParameter {
            name: "lattice size",
            reason: format!("Kaufman's formula needs rows, cols >= 2, got {rows} x {cols}"),
        });
    }
    let k = j / t;
    let lz = kaufman_ln_z(rows, cols, k);
    let n = (rows * cols) as f64;
    Ok(FiniteExact {
        ln_z: lz.v,
        free_energy: -t * lz.v / n,
        energy: -j * lz.d / n,
        specific_heat: k * k * lz.dd / n,
    })
}

/// Thermal averages from an exact distribution, per spin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thermal {
    /// `ln Z` of the whole system.
    pub ln_z: f64,
    /// `<E> / N`.
    pub energy: f64,
    /// `Var(E) / (N T^2)`.
    pub specific_heat: f64,
    /// `<m>`, with `m = M / N`.
    pub magnetization: f64,
    /// `<|m|>`.
    pub abs_magnetization: f64,
    /// `<m^2>`.
    pub m2: f64,
    /// `<m^4>`.
    pub m4: f64,
    /// `N (<m^2> - <m>^2) / T`.
    pub susceptibility: f64,
    /// Binder cumulant `1 - <m^4> / (3 <m^2>^2)`.
    pub binder: f64,
}

/// The exact joint density of states `g(B, M)` of a small system, where
/// `B = sum_<ik> s_i s_k` (the bond sum) and `M = sum_i s_i`, found by
/// enumerating all `2^N` configurations. From it [`Self::thermal`] gives
/// exact averages at any `J`, `h`, `T` as a softmax over levels:
/// `p(B, M) = softmax(ln g + (J B + h M) / T)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DensityOfStates {
    sites: usize,
    /// `(B, M, g)` for every level with `g > 0`.
    levels: Vec<(i64, i64, f64)>,
}

/// The largest system [`DensityOfStates`] enumerates (2^26 configurations).
pub const MAX_ENUMERATED_SITES: usize = 26;

impl DensityOfStates {
    fn from_bonds(sites: usize, bonds: &[(usize, usize)]) -> Result<Self> {
        if sites == 0 || sites > MAX_ENUMERATED_SITES {
            return Err(Error::InvalidParameter {
                name: "number of sites",
                reason: format!("enumeration needs 1..={MAX_ENUMERATED_SITES} sites, got {sites}"),
            });
        }
        let nb = bonds.len() as i64;
        let width = 2 * sites + 1;
        let mut counts = vec![0u64; (2 * nb as usize + 1) * width];
        for x in 0u64..(1u64 << sites) {
            let mut unlike = 0i64;
            for &(a, b) in bonds {
                unlike += ((x >> a ^ x >> b) & 1) as i64;
            }
            let bsum = nb - 2 * unlike;
            let up = x.count_ones() as i64;
            let msum = 2 * up - sites as i64;
            counts[(bsum + nb) as usize * width + (msum + sites as i64) as usize] += 1;
        }
        let levels = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| {
                let b = (i / width) as i64 - nb;
                let m = (i % width) as i64 - sites as i64;
                (b, m, c as f64)
            })
            .collect();
        Ok(DensityOfStates { sites, levels })
    }

    /// The periodic `rows x cols` square lattice (each site bonded to its
    /// right and lower neighbour, with wrap-around), at most
    /// [`MAX_ENUMERATED_SITES`] sites.
    ///
    /// ```
    /// use boltzmax::learn::ising::exact::{DensityOfStates, kaufman};
    /// let dos = DensityOfStates::square(3, 3).unwrap();
    /// let e = dos.thermal(1.0, 0.0, 2.5).unwrap();
    /// let k = kaufman(3, 3, 1.0, 2.5).unwrap();
    /// assert!((e.energy - k.energy).abs() < 1e-12);
    /// ```
    pub fn square(rows: usize, cols: usize) -> Result<Self> {
        let mut bonds = Vec::with_capacity(2 * rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                bonds.push((i, r * cols + (c + 1) % cols));
                bonds.push((i, ((r + 1) % rows) * cols + c));
            }
        }
        Self::from_bonds(rows * cols, &bonds)
    }

    /// The periodic chain of `n` spins (`n` bonds; `n = 2` has two bonds
    /// between the same pair, `n = 1` one bond of the spin with itself).
    pub fn chain(n: usize) -> Result<Self> {
        let bonds: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n.max(1))).collect();
        Self::from_bonds(n, &bonds)
    }

    /// Number of spins.
    pub fn sites(&self) -> usize {
        self.sites
    }

    /// The levels `(B, M, g)`: bond sum, magnetisation, number of
    /// configurations.
    pub fn levels(&self) -> &[(i64, i64, f64)] {
        &self.levels
    }

    /// Exact averages at coupling `j` (any sign), field `h` and
    /// temperature `t`.
    pub fn thermal(&self, j: f64, h: f64, t: f64) -> Result<Thermal> {
        if !j.is_finite() {
            return Err(Error::InvalidParameter {
                name: "coupling J",
                reason: format!("must be finite, got {j}"),
            });
        }
        check_field(h)?;
        check_temperature(t)?;
        let n = self.sites as f64;
        let logits: Vec<f64> = self
            .levels
            .iter()
            .map(|&(b, m, g)| g.ln() + (j * b as f64 + h * m as f64) / t)
            .collect();
        let ln_z = logsumexp(&logits);
        let p = softmax(&logits);
        let (mut e1, mut e2, mut m1, mut ma, mut m2, mut m4) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for (&(b, m, _), &p) in self.levels.iter().zip(&p) {
            let e = (-j * b as f64 - h * m as f64) / n;
            let mm = m as f64 / n;
            e1 += p * e;
            e2 += p * e * e;
            m1 += p * mm;
            ma += p * mm.abs();
            m2 += p * mm * mm;
            m4 += p * mm.powi(4);
        }
        Ok(Thermal {
            ln_z,
            energy: e1,
            specific_heat: n * (e2 - e1 * e1).max(0.0) / (t * t),
            magnetization: m1,
            abs_magnetization: ma,
            m2,
            m4,
            susceptibility: n * (m2 - m1 * m1).max(0.0) / t,
            binder: 1.0 - m4 / (3.0 * m2 * m2),
        })
    }
}

/// Exact thermodynamics of the periodic chain in a field, per spin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainExact {
    /// `ln Z` of the whole chain.
    pub ln_z: f64,
    /// `<E> / N`.
    pub energy: f64,
    /// `Var(E) / (N T^2)`.
    pub specific_heat: f64,
    /// `<m> = <M> / N`.
    pub magnetization: f64,
    /// `N Var(m) / T`.
    pub susceptibility: f64,
}

/// `ln Z` of the periodic chain, `ln(l+^N + l-^N)`, as a jet in whatever
/// variable `k = J/T` and `hh = h/T` carry. `l+ = e^K (cosh H + sqrt(sinh^2
/// H + e^{-4K}))` and `l- = 2 sinh 2K / l+` (their product is the
/// determinant, so `l-` keeps its digits); `l-` is negative for `J < 0`.
fn chain_ln_z(n: usize, k: Jet, hh: Jet) -> Jet {
    let sh = hh.sinh();
    let root = (sh * sh + k.scale(-4.0).exp()).sqrt();
    let ln_lp = k + (hh.cosh() + root).ln();
    let det = k.scale(2.0).sinh().scale(2.0);
    let sign = if det.v < 0.0 { -1.0 } else { 1.0 };
    // ln |l-/l+| = ln |det| - 2 ln l+.
    let ln_ratio = det.scale(sign).ln() - ln_lp.scale(2.0);
    let sign_n = if n % 2 == 1 { sign } else { 1.0 };
    let t = ln_ratio.scale(n as f64).exp().scale(sign_n);
    ln_lp.scale(n as f64) + t.ln_1p()
}

/// The periodic Ising chain of `n >= 1` spins with coupling `j` (either
/// sign), field `h` and temperature `t`, solved by its 2 x 2 transfer
/// matrix, `Z = l+^N + l-^N`. Derivatives for the energy, specific heat,
/// magnetisation and susceptibility are carried analytically.
///
/// ```
/// use boltzmax::learn::ising::exact::chain_transfer_matrix;
/// // Long chain at h = 0: u = -J tanh(J/T).
/// let c = chain_transfer_matrix(1000, 1.0, 0.0, 1.5).unwrap();
/// assert!((c.energy + (1.0f64 / 1.5).tanh()).abs() < 1e-12);
/// ```
pub fn chain_transfer_matrix(n: usize, j: f64, h: f64, t: f64) -> Result<ChainExact> {
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "chain length",
            reason: "must be at least 1".into(),
        });
    }
    if !j.is_finite() {
        return Err(Error::InvalidParameter {
            name: "coupling J",
            reason: format!("must be finite, got {j}"),
        });
    }
    check_field(h)?;
    check_temperature(t)?;
    let beta = 1.0 / t;
    // Jet in beta: d ln Z / d beta = -<E>, second derivative = Var(E).
    let in_beta = chain_ln_z(n, Jet::linear(beta * j, j), Jet::linear(beta * h, h));
    // Jet in h: d ln Z / dh = beta <M>, second derivative = beta^2 Var(M).
    let in_h = chain_ln_z(n, Jet::constant(beta * j), Jet::linear(beta * h, beta));
    let nf = n as f64;
    Ok(ChainExact {
        ln_z: in_beta.v,
        energy: -in_beta.d / nf,
        specific_heat: beta * beta * in_beta.dd / nf,
        magnetization: in_h.d / (beta * nf),
        susceptibility: in_h.dd / (beta * nf),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn kaufman_matches_enumeration() {
        // Includes odd sides and rectangles, where an index slip in the
        // formula would show.
        for &(r, c) in &[(2, 2), (2, 3), (3, 3), (3, 4), (4, 4), (4, 5), (2, 5)] {
            let dos = DensityOfStates::square(r, c).unwrap();
            for &t in &[
                0.5,
                1.5,
                2.0,
                critical_temperature(1.0).unwrap(),
                2.6,
                5.0,
                40.0,
            ] {
                let k = kaufman(r, c, 1.0, t).unwrap();
                let e = dos.thermal(1.0, 0.0, t).unwrap();
                assert!(
                    close(k.ln_z, e.ln_z, 1e-12),
                    "{r}x{c} T={t}: {} vs {}",
                    k.ln_z,
                    e.ln_z
                );
                assert!(
                    close(k.energy, e.energy, 1e-11),
                    "{r}x{c} T={t}: {} vs {}",
                    k.energy,
                    e.energy
                );
                assert!(
                    close(k.specific_heat, e.specific_heat, 1e-10),
                    "{r}x{c} T={t}: {} vs {}",
                    k.specific_heat,
                    e.specific_heat
                );
            }
        }
    }

    #[test]
    fn kaufman_derivatives_match_differences_of_ln_z() {
        // Independent of the jet code: central differences of ln Z alone.
        for &t in &[1.8, critical_temperature(1.0).unwrap(), 3.0] {
            let l = 16;
            let n = (l * l) as f64;
            let k = 1.0 / t;
            let h = 1e-4;
            let lz = |k: f64| kaufman(l, l, 1.0, 1.0 / k).unwrap().ln_z;
            let (p, z, m) = (lz(k + h), lz(k), lz(k - h));
            let e = kaufman(l, l, 1.0, t).unwrap();
            assert!(close(e.energy, -(p - m) / (2.0 * h) / n, 1e-7));
            assert!(close(
                e.specific_heat,
                k * k * (p - 2.0 * z + m) / (h * h) / n,
                1e-4
            ));
        }
    }

    #[test]
    fn kaufman_large_lattice_approaches_onsager() {
        // Away from T_c the periodic lattice converges exponentially fast.
        let tc = critical_temperature(1.0).unwrap();
        for &t in &[1.5, 2.0, 2.6, 3.5] {
            let k = kaufman(128, 128, 1.0, t).unwrap();
            // Below T_c the finite periodic lattice has two ordered phases:
            // ln Z = -N f / T + ln 2 up to exponentially small terms.
            let ln2 = if t < tc { 2f64.ln() } else { 0.0 };
            let f = -t * (k.ln_z - ln2) / (128.0 * 128.0);
            assert!(
                close(f, onsager_free_energy(1.0, t).unwrap(), 1e-12),
                "T={t}"
            );
            assert!(close(k.energy, onsager_energy(1.0, t).unwrap(), 1e-10));
            assert!(close(
                k.specific_heat,
                onsager_specific_heat(1.0, t).unwrap(),
                1e-8
            ));
        }
        // Huge lattices do not overflow.
        let big = kaufman(4096, 4096, 1.0, 2.0).unwrap();
        assert!(close(big.energy, onsager_energy(1.0, 2.0).unwrap(), 1e-12));
        // At T_c the peak grows like (8 K_c^2 / pi) ln L (Ferdinand and Fisher 1969).
        let kc = 1.0 / tc;
        let slope = 8.0 * kc * kc / PI;
        // (Corrections are O(1/L): the slope between 512 and 1024 is within
        // 5e-4 of the asymptote, between 64 and 128 within 4e-3.)
        let c512 = kaufman(512, 512, 1.0, tc).unwrap().specific_heat;
        let c1024 = kaufman(1024, 1024, 1.0, tc).unwrap().specific_heat;
        assert!(close((c1024 - c512) / 2f64.ln(), slope, 1e-3));
        assert!(close(
            kaufman(64, 64, 1.0, tc).unwrap().energy,
            -2f64.sqrt(),
            2e-2
        ));
    }

    #[test]
    fn onsager_internal_consistency() {
        // u = d(beta f)/d beta and c = du/dT, by central differences.
        for &t in &[1.0, 1.9, 2.2, 2.4, 3.0, 6.0] {
            let h = 1e-5;
            let bf = |t: f64| onsager_free_energy(1.0, t).unwrap() / t;
            let du = (bf(t + h) - bf(t - h)) / (1.0 / (t + h) - 1.0 / (t - h));
            assert!(close(onsager_energy(1.0, t).unwrap(), du, 1e-6), "T={t}");
            let c = (onsager_energy(1.0, t + h).unwrap() - onsager_energy(1.0, t - h).unwrap())
                / (2.0 * h);
            assert!(
                close(onsager_specific_heat(1.0, t).unwrap(), c, 1e-5),
                "T={t}"
            );
        }
        let tc = critical_temperature(1.0).unwrap();
        assert!(close(onsager_energy(1.0, tc).unwrap(), -2f64.sqrt(), 1e-12));
        assert_eq!(onsager_specific_heat(1.0, tc).unwrap(), f64::INFINITY);
        // Yang's magnetisation and its beta = 1/8 onset.
        assert_eq!(spontaneous_magnetization(1.0, tc * 1.0001).unwrap(), 0.0);
        let m = spontaneous_magnetization(1.0, tc * (1.0 - 1e-6)).unwrap();
        assert!(m > 0.0 && m < 0.3);
        // Known value: f(T_c) = -T_c (ln 2 / 2 + 2G / pi), G = Catalan's constant.
        let catalan = 0.915_965_594_177_219;
        let f_tc = -tc * (0.5 * 2f64.ln() + 2.0 * catalan / PI);
        assert!(close(onsager_free_energy(1.0, tc).unwrap(), f_tc, 1e-10));
    }

    #[test]
    fn chain_matches_enumeration() {
        for n in 1..=10 {
            let dos = DensityOfStates::chain(n).unwrap();
            for &(j, h, t) in &[
                (1.0, 0.0, 1.0),
                (1.0, 0.3, 0.7),
                (-0.8, 0.5, 1.3),
                (0.5, -1.0, 3.0),
            ] {
                let a = chain_transfer_matrix(n, j, h, t).unwrap();
                let b = dos.thermal(j, h, t).unwrap();
                assert!(close(a.ln_z, b.ln_z, 1e-12), "n={n} {j} {h} {t}");
                assert!(close(a.energy, b.energy, 1e-11), "n={n} {j} {h} {t}");
                assert!(
                    close(a.specific_heat, b.specific_heat, 1e-10),
                    "n={n} {j} {h} {t}"
                );
                assert!(
                    close(a.magnetization, b.magnetization, 1e-11),
                    "n={n} {j} {h} {t}"
                );
                assert!(
                    close(a.susceptibility, b.susceptibility, 1e-10),
                    "n={n} {j} {h} {t}"
                );
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(kaufman(4, 4, 1.0, 0.0).is_err());
        assert!(kaufman(4, 4, -1.0, 1.0).is_err());
        assert!(kaufman(1, 4, 1.0, 1.0).is_err());
        assert!(DensityOfStates::square(6, 6).is_err());
        assert!(chain_transfer_matrix(0, 1.0, 0.0, 1.0).is_err());
        assert!(chain_transfer_matrix(3, 1.0, f64::NAN, 1.0).is_err());
    }
}
