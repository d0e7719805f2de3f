//! One evaluation of softmax regression's objective and gradient: two
//! register-blocked matrix products around the fused softmax
//! cross-entropy, on rows packed once per fit.
//!
//! The rows are grouped in panels of [`L`] = 8 (one AVX-512 register of
//! f64, two AVX2 ones), each panel stored feature-major (`xp[p][f][lane]`)
//! with a constant-1 feature for the intercept and zero rows past `n`.
//! The parameters are `Theta = [W | b]`, `k x (d + 1)` (`k x d` without
//! fitted intercepts), so the intercepts are folded into the products:
//!
//! 1. logits `Z = X~ Theta^T` of a panel, [`CB`] classes at a time: `CB`
//!    accumulators of 8 rows, one multiply-add per feature each;
//! 2. the fused cross-entropy on the panel while it is in L1: per row
//!    (lane) the maximum `m`, the shift, one exp per entry (the kernel
//!    table's vector exp on the panel's `k x 8` block at once, where
//!    `backward::softmax_cross_entropy` calls it on each 10-entry row and
//!    takes two exps per entry), the sum `s`, the loss
//!    `ln s - (z_y - m)` and the gradient `(softmax - onehot) / n`,
//!    written over the logits;
//! 3. `G^T X~` by tiles of `CB` classes x [`FB`] features over all panels,
//!    each accumulator a vector of 8 per-lane partial sums added in a
//!    fixed order at the end.
//!
//! Every sum runs in an order fixed by the shapes alone and every product
//! is a fused multiply-add (`mul_add`), so the products are bitwise the
//! same on the AVX-512, AVX2 and portable paths; only the exp follows the
//! kernel table in use. No threads: the result does not depend on any
//! thread count.

use crate::kernel::{Kernels, Scaling, detected_f64};

/// Rows per panel.
pub(super) const L: usize = 8;
/// Classes per block of the products.
const CB: usize = 4;
/// Features per tile of `G^T X~`.
const FB: usize = 4;

/// Which compiled copy of the products runs (all give the same bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Isa {
    /// Whatever the build targets (`mul_add` is a library call without
    /// hardware FMA).
    Portable,
    /// AVX2 + FMA.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512F + FMA.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The best copy this CPU runs.
    pub(super) fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("fma") {
                if is_x86_feature_detected!("avx512f") {
                    return Isa::Avx512;
                }
                if is_x86_feature_detected!("avx2") {
                    return Isa::Avx2;
                }
            }
        }
        Isa::Portable
    }

    /// Every copy this CPU runs (for tests that compare them).
    #[cfg(test)]
    pub(super) fn available() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut v = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("fma") && is_x86_feature_detected!("avx2") {
                v.push(Isa::Avx2);
            }
            if is_x86_feature_detected!("fma") && is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
        }
        v
    }
}

/// The packed problem and the buffers of one evaluation.
pub(super) struct Dense<'a> {
    n: usize,
    k: usize,
    d: usize,
    /// Parameters per class: `d + 1` with fitted intercepts, else `d`.
    d1: usize,
    /// `d1` rounded up to a multiple of `FB` (zero features).
    d1p: usize,
    /// `k` rounded up to a multiple of `CB`.
    kp: usize,
    /// Panels: `panels x d1p x L`.
    xp: Vec<f64>,
    labels: &'a [usize],
    /// Constant added to each class's logits (`kp`): the intercepts when
    /// they are not fitted, else zero.
    bias: Vec<f64>,
    /// `1 / (C n)`.
    lam: f64,
    /// `Theta` packed by blocks of `CB` classes: `kp/CB x d1 x CB`.
    tp: Vec<f64>,
    /// Per panel `kp x L`: the logits, then the gradient of the mean loss
    /// with respect to them (padded classes stay zero).
    zp: Vec<f64>,
    /// `G^T X~`, `kp x d1p`.
    gl: Vec<f64>,
    exp: &'static Kernels<f64>,
    isa: Isa,
}

