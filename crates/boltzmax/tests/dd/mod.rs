//! Double-double arithmetic (about 106 bits), for reference values of
//! f64 softmax, log-softmax and logsumexp.
//!
//! A value is `hi + lo` with `|lo| <= ulp(hi) / 2`. Sums use Knuth's
//! two-sum and products the fused multiply-add two-product, both exact;
//! `exp` reduces by `ln 2` (split in two doubles), then by `2^8`, sums a
//! degree-12 Taylor series and squares 8 times (relative error about
//! `2^8 * 1e-32`, far below an f64 ulp); `ln` takes one Newton step
//! on `exp` from the f64 logarithm, which doubles the correct digits.
#![allow(dead_code)]

use std::ops::{Add, Div, Mul, Neg, Sub};

/// `hi + lo`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Dd {
    pub hi: f64,
    pub lo: f64,
}

/// `a + b = s + e` exactly.
pub fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// `a * b = p + e` exactly (barring underflow).
pub fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

fn quick_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd {
        hi: s,
        lo: b - (s - a),
    }
}

impl Dd {
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };
    pub const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };
    /// ln 2 to about 107 bits.
    pub const LN2: Dd = Dd {
        hi: std::f64::consts::LN_2,
        lo: 2.319_046_813_846_299_6e-17,
    };

    pub fn from(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    pub fn abs(self) -> Dd {
        if self.hi < 0.0 { -self } else { self }
    }

    /// `self * 2^k` (exact while in range).
    pub fn ldexp(self, k: i32) -> Dd {
        Dd {
            hi: ldexp(self.hi, k),
            lo: ldexp(self.lo, k),
        }
    }

    /// e^self as `(mantissa, k)` with the value `mantissa * 2^k` and the
    /// mantissa in [0.5, 2], so that results far below the f64 range
    /// keep their full precision; `None` for a value below e^-2000
    /// (treated as 0 by the callers).
    pub fn exp_scaled(self) -> Option<(Dd, i32)> {
        if self.hi < -2000.0 {
            return None;
        }
        let k = (self.hi / std::f64::consts::LN_2).round();
        let r = self - Dd::LN2 * Dd::from(k);
        // e^r = (e^(r / 256))^256.
        let t = r.ldexp(-8);
        let mut sum = Dd::ONE;
        let mut term = Dd::ONE;
        for i in 1..=12 {
            term = term * t / Dd::from(i as f64);
            sum = sum + term;
        }
        for _ in 0..8 {
            sum = sum * sum;
        }
        Some((sum, k as i32))
    }

    /// e^self for arguments whose result is a normal f64 or 0.
    pub fn exp(self) -> Dd {
        match self.exp_scaled() {
            Some((m, k)) if k > -1000 => m.ldexp(k),
            _ => Dd::ZERO,
        }
    }

    /// Natural logarithm of a positive value in the normal f64 range.
    pub fn ln(self) -> Dd {
        let y = Dd::from(self.hi.ln());
        // Newton on e^y = x: y + x e^-y - 1.
        y + self * (-y).exp() - Dd::ONE
    }
}

/// `x * 2^k` by steps that stay in range.
pub fn ldexp(mut x: f64, mut k: i32) -> f64 {
    while k > 1000 {
        x *= 2f64.powi(1000);
        k -= 1000;
    }
    while k < -1000 {
        x *= 2f64.powi(-1000);
        k += 1000;
    }
    x * 2f64.powi(k)
}

impl Neg for Dd {
    type Output = Dd;
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl Add for Dd {
    type Output = Dd;
    fn add(self, o: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, o.hi);
        let (t, f) = two_sum(self.lo, o.lo);
        let r = quick_two_sum(s, e + t);
        quick_two_sum(r.hi, r.lo + f)
    }
}

impl Sub for Dd {
    type Output = Dd;
    fn sub(self, o: Dd) -> Dd {
        self + (-o)
    }
}

impl Mul for Dd {
    type Output = Dd;
    fn mul(self, o: Dd) -> Dd {
        let (p, e) = two_prod(self.hi, o.hi);
        quick_two_sum(p, e + (self.hi * o.lo + self.lo * o.hi))
    }
}

impl Div for Dd {
    type Output = Dd;
    fn div(self, o: Dd) -> Dd {
        // Two rounds of long division.
        let q1 = self.hi / o.hi;
        let r = self - o * Dd::from(q1);
        let q2 = r.hi / o.hi;
        let r = r - o * Dd::from(q2);
        let q3 = r.hi / o.hi;
        let q = quick_two_sum(q1, q2);
        q + Dd::from(q3)
    }
}

/// Checks of the double-double primitives against identities that hold
/// to far beyond f64 precision.
pub fn self_check() {
    // e^1 to 32 digits: 2.7182818284590452353602874713527.
    let e = Dd::ONE.exp();
    let want = Dd {
        hi: std::f64::consts::E,
        lo: 1.445_646_891_729_250_2e-16,
    };
    assert!((e - want).abs().hi < 1e-30, "{e:?}");
    // ln(e^x) = x and e^(a) e^(b) = e^(a+b), far below an f64 ulp.
    for x in [-650.5, -40.25, -1.0, -1e-8, 0.3, 3.7] {
        let d = Dd::from(x);
        let back = d.exp().ln();
        assert!((back - d).abs().hi <= 1e-29 * x.abs().max(1.0), "{x}");
        let (m, k) = Dd::from(x).exp_scaled().unwrap();
        let prod = m.ldexp(k) * Dd::from(-x).exp();
        assert!((prod - Dd::ONE).abs().hi < 1e-29, "{x}");
    }
    // 1/3 * 3 = 1.
    let third = Dd::ONE / Dd::from(3.0);
    assert!((third * Dd::from(3.0) - Dd::ONE).abs().hi < 1e-31);
}
