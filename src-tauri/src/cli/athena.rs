//! The lake on Athena: `aggregate --engine athena`, `lake sql --engine
//! athena` and `lake athena-setup`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::Args;
use gridwatch_lake::athena::client::{QueryProgress, Workgroup};
use gridwatch_lake::athena::estimate::{ScanEstimate, bytes_text};
use gridwatch_lake::athena::view::{AnswerCache, AthenaView, Clients, RunLimits};
use gridwatch_lake::athena::{TableDefinition, TableRef, sql};
use gridwatch_lake::{AggregateRequest, Rows, for_people};
use serde_json::json;

use super::args::AwsArgs;
use super::fleet_run::runtime;
use super::output::{Format, print_rows};

/// Where the lake's Athena table is, and how queries may run there.
#[derive(Debug, Clone, Args)]
pub struct AthenaTarget {
    /// The Glue database holding the lake's table.
    #[arg(
        long = "athena-database",
        env = "GRIDWATCH_ATHENA_DATABASE",
        default_value = "gridwatch"
    )]
    pub database: String,
    /// The lake's table (`lake athena-setup` makes it).
    #[arg(
        long = "athena-table",
        env = "GRIDWATCH_ATHENA_TABLE",
        default_value = "gridwatch_readings"
    )]
    pub table: String,
    /// The Athena workgroup (default: primary).
    #[arg(long, env = "GRIDWATCH_ATHENA_WORKGROUP")]
    pub workgroup: Option<String>,
    /// Where Athena writes answers, e.g. s3://my-athena-results/gridwatch/
    /// (unless the workgroup sets it).
    #[arg(long = "athena-output", env = "GRIDWATCH_ATHENA_OUTPUT")]
    pub output: Option<String>,
    /// Refuse a query estimated to scan more than this: bytes, or with a
    /// unit (500MB, 100GB, 1TB; decimal, as AWS bills).
    #[arg(long, default_value = "100GB", value_parser = parse_bytes)]
    pub max_scan_bytes: u64,
    /// A price file (`gridwatch cost --write-prices` writes one): its
    /// `athena_tb_scanned` prices the estimate. Default: the built-in.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Print the SQL and the partitions it reads (and the estimate, when S3
    /// answers); run nothing.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `100GB` and the like, in bytes (decimal units, as AWS bills).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_uppercase();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &t[digits.len()..];
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        other => return Err(format!("{other:?}: use B, KB, MB, GB or TB")),
    };
    let n: f64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: a number of bytes, e.g. 100GB"))?;
    if !(n >= 0.0 && n.is_finite()) {
        return Err(format!("{text:?}: a number of bytes, e.g. 100GB"));
    }
    Ok((n * scale as f64) as u64)
}

impl AthenaTarget {
    fn workgroup(&self) -> Workgroup {
        Workgroup {
            name: self.workgroup.clone(),
            output: self.output.clone(),
            database: self.database.clone(),
        }
    }

    fn limits(&self) -> anyhow::Result<RunLimits> {
        let prices = match &self.prices {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                gridwatch_core::cost::Prices::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => gridwatch_core::cost::Prices::seed(),
        };
        Ok(RunLimits {
            max_scan_bytes: self.max_scan_bytes,
            usd_per_tb: prices.athena_tb_scanned,
        })
    }

    async fn clients(&self) -> Clients {
        Clients::connect(&self.aws.options()).await
    }
}

