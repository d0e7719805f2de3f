//! The `boltzmax` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Shared by the commands that draw charts (ensemble, bandit, ising, calibrate).
#[allow(dead_code)]
mod plot;

mod bandit;
mod calibrate;
mod classify;
mod qlearn;
mod table;

/// softmax, logsumexp and the Boltzmann distribution from the command line.
#[derive(Debug, Parser)]
#[command(name = "boltzmax", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// softmax of each row of numbers read from a file or stdin.
    Softmax(RowArgs),
    /// Fit temperature (or vector/matrix) scaling to a classifier's logits
    /// and report calibration before and after.
    Calibrate(calibrate::CalibrateArgs),
    /// Simulate bandit policies (Boltzmann, Boltzmann-Gumbel, UCB, ...)
    /// and report regret, reward and optimal pulls.
    Bandit(bandit::BanditArgs),
    /// Tabular Q-learning / SARSA / expected SARSA on FrozenLake or
    /// CliffWalking, scored by the exact value of the greedy policy.
    Qlearn(qlearn::QlearnArgs),
    /// Softmax regression: train a model, or predict with one.
    Classify {
        #[command(subcommand)]
        command: classify::ClassifyCommand,
    },
}

#[derive(Debug, clap::Args)]
struct RowArgs {
    /// Input file, or - for stdin.
    #[arg(default_value = "-")]
    input: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("boltzmax: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Bandit(args) => bandit::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Qlearn(args) => qlearn::run(args),
        Command::Classify { command } => classify::run(command),
        Command::Softmax(args) => {
            let text = if args.input == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&args.input)?
            };
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let row: Vec<f64> = line
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(|t| t.parse::<f64>())
                    .collect::<Result<_, _>>()?;
                let p = boltzmax::softmax(&row);
                let cells: Vec<String> = p.iter().map(|v| v.to_string()).collect();
                println!("{}", cells.join(" "));
            }
            Ok(())
        }
    }
}
