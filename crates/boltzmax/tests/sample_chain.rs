//! The decoding chain against a straightforward sort-based reference
//! (proptest on random logits with ties, flat rows and -inf entries), and
//! chi-square goodness of fit of its draws against the exact kept-set
//! probabilities (false-alarm probability 1e-6 per check).

mod sample_common;

use boltzmax::Error;
use boltzmax::sample::{Chain, ChainConfig, Order, Stage, stream_rng};
use proptest::prelude::*;
use rand::distr::Distribution;
use sample_common::assert_fits;

/// The reference: every stage sorts its whole candidate set (a stable full
/// sort by value), probabilities in f64 by the plain formula. Returns the
/// kept indices, their probabilities, and the smallest relative margin by
/// which a mass cut-off was decided (to skip rounding coin-flips).
fn reference(x: &[f64], c: &ChainConfig) -> (Vec<usize>, Vec<f64>, f64) {
    let mut set: Vec<usize> = (0..x.len()).filter(|&i| x[i] > f64::NEG_INFINITY).collect();
    let mut t = 1.0;
    let mut margin = f64::INFINITY;
    let probs = |set: &[usize], t: f64| -> Vec<f64> {
        let m = set.iter().map(|&i| x[i]).fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = set.iter().map(|&i| ((x[i] - m) / t).exp()).collect();
        let s: f64 = w.iter().sum();
        w.iter().map(|v| v / s).collect()
    };
    // Keeps the entries whose key is >= the key of the entry where the
    // running mass (in decreasing key order) first reaches `target`.
    let mass_cut = |set: &[usize], key: &[f64], p: &[f64], target: f64, margin: &mut f64| {
        let mut order: Vec<usize> = (0..set.len()).collect();
        order.sort_by(|&a, &b| key[b].total_cmp(&key[a]));
        let mut acc = 0.0;
        let mut cut = None;
        for (q, &j) in order.iter().enumerate() {
            acc += p[j];
            // The decision is a rounding coin-flip only where the running
            // mass is within rounding of the target at a boundary between
            // distinct keys (inside a group of ties every choice keeps the
            // same set).
            let boundary = order.get(q + 1).is_none_or(|&n| key[n] != key[j]);
            if boundary {
                *margin = margin.min((acc - target).abs());
            }
            if acc >= target && cut.is_none() {
                cut = Some(key[j]);
            }
        }
        let cut = cut.unwrap_or(key[order[order.len() - 1]]);
        set.iter()
            .zip(key)
            .filter(|(_, k)| **k >= cut)
            .map(|(i, _)| *i)
            .collect::<Vec<usize>>()
    };
    for s in c.order.stages() {
        match s {
            Stage::Temperature => t *= c.temperature,
            Stage::TopK => {
                if let Some(k) = c.top_k
                    && set.len() > k
                {
                    let mut v: Vec<f64> = set.iter().map(|&i| x[i]).collect();
                    v.sort_by(|a, b| b.total_cmp(a));
                    let kth = v[k - 1];
                    set.retain(|&i| x[i] >= kth);
                }
            }
            Stage::TopP => {
                if let Some(p) = c.top_p
                    && p < 1.0
                {
                    let pr = probs(&set, t);
                    let key: Vec<f64> = set.iter().map(|&i| x[i]).collect();
                    set = mass_cut(&set, &key, &pr, p, &mut margin);
                }
            }
            Stage::MinP => {
                if let Some(q) = c.min_p
                    && q > 0.0
                {
                    let m = set.iter().map(|&i| x[i]).fold(f64::NEG_INFINITY, f64::max);
                    set.retain(|&i| x[i] - m >= t * q.ln());
                }
            }
            Stage::Typical => {
                if let Some(mass) = c.typical
                    && mass < 1.0
                {
                    let pr = probs(&set, t);
                    let h: f64 = -pr
                        .iter()
                        .filter(|p| **p > 0.0)
                        .map(|p| p * p.ln())
                        .sum::<f64>();
                    let key: Vec<f64> = pr.iter().map(|p| -(-p.ln() - h).abs()).collect();
                    set = mass_cut(&set, &key, &pr, mass, &mut margin);
                }
            }
        }
    }
    let t_final = t;
    let p = probs(&set, t_final);
    (set, p, margin)
}

