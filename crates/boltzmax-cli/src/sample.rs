//! `boltzmax sample`: draws from softmax(logits / T) through the decoding
//! chain, one row of logits at a time.

use anyhow::{Context, Result, bail};
use boltzmax::sample::{Chain, ChainConfig, Order, stream_rng};

use crate::input::{self, InputArgs, Layout};
use crate::output::{OutputArgs, push_number};

/// Options of `sample`.
#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Temperature (finite, > 0; for T = 0 use --greedy).
    #[arg(long, short = 't', default_value_t = 1.0)]
    pub temperature: f64,

    /// Keep the K largest logits (ties with the K-th are kept too).
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,

    /// Nucleus: keep the most likely entries up to mass P, in (0, 1].
    #[arg(long, value_name = "P")]
    pub top_p: Option<f64>,

    /// Keep entries with probability >= Q times the largest, Q in [0, 1].
    #[arg(long, value_name = "Q")]
    pub min_p: Option<f64>,

    /// Locally typical sampling with mass M in (0, 1].
    #[arg(long, value_name = "M")]
    pub typical: Option<f64>,

    /// Stage order: hf (temperature first, the default), llama (llama.cpp:
    /// temperature last), or a list such as top-k,min-p,temperature.
    #[arg(long, default_value = "hf")]
    pub order: String,

    /// Greedy decoding: the largest logit, lowest index among ties.
    #[arg(long)]
    pub greedy: bool,

    /// Draws per row.
    #[arg(short = 'n', long = "draws", default_value_t = 1, value_name = "DRAWS")]
    pub draws: usize,

    /// Seed; row r draws from stream r of it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Print, per row, each kept index with its exact probability beside
    /// the empirical frequency of the draws.
    #[arg(long)]
    pub histogram: bool,

    /// Write to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

pub fn run(args: &SampleArgs) -> Result<()> {
    if args.greedy
        && (args.temperature != 1.0
            || args.top_k.is_some()
            || args.top_p.is_some()
            || args.min_p.is_some()
            || args.typical.is_some())
    {
        bail!("--greedy takes no --temperature, --top-k, --top-p, --min-p or --typical");
    }
    if args.temperature == 0.0 {
        bail!("--temperature 0 is not a distribution; use --greedy for argmax decoding");
    }
    let chain = if args.greedy {
        Chain::greedy()
    } else {
        let order: Order = args.order.parse().context("--order")?;
        Chain::new(&ChainConfig {
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
            min_p: args.min_p,
            typical: args.typical,
            order,
        })?
    };
    let data = input::read::<f64>(&args.input.input, args.input.shape.as_ref())?;
    let lens: Vec<usize> = match &data.layout {
        Layout::Ragged(lens) => lens.clone(),
        Layout::Dims(d) if d.len() <= 1 => vec![data.values.len()],
        Layout::Dims(d) => {
            let last = *d.last().unwrap_or(&0);
            vec![last; data.values.len() / last.max(1)]
        }
    };
    let mut out = String::new();
    let mut start = 0;
    for (r, &len) in lens.iter().enumerate() {
        let row = &data.values[start..start + len];
        start += len;
        let kept = chain
            .kept(row)
            .with_context(|| format!("{}: row {}", data.source, r + 1))?;
        let mut rng = stream_rng(args.seed, r as u64);
        let mut counts = vec![0u64; kept.len()];
        let mut draws = Vec::with_capacity(args.draws);
        for _ in 0..args.draws {
            let i = chain.sample(row, &mut rng)?;
            let pos = kept.indices().binary_search(&i).expect("draws are kept");
            counts[pos] += 1;
            draws.push(i);
        }
        if args.histogram {
            if lens.len() > 1 {
                out.push_str(&format!("# row {}\n", r + 1));
            }
            out.push_str("index\tprobability\tfrequency\tcount\n");
            for ((&i, &p), &c) in kept.indices().iter().zip(kept.probabilities()).zip(&counts) {
                out.push_str(&format!("{i}\t"));
                push_number(&mut out, p);
                out.push('\t');
                push_number(&mut out, c as f64 / args.draws.max(1) as f64);
                out.push_str(&format!("\t{c}\n"));
            }
        } else {
            let line: Vec<String> = draws.iter().map(|d| d.to_string()).collect();
            out.push_str(&line.join(" "));
            out.push('\n');
        }
    }
    OutputArgs {
        format: None,
        output: args.output.clone(),
    }
    .write(out.as_bytes())
}
