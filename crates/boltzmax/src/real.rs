//! The floating-point types boltzmax computes in: `f32` and `f64`.

use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::kernel::Kernels;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point type with boltzmax kernels: implemented for `f32` and
/// `f64` only (the trait is sealed).
///
/// Reductions over `f32` data are accumulated in `f64`, so sums do not
/// lose accuracy as rows grow; every element-wise result is computed and
/// stored in the type itself.
pub trait Real:
    sealed::Sealed
    + Copy
    + Send
    + Sync
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + Display
    + LowerExp
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// +inf.
    const INFINITY: Self;
    /// -inf.
    const NEG_INFINITY: Self;
    /// A quiet NaN.
    const NAN: Self;
    /// Machine epsilon (the gap between 1 and the next larger value).
    const EPSILON: Self;
    /// Number of bits in the significand, the implicit bit included.
    const MANTISSA_DIGITS: u32;
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// e^self.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// ln(1 + self), accurate for small self.
    fn ln_1p(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// True for NaN.
    fn is_nan(self) -> bool;
    /// True for values that are neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// True for +inf and -inf.
    fn is_infinite(self) -> bool;
    /// True for negative values, -0.0 and negative NaN included.
    fn is_sign_negative(self) -> bool;
    /// The larger of two values, NaN-ignoring as `f64::max`.
    fn max(self, other: Self) -> Self;
    /// The smaller of two values, NaN-ignoring as `f64::min`.
    fn min(self, other: Self) -> Self;
    /// Conversion from `f64`, rounding to nearest.
    fn from_f64(v: f64) -> Self;
    /// Exact conversion to `f64`.
    fn to_f64(self) -> f64;
    /// Conversion from a count, rounding to nearest.
    fn from_usize(n: usize) -> Self;
    /// Total order (IEEE 754 totalOrder), for sorting without panics.
    fn total_cmp(&self, other: &Self) -> std::cmp::Ordering;
    /// The kernels chosen for this machine (SIMD where available), chosen
    /// once at run time.
    fn kernels() -> &'static Kernels<Self>;
}

macro_rules! impl_real {
    ($t:ident, $kernels:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = $t::INFINITY;
            const NEG_INFINITY: Self = $t::NEG_INFINITY;
            const NAN: Self = $t::NAN;
            const EPSILON: Self = $t::EPSILON;
            const MANTISSA_DIGITS: u32 = $t::MANTISSA_DIGITS;
            const NAME: &'static str = stringify!($t);

            #[inline(always)]
            fn exp(self) -> Self {
                $t::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $t::ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                $t::ln_1p(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline(always)]
            fn is_infinite(self) -> bool {
                $t::is_infinite(self)
            }
            #[inline(always)]
            fn is_sign_negative(self) -> bool {
                $t::is_sign_negative(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                $t::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                $t::min(self, other)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline(always)]
            fn total_cmp(&self, other: &Self) -> std::cmp::Ordering {
                $t::total_cmp(self, other)
            }
            #[inline]
            fn kernels() -> &'static Kernels<Self> {
                $kernels()
            }
        }
    };
}

impl_real!(f32, crate::kernel::detected_f32);
impl_real!(f64, crate::kernel::detected_f64);
