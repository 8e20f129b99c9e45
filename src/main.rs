use clap::Parser;
use jmlproof::cli::{Cli, Command};
use jmlproof::exit;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => jmlproof::scenario::cmd::main(args),
        Command::Attest(args) => jmlproof::attest::cmd::main(args),
        Command::Reconcile(args) => jmlproof::reconcile::cmd::main(args),
        Command::Collect(args) => jmlproof::ledger::cmd::collect_main(args),
        Command::Verify(args) => jmlproof::pack::cmd::verify_main(&args),
        Command::Render(args) => jmlproof::pack::cmd::render_main(&args),
        Command::Keygen(args) => jmlproof::pack::cmd::keygen_main(&args),
        Command::Cleanup(args) => jmlproof::scenario::cleanup::main(args),
        Command::Sandbox(args) => jmlproof::sandbox::cmd::run(args),
        Command::Init(args) => jmlproof::init::run(&args),
        Command::CheckConfig(args) => jmlproof::config::check(&args.config),
    };
    match result {
        Ok(outcome) => std::process::exit(exit::code(outcome)),
        Err(err) => {
            // One line: the error chain joined, never a stack of "error: error:".
            eprintln!("jmlproof: {}", one_line(&err));
            std::process::exit(exit::COULD_NOT_RUN);
        }
    }
}

fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ").replace('\n', " ")
}
