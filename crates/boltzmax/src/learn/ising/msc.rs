//! Multi-spin-coded checkerboard Metropolis: 64 spins of one colour per
//! machine word, updated together with bitwise logic.
//!
//! Layout: the sites of each checkerboard colour are packed row by row,
//! site `(r, c)` of colour `(r + c) % 2` at packed index `c / 2`, bit
//! `k % 64` of word `k / 64` (a set bit is spin up). A site's up and down
//! neighbours then sit at the same packed index in the other colour's
//! rows `r - 1` and `r + 1`, and its left and right neighbours at indices
//! `k` and `k -/+ 1` of the other colour's row `r`, so all four
//! neighbour words of 64 sites come from three loads and one shift.
//!
//! Metropolis at `h = 0` flips a spin with `a` anti-aligned neighbours
//! with probability 1 for `a >= 2`, `p1 = exp(-4J/T)` for `a = 1` and
//! `p0 = exp(-8J/T)` for `a = 0`. The count `a` comes from a bitwise
//! adder. For the random decision every site compares its own uniform
//! `U` with its threshold bit by bit, most significant first, one random
//! word per bit position for 64 sites at once, stopping as soon as every
//! site is decided (after about `log2(64) + 2` words): exactly `U < p` with
//! 53-bit uniforms, as in the scalar sweep, at a fraction of the random
//! bits.

use super::lattice::{Lattice, Model};
use crate::error::{Error, Result};
use rand::RngCore;

/// A square lattice packed for multi-spin coding; `L` must be a multiple
/// of 128 (each row of one colour fills whole 64-bit words).
///
/// ```
/// use boltzmax::learn::ising::{Model, PackedLattice, exact::kaufman};
/// use rand::SeedableRng;
/// let model = Model::new(1.0, 0.0, 3.0).unwrap();
/// let mut lat = PackedLattice::new(128).unwrap();
/// let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
/// let table = lat.metropolis_table(&model).unwrap();
/// for _ in 0..200 { lat.metropolis_sweep(&table, &mut rng); }
/// let (mut e, mut n) = (0.0, 0.0);
/// for _ in 0..300 {
///     lat.metropolis_sweep(&table, &mut rng);
///     e += lat.energy_magnetization(&model).0;
///     n += 1.0;
/// }
/// assert!((e / n - kaufman(128, 128, 1.0, 3.0).unwrap().energy).abs() < 0.01);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PackedLattice {
    l: usize,
    /// Words per packed row (`L / 128`).
    wpr: usize,
    /// `colour[c][r * wpr + w]`.
    colour: [Vec<u64>; 2],
}

/// The thresholds of [`PackedLattice::metropolis_sweep`] for one model:
/// `p1` and `p0` as 53-bit fixed-point integers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetropolisTable {
    t1: u64,
    t0: u64,
}

impl PackedLattice {
    /// All spins up.
    pub fn new(l: usize) -> Result<PackedLattice> {
        if l == 0 || !l.is_multiple_of(128) {
            return Err(Error::InvalidParameter {
                name: "lattice side L",
                reason: format!("multi-spin coding needs a multiple of 128, got {l}"),
            });
        }
        let wpr = l / 128;
        Ok(PackedLattice {
            l,
            wpr,
            colour: [vec![!0u64; l * wpr], vec![!0u64; l * wpr]],
        })
    }

    /// Packs a [`Lattice`] (its side must be a multiple of 128).
    pub fn from_lattice(lattice: &Lattice) -> Result<PackedLattice> {
        let l = lattice.side();
        let mut p = PackedLattice::new(l)?;
        for r in 0..l {
            for c in 0..l {
                p.set(r, c, lattice.spins()[r * l + c] > 0);
            }
        }
        Ok(p)
    }

    /// Unpacks into a [`Lattice`].
    pub fn to_lattice(&self) -> Lattice {
        let mut lat = Lattice::new(self.l).expect("side checked at construction");
        let l = self.l;
        for r in 0..l {
            for c in 0..l {
                lat.spins_mut()[r * l + c] = if self.get(r, c) { 1 } else { -1 };
            }
        }
        lat
    }

    fn locate(&self, r: usize, c: usize) -> (usize, usize, u32) {
        let k = c / 2;
        ((r + c) % 2, r * self.wpr + k / 64, (k % 64) as u32)
    }

