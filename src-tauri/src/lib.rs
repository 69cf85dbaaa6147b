//! The Gridwatch app: a thin Tauri shell and a headless CLI over
//! `gridwatch-core` and `gridwatch-simulator`.

pub mod app;
pub mod cli;
pub mod signals;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The async runtime for the app and for every command. Multi-threaded: a
/// job that rarely yields (a fleet writing as fast as the disk takes it)
/// still leaves a worker for the signal watcher.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn init_logging(verbose: u8, app: bool) {
    let default = match (verbose, app) {
        (0, false) => "warn",
        (0, true) | (1, _) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},tao=warn,wry=warn")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The binary's whole `main`: errors are reported here, once.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose, cli.command.is_none());
    let cache = cli
        .cache
        .clone()
        .unwrap_or_else(cli::args::default_cache_path);
    let result = match cli.command {
        Some(command) => cli::run(command, &cache),
        None => app::run(app::AppOptions {
            cache_path: cache,
            lake_dir: cli.lake.clone().unwrap_or_else(cli::args::default_lake_dir),
            connect: cli
                .stream
                .clone()
                .map(|stream| gridwatch_types::StreamConnection {
                    stream,
                    profile: cli.aws.profile.clone(),
                    region: cli.aws.region.clone(),
                    endpoint_url: cli.aws.endpoint_url.clone(),
                }),
            fleet: gridwatch_types::FleetSpec {
                smart_meters: cli.devices,
                ..Default::default()
            },
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that closed the pipe (`gridwatch devices | head`) got
        // what it wanted.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // Messages quote S3 keys, device IDs and records: escape what a
            // terminal would act on, line by line.
            let message = format!("{e:#}");
            let lines: Vec<_> = message
                .lines()
                .map(gridwatch_core::codec::printable)
                .collect();
            eprintln!("error: {}", lines.join("\n"));
            ExitCode::FAILURE
        }
    }
}
