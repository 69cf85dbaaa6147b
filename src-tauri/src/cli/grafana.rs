//! `gridwatch grafana`: Grafana dashboards headless. `import` reads an
//! export and saves it by name beside the cache (where the app finds it
//! too), `list` and `show` say what is saved, `run` runs every panel's
//! queries as the Timestream plugin would send them (offline: the last
//! answers, marked).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use gridwatch_core::grafana::{DashboardStore, RunOptions, run_dashboard};
use gridwatch_types::time::format_time;
use gridwatch_types::{PanelKind, Selection, VariableValue};
use serde_json::json;

use super::args::{AwsArgs, InfluxArgs};
use super::output::{Format, print};

#[derive(Debug, Subcommand)]
pub enum GrafanaCommand {
    /// Read a Grafana dashboard export (JSON) and save it by name.
    Import(ImportArgs),
    /// The saved dashboards.
    List(FormatArg),
    /// A saved dashboard's variables and panels.
    Show(ShowArgs),
    /// Run a saved dashboard's panels against Timestream (and InfluxDB).
    // Boxed: its flags are many, the other commands' few.
    Run(Box<RunArgs>),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// Save it under this name instead of its title.
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct FormatArg {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub name: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub name: String,
    /// A variable's selection: NAME=VALUE, NAME=a,b (several) or NAME=All.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Another range than the dashboard's, in Grafana's syntax (now-1h).
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// The data source's default database and table.
    #[arg(long)]
    pub database: Option<String>,
    #[arg(long)]
    pub table: Option<String>,
    /// The dashboard's width in pixels, for each panel's $__interval.
    #[arg(long, default_value_t = 1920)]
    pub width: u32,
    /// Each query stops (and is cancelled) past this many bytes metered.
    #[arg(long, env = "GRIDWATCH_MAX_BYTES")]
    pub max_bytes: Option<i64>,
    /// Queries in flight at once, at most.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Where panels whose data source is InfluxDB run.
    #[command(flatten)]
    pub influx: InfluxArgs,
}

pub fn run(command: GrafanaCommand, cache: &Path) -> anyhow::Result<()> {
    let store = DashboardStore::beside_cache(cache);
    match command {
        GrafanaCommand::Import(args) => {
            let json = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let d = store.import(&json, args.name.as_deref())?;
            let unavailable = d.panels.iter().filter(|p| p.unavailable.is_some()).count();
            println!(
                "imported {:?}: {} panels ({} Gridwatch cannot run yet), {} variables, saved in {}",
                d.name,
                d.panels.iter().filter(|p| p.kind != PanelKind::Row).count(),
                unavailable,
                d.variables.len(),
                store.dir().display()
            );
            Ok(())
        }
        GrafanaCommand::List(args) => {
            let rows = store.list().into_iter().map(|n| vec![json!(n)]).collect();
            print(&["name"], rows, args.format)
        }
        GrafanaCommand::Show(args) => {
            let d = store.load(&args.name)?;
            if args.format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&d)?);
                return Ok(());
            }
            let rows = d
                .panels
                .iter()
                .map(|p| {
                    vec![
                        json!(p.id),
                        json!(p.title),
                        json!(format!("{:?}", p.kind)),
                        json!(format!(
                            "{},{} {}x{}",
                            p.grid.x, p.grid.y, p.grid.w, p.grid.h
                        )),
                        json!(p.unavailable.clone().unwrap_or_default()),
                    ]
                })
                .collect();
            print(&["id", "title", "kind", "grid", "note"], rows, args.format)
        }
        GrafanaCommand::Run(args) => run_panels(&store, *args, cache),
    }
}

/// `NAME=VALUE`, `NAME=a,b` or `NAME=All`.
fn selection(arg: &str) -> anyhow::Result<VariableValue> {
    let (name, value) = arg
        .split_once('=')
        .with_context(|| format!("--var {arg:?}: write it as NAME=VALUE"))?;
    let selected = if value == "All" || value == "$__all" {
        Selection::All
    } else {
        Selection::Values(value.split(',').map(str::to_owned).collect())
    };
    Ok(VariableValue {
        name: name.trim().trim_start_matches('$').to_owned(),
        selected,
    })
}

fn run_panels(store: &DashboardStore, args: RunArgs, cache: &Path) -> anyhow::Result<()> {
    let d = store.load(&args.name)?;
    let selections = args
        .vars
        .iter()
        .map(|v| selection(v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = RunOptions {
        aws: args.aws.options(),
        database: args.database.clone(),
        table: args.table.clone(),
        measure: None,
        width_px: args.width.max(1),
        max_bytes: args.max_bytes,
        concurrency: args.concurrency.max(1),
        cache: cache.to_owned(),
        now_us: gridwatch_core::time::now_us(),
        time_from: args.from.clone(),
        time_to: args.to.clone(),
        influx: args
            .influx
            .influx_url
            .is_some()
            .then(|| args.influx.connection(&args.aws))
            .transpose()?,
    };
    let answers = crate::runtime()?.block_on(async {
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        crate::signals::stop_on_signal(stop_tx);
        run_dashboard(&d, &selections, &[], &options, &stop).await
    })?;
    for p in &answers.problems {
        eprintln!("{p}");
    }
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&answers)?);
        return Ok(());
    }
    let rows = answers
        .panels
        .iter()
        .map(|a| {
            let title = d
                .panels
                .iter()
                .find(|p| p.id == a.panel_id)
                .map_or("", |p| p.title.as_str());
            let state = match (&a.error, a.cached_at_us) {
                (Some(e), _) => e.clone(),
                (None, Some(at)) => format!("CACHED, fetched at {}", format_time(at)),
                (None, None) => "live".into(),
            };
            let figures: Vec<String> = a
                .figures
                .iter()
                .map(|f| format!("{} {}", f.name, f.text))
                .collect();
            vec![
                json!(a.panel_id),
                json!(title),
                json!(state),
                json!(a.table.rows.len()),
                json!(a.series.len()),
                json!(figures.join("; ")),
            ]
        })
        .collect();
    print(
        &["id", "title", "answer", "rows", "series", "figures"],
        rows,
        args.format,
    )
}
