//! ulp error of every table's exp on the kernels' whole domain `z <= 0`.
//!
//! The exp is reached through `exp_store` with `m = 0`, unit scaling and
//! `denom = 1`: then `z = x - 0 = x` and the result is multiplied by
//! `1/1 = 1`, both exact, so the stored value is the raw vector exp.
//!
//! References: for f32, the f64 exp (error < 1 ulp of f64, i.e. below
//! 1e-8 ulp of f32); for f64, a double-double exp (about 100 bits)
//! written below and itself checked against `f64::exp`.
//!
//! Bound asserted: 2 ulp (the SIMD tables measure under 1; see the
//! printed figures with `--nocapture`).

use boltzmax::kernel::{Kernels, Scaling, available_f32, available_f64};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const BOUND_ULP: f64 = 2.0;

fn exp_of<F: boltzmax::Real>(k: &Kernels<F>, z: &[F]) -> Vec<F> {
    let mut out = vec![F::ZERO; z.len()];
    (k.exp_store)(&mut out, z, F::ZERO, Scaling::One, 1.0);
    out
}

/// Error of `y` in f32 ulps of the exact value `r` (given in f64).
fn ulp_err_f32(y: f32, r: f64) -> f64 {
    // ulp of an f32 near r: 2^(e - 23) for normal r, 2^-149 below 2^-126.
    let ulp = if r >= f32::MIN_POSITIVE as f64 {
        2f64.powi(r.log2().floor() as i32 - 23)
    } else {
        2f64.powi(-149)
    };
    (y as f64 - r).abs() / ulp
}

/// The f32 arguments tested: a stride through every f32 in [-104, 0]
/// (about 1 in 331 bit patterns), dense runs around the subnormal
/// threshold (-87.34) and the underflow to 0 (-103.97), and small |z|.
fn f32_args() -> Vec<f32> {
    let mut v = Vec::new();
    let top = (-104.0f32).to_bits();
    let mut b = (-0.0f32).to_bits();
    while b <= top {
        v.push(f32::from_bits(b));
        b += 331;
    }
    for centre in [-87.336_54f32, -103.972_08, -0.346_573_6, -1e-30] {
        let c = centre.to_bits();
        for d in 0..100_000u32 {
            v.push(f32::from_bits(c - 50_000 + d));
        }
    }
    v
}

#[test]
fn exp_f32_within_2_ulp_on_the_whole_domain() {
    let z = f32_args();
    let refs: Vec<f64> = z.iter().map(|&v| (v as f64).exp()).collect();
    for k in available_f32() {
        let y = exp_of(k, &z);
        let mut worst = (0.0f64, 0.0f32);
        let mut worst_sub = 0.0f64;
        for ((&zi, &yi), &r) in z.iter().zip(&y).zip(&refs) {
            let e = ulp_err_f32(yi, r);
            if e > worst.0 {
                worst = (e, zi);
            }
            if r < f32::MIN_POSITIVE as f64 {
                worst_sub = worst_sub.max(e);
            }
        }
        println!(
            "f32 {}: worst {:.3} ulp at z = {:e}; subnormal range {:.3} ulp ({} args)",
            k.name,
            worst.0,
            worst.1,
            worst_sub,
            z.len()
        );
        assert!(
            worst.0 <= BOUND_ULP,
            "{}: {} ulp at {}",
            k.name,
            worst.0,
            worst.1
        );
    }
}

// ---- double-double reference for f64 -------------------------------

#[derive(Clone, Copy, Debug)]
struct Dd(f64, f64);

fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd(s, (a - (s - bb)) + (b - bb))
}

fn dd_add(a: Dd, b: Dd) -> Dd {
    let s = two_sum(a.0, b.0);
    let t = two_sum(a.1, b.1);
    let s = two_sum(s.0, s.1 + t.0);
    two_sum(s.0, s.1 + t.1)
}

fn dd_mul(a: Dd, b: Dd) -> Dd {
    let p = a.0 * b.0;
    let e = a.0.mul_add(b.0, -p);
    two_sum(p, e + (a.0 * b.1 + a.1 * b.0))
}

fn dd_mul_f(a: Dd, b: f64) -> Dd {
    dd_mul(a, Dd(b, 0.0))
}

/// ln 2 in three parts (sum exact to about 160 bits).
const LN2: [f64; 3] = [
    std::f64::consts::LN_2,
    2.319_046_813_846_299_6e-17,
    5.707_708_438_416_212e-34,
];

fn dd_div_f(a: Dd, b: f64) -> Dd {
    let q = a.0 / b;
    let p = dd_mul_f(Dd(q, 0.0), b);
    let rem = dd_add(a, Dd(-p.0, -p.1));
    two_sum(q, rem.0 / b)
}

/// `e^z = 2^n * e^r` with `r = z - n ln 2` in double-double and `e^r`
/// by its Taylor series in double-double (|r| <= 0.35: 30 terms leave a
/// truncation below 1e-40); returns `(n, e^r)`.
fn dd_exp(z: f64) -> (i32, Dd) {
    let n = (z / LN2[0]).round();
    let mut r = Dd(z, 0.0);
    for part in LN2 {
        r = dd_add(r, dd_mul_f(Dd(-part, 0.0), n));
    }
    let mut term = Dd(1.0, 0.0);
    let mut sum = Dd(1.0, 0.0);
    for k in 1..30 {
        term = dd_div_f(dd_mul(term, r), k as f64);
        sum = dd_add(sum, term);
    }
    (n as i32, sum)
}

