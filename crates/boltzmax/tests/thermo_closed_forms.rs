//! The thermo module against closed forms of statistical mechanics: the
//! two-level (Schottky) system, the harmonic oscillator, degenerate
//! levels, the high- and low-temperature limits, invariance under an
//! energy offset, and a conformer set computed by hand.

// Reference values are written with all the digits the 40-digit reference
// computation gave; rounding them to f64 is the compiler's job.
#![allow(clippy::excessive_precision)]

use boltzmax::nd::Par;
use boltzmax::thermo::{Constants, EnergyUnit, Ensemble, Reference, Sweep, Thermo, Units};

fn units(u: EnergyUnit) -> Units {
    Units::new(u, Constants::CODATA2018)
}

fn close(a: f64, b: f64, rel: f64, what: &str) {
    let tol = rel * b.abs().max(1.0);
    assert!(
        (a - b).abs() <= tol,
        "{what}: got {a:.17e}, expected {b:.17e} (tol {tol:e})"
    );
}

fn two_level() -> Ensemble {
    // Delta = 1 K, so kT/Delta is T in kelvin.
    Ensemble::new(vec![0.0, 1.0], units(EnergyUnit::Kelvin)).unwrap()
}

/// C/k of two levels a gap Delta apart: (D/kT)^2 e^(D/kT) / (1 + e^(D/kT))^2.
fn schottky(t: f64) -> f64 {
    let x = 1.0 / t;
    let e = (-x).exp(); // written with e^-x so it cannot overflow
    x * x * e / ((1.0 + e) * (1.0 + e))
}

#[test]
fn schottky_heat_capacity_matches_closed_form() {
    let ens = two_level();
    for t in [0.05, 0.2, 0.4167782798, 1.0, 3.0, 50.0] {
        let th = ens.at(t).unwrap();
        close(
            th.heat_capacity,
            schottky(t),
            1e-13,
            &format!("C/k at T={t}"),
        );
    }
}

