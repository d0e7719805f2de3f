//! The small dense products and the sigmoid of an RBM training step, on
//! row-major slices.
//!
//! A PCD step multiplies a batch of about 10 rows by the weight matrix
//! three times and forms two rank-10 gradient updates. At these shapes a
//! general GEMM spends as much time packing the 64 x 256 weight matrix as
//! multiplying, so these kernels read the weights in place: each output
//! row is built in register-sized strips of 32 columns that accumulate
//! only the nonzero inputs of that row (the data are about half zeros and
//! the sampled states are 0/1), with the list of nonzeros formed once per
//! row. They are compiled for AVX-512 and AVX2 with FMA when the CPU has
//! them (like the matrixmultiply kernels they replace, the last bits of a
//! sum may then differ between CPUs).

use crate::learn::rl::fastmath::exp_nonpos;

/// Output columns per register strip.
const STRIP: usize = 32;

/// `a * b + c`: fused where the instruction set has FMA.
trait Madd {
    fn madd(a: f64, b: f64, c: f64) -> f64;
}

#[cfg(target_arch = "x86_64")]
struct Fused;
#[cfg(target_arch = "x86_64")]
impl Madd for Fused {
    #[inline(always)]
    fn madd(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

struct Plain;
impl Madd for Plain {
    #[inline(always)]
    fn madd(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

/// `out[i][:] = init_i + sum_p a_i[p] b[p][:]` over the nonzero `a_i[p]`
/// in `nz` (pairs `(p, a_i[p])`), for one output row of `n` columns.
#[inline(always)]
fn row_axpys<M: Madd>(out: &mut [f64], nz: &[(usize, f64)], b: &[f64], n: usize) {
    let mut j = 0;
    while j + STRIP <= n {
        let mut acc = [0.0; STRIP];
        acc.copy_from_slice(&out[j..j + STRIP]);
        for &(p, a) in nz {
            let br: &[f64; STRIP] = b[p * n + j..p * n + j + STRIP].try_into().expect("strip");
            for t in 0..STRIP {
                acc[t] = M::madd(a, br[t], acc[t]);
            }
        }
        out[j..j + STRIP].copy_from_slice(&acc);
        j += STRIP;
    }
    for jj in j..n {
        let mut acc = out[jj];
        for &(p, a) in nz {
            acc = M::madd(a, b[p * n + jj], acc);
        }
        out[jj] = acc;
    }
}

/// `out (m x n) = bias (broadcast over rows) + a (m x k) b (k x n)`.
#[inline(always)]
fn matmul_bias_body<M: Madd>(
    out: &mut [f64],
    a: &[f64],
    b: &[f64],
    bias: &[f64],
    k: usize,
    nz: &mut Vec<(usize, f64)>,
) {
    let n = bias.len();
    for (orow, arow) in out.chunks_exact_mut(n).zip(a.chunks_exact(k)) {
        nz.clear();
        nz.extend(arow.iter().copied().enumerate().filter(|&(_, v)| v != 0.0));
        orow.copy_from_slice(bias);
        row_axpys::<M>(orow, nz, b, n);
    }
}

/// `out (m x n) = bias + a (m x k) b^T` with `b` given as `n x k`: one dot
/// product of length `k` per output, with eight running lanes (dense:
/// gathering the nonzeros would not vectorise).
#[inline(always)]
fn matmul_t_bias_body<M: Madd>(out: &mut [f64], a: &[f64], bt: &[f64], bias: &[f64], k: usize) {
    let n = bias.len();
    for (orow, arow) in out.chunks_exact_mut(n).zip(a.chunks_exact(k)) {
        for ((o, &c), brow) in orow.iter_mut().zip(bias).zip(bt.chunks_exact(k)) {
            let mut lanes = [0.0; 8];
            let chunks = arow.chunks_exact(8).zip(brow.chunks_exact(8));
            for (x, y) in chunks {
                for t in 0..8 {
                    lanes[t] = M::madd(x[t], y[t], lanes[t]);
                }
            }
            let tail = k - k % 8;
            let mut s = c;
            for l in lanes {
                s += l;
            }
            for p in tail..k {
                s = M::madd(arow[p], brow[p], s);
            }
            *o = s;
        }
    }
}

/// `out (k x n) = beta out + sum_i coef a[i][:]^T b[i][:]` for `a` (m x
/// k) and `b` (m x n): the rank-m update of a weight gradient.
#[inline(always)]
fn rank_update_body<M: Madd>(
    out: &mut [f64],
    beta: f64,
    coef: f64,
    a: &[f64],
    b: &[f64],
    k: usize,
    nz: &mut Vec<(usize, f64)>,
) {
    let n = out.len() / k;
    let m = a.len() / k;
    for (p, orow) in out.chunks_exact_mut(n).enumerate() {
        nz.clear();
        nz.extend((0..m).filter_map(|i| {
            let v = a[i * k + p];
            (v != 0.0).then_some((i, coef * v))
        }));
        if beta == 0.0 {
            orow.fill(0.0);
        } else if beta != 1.0 {
            for o in orow.iter_mut() {
                *o *= beta;
            }
        }
        row_axpys::<M>(orow, nz, b, n);
    }
}

/// `x <- sigmoid(x)` as [`super::sigmoid`] computes it (one exponential
/// of `-|x|`), eight lanes at a time.
#[inline(always)]
fn sigmoid_body(xs: &mut [f64]) {
    #[inline(always)]
    fn one(x: f64) -> f64 {
        let e = exp_nonpos(-x.abs());
        let num = if x >= 0.0 { 1.0 } else { e };
        num / (1.0 + e)
    }
    let mut chunks = xs.chunks_exact_mut(8);
    for c in &mut chunks {
        for x in c.iter_mut() {
            *x = one(*x);
        }
    }
    for x in chunks.into_remainder() {
        *x = one(*x);
    }
}

/// Instantiates a body for AVX-512 and AVX2 (with FMA) and a portable
/// fallback, chosen at run time.
macro_rules! dispatch {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        mod $name {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,fma")]
            pub(super) unsafe fn avx512($($arg: $ty),*) {
                super::$body::<super::Fused>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            pub(super) unsafe fn avx2($($arg: $ty),*) {
                super::$body::<super::Fused>($($arg),*)
            }
        }
        #[allow(unreachable_code)]
        pub(super) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the features were just detected.
                    return unsafe { $name::avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the features were just detected.
                    return unsafe { $name::avx2($($arg),*) };
                }
            }
            $body::<Plain>($($arg),*)
        }
    };
}

dispatch!(
    matmul_bias,
    matmul_bias_body,
    (out: &mut [f64], a: &[f64], b: &[f64], bias: &[f64], k: usize, nz: &mut Vec<(usize, f64)>)
);
dispatch!(
    matmul_t_bias,
    matmul_t_bias_body,
    (out: &mut [f64], a: &[f64], bt: &[f64], bias: &[f64], k: usize)
);
dispatch!(
    rank_update,
    rank_update_body,
    (out: &mut [f64], beta: f64, coef: f64, a: &[f64], b: &[f64], k: usize, nz: &mut Vec<(usize, f64)>)
);

mod sigmoid_isa {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) unsafe fn avx512(xs: &mut [f64]) {
        super::sigmoid_body(xs)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2(xs: &mut [f64]) {
        super::sigmoid_body(xs)
    }
}

/// `x <- sigmoid(x)` in place (no FMA: the same bits on every CPU).
#[allow(unreachable_code)]
pub(super) fn sigmoid_in_place(xs: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the features were just detected.
            return unsafe { sigmoid_isa::avx512(xs) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the feature was just detected.
            return unsafe { sigmoid_isa::avx2(xs) };
        }
    }
    sigmoid_body(xs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::RngCore;

    /// A random matrix with about a third zeros and some exact ones, like
    /// the data and the sampled states.
    fn matrix(r: usize, c: usize, seed: u64) -> Array2<f64> {
        let mut rng = crate::sample::stream_rng(seed, 0);
        Array2::from_shape_simple_fn((r, c), || {
            let u = crate::sample::open01(rng.next_u64());
            if u < 0.33 {
                0.0
            } else if u < 0.5 {
                1.0
            } else {
                2.0 * u - 1.5
            }
        })
    }

    fn close(a: &Array2<f64>, b: &Array2<f64>) {
        assert_eq!(a.dim(), b.dim());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    #[test]
    fn products_match_ndarray() {
        let mut nz = Vec::new();
        // Shapes with and without a partial strip / partial lane block.
        for &(m, k, n) in &[(10, 64, 256), (7, 13, 40), (3, 5, 3), (20, 64, 64)] {
            let a = matrix(m, k, 1);
            let b = matrix(k, n, 2);
            let bias = matrix(1, n, 3).row(0).to_owned();
            let mut out = Array2::zeros((m, n));
            matmul_bias(
                out.as_slice_mut().unwrap(),
                a.as_slice().unwrap(),
                b.as_slice().unwrap(),
                bias.as_slice().unwrap(),
                k,
                &mut nz,
            );
            close(&out, &(a.dot(&b) + &bias));

            let bt = b.t().as_standard_layout().into_owned();
            let c = matrix(m, n, 4);
            let mut out = Array2::zeros((m, k));
            let bias_k = matrix(1, k, 5).row(0).to_owned();
            matmul_t_bias(
                out.as_slice_mut().unwrap(),
                c.as_slice().unwrap(),
                b.as_slice().unwrap(),
                bias_k.as_slice().unwrap(),
                n,
            );
            close(&out, &(c.dot(&bt) + &bias_k));

            for &beta in &[0.0, 1.0, 0.5] {
                let x = matrix(m, k, 6);
                let y = matrix(m, n, 7);
                let mut out = matrix(k, n, 8);
                let expect = &out * beta + x.t().dot(&y) * -0.3;
                rank_update(
                    out.as_slice_mut().unwrap(),
                    beta,
                    -0.3,
                    x.as_slice().unwrap(),
                    y.as_slice().unwrap(),
                    k,
                    &mut nz,
                );
                close(&out, &expect);
            }
        }
    }

    #[test]
    fn sigmoid_matches_the_scalar_one() {
        let mut xs: Vec<f64> = (0..203).map(|i| (i as f64 - 101.0) * 0.37).collect();
        xs.extend([0.0, -0.0, 800.0, -800.0, 36.0, -36.0, 1e-300]);
        let mut ys = xs.clone();
        sigmoid_in_place(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let r = super::super::sigmoid(x);
            assert!((y - r).abs() <= 4.5e-16 * r, "sigmoid({x}) = {y} vs {r}");
        }
    }
}
