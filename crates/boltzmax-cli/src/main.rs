//! The `boltzmax` command line.
//!
//! # Adding a command
//!
//! 1. Put it in its own file, `src/<command>.rs`, with a `clap::Args`
//!    struct for its options and a `pub fn run(args: &Args) -> anyhow::Result<()>`.
//!    Reuse the shared pieces instead of writing your own:
//!    - [`input`]: `#[command(flatten)] input: InputArgs` (a FILE or `-`,
//!      `--shape`) and `input::read::<f64>(..)` for rows of numbers or
//!      `.npy`, with errors that name file, line, column and token;
//!    - [`output`]: `#[command(flatten)] output: OutputArgs` (`--format`,
//!      `--output`), `Table::new(values, layout).render(format)` and
//!      `OutputArgs::write` (stdout, or an atomic write to a file);
//!      `output::push_number` prints a float as its shortest round-trip
//!      decimal;
//!    - [`scale`]: `#[command(flatten)] scale: ScaleArgs` for `--dtype`,
//!      `--temperature/-t`, `--beta`;
//!    - [`plot`]: the font and the SVG/PNG choice for charts.
//! 2. Add `mod <command>;` below, one variant to [`Command`] (its doc
//!    comment is the help line), and one arm in [`run`].
//! 3. Return errors, never print them or exit: `main` prints one line,
//!    `boltzmax: <cause>`, and exits with status 2. Make the message name
//!    the file, the place and the bad value (`anyhow!("{source}: line
//!    {n}: ...")`). A closed pipe (`| head`) is not an error.
//! 4. Integration tests go in `tests/`, driving the real binary on
//!    fixtures in `tests/data/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod input;
mod output;
// Shared by the commands that draw charts (ensemble, bandit, ising, calibrate).
#[allow(dead_code)]
mod plot;
mod rows;
mod scale;

mod bandit;
mod calibrate;
mod classify;
mod ensemble;
mod ising;
mod qlearn;
mod rbm;
mod sample;
mod table;

/// softmax, logsumexp and the Boltzmann distribution from the command line.
#[derive(Debug, Parser)]
#[command(name = "boltzmax", version, about, allow_negative_numbers = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// softmax(x / T) along an axis (each row of text by default).
    Softmax(rows::RowArgs),
    /// log-softmax(x / T) along an axis.
    LogSoftmax(rows::RowArgs),
    /// logsumexp along an axis: ln sum_i b_i exp(x_i / T) (b = 1 unless --weights).
    Logsumexp(rows::LogsumexpArgs),
    /// Fit temperature (or vector/matrix) scaling to a classifier's logits
    /// and report calibration before and after.
    Calibrate(calibrate::CalibrateArgs),
    /// Simulate bandit policies (Boltzmann, Boltzmann-Gumbel, UCB, ...)
    /// and report regret, reward and optimal pulls.
    Bandit(bandit::BanditArgs),
    /// Tabular Q-learning / SARSA / expected SARSA on FrozenLake or
    /// CliffWalking, scored by the exact value of the greedy policy.
    Qlearn(qlearn::QlearnArgs),
    /// Monte Carlo of the 2-d Ising model with error bars, exact values
    /// beside them, plots of C(T) and |m|(T), and a lattice snapshot.
    Ising(ising::IsingArgs),
    /// Restricted Boltzmann machines: train one, or sample from one.
    Rbm {
        #[command(subcommand)]
        command: rbm::RbmCommand,
    },
    /// Boltzmann populations and thermodynamics of a conformer ensemble
    /// (XYZ, CSV or a list of energies), at one temperature or a sweep.
    Ensemble(ensemble::EnsembleArgs),
    /// Draw from softmax(logits / T) per row through temperature, top-k,
    /// top-p, min-p and typical in a stated order (or greedily).
    Sample(sample::SampleArgs),
    /// Softmax regression: train a model, or predict with one.
    Classify {
        #[command(subcommand)]
        command: classify::ClassifyCommand,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version go to stdout with status 0; usage
            // errors to stderr with status 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole chain on one line: "a: b: c".
            eprintln!("boltzmax: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Softmax(args) => rows::run(rows::Op::Softmax, &args, None),
        Command::LogSoftmax(args) => rows::run(rows::Op::LogSoftmax, &args, None),
        Command::Logsumexp(args) => rows::run_logsumexp(&args),
        Command::Bandit(args) => bandit::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Qlearn(args) => qlearn::run(args),
        Command::Classify { command } => classify::run(command),
        Command::Sample(args) => sample::run(&args),
        Command::Ising(args) => ising::run(args),
        Command::Rbm { command } => rbm::run(command),
        Command::Ensemble(args) => ensemble::run(args),
    }
}

/// True when the error is a write to a closed pipe: the reader (`head`,
/// a pager) has what it wanted, so boltzmax stops quietly.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