impl<'a> Dense<'a> {
    /// Packs `x` (`n x d` row-major, finite) for labels in `0..k`.
    /// `fixed_bias` (length `k`) is added to the logits when the
    /// intercepts are not fitted.
    pub(super) fn new(
        x: &[f64],
        d: usize,
        labels: &'a [usize],
        k: usize,
        fit_intercept: bool,
        fixed_bias: &[f64],
        lam: f64,
    ) -> Dense<'a> {
        let n = labels.len();
        let d1 = d + usize::from(fit_intercept);
        let d1p = d1.next_multiple_of(FB);
        let kp = k.next_multiple_of(CB);
        let panels = n.div_ceil(L);
        let mut xp = vec![0.0; panels * d1p * L];
        for (r, xr) in x.chunks_exact(d).enumerate() {
            let pan = &mut xp[(r / L) * d1p * L..][..d1 * L];
            let lane = r % L;
            for (f, &v) in xr.iter().enumerate() {
                pan[f * L + lane] = v;
            }
            if fit_intercept {
                pan[d * L + lane] = 1.0;
            }
        }
        let mut bias = vec![0.0; kp];
        if !fit_intercept {
            bias[..k].copy_from_slice(fixed_bias);
        }
        Dense {
            n,
            k,
            d,
            d1,
            d1p,
            kp,
            xp,
            labels,
            bias,
            lam,
            tp: vec![0.0; kp * d1],
            zp: vec![0.0; panels * kp * L],
            gl: vec![0.0; kp * d1p],
            exp: detected_f64(),
            isa: Isa::detect(),
        }
    }

    /// Parameters per class in the layout [`Dense::evaluate`] takes:
    /// `d` weights, then the intercept when it is fitted.
    pub(super) fn per_class(&self) -> usize {
        self.d1
    }

    /// The initial inverse Hessian for L-BFGS: per class the inverse of
    /// `P = (1/k)(1 - 1/k) X~^T X~ / n + lam diag(1, .., 1, 0)`, the
    /// diagonal block of the objective's Hessian where every probability
    /// is `1/k` (at zero weights), the intercept unpenalised. The
    /// features' scales and correlations, which make plain L-BFGS crawl
    /// (digits: 290 iterations), are in it; what it lacks is the change
    /// of the probabilities, which the correction pairs learn.
    ///
    /// `None` when applying it would cost too much against an evaluation
    /// (more than 512 parameters per class, or more than a quarter as
    /// many as rows: `H0 v` costs `2 k d1^2`, an evaluation `4 n k d1`),
    /// without a penalty (`C = inf`: collinear features make `P`
    /// singular, and its inverse would blow rounding noise up along
    /// directions the objective does not see), or when `P` is numerically
    /// singular.
    pub(super) fn preconditioner(&mut self) -> Option<Precond> {
        let (n, k, d, d1, d1p) = (self.n, self.k, self.d, self.d1, self.d1p);
        if d1 > 512 || 4 * d1 > n || self.lam <= 0.0 {
            return None;
        }
        // X~^T X~ by the same tiled product as G^T X~ (the panels play G).
        let mut m = vec![0.0; d1p * d1p];
        gradient(self.isa, &self.xp, &self.xp, &mut m, d1p, d1p);
        let a = (1.0 - 1.0 / k as f64) / (k as f64 * n as f64);
        let mut p = vec![0.0; d1 * d1];
        let mut top = 0.0f64;
        for i in 0..d1 {
            for j in 0..d1 {
                p[i * d1 + j] = a * m[i * d1p + j];
            }
            if i < d {
                p[i * d1 + i] += self.lam;
            }
            top = top.max(p[i * d1 + i]);
        }
        // A relative ridge against rounding when lam is tiny next to the
        // data's second moments.
        for i in 0..d1 {
            p[i * d1 + i] += 1e-12 * top;
        }
        let pinv = spd_inverse(&p, d1)?;
        Some(Precond {
            pinv,
            d1,
            isa: self.isa,
        })
    }

    /// The objective at `theta` (`k x d1`, row-major), its gradient
    /// written to `grad`; `+inf` when the logits overflow to a non-finite
    /// loss.
    pub(super) fn evaluate(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let isa = self.isa;
        self.evaluate_with(theta, grad, isa)
    }

    pub(super) fn evaluate_with(&mut self, theta: &[f64], grad: &mut [f64], isa: Isa) -> f64 {
        let (k, d, d1, d1p) = (self.k, self.d, self.d1, self.d1p);
        debug_assert_eq!(theta.len(), k * d1);
        // Pack Theta by blocks of CB classes, feature-major inside a block,
        // so that step 1 reads the CB weights of a feature together.
        for (b, tb) in self.tp.chunks_exact_mut(d1 * CB).enumerate() {
            for (f, tf) in tb.chunks_exact_mut(CB).enumerate() {
                for (c, t) in tf.iter_mut().enumerate() {
                    let j = b * CB + c;
                    *t = if j < k { theta[j * d1 + f] } else { 0.0 };
                }
            }
        }
        let loss = self.forward(isa);
        if !loss.is_finite() {
            return f64::INFINITY;
        }
        gradient(isa, &self.xp, &self.zp, &mut self.gl, d1p, self.kp);
        let mut w2 = 0.0;
        for j in 0..k {
            let (th, g) = (
                &theta[j * d1..(j + 1) * d1],
                &mut grad[j * d1..(j + 1) * d1],
            );
            g.copy_from_slice(&self.gl[j * d1p..j * d1p + d1]);
            // The intercepts (column d) are not penalised.
            for f in 0..d {
                g[f] += self.lam * th[f];
                w2 += th[f] * th[f];
            }
        }
        loss + 0.5 * self.lam * w2
    }

    /// Steps 1 and 2 panel by panel: the mean loss; `zp` holds the
    /// gradient with respect to the logits.
    fn forward(&mut self, isa: Isa) -> f64 {
        let (k, kp, d1, d1p, n) = (self.k, self.kp, self.d1, self.d1p, self.n);
        let inv_n = 1.0 / n as f64;
        let mut total = 0.0;
        for (p, (xpan, zpan)) in self
            .xp
            .chunks_exact(d1p * L)
            .zip(self.zp.chunks_exact_mut(kp * L))
            .enumerate()
        {
            logits(isa, xpan, &self.tp, &self.bias, zpan, d1, k);
            let rows = &self.labels[p * L..((p + 1) * L).min(n)];
            total += cross_entropy(self.exp, &mut zpan[..k * L], rows, inv_n);
        }
        total * inv_n
    }
}