    /// Spin at `(r, c)`: true for up.
    pub fn get(&self, r: usize, c: usize) -> bool {
        let (col, w, b) = self.locate(r, c);
        self.colour[col][w] >> b & 1 == 1
    }

    /// Sets the spin at `(r, c)`.
    pub fn set(&mut self, r: usize, c: usize, up: bool) {
        let (col, w, b) = self.locate(r, c);
        if up {
            self.colour[col][w] |= 1 << b;
        } else {
            self.colour[col][w] &= !(1 << b);
        }
    }

    /// The side L.
    pub fn side(&self) -> usize {
        self.l
    }

    /// Tabulates `exp(-4J/T)` and `exp(-8J/T)`; needs `h = 0`.
    pub fn metropolis_table(&self, model: &Model) -> Result<MetropolisTable> {
        if model.h != 0.0 {
            return Err(Error::InvalidParameter {
                name: "field h",
                reason: format!(
                    "the multi-spin-coded sweep supports h = 0 only, got {}",
                    model.h
                ),
            });
        }
        let beta = model.beta();
        let fixed = |p: f64| -> u64 { (p.min(1.0) * (1u64 << 53) as f64) as u64 };
        Ok(MetropolisTable {
            t1: fixed((-4.0 * beta * model.j).exp()),
            t0: fixed((-8.0 * beta * model.j).exp()),
        })
    }

    /// One Metropolis sweep: colour 0, then colour 1.
    pub fn metropolis_sweep<R: RngCore + ?Sized>(&mut self, table: &MetropolisTable, rng: &mut R) {
        self.half_sweep(0, table, rng);
        self.half_sweep(1, table, rng);
    }

    fn half_sweep<R: RngCore + ?Sized>(&mut self, c: usize, table: &MetropolisTable, rng: &mut R) {
        let (l, wpr) = (self.l, self.wpr);
        let [c0, c1] = &mut self.colour;
        let (me, other) = if c == 0 { (c0, &*c1) } else { (c1, &*c0) };
        for r in 0..l {
            let up = if r == 0 { l - 1 } else { r - 1 } * wpr;
            let down = if r + 1 == l { 0 } else { r + 1 } * wpr;
            let row = r * wpr;
            // Colour c in row r sits at columns 2k + offset.
            let offset = (r + c) % 2;
            for w in 0..wpr {
                let s = me[row + w];
                let same = other[row + w];
                // The side neighbour at packed index k - 1 (offset 0) or
                // k + 1 (offset 1), with wrap-around along the row.
                let side = if offset == 0 {
                    let prev = other[row + if w == 0 { wpr - 1 } else { w - 1 }];
                    (same << 1) | (prev >> 63)
                } else {
                    let next = other[row + if w + 1 == wpr { 0 } else { w + 1 }];
                    (same >> 1) | (next << 63)
                };
                let x1 = s ^ other[up + w];
                let x2 = s ^ other[down + w];
                let x3 = s ^ same;
                let x4 = s ^ side;
                // a = x1 + x2 + x3 + x4 per bit.
                let (s1, k1) = (x1 ^ x2, x1 & x2);
                let (s2, k2) = (x3 ^ x4, x3 & x4);
                let ge2 = k1 | k2 | (s1 & s2);
                let eq1 = (s1 ^ s2) & !(k1 | k2);
                let eq0 = !(x1 | x2 | x3 | x4);
                let flip = ge2 | bernoulli(eq1, table.t1, eq0, table.t0, rng);
                me[row + w] = s ^ flip;
            }
        }
    }

