//! Second-order forward-mode derivatives ("jets") of scalar functions.
//!
//! The exact Ising references need `ln Z` and its first two derivatives
//! in the coupling (energy and specific heat). Differencing `ln Z`
//! numerically loses half the digits for the first derivative and most
//! of them for the second; carrying `(f, f', f'')` through every
//! operation gives all three to working precision.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// A value with its first and second derivative in one variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Jet {
    /// f(x).
    pub v: f64,
    /// f'(x).
    pub d: f64,
    /// f''(x).
    pub dd: f64,
}

impl Jet {
    /// A constant (zero derivatives).
    pub fn constant(v: f64) -> Jet {
        Jet { v, d: 0.0, dd: 0.0 }
    }

    /// The variable itself scaled: `a * x` evaluated at `x`, i.e. value
    /// `v` with slope `slope`.
    pub fn linear(v: f64, slope: f64) -> Jet {
        Jet {
            v,
            d: slope,
            dd: 0.0,
        }
    }

    /// Applies a function given its value and first two derivatives at
    /// `self.v` (the chain rule to second order).
    #[inline]
    fn chain(self, f: f64, f1: f64, f2: f64) -> Jet {
        Jet {
            v: f,
            d: f1 * self.d,
            dd: f2 * self.d * self.d + f1 * self.dd,
        }
    }

    pub fn exp(self) -> Jet {
        let e = self.v.exp();
        self.chain(e, e, e)
    }

    pub fn ln(self) -> Jet {
        let x = self.v;
        self.chain(x.ln(), 1.0 / x, -1.0 / (x * x))
    }

    pub fn ln_1p(self) -> Jet {
        let x = self.v;
        let r = 1.0 / (1.0 + x);
        self.chain(x.ln_1p(), r, -r * r)
    }

    pub fn sqrt(self) -> Jet {
        let s = self.v.sqrt();
        self.chain(s, 0.5 / s, -0.25 / (s * self.v))
    }

    pub fn sinh(self) -> Jet {
        let (s, c) = (self.v.sinh(), self.v.cosh());
        self.chain(s, c, s)
    }

    pub fn cosh(self) -> Jet {
        let (s, c) = (self.v.sinh(), self.v.cosh());
        self.chain(c, s, c)
    }

    pub fn tanh(self) -> Jet {
        let t = self.v.tanh();
        let s = 1.0 - t * t;
        self.chain(t, s, -2.0 * t * s)
    }

    /// `acosh(x)` for `x > 1`.
    pub fn acosh(self) -> Jet {
        let x = self.v;
        let q = (x - 1.0) * (x + 1.0);
        let r = q.sqrt();
        self.chain(x.acosh(), 1.0 / r, -x / (q * r))
    }

    /// `ln(2 cosh x)` without overflow: `|x| + ln(1 + exp(-2|x|))`.
    pub fn ln_2cosh(self) -> Jet {
        let x = self.v;
        let a = x.abs();
        let t = x.tanh();
        self.chain(a + (-2.0 * a).exp().ln_1p(), t, 1.0 - t * t)
    }

    /// `ln(tanh x)` for `x > 0`, accurate for large `x`:
    /// `ln(1 - q) - ln(1 + q)` with `q = exp(-2x)`.
    pub fn ln_tanh(self) -> Jet {
        let x = self.v;
        let q = (-2.0 * x).exp();
        let f = (-q).ln_1p() - q.ln_1p();
        // d/dx ln tanh x = 2 / sinh 2x; second: -4 cosh 2x / sinh^2 2x.
        let s2 = (2.0 * x).sinh();
        let f1 = 2.0 / s2;
        let f2 = -2.0 * f1 / (2.0 * x).tanh();
        self.chain(f, f1, f2)
    }

    pub fn scale(self, a: f64) -> Jet {
        Jet {
            v: a * self.v,
            d: a * self.d,
            dd: a * self.dd,
        }
    }
}

impl Add for Jet {
    type Output = Jet;
    fn add(self, o: Jet) -> Jet {
        Jet {
            v: self.v + o.v,
            d: self.d + o.d,
            dd: self.dd + o.dd,
        }
    }
}

impl Sub for Jet {
    type Output = Jet;
    fn sub(self, o: Jet) -> Jet {
        Jet {
            v: self.v - o.v,
            d: self.d - o.d,
            dd: self.dd - o.dd,
        }
    }
}

impl Neg for Jet {
    type Output = Jet;
    fn neg(self) -> Jet {
        self.scale(-1.0)
    }
}

impl Mul for Jet {
    type Output = Jet;
    fn mul(self, o: Jet) -> Jet {
        Jet {
            v: self.v * o.v,
            d: self.d * o.v + self.v * o.d,
            dd: self.dd * o.v + 2.0 * self.d * o.d + self.v * o.dd,
        }
    }
}

impl Div for Jet {
    type Output = Jet;
    fn div(self, o: Jet) -> Jet {
        let x = o.v;
        let r = o.chain(1.0 / x, -1.0 / (x * x), 2.0 / (x * x * x));
        self * r
    }
}

#[cfg(test)]
mod tests {
    use super::Jet;

    /// Central differences of the value agree with the carried derivatives.
    fn check(f: impl Fn(Jet) -> Jet, x: f64) {
        let h = 1e-4;
        let j = f(Jet::linear(x, 1.0));
        let fp = f(Jet::constant(x + h)).v;
        let fm = f(Jet::constant(x - h)).v;
        let d1 = (fp - fm) / (2.0 * h);
        let d2 = (fp - 2.0 * j.v + fm) / (h * h);
        assert!(
            (j.d - d1).abs() < 1e-7 * (1.0 + d1.abs()),
            "d at {x}: {} vs {d1}",
            j.d
        );
        assert!(
            (j.dd - d2).abs() < 1e-4 * (1.0 + d2.abs()),
            "dd at {x}: {} vs {d2}",
            j.dd
        );
    }

    #[test]
    fn derivatives_match_differences() {
        for &x in &[0.3, 0.9, 1.7] {
            check(|j| j.exp(), x);
            check(|j| j.ln(), x);
            check(|j| j.ln_1p(), x);
            check(|j| j.sqrt(), x);
            check(|j| j.sinh(), x);
            check(|j| j.cosh(), x);
            check(|j| j.tanh(), x);
            check(|j| j.ln_2cosh(), x);
            check(|j| j.ln_tanh(), x);
            check(|j| (j.scale(3.0) + Jet::constant(1.0)).acosh(), x);
            check(|j| j.sinh() / j.cosh().sqrt(), x);
            check(|j| j * j - j.exp(), x);
        }
    }
}