/// `y * 2^-n` exactly (in two steps: 2^-n itself may overflow).
fn unscale(y: f64, n: i32) -> f64 {
    let h = -n / 2;
    y * 2f64.powi(h) * 2f64.powi(-n - h)
}

/// Error of `y` in f64 ulps of `e^z`.
fn ulp_err_f64(y: f64, z: f64) -> f64 {
    ulp_err_f64_ref(y, dd_exp(z))
}

/// Error of `y` in f64 ulps of `2^n e`.
fn ulp_err_f64_ref(y: f64, (n, e): (i32, Dd)) -> f64 {
    // Compare in the unscaled space, where e is near 1.
    let diff = dd_add(Dd(unscale(y, n), 0.0), Dd(-e.0, -e.1)).0.abs();
    let log2_true = n + e.0.log2().floor() as i32;
    let ulp_exp = if log2_true >= -1022 {
        log2_true - 52
    } else {
        -1074
    };
    diff / 2f64.powi(ulp_exp - n)
}

#[test]
fn double_double_reference_agrees_with_libm() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    for _ in 0..20_000 {
        let z = -rng.random::<f64>() * 700.0;
        let e = ulp_err_f64(z.exp(), z);
        assert!(e < 1.0, "libm exp({z}) off by {e} ulp from the reference");
    }
    assert_eq!(ulp_err_f64(1.0, 0.0), 0.0);
}

fn f64_args() -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let mut v = Vec::new();
    // Uniform over the domain.
    v.extend((0..400_000).map(|_| -rng.random::<f64>() * 746.0));
    // Log-uniform small magnitudes, 1e-300 .. 1.
    v.extend((0..100_000).map(|_| -(10f64).powf(-300.0 * rng.random::<f64>())));
    // The subnormal range and its edges: e^z < 2^-1022 below -708.4.
    v.extend((0..200_000).map(|_| -708.0 - rng.random::<f64>() * 38.0));
    // Around the reduction's switch points r = +-ln2/2.
    v.extend((0..100_000).map(|i| -0.346_573_590_279_972_6 + (i as f64 - 50_000.0) * 1e-12));
    // Around the table reduction's switch points (AVX-512), z log2 e =
    // (k + 1/2)/16: r = +-ln2/32 there.
    for k in [0.0, 1.0, 7.0, 8.0, 15.0, 16.0, 160.0, 17_000.0] {
        let c = -(k + 0.5) / 16.0 * std::f64::consts::LN_2;
        v.extend((0..10_000).map(|i| c + (i as f64 - 5_000.0) * 1e-13 * (1.0 + k)));
    }
    v
}

#[test]
fn exp_f64_within_2_ulp_on_the_whole_domain() {
    let z = f64_args();
    let refs: Vec<(i32, Dd)> = z.iter().map(|&v| dd_exp(v)).collect();
    for k in available_f64() {
        let y = exp_of(k, &z);
        let mut worst = (0.0f64, 0.0f64);
        let mut worst_sub = 0.0f64;
        for ((&zi, &yi), &r) in z.iter().zip(&y).zip(&refs) {
            let e = ulp_err_f64_ref(yi, r);
            if e > worst.0 {
                worst = (e, zi);
            }
            if zi < -708.4 {
                worst_sub = worst_sub.max(e);
            }
        }
        println!(
            "f64 {}: worst {:.3} ulp at z = {:e}; subnormal range {:.3} ulp ({} args)",
            k.name,
            worst.0,
            worst.1,
            worst_sub,
            z.len()
        );
        assert!(
            worst.0 <= BOUND_ULP,
            "{}: {} ulp at {}",
            k.name,
            worst.0,
            worst.1
        );
    }
}

#[test]
fn exp_special_values() {
    for k in available_f32() {
        let y = exp_of(
            k,
            &[
                0.0,
                -0.0,
                f32::NEG_INFINITY,
                f32::NAN,
                -104.0,
                -103.0,
                -1e-45,
            ],
        );
        assert_eq!(&y[..3], &[1.0, 1.0, 0.0], "{}", k.name);
        assert!(y[3].is_nan(), "{}", k.name);
        assert_eq!(y[4], 0.0, "{}", k.name);
        assert!(
            y[5] > 0.0 && y[5] < f32::MIN_POSITIVE,
            "{}: subnormal kept",
            k.name
        );
        assert_eq!(y[6], 1.0, "{}", k.name);
    }
    for k in available_f64() {
        let y = exp_of(
            k,
            &[
                0.0,
                -0.0,
                f64::NEG_INFINITY,
                f64::NAN,
                -746.0,
                -744.0,
                -1e-300,
            ],
        );
        assert_eq!(&y[..3], &[1.0, 1.0, 0.0], "{}", k.name);
        assert!(y[3].is_nan(), "{}", k.name);
        assert_eq!(y[4], 0.0, "{}", k.name);
        assert!(
            y[5] > 0.0 && y[5] < f64::MIN_POSITIVE,
            "{}: subnormal kept",
            k.name
        );
        assert_eq!(y[6], 1.0, "{}", k.name);
    }
}