#[test]
fn schottky_peak_found_by_maximising_our_heat_capacity() {
    let ens = two_level();
    // 1. The peak is where d(C/k)/dT, from the third cumulant, changes sign.
    let (mut lo, mut hi) = (0.2_f64, 1.0_f64);
    assert!(ens.at(lo).unwrap().heat_capacity_slope() > 0.0);
    assert!(ens.at(hi).unwrap().heat_capacity_slope() < 0.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        if ens.at(mid).unwrap().heat_capacity_slope() > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t_peak = 0.5 * (lo + hi);
    let c_peak = ens.at(t_peak).unwrap().heat_capacity;
    // Published: C/k = 0.4392288399 at kT/Delta = 0.4167782798.
    assert!((t_peak - 0.416_778_279_8).abs() < 1e-10, "peak at {t_peak}");
    assert!(
        (c_peak - 0.439_228_839_9).abs() < 1e-10,
        "peak C/k {c_peak}"
    );

    // 2. Independently, golden-section search on the values of C/k alone
    //    (no derivative) lands on the same peak to the sqrt(eps) that a
    //    flat maximum allows.
    let cv = |t: f64| ens.at(t).unwrap().heat_capacity;
    let g = 0.5 * (5.0_f64.sqrt() - 1.0);
    let (mut a, mut b) = (0.2_f64, 1.0_f64);
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    while b - a > 1e-9 {
        if cv(c) > cv(d) {
            b = d;
        } else {
            a = c;
        }
        c = b - g * (b - a);
        d = a + g * (b - a);
    }
    let t_golden = 0.5 * (a + b);
    assert!(
        (t_golden - 0.416_778_279_8).abs() < 1e-7,
        "golden {t_golden}"
    );
    assert!((cv(t_golden) - 0.439_228_839_9).abs() < 1e-10);
}

#[test]
fn truncated_harmonic_ladder_matches_the_oscillator() {
    // E_n = (n + 1/2) theta with theta = 1 K, 20000 levels: at T <= 100 K the
    // missing tail weighs below e^-200.
    let n = 20_000;
    let e: Vec<f64> = (0..n).map(|k| k as f64 + 0.5).collect();
    let ens = Ensemble::new(e, units(EnergyUnit::Kelvin))
        .unwrap()
        .with_reference(Reference::Absolute)
        .unwrap();
    for t in [0.1, 0.3, 1.0, 4.0, 25.0, 100.0] {
        let th = ens.at(t).unwrap();
        let x = 1.0 / t;
        let em1 = x.exp_m1(); // e^x - 1
        let ln_z = -x / 2.0 - (-(-x).exp_m1()).ln();
        let u = 0.5 + 1.0 / em1; // in units of theta
        let s = x / em1 - (-(-x).exp_m1()).ln();
        let c = x * x * x.exp() / (em1 * em1);
        close(th.ln_z, ln_z, 1e-12, &format!("ln Z at T={t}"));
        close(th.mean_energy, u, 1e-12, &format!("U at T={t}"));
        close(th.entropy, s, 1e-12, &format!("S at T={t}"));
        close(th.heat_capacity, c, 1e-12, &format!("C at T={t}"));
        close(th.free_energy, -t * ln_z, 1e-12, &format!("F at T={t}"));
        if let Some(z) = th.z {
            close(z, ln_z.exp(), 1e-12, "Z");
        }
    }
}

fn assert_same_thermo(a: &Thermo, b: &Thermo, rel: f64, what: &str) {
    close(a.ln_z, b.ln_z, rel, &format!("{what}: ln Z"));
    close(a.mean_energy, b.mean_energy, rel, &format!("{what}: U"));
    close(a.free_energy, b.free_energy, rel, &format!("{what}: F"));
    close(a.entropy, b.entropy, rel, &format!("{what}: S"));
    close(a.heat_capacity, b.heat_capacity, rel, &format!("{what}: C"));
    close(
        a.conformational_entropy,
        b.conformational_entropy,
        rel,
        &format!("{what}: S_conf"),
    );
}

#[test]
fn a_degenerate_level_is_the_same_as_its_copies() {
    let u = units(EnergyUnit::KilojoulePerMole);
    let merged = Ensemble::new(vec![0.0, 1.5, 4.0], u)
        .unwrap()
        .with_degeneracies(vec![1.0, 3.0, 2.0])
        .unwrap();
    let copies = Ensemble::new(vec![0.0, 1.5, 1.5, 1.5, 4.0, 4.0], u).unwrap();
    for t in [50.0, 298.15, 1000.0] {
        let a = merged.at(t).unwrap();
        let b = copies.at(t).unwrap();
        assert_same_thermo(&a, &b, 1e-14, &format!("T={t}"));
        close(
            a.populations[1],
            b.populations[1] * 3.0,
            1e-14,
            "p of the triple level",
        );
        close(
            a.populations[2],
            b.populations[4] + b.populations[5],
            1e-14,
            "p",
        );
    }
    // Ethane's three staggered minima (xtb #108): one level with g = 3
    // has S_conf = R ln 3 at every temperature, as do three copies; a
    // symmetry number of 3 cancels it.
    let one = Ensemble::new(vec![-7.0], u).unwrap();
    let g3 = one.clone().with_degeneracies(vec![3.0]).unwrap();
    let three = Ensemble::new(vec![-7.0; 3], u).unwrap();
    let sigma3 = g3.clone().with_symmetry_numbers(vec![3.0]).unwrap();
    for t in [1.0, 298.15, 1e5] {
        close(
            g3.at(t).unwrap().conformational_entropy,
            3.0_f64.ln(),
            1e-15,
            "R ln 3",
        );
        close(
            three.at(t).unwrap().conformational_entropy,
            3.0_f64.ln(),
            1e-15,
            "R ln 3",
        );
        close(
            sigma3.at(t).unwrap().conformational_entropy,
            0.0,
            1e-15,
            "g/sigma = 1",
        );
        close(one.at(t).unwrap().entropy, 0.0, 1e-15, "one level");
    }
}

#[test]
fn high_and_low_temperature_limits() {
    let u = units(EnergyUnit::KilocaloriePerMole);
    let ens = Ensemble::new(vec![0.0, 0.0, 0.7, 2.5], u)
        .unwrap()
        .with_degeneracies(vec![1.0, 2.0, 4.0, 1.0])
        .unwrap();
    // T -> infinity: p -> g / sum g, S/k -> ln sum g, C -> 0.
    let hot = ens.at(1e12).unwrap();
    for (p, g) in hot.populations.iter().zip([1.0, 2.0, 4.0, 1.0]) {
        close(*p, g / 8.0, 1e-9, "p at high T");
    }
    close(hot.entropy, 8.0_f64.ln(), 1e-9, "S at high T");
    assert!(
        hot.heat_capacity < 1e-15,
        "C at high T {}",
        hot.heat_capacity
    );
    // T -> 0: the two degenerate ground levels share by degeneracy (1:2),
    // S/k -> ln 3, U -> 0, C -> 0; nothing becomes NaN.
    let cold = ens.at(1.0).unwrap();
    close(cold.populations[0], 1.0 / 3.0, 1e-15, "p0 at low T");
    close(cold.populations[1], 2.0 / 3.0, 1e-15, "p1 at low T");
    assert!(cold.populations[2] < 1e-150 && cold.populations[3] == 0.0);
    close(cold.entropy, 3.0_f64.ln(), 1e-14, "S at low T");
    assert!(cold.mean_energy.abs() < 1e-150);
    assert!(cold.heat_capacity < 1e-140);
    close(cold.z.unwrap(), 3.0, 1e-15, "Z at low T");
}

#[test]
fn offset_of_a_million_kj_per_mol_changes_nothing() {
    let rel = [0.0, 1.3, 2.7, 4.1, 0.2, 9.9];
    let u = units(EnergyUnit::KilojoulePerMole);
    let plain = Ensemble::new(rel.to_vec(), u).unwrap();
    let shifted = Ensemble::new(rel.iter().map(|e| e + 1e6).collect(), u).unwrap();
    for t in [30.0, 298.15, 2000.0] {
        let a = plain.at(t).unwrap();
        let b = shifted.at(t).unwrap();
        // 1e6 + 1.3 rounds to within 1.2e-10 kJ/mol; that, over kT, bounds
        // every difference.
        let eps = 1.2e-10 / a.kt * 10.0;
        for (p, q) in a.populations.iter().zip(&b.populations) {
            assert!((p - q).abs() < eps, "p: {p} vs {q} at T={t}");
        }
        assert_same_thermo(&a, &b, eps, &format!("offset, T={t}"));
        // What the offset would do to a one-pass variance <x^2> - <x>^2
        // of the absolute energies: the test above can fail.
        let x: Vec<f64> = shifted.energies().iter().map(|e| e / b.kt).collect();
        let m1: f64 = b.populations.iter().zip(&x).map(|(p, x)| p * x).sum();
        let m2: f64 = b.populations.iter().zip(&x).map(|(p, x)| p * x * x).sum();
        assert!((m2 - m1 * m1 - a.heat_capacity).abs() > 1e3 * eps);
    }
    // Absolute ln Z is -E/kT-sized and Z underflows: reported as None.
    let abs = shifted
        .clone()
        .with_reference(Reference::Absolute)
        .unwrap()
        .at(298.15)
        .unwrap();
    assert!(abs.z.is_none());
    close(
        abs.ln_z,
        plain.at(298.15).unwrap().ln_z - 1e6 / abs.kt,
        1e-15,
        "ln Z",
    );
}

#[test]
fn conformer_set_checked_by_hand() {
    // 0, 0.5, 1.2 kcal/mol with degeneracies 1, 2, 1 at 298.15 K.
    // RT = 8.31446261815324 * 298.15 / 4184 = 0.592484949713764 kcal/mol;
    // by hand: e^(-0.5/RT) = 0.43004, times 2 = 0.86007; e^(-1.2/RT) =
    // 0.13195; Z = 1.99200; p = 0.50201, 0.43176, 0.06624. The digits below
    // are the same sums in 40-digit decimal arithmetic (Python `decimal`).
    let ens = Ensemble::new(vec![0.0, 0.5, 1.2], units(EnergyUnit::KilocaloriePerMole))
        .unwrap()
        .with_degeneracies(vec![1.0, 2.0, 1.0])
        .unwrap();
    let t = ens.at(298.15).unwrap();
    close(t.kt, 0.592_484_949_713_763_98, 1e-15, "RT");
    let p = [
        0.502_007_346_206_981_664,
        0.431_755_148_300_891_528,
        0.066_237_505_492_126_808,
    ];
    for (a, b) in t.populations.iter().zip(p) {
        assert!((a - b).abs() < 2e-16, "{a} vs {b}");
    }
    close(t.z.unwrap(), 1.992_002_721_784_258_435, 1e-15, "Z");
    close(t.mean_energy, 0.295_362_580_740_997_933, 1e-15, "U");
    close(t.free_energy, -0.408_305_389_607_860_845, 1e-15, "F");
    close(t.entropy, 1.187_655_434_435_606_404, 1e-15, "S/k");
    close(
        t.conformational_entropy,
        1.187_655_434_435_606_404,
        1e-15,
        "S_conf/k",
    );
    close(t.heat_capacity, 0.330_681_018_688_945_653, 1e-14, "C/k");
    let g = t.ensemble_free_energies();
    close(
        g.partition,
        g.boltzmann_average + g.minus_t_s_conf,
        1e-15,
        "G identity",
    );
    // SI: S = 1.18765... R J/(mol K); F in J/mol = kcal/mol * 4184.
    close(
        t.entropy_si(t.entropy),
        1.187_655_434_435_606_4 * 8.314_462_618_153_24,
        1e-14,
        "S SI",
    );
    close(
        t.energy_si(t.free_energy),
        -0.408_305_389_607_860_845 * 4184.0,
        1e-12,
        "F SI",
    );
}

#[test]
fn every_unit_gives_the_same_populations() {
    // The same three levels, expressed in each unit via CODATA 2018.
    let joule_per_mol = [0.0, 1234.5, 3210.0];
    let c = Constants::CODATA2018;
    let reference = Ensemble::new(joule_per_mol.to_vec(), units(EnergyUnit::JoulePerMole))
        .unwrap()
        .at(310.0)
        .unwrap();
    for u in [
        EnergyUnit::Joule,
        EnergyUnit::KilojoulePerMole,
        EnergyUnit::KilocaloriePerMole,
        EnergyUnit::ElectronVolt,
        EnergyUnit::MilliElectronVolt,
        EnergyUnit::Hartree,
        EnergyUnit::Wavenumber,
        EnergyUnit::Kelvin,
        EnergyUnit::Kt,
    ] {
        let un = Units::new(u, c);
        let size = un.molar_size();
        let e: Vec<f64> = joule_per_mol.iter().map(|v| v / size).collect();
        let th = Ensemble::new(e, un).unwrap().at(310.0).unwrap();
        for (a, b) in th.populations.iter().zip(&reference.populations) {
            close(*a, *b, 1e-13, &format!("unit {u}"));
        }
        close(th.entropy, reference.entropy, 1e-13, &format!("S in {u}"));
        close(
            th.mean_energy * size,
            reference.mean_energy,
            1e-12,
            &format!("U in {u}"),
        );
        close(
            th.energy_si(th.mean_energy),
            th.mean_energy * un.si_size(),
            1e-15,
            "SI",
        );
    }
}

#[test]
fn identities_and_dudt() {
    let ens = Ensemble::new(
        vec![0.0, 0.8, 1.1, 3.0],
        units(EnergyUnit::KilocaloriePerMole),
    )
    .unwrap()
    .with_degeneracies(vec![2.0, 1.0, 3.0, 1.0])
    .unwrap()
    .with_reference(Reference::Level(1))
    .unwrap();
    for t in [100.0, 298.15, 700.0] {
        let th = ens.at(t).unwrap();
        // F = U - T S, with S in the energy unit per kelvin.
        close(
            th.free_energy,
            th.mean_energy - t * th.entropy_per_kelvin(th.entropy),
            1e-14,
            "F = U - TS",
        );
        // C = dU/dT, checked against a central difference of our own U (the
        // library never differentiates numerically; the test may).
        let h = t * 1e-5;
        let du =
            (ens.at(t + h).unwrap().mean_energy - ens.at(t - h).unwrap().mean_energy) / (2.0 * h);
        let c = th.entropy_per_kelvin(th.heat_capacity);
        assert!((c - du).abs() < 1e-7 * du.abs(), "C = dU/dT: {c} vs {du}");
        // d(C/k)/dT from the third cumulant against a central difference.
        let dc = (ens.at(t + h).unwrap().heat_capacity - ens.at(t - h).unwrap().heat_capacity)
            / (2.0 * h);
        assert!((th.heat_capacity_slope() - dc).abs() < 1e-7 * (dc.abs() + 1e-3));
    }
}

#[test]
fn property_averages_and_parallel_sweeps() {
    let ens = Ensemble::new(vec![0.0, 1.0, 2.0], units(EnergyUnit::Kelvin))
        .unwrap()
        .with_property("dipole", vec![1.0, 3.0, 5.0])
        .unwrap();
    let th = ens.at(1.0).unwrap();
    let w = [1.0, (-1.0_f64).exp(), (-2.0_f64).exp()];
    let z: f64 = w.iter().sum();
    let mean = (w[0] + 3.0 * w[1] + 5.0 * w[2]) / z;
    let var =
        (w[0] * (1.0 - mean).powi(2) + w[1] * (3.0 - mean).powi(2) + w[2] * (5.0 - mean).powi(2))
            / z;
    close(th.properties[0].mean, mean, 1e-15, "mean");
    close(th.properties[0].std, var.sqrt(), 1e-15, "std");
    // The property is linear in E here, so its std is 2 sigma_E.
    close(
        th.properties[0].std,
        2.0 * th.energy_std,
        1e-14,
        "std vs energy",
    );

    let sweep = Sweep::log(0.01, 100.0, 301).unwrap();
    let seq = ens.sweep(&sweep, Par::Seq).unwrap();
    for par in [
        Par::Threads(0),
        Par::Threads(1),
        Par::Threads(3),
        Par::Threads(64),
    ] {
        assert_eq!(ens.sweep(&sweep, par).unwrap(), seq, "{par:?}");
    }
    assert_eq!(seq.len(), 301);
    assert_eq!(seq[0].temperature, 0.01);
    assert_eq!(seq[300].temperature, 100.0);
}

#[test]
fn goodvibes_constants_shift_populations_by_about_1e8() {
    // The same hartree energies with GoodVibes' R and hartree: E/kT is
    // larger by (627.509541 / 627.5094740631) * (8.314462618 / 8.3144621).
    let e = vec![-40.0, -39.9995, -39.999, -39.998];
    let a = Ensemble::new(e.clone(), units(EnergyUnit::Hartree))
        .unwrap()
        .at(298.15)
        .unwrap();
    let b = Ensemble::new(e, Units::new(EnergyUnit::Hartree, Constants::GOODVIBES))
        .unwrap()
        .at(298.15)
        .unwrap();
    let ratio = b.kt / a.kt;
    close(
        ratio,
        1.0 / ((627.509_541 / 627.509_474_063_056) * (8.314_462_618_153_24 / 8.314_462_1)),
        1e-13,
        "kT ratio",
    );
    let d = a
        .populations
        .iter()
        .zip(&b.populations)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max);
    assert!(d > 1e-9 && d < 1e-6, "largest population shift {d}");
}