fn logits_strategy() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        // Continuous, peaked to wide.
        (1usize..300, 0.1f64..8.0).prop_flat_map(|(n, s)| {
            prop::collection::vec(-1.0f64..1.0, n)
                .prop_map(move |v| v.iter().map(|x| x * s).collect())
        }),
        // Few distinct values: many ties.
        prop::collection::vec((0u8..5).prop_map(|k| k as f64 * 0.7), 1..200),
        // Flat.
        (1usize..200, -3.0f64..3.0).prop_map(|(n, c)| vec![c; n]),
        // With -inf entries.
        prop::collection::vec(
            prop_oneof![3 => -4.0f64..4.0, 1 => Just(f64::NEG_INFINITY)],
            1..150
        )
        .prop_filter("a finite entry", |v| v.iter().any(|x| x.is_finite())),
    ]
}

fn config_strategy() -> impl Strategy<Value = ChainConfig> {
    (
        prop_oneof![Just(1.0), 0.2f64..3.0],
        prop::option::of(1usize..60),
        prop::option::of(prop_oneof![0.01f64..1.0, Just(1.0)]),
        prop::option::of(prop_oneof![0.0f64..1.0, Just(0.0), Just(1.0)]),
        prop::option::of(0.05f64..1.0),
        prop_oneof![
            Just(Order::HuggingFace),
            Just(Order::LlamaCpp),
            Just(Order::Custom(vec![
                Stage::MinP,
                Stage::Typical,
                Stage::Temperature,
                Stage::TopP,
                Stage::TopK
            ])),
        ],
    )
        .prop_map(
            |(temperature, top_k, top_p, min_p, typical, order)| ChainConfig {
                temperature,
                top_k,
                top_p,
                min_p,
                typical,
                order,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn kept_set_matches_sort_reference_f64(x in logits_strategy(), c in config_strategy()) {
        let (want, p, margin) = reference(&x, &c);
        prop_assume!(margin > 1e-9);
        let kept = Chain::new(&c).unwrap().kept(&x).unwrap();
        prop_assert_eq!(kept.indices(), &want[..]);
        for (a, b) in kept.probabilities().iter().zip(&p) {
            prop_assert!((a - b).abs() <= 1e-12 * b.max(1e-300) + 1e-300, "{} vs {}", a, b);
        }
    }

    #[test]
    fn kept_set_matches_sort_reference_f32(x in logits_strategy(), c in config_strategy()) {
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        let (want, _, margin) = reference(&x64, &c);
        // Top-p over the whole f32 vocabulary takes its normaliser from
        // f32 exp (about 1e-7 relative): skip coin-flip boundaries.
        prop_assume!(margin > 1e-5);
        let kept = Chain::new(&c).unwrap().kept(&x32).unwrap();
        prop_assert_eq!(kept.indices(), &want[..]);
    }

    /// Greedy is the first maximum.
    #[test]
    fn greedy_is_first_argmax(x in logits_strategy()) {
        let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let first = x.iter().position(|&v| v == m).unwrap();
        let k = Chain::greedy().kept(&x).unwrap();
        prop_assert_eq!(k.indices(), &[first][..]);
        prop_assert_eq!(Chain::greedy().sample(&x, &mut stream_rng(0, 0)), Ok(first));
    }
}

/// Large rows exercise the heap top-k and the bounded top-p candidate set
/// (and its fallback: a flat row whose mass is spread over everything).
#[test]
fn large_rows_match_reference() {
    let mut rng = stream_rng(99, 0);
    let n = 20_000;
    let peaked: Vec<f64> = (0..n)
        .map(|_| 6.0 * boltzmax::sample::gumbel(&mut rng))
        .collect();
    let flat = vec![0.5; n];
    let nearly_flat: Vec<f64> = (0..n).map(|i| 1e-3 * ((i * 7919) % 101) as f64).collect();
    let configs = [
        ChainConfig {
            temperature: 0.7,
            top_k: Some(50),
            top_p: Some(0.9),
            ..Default::default()
        },
        ChainConfig {
            top_p: Some(0.95),
            ..Default::default()
        },
        ChainConfig {
            min_p: Some(0.05),
            ..Default::default()
        },
        ChainConfig {
            typical: Some(0.9),
            top_k: Some(400),
            ..Default::default()
        },
        ChainConfig {
            temperature: 1.3,
            top_k: Some(40),
            top_p: Some(0.5),
            min_p: Some(0.1),
            typical: Some(0.8),
            order: Order::LlamaCpp,
        },
    ];
    for x in [&peaked, &flat, &nearly_flat] {
        for c in &configs {
            let (want, p, margin) = reference(x, c);
            assert!(margin > 1e-9);
            let kept = Chain::new(c).unwrap().kept(x).unwrap();
            assert_eq!(kept.indices(), &want[..], "{c:?}");
            for (a, b) in kept.probabilities().iter().zip(&p) {
                assert!((a - b).abs() <= 1e-12 * b);
            }
        }
    }
}

#[test]
fn draws_fit_the_kept_set() {
    let x: Vec<f64> = vec![
        3.0,
        2.5,
        2.5,
        1.0,
        0.2,
        -0.5,
        2.0,
        f64::NEG_INFINITY,
        1.5,
        2.5,
        -2.0,
        0.0,
    ];
    let configs = [
        ChainConfig::default(),
        ChainConfig {
            temperature: 0.6,
            top_k: Some(4),
            ..Default::default()
        },
        ChainConfig {
            temperature: 1.5,
            top_p: Some(0.8),
            ..Default::default()
        },
        ChainConfig {
            min_p: Some(0.2),
            ..Default::default()
        },
        ChainConfig {
            typical: Some(0.7),
            ..Default::default()
        },
        ChainConfig {
            temperature: 0.8,
            top_k: Some(6),
            top_p: Some(0.9),
            min_p: Some(0.05),
            typical: Some(0.95),
            order: Order::HuggingFace,
        },
        ChainConfig {
            temperature: 0.8,
            top_k: Some(6),
            top_p: Some(0.9),
            min_p: Some(0.05),
            typical: Some(0.95),
            order: Order::LlamaCpp,
        },
    ];
    for (s, c) in configs.iter().enumerate() {
        let (want, p, _) = reference(&x, c);
        let mut exact = vec![0.0; x.len()];
        for (&i, &q) in want.iter().zip(&p) {
            exact[i] = q;
        }
        let chain = Chain::new(c).unwrap();
        let mut rng = stream_rng(21, s as u64);
        let mut counts = vec![0u64; x.len()];
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        for d in 0..100_000 {
            // Alternate precisions through one stream.
            let i = if d % 2 == 0 {
                chain.sample(&x, &mut rng)
            } else {
                chain.sample(&x32, &mut rng)
            };
            counts[i.unwrap()] += 1;
        }
        assert_fits(&format!("chain {c:?}"), &counts, &exact);
    }
}

#[test]
fn orders_differ_where_they_should() {
    // Temperature first (HF) vs last (llama.cpp) changes what min-p keeps.
    let x = [2.0_f64, 1.0, 0.0];
    let mk = |order| ChainConfig {
        temperature: 3.0,
        min_p: Some(0.3),
        order,
        ..Default::default()
    };
    let hf = Chain::new(&mk(Order::HuggingFace))
        .unwrap()
        .kept(&x)
        .unwrap();
    let ll = Chain::new(&mk(Order::LlamaCpp)).unwrap().kept(&x).unwrap();
    // HF: p ratios e^{-1/3}, e^{-2/3} >= 0.3: all kept. llama: e^-1 = 0.37 kept, e^-2 not.
    assert_eq!(hf.indices(), &[0, 1, 2]);
    assert_eq!(ll.indices(), &[0, 1]);
    assert_eq!("llama.cpp".parse::<Order>().unwrap(), Order::LlamaCpp);
    assert_eq!("hf".parse::<Order>().unwrap(), Order::HuggingFace);
    assert_eq!(
        "min-p, temperature".parse::<Order>().unwrap(),
        Order::Custom(vec![Stage::MinP, Stage::Temperature])
    );
    assert!("top-q".parse::<Order>().is_err());
}

#[test]
fn ties_at_cut_offs_are_kept() {
    let x = [1.0_f64, 3.0, 2.0, 3.0, 2.0, 0.0];
    let k = |k| {
        Chain::new(&ChainConfig {
            top_k: Some(k),
            ..Default::default()
        })
        .unwrap()
        .kept(&x)
        .unwrap()
    };
    assert_eq!(k(1).indices(), &[1, 3]);
    assert_eq!(k(3).indices(), &[1, 2, 3, 4]);
    let p = Chain::new(&ChainConfig {
        top_p: Some(0.01),
        ..Default::default()
    })
    .unwrap()
    .kept(&x)
    .unwrap();
    assert_eq!(p.indices(), &[1, 3]);
}

#[test]
fn invalid_configurations_are_errors() {
    let bad = |c: ChainConfig| Chain::new(&c).unwrap_err();
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            bad(ChainConfig {
                temperature: t,
                ..Default::default()
            }),
            Error::InvalidTemperature { .. }
        ));
    }
    assert!(matches!(
        bad(ChainConfig {
            top_k: Some(0),
            ..Default::default()
        }),
        Error::InvalidParameter { name: "top-k", .. }
    ));
    for p in [0.0, -0.1, 1.5, f64::NAN] {
        assert!(matches!(
            bad(ChainConfig {
                top_p: Some(p),
                ..Default::default()
            }),
            Error::InvalidParameter { name: "top-p", .. }
        ));
        assert!(matches!(
            bad(ChainConfig {
                typical: Some(p),
                ..Default::default()
            }),
            Error::InvalidParameter {
                name: "typical",
                ..
            }
        ));
    }
    for q in [-0.1, 1.1, f64::NAN] {
        assert!(matches!(
            bad(ChainConfig {
                min_p: Some(q),
                ..Default::default()
            }),
            Error::InvalidParameter { name: "min-p", .. }
        ));
    }
    assert!(matches!(
        bad(ChainConfig {
            top_k: Some(3),
            order: Order::Custom(vec![Stage::TopP]),
            ..Default::default()
        }),
        Error::InvalidParameter { name: "order", .. }
    ));
    assert!(matches!(
        bad(ChainConfig {
            order: Order::Custom(vec![Stage::TopP, Stage::TopP]),
            ..Default::default()
        }),
        Error::InvalidParameter { name: "order", .. }
    ));
    let chain = Chain::new(&ChainConfig {
        top_k: Some(2),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        chain.kept(&[0.0, f64::NAN]).unwrap_err(),
        Error::NanLogit { index: 1 }
    );
    assert!(matches!(
        chain.kept::<f64>(&[]).unwrap_err(),
        Error::NothingToSample { .. }
    ));
    assert!(matches!(
        chain.kept(&[f32::NEG_INFINITY; 3]).unwrap_err(),
        Error::NothingToSample { .. }
    ));
    assert!(matches!(
        chain
            .kept(&[f32::INFINITY, 0.0, f32::INFINITY])
            .unwrap_err(),
        Error::NothingToSample { .. }
    ));
    assert_eq!(
        chain.kept(&[0.0, f32::INFINITY, 0.0]).unwrap().indices(),
        &[1]
    );
    // Greedy picks the lowest of several +inf; still errors on NaN.
    assert_eq!(
        Chain::greedy()
            .kept(&[0.0, f32::INFINITY, f32::INFINITY])
            .unwrap()
            .indices(),
        &[1]
    );
    assert!(Chain::greedy().kept(&[0.0, f32::NAN]).is_err());
}

