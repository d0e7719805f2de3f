//! `boltzmax sample` driven as a real binary on fixtures in tests/data.

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_boltzmax"))
}

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    bin().arg("sample").args(args).output().expect("runs")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn draws_are_reproducible_and_per_row() {
    let f = data("sample_logits.txt");
    let a = stdout(&run(&[&f, "-n", "20", "--seed", "5", "--top-k", "3"]));
    let b = stdout(&run(&[&f, "-n", "20", "--seed", "5", "--top-k", "3"]));
    assert_eq!(a, b);
    let lines: Vec<&str> = a.lines().collect();
    assert_eq!(lines.len(), 2);
    // Row 1 keeps {0, 4, 1} (top-3), row 2 keeps {1, 2, 4}.
    for (line, kept) in lines.iter().zip([[0, 1, 4], [1, 2, 4]]) {
        let d: Vec<usize> = line.split(' ').map(|t| t.parse().unwrap()).collect();
        assert_eq!(d.len(), 20);
        assert!(d.iter().all(|i| kept.contains(i)), "{line}");
    }
    let c = stdout(&run(&[&f, "-n", "20", "--seed", "6", "--top-k", "3"]));
    assert_ne!(a, c);
}

#[test]
fn histogram_shows_exact_probabilities_beside_frequencies() {
    let f = data("sample_logits.txt");
    let out = stdout(&run(&[
        &f,
        "-n",
        "40000",
        "--temperature",
        "0.5",
        "--min-p",
        "0.1",
        "--histogram",
    ]));
    // Row 1 at T = 0.5: z = 2x; min-p 0.1 keeps p >= 0.1 p_max, i.e.
    // 2 (x - 2) >= ln 0.1: x >= 0.849, so indices 0, 1, 4.
    let w: [f64; 3] = [1.0, (-2.0f64).exp(), 1.0];
    let s: f64 = w.iter().sum();
    let mut rows = out.split("# row ").filter(|r| !r.is_empty());
    let row1 = rows.next().unwrap();
    let body: Vec<Vec<&str>> = row1
        .lines()
        .skip(2)
        .map(|l| l.split('\t').collect())
        .collect();
    let idx: Vec<&str> = body.iter().map(|r| r[0]).collect();
    assert_eq!(idx, ["0", "1", "4"]);
    let mut total = 0u64;
    for (r, wi) in body.iter().zip(w) {
        let p: f64 = r[1].parse().unwrap();
        assert!((p - wi / s).abs() < 1e-15, "{p} vs {}", wi / s);
        let freq: f64 = r[2].parse().unwrap();
        // 6 standard deviations of a binomial frequency at n = 40000.
        assert!(
            (freq - p).abs() < 6.0 * (p * (1.0 - p) / 40000.0).sqrt(),
            "{freq} vs {p}"
        );
        total += r[3].parse::<u64>().unwrap();
    }
    assert_eq!(total, 40000);
}

#[test]
fn greedy_picks_the_lowest_tied_index_and_orders_parse() {
    let f = data("sample_logits.txt");
    let out = stdout(&run(&[&f, "--greedy", "-n", "3"]));
    assert_eq!(out, "0 0 0\n1 1 1\n");
    let out = stdout(&run(&[
        &f,
        "--order",
        "llama",
        "--min-p",
        "0.5",
        "--temperature",
        "3",
        "-n",
        "5",
    ]));
    assert_eq!(out.lines().count(), 2);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![data("sample_nan.txt")],
            "row 2: logit at index 1 is NaN",
        ),
        (
            vec![
                data("sample_logits.txt"),
                "--temperature".into(),
                "0".into(),
            ],
            "--greedy",
        ),
        (
            vec![data("sample_logits.txt"), "--top-k".into(), "0".into()],
            "top-k",
        ),
        (
            vec![data("sample_logits.txt"), "--top-p".into(), "0".into()],
            "top-p",
        ),
        (
            vec![data("sample_logits.txt"), "--order".into(), "top-q".into()],
            "unknown stage",
        ),
        (vec![data("no_such_file.txt")], "no_such_file.txt"),
    ];
    for (args, needle) in cases {
        let o = bin().arg("sample").args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn output_file_is_written_whole() {
    let dir = std::env::temp_dir().join(format!("boltzmax_sample_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("draws.txt");
    let o = run(&[
        &data("sample_logits.txt"),
        "-n",
        "4",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 2);
    // A failing run leaves no file behind.
    let bad = dir.join("bad.txt");
    let o = run(&[&data("sample_nan.txt"), "-o", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!bad.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