/// `H0` of [`Dense::preconditioner`]: the same `d1 x d1` inverse for
/// every class.
pub(super) struct Precond {
    pinv: Vec<f64>,
    d1: usize,
    isa: Isa,
}

impl Precond {
    /// `out = H0 v`, both `k x d1` (the solver's layout).
    pub(super) fn apply(&self, v: &[f64], out: &mut [f64]) {
        match self.isa {
            Isa::Portable => sym_apply_body(&self.pinv, v, out, self.d1),
            // SAFETY: as in `logits`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { sym_apply_avx512(&self.pinv, v, out, self.d1) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { sym_apply_avx2(&self.pinv, v, out, self.d1) },
        }
    }
}

/// The inverse of the symmetric positive definite `m x m` matrix `a`
/// (row-major) by Cholesky, `a^-1 = L^-T L^-1`; `None` when a pivot is not
/// positive (numerically singular).
fn spd_inverse(a: &[f64], m: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; m * m];
    for j in 0..m {
        let s = a[j * m + j] - (0..j).map(|t| l[j * m + t] * l[j * m + t]).sum::<f64>();
        if s <= 0.0 || !s.is_finite() {
            return None;
        }
        let ljj = s.sqrt();
        l[j * m + j] = ljj;
        for i in j + 1..m {
            let t = a[i * m + j] - (0..j).map(|t| l[i * m + t] * l[j * m + t]).sum::<f64>();
            l[i * m + j] = t / ljj;
        }
    }
    // L^-1, lower triangular, column by column (forward substitution).
    let mut li = vec![0.0; m * m];
    for c in 0..m {
        for i in c..m {
            let rhs = if i == c { 1.0 } else { 0.0 };
            let t = rhs - (c..i).map(|t| l[i * m + t] * li[t * m + c]).sum::<f64>();
            li[i * m + c] = t / l[i * m + i];
        }
    }
    let mut inv = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let v = (i..m).map(|t| li[t * m + i] * li[t * m + j]).sum::<f64>();
            inv[i * m + j] = v;
            inv[j * m + i] = v;
        }
    }
    Some(inv)
}