#[test]
fn batch_draws_do_not_depend_on_threads() {
    let width = 500;
    let mut rng = stream_rng(5, 0);
    let rows: Vec<f32> = (0..64 * width)
        .map(|_| 3.0 * boltzmax::sample::gumbel(&mut rng) as f32)
        .collect();
    let chain = Chain::new(&ChainConfig {
        temperature: 0.8,
        top_k: Some(50),
        top_p: Some(0.9),
        ..Default::default()
    })
    .unwrap();
    let par = chain.sample_rows(&rows, width, 77).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let seq = one.install(|| chain.sample_rows(&rows, width, 77).unwrap());
    assert_eq!(par, seq);
    let by_hand: Vec<usize> = rows
        .chunks(width)
        .enumerate()
        .map(|(r, row)| chain.sample(row, &mut stream_rng(77, r as u64)).unwrap())
        .collect();
    assert_eq!(par, by_hand);
}

/// Where the kept set is the whole vocabulary, `Chain::sample` draws
/// without listing it (blockwise SIMD weights, or `floor(u n)` on a flat
/// row); `Kept::sample` draws by the listed inverse CDF. Same generator
/// state, same index (up to a `u` within rounding of a boundary, which
/// these seeds do not hit), f64 and f32.
#[test]
fn whole_vocabulary_draws_match_the_listed_draws() {
    let n = 6000;
    let mut rng = stream_rng(8, 1);
    let nearly: Vec<f64> = (0..n)
        .map(|_| 0.01 * boltzmax::sample::gumbel(&mut rng))
        .collect();
    let mut with_inf: Vec<f64> = (0..n)
        .map(|_| 2.0 * boltzmax::sample::gumbel(&mut rng))
        .collect();
    with_inf[10] = f64::NEG_INFINITY;
    with_inf[4000] = f64::NEG_INFINITY;
    let flat = vec![-1.25; n];
    let configs = [
        ChainConfig::default(),
        ChainConfig {
            temperature: 0.8,
            top_k: Some(50),
            top_p: Some(0.9),
            ..Default::default()
        },
        ChainConfig {
            min_p: Some(0.05),
            ..Default::default()
        },
        ChainConfig {
            temperature: 1.7,
            typical: Some(0.99),
            order: Order::LlamaCpp,
            ..Default::default()
        },
    ];
    for x in [&nearly, &with_inf, &flat] {
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        for (s, c) in configs.iter().enumerate() {
            let chain = Chain::new(c).unwrap();
            let (k64, k32) = (chain.kept(x).unwrap(), chain.kept(&x32).unwrap());
            let (mut a, mut b) = (stream_rng(9, s as u64), stream_rng(9, s as u64));
            for _ in 0..200 {
                assert_eq!(chain.sample(x, &mut a), Ok(k64.sample(&mut b)), "{c:?}");
                assert_eq!(chain.sample(&x32, &mut a), Ok(k32.sample(&mut b)), "{c:?}");
            }
        }
    }
}

