//! Shared by the sampling tests: an honest chi-square tail and a
//! goodness-of-fit check against exact probabilities.
#![allow(dead_code)]

/// ln Gamma(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized upper incomplete gamma function Q(a, x) = Gamma(a, x) /
/// Gamma(a): the series for x < a + 1, Lentz's continued fraction beyond
/// (Numerical Recipes, 3rd ed., 6.2), both to relative 1e-15.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    assert!(a > 0.0 && x >= 0.0);
    if x == 0.0 {
        return 1.0;
    }
    let log_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        // P(a, x) = e^-x x^a / Gamma(a+1) * sum x^n / ((a+1)...(a+n)).
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut ap = a;
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        1.0 - sum * log_prefix.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        log_prefix.exp() * h
    }
}

/// P(X >= x) for X chi-square with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: usize) -> f64 {
    gamma_q(df as f64 / 2.0, x / 2.0)
}

/// The false-alarm level of every goodness-of-fit test: a correct sampler
/// fails one check with probability 1e-6.
pub const ALPHA: f64 = 1e-6;

/// Pearson's chi-square test of `counts` against probabilities `p` (which
/// must sum to 1 within 1e-9). Categories of probability 0 must have no
/// draws at all; categories expected fewer than 5 times are pooled into
/// one bin. Returns the p-value; panics with a readable message if a
/// zero-probability category was drawn.
pub fn chi2_pvalue(counts: &[u64], p: &[f64]) -> (f64, f64, usize) {
    assert_eq!(counts.len(), p.len());
    let total: f64 = p.iter().sum();
    assert!((total - 1.0).abs() < 1e-9, "probabilities sum to {total}");
    let n: u64 = counts.iter().sum();
    let nf = n as f64;
    let mut stat = 0.0;
    let mut bins = 0usize;
    let (mut pool_o, mut pool_e) = (0.0, 0.0);
    for (&o, &q) in counts.iter().zip(p) {
        if q == 0.0 {
            assert_eq!(o, 0, "a category of probability 0 was drawn {o} times");
            continue;
        }
        let e = q * nf;
        if e < 5.0 {
            pool_o += o as f64;
            pool_e += e;
        } else {
            stat += (o as f64 - e).powi(2) / e;
            bins += 1;
        }
    }
    if pool_e > 0.0 {
        stat += (pool_o - pool_e).powi(2) / pool_e;
        bins += 1;
    }
    if bins < 2 {
        // One bin holds everything: nothing to test beyond the zeros.
        return (1.0, stat, 0);
    }
    (chi2_sf(stat, bins - 1), stat, bins - 1)
}

/// Asserts the chi-square goodness of fit at [`ALPHA`].
pub fn assert_fits(what: &str, counts: &[u64], p: &[f64]) {
    let (pv, stat, df) = chi2_pvalue(counts, p);
    assert!(
        pv > ALPHA,
        "{what}: chi-square {stat:.2} on {df} df, p-value {pv:.3e} < {ALPHA:e}\ncounts {counts:?}\nprobs {p:?}"
    );
}

/// Exact softmax(x / t) in f64, written plainly (an independent reference
/// for the library's probabilities): masked entries are -inf.
pub fn reference_probs(x: &[f64], t: f64) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = x.iter().map(|&v| ((v - m) / t).exp()).collect();
    let s: f64 = w.iter().sum();
    w.iter().map(|v| v / s).collect()
}

#[test]
fn chi2_tail_matches_published_quantiles() {
    // Critical values from standard tables (e.g. NIST/SEMATECH 1.3.6.7.4).
    let cases = [
        (3.841, 1, 0.05),
        (6.635, 1, 0.01),
        (18.307, 10, 0.05),
        (23.209, 10, 0.01),
        (29.588, 10, 0.001),
        (124.342, 100, 0.05),
        (149.449, 100, 0.001),
    ];
    for (x, df, p) in cases {
        let got = chi2_sf(x, df);
        assert!(
            (got - p).abs() < 2e-3 * p.max(0.01),
            "df {df} x {x}: {got} vs {p}"
        );
    }
    // Far tail: chi2(1) sf at 23.9284 is 1e-6 (= erfc(sqrt(x/2))).
    let got = chi2_sf(23.928_4, 1);
    assert!((got / 1e-6 - 1.0).abs() < 1e-3, "{got}");
    // Q(1, x) = e^-x exactly.
    for x in [0.1, 1.0, 5.0, 40.0] {
        assert!((gamma_q(1.0, x) / (-x).exp() - 1.0).abs() < 1e-13);
    }
}