/// `out_j = pinv v_j` for every class row `j` (`pinv` symmetric, so its
/// rows serve as columns).
#[inline(always)]
fn sym_apply_body(pinv: &[f64], v: &[f64], out: &mut [f64], d1: usize) {
    for (vj, oj) in v.chunks_exact(d1).zip(out.chunks_exact_mut(d1)) {
        oj.fill(0.0);
        for (&c, row) in vj.iter().zip(pinv.chunks_exact(d1)) {
            for (o, &p) in oj.iter_mut().zip(row) {
                *o = p.mul_add(c, *o);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn sym_apply_avx512(pinv: &[f64], v: &[f64], out: &mut [f64], d1: usize) {
    sym_apply_body(pinv, v, out, d1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sym_apply_avx2(pinv: &[f64], v: &[f64], out: &mut [f64], d1: usize) {
    sym_apply_body(pinv, v, out, d1)
}

/// `a` and `b` as the fixed-size register images they are.
#[inline(always)]
fn lanes(s: &[f64]) -> &[f64; L] {
    s.try_into().expect("a panel row holds L values")
}

/// Step 1 for one panel: `zpan[j] = X~_panel theta_j + bias_j` for `j < k`.
#[inline(always)]
fn logits_body(xpan: &[f64], tp: &[f64], bias: &[f64], zpan: &mut [f64], d1: usize, k: usize) {
    for (b, (tb, bb)) in tp
        .chunks_exact(d1 * CB)
        .zip(bias.chunks_exact(CB))
        .enumerate()
    {
        let mut acc = [[0.0; L]; CB];
        for (a, &v) in acc.iter_mut().zip(bb) {
            *a = [v; L];
        }
        for (xf, tf) in xpan.chunks_exact(L).zip(tb.chunks_exact(CB)) {
            let xf = lanes(xf);
            for (a, &t) in acc.iter_mut().zip(tf) {
                for l in 0..L {
                    a[l] = xf[l].mul_add(t, a[l]);
                }
            }
        }
        for (c, a) in acc.iter().enumerate() {
            let j = b * CB + c;
            if j < k {
                zpan[j * L..(j + 1) * L].copy_from_slice(a);
            }
        }
    }
}

/// Step 3: `gl[j][f] = sum over rows of G[r][j] X~[r][f]`.
#[inline(always)]
fn gradient_body(xp: &[f64], zp: &[f64], gl: &mut [f64], d1p: usize, kp: usize) {
    for cb in 0..kp / CB {
        for fb in 0..d1p / FB {
            let mut acc = [[[0.0; L]; FB]; CB];
            for (xpan, zpan) in xp.chunks_exact(d1p * L).zip(zp.chunks_exact(kp * L)) {
                let g = &zpan[cb * CB * L..(cb + 1) * CB * L];
                let x = &xpan[fb * FB * L..(fb + 1) * FB * L];
                for (ac, gc) in acc.iter_mut().zip(g.chunks_exact(L)) {
                    let gc = lanes(gc);
                    for (a, xf) in ac.iter_mut().zip(x.chunks_exact(L)) {
                        let xf = lanes(xf);
                        for l in 0..L {
                            a[l] = gc[l].mul_add(xf[l], a[l]);
                        }
                    }
                }
            }
            for (c, ac) in acc.iter().enumerate() {
                for (ff, a) in ac.iter().enumerate() {
                    gl[(cb * CB + c) * d1p + fb * FB + ff] =
                        ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn logits_avx512(xpan: &[f64], tp: &[f64], bias: &[f64], zpan: &mut [f64], d1: usize, k: usize) {
    logits_body(xpan, tp, bias, zpan, d1, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn logits_avx2(xpan: &[f64], tp: &[f64], bias: &[f64], zpan: &mut [f64], d1: usize, k: usize) {
    logits_body(xpan, tp, bias, zpan, d1, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn gradient_avx512(xp: &[f64], zp: &[f64], gl: &mut [f64], d1p: usize, kp: usize) {
    gradient_body(xp, zp, gl, d1p, kp)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gradient_avx2(xp: &[f64], zp: &[f64], gl: &mut [f64], d1p: usize, kp: usize) {
    gradient_body(xp, zp, gl, d1p, kp)
}

fn logits(isa: Isa, xpan: &[f64], tp: &[f64], bias: &[f64], zpan: &mut [f64], d1: usize, k: usize) {
    match isa {
        Isa::Portable => logits_body(xpan, tp, bias, zpan, d1, k),
        // SAFETY: `Isa::Avx512` and `Isa::Avx2` are only made after
        // `is_x86_feature_detected!` confirmed their features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { logits_avx512(xpan, tp, bias, zpan, d1, k) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { logits_avx2(xpan, tp, bias, zpan, d1, k) },
    }
}

fn gradient(isa: Isa, xp: &[f64], zp: &[f64], gl: &mut [f64], d1p: usize, kp: usize) {
    match isa {
        Isa::Portable => gradient_body(xp, zp, gl, d1p, kp),
        // SAFETY: as in `logits`.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { gradient_avx512(xp, zp, gl, d1p, kp) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { gradient_avx2(xp, zp, gl, d1p, kp) },
    }
}

/// Step 2 for one panel (`z`: `k x L` logits, class-major; `rows`: the
/// labels of its real rows, the other lanes are padding): returns the sum
/// of the real rows' losses and overwrites `z` with `(softmax - onehot) /
/// n` (zero on padding lanes).
fn cross_entropy(exp: &Kernels<f64>, z: &mut [f64], rows: &[usize], inv_n: f64) -> f64 {
    let mut m = [f64::NEG_INFINITY; L];
    for zj in z.chunks_exact(L) {
        for l in 0..L {
            m[l] = m[l].max(zj[l]);
        }
    }
    let mut zy = [0.0; L];
    for (l, &y) in rows.iter().enumerate() {
        zy[l] = z[y * L + l] - m[l];
    }
    for zj in z.chunks_exact_mut(L) {
        for l in 0..L {
            zj[l] -= m[l];
        }
    }
    // Every entry is now <= 0 (NaN passes through), at least one per lane
    // exactly 0: the kernels' "regular row" contract, the panel taken as
    // one row.
    (exp.exp_store_in_place)(z, 0.0, Scaling::One, 1.0);
    let mut s = [0.0; L];
    for zj in z.chunks_exact(L) {
        for l in 0..L {
            s[l] += zj[l];
        }
    }
    let mut total = 0.0;
    let mut scale = [0.0; L];
    for l in 0..rows.len() {
        // s >= 1 (the maximum contributes exactly 1).
        total += s[l].ln() - zy[l];
        scale[l] = inv_n / s[l];
    }
    for zj in z.chunks_exact_mut(L) {
        for l in 0..L {
            zj[l] *= scale[l];
        }
    }
    for (l, &y) in rows.iter().enumerate() {
        z[y * L + l] -= inv_n;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// The objective and gradient by the definition, row by row, in the
    /// same parameter layout.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        x: &[f64],
        d: usize,
        y: &[usize],
        k: usize,
        fit: bool,
        bias: &[f64],
        lam: f64,
        theta: &[f64],
        grad: &mut [f64],
    ) -> f64 {
        let d1 = d + usize::from(fit);
        let n = y.len();
        grad.fill(0.0);
        let mut total = 0.0;
        for (xi, &yi) in x.chunks_exact(d).zip(y) {
            let z: Vec<f64> = (0..k)
                .map(|j| {
                    let t = &theta[j * d1..];
                    let b = if fit { t[d] } else { bias[j] };
                    xi.iter().zip(t).map(|(a, w)| a * w).sum::<f64>() + b
                })
                .collect();
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
            total += s.ln() + m - z[yi];
            for j in 0..k {
                let g = ((z[j] - m).exp() / s - f64::from(u8::from(j == yi))) / n as f64;
                for f in 0..d {
                    grad[j * d1 + f] += g * xi[f];
                }
                if fit {
                    grad[j * d1 + d] += g;
                }
            }
        }
        let mut w2 = 0.0;
        for j in 0..k {
            for f in 0..d {
                grad[j * d1 + f] += lam * theta[j * d1 + f];
                w2 += theta[j * d1 + f].powi(2);
            }
        }
        total / n as f64 + 0.5 * lam * w2
    }

    #[test]
    fn matches_the_definition_and_every_isa_gives_the_same_bits() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        // Shapes that leave partial panels, class blocks and feature tiles.
        for &(n, d, k, fit) in &[
            (37, 5, 3, true),
            (64, 7, 10, true),
            (9, 1, 2, false),
            (20, 4, 4, false),
        ] {
            let x: Vec<f64> = (0..n * d).map(|_| rng.random_range(-2.0..2.0)).collect();
            let y: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
            let bias: Vec<f64> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
            let d1 = d + usize::from(fit);
            let theta: Vec<f64> = (0..k * d1).map(|_| rng.random_range(-1.5..1.5)).collect();
            let lam = 0.03;
            let mut g_ref = vec![0.0; k * d1];
            let f_ref = naive(&x, d, &y, k, fit, &bias, lam, &theta, &mut g_ref);
            let mut dense = Dense::new(&x, d, &y, k, fit, &bias, lam);
            let mut first: Option<(f64, Vec<f64>)> = None;
            for isa in Isa::available() {
                let mut g = vec![f64::NAN; k * d1];
                let f = dense.evaluate_with(&theta, &mut g, isa);
                assert!(
                    (f - f_ref).abs() <= 1e-14 * f_ref.abs(),
                    "{isa:?}: {f} vs {f_ref}"
                );
                for (a, b) in g.iter().zip(&g_ref) {
                    assert!(
                        (a - b).abs() <= 1e-14 * (1.0 + b.abs()),
                        "{isa:?}: {a} vs {b}"
                    );
                }
                match &first {
                    None => first = Some((f, g)),
                    Some((f0, g0)) => {
                        assert_eq!(f.to_bits(), f0.to_bits(), "{isa:?}");
                        assert!(g.iter().zip(g0).all(|(a, b)| a.to_bits() == b.to_bits()));
                    }
                }
            }
        }
    }

    #[test]
    fn spd_inverse_inverts() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let m = 9;
        let b: Vec<f64> = (0..m * m).map(|_| rng.random_range(-1.0..1.0)).collect();
        // a = b b^T + I.
        let mut a = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                a[i * m + j] = (0..m).map(|t| b[i * m + t] * b[j * m + t]).sum::<f64>()
                    + f64::from(u8::from(i == j));
            }
        }
        let inv = spd_inverse(&a, m).unwrap();
        for i in 0..m {
            for j in 0..m {
                let e: f64 = (0..m).map(|t| a[i * m + t] * inv[t * m + j]).sum();
                assert!(
                    (e - f64::from(u8::from(i == j))).abs() < 1e-12,
                    "{i} {j} {e}"
                );
            }
        }
        a[0] = -1.0;
        assert!(spd_inverse(&a, m).is_none());
    }

    #[test]
    fn preconditioner_is_the_inverse_hessian_block_at_uniform_probabilities() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let (n, d, k) = (40, 3, 3);
        let x: Vec<f64> = (0..n * d).map(|_| rng.random_range(-2.0..2.0)).collect();
        let y: Vec<usize> = (0..n).map(|r| r % k).collect();
        let lam = 0.05;
        let mut dense = Dense::new(&x, d, &y, k, true, &[0.0; 3], lam);
        let pre = dense.preconditioner().unwrap();
        // Finite differences of the gradient at zero along class 0's
        // block give P times the step; H0 must map it back.
        let d1 = d + 1;
        let theta = vec![0.0; k * d1];
        let mut g0 = vec![0.0; k * d1];
        dense.evaluate(&theta, &mut g0);
        for f in 0..d1 {
            let mut t = theta.clone();
            let h = 1e-5;
            t[f] = h;
            let mut g1 = vec![0.0; k * d1];
            dense.evaluate(&t, &mut g1);
            let col: Vec<f64> = g1.iter().zip(&g0).map(|(a, b)| (a - b) / h).collect();
            let mut back = vec![0.0; k * d1];
            pre.apply(&col, &mut back);
            // Only class 0's block is P; the other classes see the
            // off-diagonal -1/k^2 blocks, which H0 leaves out.
            for (i, v) in back[..d1].iter().enumerate() {
                let want = f64::from(u8::from(i == f));
                assert!((v - want).abs() < 1e-4, "f {f}, i {i}: {v}");
            }
        }
    }

    #[test]
    fn no_preconditioner_without_penalty_or_with_too_few_rows() {
        let x: Vec<f64> = (0..40).map(f64::from).collect();
        let y: Vec<usize> = (0..20).map(|r| r % 2).collect();
        // C = inf: lam = 0.
        assert!(
            Dense::new(&x, 2, &y, 2, true, &[0.0; 2], 0.0)
                .preconditioner()
                .is_none()
        );
        assert!(
            Dense::new(&x, 2, &y, 2, true, &[0.0; 2], 0.1)
                .preconditioner()
                .is_some()
        );
        // 10 parameters per class against 4 rows.
        let x: Vec<f64> = (0..36).map(f64::from).collect();
        assert!(
            Dense::new(&x, 9, &y[..4], 2, true, &[0.0; 2], 0.1)
                .preconditioner()
                .is_none()
        );
    }

    #[test]
    fn overflowing_logits_give_infinity() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [0, 1];
        let mut dense = Dense::new(&x, 2, &y, 2, true, &[0.0, 0.0], 0.1);
        let theta = [f64::MAX, f64::MAX, 0.0, -f64::MAX, f64::MAX, 0.0];
        let mut g = [0.0; 6];
        assert_eq!(dense.evaluate(&theta, &mut g), f64::INFINITY);
    }
}