/// Chi-square on a flat row, drawn by the `floor(u n)` shortcut.
#[test]
fn flat_row_draws_are_uniform() {
    let x = vec![0.5_f32; 13];
    let chain = Chain::new(&ChainConfig {
        temperature: 0.6,
        top_k: Some(2),
        top_p: Some(0.3),
        min_p: Some(0.5),
        ..Default::default()
    })
    .unwrap();
    let mut rng = stream_rng(22, 0);
    let mut counts = vec![0u64; x.len()];
    for _ in 0..50_000 {
        counts[chain.sample(&x, &mut rng).unwrap()] += 1;
    }
    assert_fits("flat row", &counts, &[1.0 / 13.0; 13]);
}

/// Top-p on sets larger than its bin count (4096) finds the cut-off from a
/// histogram of z and selects inside one bin: against the sort reference
/// on wide, narrow, tied and -inf rows, unlisted and listed (after min-p),
/// f64 and f32.
#[test]
fn large_top_p_matches_reference() {
    let n = 6000;
    let mut rng = stream_rng(31, 0);
    let mut g = |s: f64| -> Vec<f64> {
        (0..n)
            .map(|_| s * boltzmax::sample::gumbel(&mut rng))
            .collect()
    };
    let wide = g(3.0);
    let narrow = g(0.02);
    let very_wide = g(40.0);
    let tied: Vec<f64> = g(1.0).iter().map(|v| (2.0 * v).floor()).collect();
    let mut with_inf = g(1.0);
    for i in (0..n).step_by(7) {
        with_inf[i] = f64::NEG_INFINITY;
    }
    let mut configs = Vec::new();
    for (t, p) in [(1.0, 0.9), (0.4, 0.5), (2.5, 0.99), (1.0, 0.001)] {
        configs.push(ChainConfig {
            temperature: t,
            top_p: Some(p),
            ..Default::default()
        });
        configs.push(ChainConfig {
            temperature: t,
            top_p: Some(p),
            min_p: Some(1e-6),
            order: Order::Custom(vec![Stage::MinP, Stage::Temperature, Stage::TopP]),
            ..Default::default()
        });
    }
    let mut checked = 0;
    for x in [&wide, &narrow, &very_wide, &tied, &with_inf] {
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        for c in &configs {
            let chain = Chain::new(c).unwrap();
            let (want, p, margin) = reference(x, c);
            if margin > 1e-9 {
                let kept = chain.kept(x).unwrap();
                assert_eq!(kept.indices(), &want[..], "{c:?}");
                for (a, b) in kept.probabilities().iter().zip(&p) {
                    assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
                }
                checked += 1;
            }
            let (want, _, margin) = reference(&x64, c);
            if margin > 1e-5 {
                assert_eq!(chain.kept(&x32).unwrap().indices(), &want[..], "{c:?}");
                checked += 1;
            }
        }
    }
    // Coin-flip cut-offs are rare: nearly every case is checked.
    assert!(checked >= 70, "{checked} of 80 checked");
}
