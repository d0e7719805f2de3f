//! Value stability: exact outputs for fixed seeds. A change here changes
//! every user's reproduced run; it needs a CHANGELOG entry, not a new pin.

use boltzmax::Params;
use boltzmax::sample::{
    AliasTable, Categorical, Chain, ChainConfig, PortableRng, SplitMix64, exponential_race,
    gumbel_max, open01, open01_f32, stream_rng, uniform,
};
use rand::distr::Distribution;
use rand::{RngCore, SeedableRng};

/// The generator states and uniforms below were also computed by an
/// independent Python transcription of the published SplitMix64 and
/// xoshiro256++ reference C code (Vigna), not only by this crate.
#[test]
fn streams_and_uniforms_are_pinned() {
    let expect = [
        (0, [0xd0764d4f4476689f_u64, 0x519e4174576f3791]),
        (1, [0x2e1dcb83efb37d39, 0x6d71c9045053a89f]),
        (2, [0x99ade25e55281af6, 0x5e1f62d590c27ec5]),
    ];
    for (stream, words) in expect {
        let mut r = stream_rng(42, stream);
        assert_eq!([r.next_u64(), r.next_u64()], words, "stream {stream}");
    }
    let mut r = stream_rng(42, 0);
    let u: Vec<f64> = (0..4).map(|_| uniform(&mut r)).collect();
    assert_eq!(
        u,
        [
            0.8143051451229099,
            0.3188210400616611,
            0.9838941681774888,
            0.7011355981347556
        ]
    );
    assert_eq!(SplitMix64::new(0).next_u64(), 0xe220a8397b1dcdaf);
    // Stream 0 is rand_xoshiro's own u64 seeding.
    let mut a = stream_rng(9, 0);
    let mut b = PortableRng::seed_from_u64(9);
    assert_eq!(a.next_u64(), b.next_u64());
}

#[test]
fn conversions_are_exact_and_open() {
    assert_eq!(open01(0), 2f64.powi(-54));
    assert_eq!(open01(2047), 2f64.powi(-54)); // low 11 bits ignored
    assert_eq!(open01(2048), 2f64.powi(-53));
    assert_eq!(open01(u64::MAX), 1.0 - 2f64.powi(-53));
    assert_eq!(open01(0x8000_0000_0000_0000), 0.5);
    assert_eq!(open01_f32(0), 2f32.powi(-25));
    assert_eq!(open01_f32(1 << 40), 2f32.powi(-24));
    assert_eq!(open01_f32(u64::MAX), 1.0 - 2f32.powi(-24));
    // Every value of the 53-bit grid is exact: u * 2^53 is an integer.
    let mut r = stream_rng(3, 0);
    for _ in 0..10_000 {
        let x = r.next_u64();
        let u = open01(x);
        assert!(u > 0.0 && u < 1.0);
        if x >> 11 != 0 {
            assert_eq!(u * 2f64.powi(53), (x >> 11) as f64);
        }
        let v = open01_f32(x);
        assert!(v > 0.0 && v < 1.0);
    }
}

#[test]
fn categorical_draws_are_pinned() {
    let x = [2.0_f64, 1.0, 0.5, -1.0, 0.0, 1.5];
    let expect = [1, 4, 5, 5, 0, 0, 0, 1, 0, 3, 0, 5, 2, 2, 0, 0];
    let c = Categorical::new(&x, &Params::temperature(0.8).unwrap()).unwrap();
    let mut r = stream_rng(7, 3);
    let d: Vec<usize> = (0..16).map(|_| c.sample(&mut r)).collect();
    assert_eq!(d, expect);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let c = Categorical::new(&x32, &Params::temperature(0.8).unwrap()).unwrap();
    let mut r = stream_rng(7, 3);
    let d: Vec<usize> = (0..16).map(|_| c.sample(&mut r)).collect();
    assert_eq!(d, expect);
}

#[test]
fn gumbel_max_draws_are_pinned_and_use_one_word_per_logit() {
    let x = [2.0_f64, 1.0, 0.5, -1.0, 0.0, 1.5];
    let expect = [0, 0, 1, 1, 0, 0, 0, 1, 2, 1, 0, 4, 5, 1, 1, 0];
    let p = Params::temperature(0.8).unwrap();
    let mut r = stream_rng(7, 4);
    let d: Vec<usize> = (0..16)
        .map(|_| gumbel_max(&x, &p, &mut r).unwrap())
        .collect();
    assert_eq!(d, expect);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let p32 = Params::temperature(0.8_f32).unwrap();
    let mut r = stream_rng(7, 4);
    let d: Vec<usize> = (0..16)
        .map(|_| gumbel_max(&x32, &p32, &mut r).unwrap())
        .collect();
    assert_eq!(d, expect);
    // One u64 per logit, whatever the row holds (here a +inf entry).
    let mut a = stream_rng(7, 5);
    let mut b = stream_rng(7, 5);
    gumbel_max(&[0.0, f64::INFINITY, 1.0], &p, &mut a).unwrap();
    for _ in 0..3 {
        b.next_u64();
    }
    assert_eq!(a.next_u64(), b.next_u64());
}

#[test]
fn alias_race_and_chain_draws_are_pinned() {
    let x = [2.0_f64, 1.0, 0.5, -1.0, 0.0, 1.5];
    let p = Params::temperature(0.8).unwrap();
    let a = AliasTable::new(&x, &p).unwrap();
    let mut r = stream_rng(7, 6);
    let d: Vec<usize> = (0..16).map(|_| a.sample(&mut r)).collect();
    assert_eq!(d, [1, 0, 5, 0, 0, 2, 0, 5, 2, 0, 0, 1, 0, 0, 0, 0]);
    let mut r = stream_rng(7, 7);
    let d: Vec<usize> = (0..16)
        .map(|_| exponential_race(&x, &p, &mut r).unwrap())
        .collect();
    assert_eq!(d, [1, 5, 0, 5, 5, 5, 5, 0, 0, 5, 0, 0, 0, 0, 0, 0]);
    let c = Chain::new(&ChainConfig {
        temperature: 0.8,
        top_k: Some(4),
        top_p: Some(0.9),
        ..Default::default()
    })
    .unwrap();
    let mut r = stream_rng(7, 8);
    let d: Vec<usize> = (0..16).map(|_| c.sample(&x, &mut r).unwrap()).collect();
    assert_eq!(d, [1, 0, 0, 5, 5, 0, 0, 5, 5, 5, 0, 5, 5, 0, 0, 1]);
}