/// A spinner saying where the query is; Ctrl-C stops it in Athena.
fn spinner() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} Athena: {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// A line above the spinner, or on standard error when there is no
/// terminal to draw it on (indicatif then drops its own lines).
fn say(bar: &indicatif::ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn progress_message(p: &QueryProgress) -> String {
    let secs = p.elapsed.as_secs_f64();
    if p.state == "FETCHING" {
        format!("{} rows read, {secs:.1} s (query {})", p.rows, p.query_id)
    } else {
        format!("{} {secs:.1} s (query {})", p.state, p.query_id)
    }
}

fn estimate_line(e: &ScanEstimate) -> String {
    format!(
        "Athena will scan about {} in {} hourly partitions ({} objects): about ${:.4}",
        bytes_text(e.bytes),
        e.partitions,
        e.objects,
        e.cost_usd
    )
}

/// `aggregate --engine athena`: the view's SQL on Athena, printed as the
/// local engine prints it.
pub fn aggregate(
    target: &AthenaTarget,
    request: &AggregateRequest,
    load_duration: bool,
    format: Format,
    cache: &Path,
) -> anyhow::Result<()> {
    let as_json = format == Format::Json;
    let cancel = crate::signals::cancel_flag();
    if target.explain {
        return runtime()?.block_on(explain(target, request, load_duration, format));
    }
    let limits = target.limits()?;
    let bar = spinner();
    let result = runtime()?.block_on(async {
        let clients = target.clients().await;
        gridwatch_lake::athena::view::run_view(
            &clients,
            &target.workgroup(),
            &target.table,
            request,
            load_duration,
            &limits,
            Some(AnswerCache {
                path: cache,
                key: None,
            }),
            &cancel,
            &|e| say(&bar, &estimate_line(e)),
            &|p| bar.set_message(progress_message(p)),
        )
        .await
    });
    bar.finish_and_clear();
    let view = result.with_context(|| {
        format!(
            "Athena table {}.{} with {}",
            target.database,
            target.table,
            target.aws.options().describe()
        )
    })?;
    report(&view, as_json);
    print_rows(&for_people(&view.table, format.into()), format)
}

/// What the run cost and where the answer came from, on standard error.
fn report(view: &AthenaView, as_json: bool) {
    let line = match (view.cached_at_us, view.scanned_bytes) {
        (Some(at), _) => format!(
            "Athena is unreachable; showing the CACHED answer fetched at {}",
            gridwatch_types::time::format_time(at)
        ),
        (None, Some(bytes)) => format!(
            "Athena scanned {} (query {}): ${:.4}",
            bytes_text(u64::try_from(bytes).unwrap_or(0)),
            view.query_id.as_deref().unwrap_or("?"),
            view.cost_usd.unwrap_or(0.0)
        ),
        (None, None) => format!(
            "Athena did not say what it scanned (query {})",
            view.query_id.as_deref().unwrap_or("?")
        ),
    };
    if as_json {
        eprintln!("{}", json!({ "note": line }));
    } else {
        eprintln!("{line}");
    }
    for n in &view.notes {
        if as_json {
            eprintln!("{}", json!({ "note": n }));
        } else {
            eprintln!("note: {n}");
        }
    }
}

/// `--explain`: the SQL, the partitions it reads, and the estimate when
/// Glue and S3 answer (the seed's columns when Glue does not).
async fn explain(
    target: &AthenaTarget,
    request: &AggregateRequest,
    load_duration: bool,
    format: Format,
) -> anyhow::Result<()> {
    let clients = target.clients().await;
    let limits = target.limits()?;
    let described =
        gridwatch_lake::athena::setup::describe(&clients.glue, &target.database, &target.table)
            .await;
    let (table, location, table_note) = match described {
        Ok((t, l)) => (t, Some(l), None),
        Err(e) => (
            TableRef::seed(&target.database, &target.table),
            None,
            Some(format!(
                "the table was not read from Glue ({e}); the seed's columns assumed"
            )),
        ),
    };
    let view = sql::view_sql(&table, request, load_duration)?;
    let hours = sql::partition_hours(request.from_us, request.to_us);
    let estimate = match &location {
        Some(l) => Some(
            gridwatch_lake::athena::estimate::estimate(
                &clients.s3,
                l,
                (request.from_us, request.to_us),
                limits.usd_per_tb,
            )
            .await?,
        ),
        None => None,
    };
    let partitions: Vec<String> = hours
        .iter()
        .map(|&h| gridwatch_lake::partition::hour_path_at(h))
        .collect();
    if format == Format::Json {
        let out = json!({
            "sql": view.sql,
            "columns": view.columns,
            "partition_filter": sql::partition_filter(request.from_us, request.to_us),
            "partitions": partitions,
            "estimate": estimate.as_ref().map(|e| json!({
                "partitions": e.partitions,
                "objects": e.objects,
                "bytes": e.bytes,
                "billed_bytes": e.billed_bytes,
                "cost_usd": e.cost_usd,
            })),
            "note": table_note,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("{};", view.sql);
    match (partitions.first(), partitions.last()) {
        (Some(first), Some(last)) => println!(
            "-- reads {} hourly partitions, {first} to {last}",
            partitions.len()
        ),
        _ => println!("-- reads no partition (an empty range)"),
    }
    if let Some(e) = &estimate {
        println!("-- {}", estimate_line(e));
    }
    if let Some(n) = table_note {
        println!("-- {n}");
    }
    Ok(())
}

/// `lake sql --engine athena`: the operator's SQL (Athena's dialect) with
/// the range's macros, run on Athena, rows typed by Athena's metadata.
pub fn lake_sql(
    target: &AthenaTarget,
    user_sql: &str,
    from_us: i64,
    to_us: i64,
    format: Format,
    cache: &Path,
) -> anyhow::Result<()> {
    let table = TableRef::seed(&target.database, &target.table);
    let expanded = sql::expand_macros(user_sql, &table, from_us, to_us);
    if target.explain {
        println!("{expanded};");
        return Ok(());
    }
    let limits = target.limits()?;
    let cancel = crate::signals::cancel_flag();
    let bar = spinner();
    let result = runtime()?.block_on(run_sql(
        target, &expanded, from_us, to_us, &limits, cache, &cancel, &bar,
    ));
    bar.finish_and_clear();
    let view =
        result.with_context(|| format!("Athena with {}", target.aws.options().describe()))?;
    report(&view, format == Format::Json);
    let rows = match format {
        Format::Json => Rows::from(&view.table),
        f => for_people(&view.table, f.into()),
    };
    print_rows(&rows, format)
}

#[allow(clippy::too_many_arguments)] // each is one plain part of the job
async fn run_sql(
    target: &AthenaTarget,
    expanded: &str,
    from_us: i64,
    to_us: i64,
    limits: &RunLimits,
    cache: &Path,
    cancel: &AtomicBool,
    bar: &indicatif::ProgressBar,
) -> Result<AthenaView, gridwatch_lake::athena::AthenaError> {
    let clients = target.clients().await;
    gridwatch_lake::athena::view::run_sql(
        &clients,
        &target.workgroup(),
        &target.table,
        expanded,
        (from_us, to_us),
        limits,
        Some(AnswerCache {
            path: cache,
            key: None,
        }),
        cancel,
        &|e| say(bar, &estimate_line(e)),
        &|p| bar.set_message(progress_message(p)),
    )
    .await
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The bucket Firehose writes the lake to.
    #[arg(long)]
    pub bucket: String,
    /// The prefix Firehose writes under (before readings/json/...).
    #[arg(long, default_value = "")]
    pub prefix: String,
    #[arg(
        long = "database",
        env = "GRIDWATCH_ATHENA_DATABASE",
        default_value = "gridwatch"
    )]
    pub database: String,
    #[arg(
        long = "table",
        env = "GRIDWATCH_ATHENA_TABLE",
        default_value = "gridwatch_readings"
    )]
    pub table: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `lake athena-setup`: makes the Glue database and the seed's projected
/// table, or checks the one that is there and says what differs.
pub fn setup(args: SetupArgs) -> anyhow::Result<()> {
    use gridwatch_lake::athena::setup::SetupOutcome;
    let definition = TableDefinition::seed(&args.bucket, &args.prefix, &args.table);
    let options = args.aws.options();
    let outcome = runtime()?.block_on(async {
        let conf = options.load().await;
        let glue = gridwatch_lake::athena::setup::glue_client(&conf);
        gridwatch_lake::athena::setup::setup(&glue, &args.database, &definition).await
    });
    let name = format!("{}.{}", args.database, args.table);
    match outcome.with_context(|| format!("Glue with {}", options.describe()))? {
        SetupOutcome::Created { database_created } => {
            if database_created {
                println!("created database {}", args.database);
            }
            println!(
                "created table {name} over {} (partition projection: no crawler needed)",
                definition.location
            );
            Ok(())
        }
        SetupOutcome::Matches => {
            println!("table {name} is there and matches the lake's layout");
            Ok(())
        }
        SetupOutcome::Differs(differences) => {
            for d in &differences {
                eprintln!("  {d}");
            }
            anyhow::bail!(
                "table {name} is there but differs from the lake's layout in {} ways (listed \
                 above); nothing was changed: drop it or fix it, then run athena-setup again",
                differences.len()
            )
        }
    }
}