    /// Bond sum `B` and magnetisation `M` by popcounts: every bond joins
    /// the two colours, so the anti-aligned bonds are counted once from
    /// colour 0.
    pub fn bond_sum_magnetization(&self) -> (i64, i64) {
        let (l, wpr) = (self.l, self.wpr);
        let (me, other) = (&self.colour[0], &self.colour[1]);
        let mut anti = 0u64;
        for r in 0..l {
            let up = if r == 0 { l - 1 } else { r - 1 } * wpr;
            let down = if r + 1 == l { 0 } else { r + 1 } * wpr;
            let row = r * wpr;
            let offset = r % 2;
            for w in 0..wpr {
                let s = me[row + w];
                let same = other[row + w];
                let side = if offset == 0 {
                    (same << 1) | (other[row + if w == 0 { wpr - 1 } else { w - 1 }] >> 63)
                } else {
                    (same >> 1) | (other[row + if w + 1 == wpr { 0 } else { w + 1 }] << 63)
                };
                anti += u64::from(
                    (s ^ other[up + w]).count_ones()
                        + (s ^ other[down + w]).count_ones()
                        + (s ^ same).count_ones()
                        + (s ^ side).count_ones(),
                );
            }
        }
        let up: u64 = self
            .colour
            .iter()
            .flatten()
            .map(|w| u64::from(w.count_ones()))
            .sum();
        let n = (l * l) as i64;
        (2 * n - 2 * anti as i64, 2 * up as i64 - n)
    }

    /// Energy per spin and magnetisation per spin under `model`.
    pub fn energy_magnetization(&self, model: &Model) -> (f64, f64) {
        let (b, m) = self.bond_sum_magnetization();
        let n = (self.l * self.l) as f64;
        ((-model.j * b as f64 - model.h * m as f64) / n, m as f64 / n)
    }
}

/// For each bit set in `need1` (threshold `t1`) or `need0` (threshold
/// `t0`), a bit that is 1 with probability `t / 2^53`: each site compares
/// a 53-bit uniform `U` with its threshold, one bit position per random
/// word, most significant first, until all are decided. `U < t` is
/// decided at the first bit where they differ.
#[inline(always)]
fn bernoulli<R: RngCore + ?Sized>(need1: u64, t1: u64, need0: u64, t0: u64, rng: &mut R) -> u64 {
    let mut undecided = need1 | need0;
    let mut yes = 0u64;
    let mut bit = 52;
    while undecided != 0 {
        let r = rng.next_u64();
        // Threshold bit of each site at this position.
        let tb =
            (need1 & 0u64.wrapping_sub(t1 >> bit & 1)) | (need0 & 0u64.wrapping_sub(t0 >> bit & 1));
        // Decided now where U's bit differs from the threshold's: U < t
        // where U has 0 and t has 1.
        yes |= undecided & tb & !r;
        undecided &= !(tb ^ r);
        if bit == 0 {
            // U == t on all 53 bits: U < t is false.
            break;
        }
        bit -= 1;
    }
    yes
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn packing_round_trips_and_counts_match() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        let lat = Lattice::random(256, &mut rng).unwrap();
        let p = PackedLattice::from_lattice(&lat).unwrap();
        assert_eq!(p.to_lattice(), lat);
        assert_eq!(p.bond_sum_magnetization(), lat.bond_sum_magnetization());
    }

    #[test]
    fn bernoulli_bits_have_the_right_rate() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        let (p1, p0) = (0.171_6_f64, 0.029_4_f64);
        let t1 = (p1 * (1u64 << 53) as f64) as u64;
        let t0 = (p0 * (1u64 << 53) as f64) as u64;
        let need1 = 0x00FF_00FF_00FF_00FF_u64;
        let need0 = 0x0F00_0F00_0F00_0F00_u64;
        let (mut c1, mut c0, mut other) = (0u64, 0u64, 0u64);
        let rounds = 200_000;
        for _ in 0..rounds {
            let y = bernoulli(need1, t1, need0, t0, &mut rng);
            c1 += u64::from((y & need1).count_ones());
            c0 += u64::from((y & need0).count_ones());
            other += u64::from((y & !(need1 | need0)).count_ones());
        }
        assert_eq!(other, 0);
        let n1 = (rounds * 32) as f64;
        let n0 = (rounds * 16) as f64;
        // Binomial standard errors; 5 sigma.
        assert!((c1 as f64 / n1 - p1).abs() < 5.0 * (p1 * (1.0 - p1) / n1).sqrt());
        assert!((c0 as f64 / n0 - p0).abs() < 5.0 * (p0 * (1.0 - p0) / n0).sqrt());
    }

    #[test]
    fn rejects_bad_sides_and_fields() {
        assert!(PackedLattice::new(64).is_err());
        let p = PackedLattice::new(128).unwrap();
        assert!(
            p.metropolis_table(&Model::new(1.0, 0.1, 2.0).unwrap())
                .is_err()
        );
    }
}
