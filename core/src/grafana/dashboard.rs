//! A Grafana dashboard export read into Gridwatch's model: schemaVersion
//! 16 and later (the flat `panels` list with `gridPos`), with or without
//! the API's `{"dashboard": …}` wrapper, rows and collapsed rows (whose
//! panels are kept inside them). Nothing is dropped silently: a panel
//! Gridwatch cannot run keeps its place and says why.

use gridwatch_types::{
    Dashboard, GridPos, Panel, PanelKind, Selection, Target, Threshold, Variable, VariableKind,
};
use serde_json::Value;

use super::GrafanaError;
use super::variables::custom_options;

/// The Timestream plugin's id.
const TIMESTREAM: &str = "grafana-timestream-datasource";

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn bad(why: impl Into<String>) -> GrafanaError {
    GrafanaError::Parse(why.into())
}

/// Reads a dashboard export (the JSON text).
pub fn parse_dashboard(json: &str) -> Result<Dashboard, GrafanaError> {
    let root: Value = serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
    let d = match root.get("dashboard") {
        Some(inner) if inner.is_object() => inner,
        _ => &root,
    };
    let schema = d
        .get("schemaVersion")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("it has no schemaVersion"))?;
    if schema < 16 {
        return Err(bad(format!(
            "schemaVersion {schema} is older than 16 (Grafana 5): open and save it in a newer Grafana first"
        )));
    }
    let sources = Sources::of(d);
    let variables = d
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(variable).collect())
        .unwrap_or_default();
    let mut panels = Vec::new();
    let mut row: Option<(String, bool)> = None;
    for p in d
        .get("panels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let parsed = panel(p, &sources, row.as_ref());
        if parsed.kind == PanelKind::Row {
            let collapsed = p.get("collapsed").and_then(Value::as_bool).unwrap_or(false);
            row = Some((parsed.title.clone(), collapsed));
            panels.push(parsed);
            // A collapsed row keeps its panels inside it.
            for inner in p
                .get("panels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                panels.push(panel(inner, &sources, row.as_ref()));
            }
        } else {
            panels.push(parsed);
        }
    }
    let name = text(d, "title");
    Ok(Dashboard {
        name: if name.trim().is_empty() {
            "Grafana dashboard".into()
        } else {
            name
        },
        uid: d.get("uid").and_then(Value::as_str).map(str::to_owned),
        time_from: d
            .pointer("/time/from")
            .and_then(Value::as_str)
            .unwrap_or("now-6h")
            .to_owned(),
        time_to: d
            .pointer("/time/to")
            .and_then(Value::as_str)
            .unwrap_or("now")
            .to_owned(),
        refresh: d
            .get("refresh")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .map(str::to_owned),
        week_start: d
            .get("weekStart")
            .and_then(Value::as_str)
            .filter(|w| !w.is_empty())
            .map(str::to_owned),
        variables,
        panels,
        schema_version: u32::try_from(schema).unwrap_or(u32::MAX),
    })
}

/// The export's `__inputs` (`${DS_TIMESTREAM}` → its plugin id).
struct Sources(Vec<(String, String)>);

impl Sources {
    fn of(d: &Value) -> Sources {
        Sources(
            d.get("__inputs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|i| (text(i, "name"), text(i, "pluginId")))
                .collect(),
        )
    }

    /// A data source reference's plugin type, when it can be told.
    fn kind(&self, ds: &Value) -> Option<String> {
        match ds {
            Value::Object(_) => ds.get("type").and_then(Value::as_str).map(str::to_owned),
            Value::String(s) => {
                let input = s.trim_start_matches("${").trim_end_matches('}');
                if let Some((_, plugin)) = self.0.iter().find(|(name, _)| name == input) {
                    return Some(plugin.clone());
                }
                let lower = s.to_ascii_lowercase();
                if lower.contains("influx") {
                    Some("influxdb".into())
                } else if lower.contains("timestream") {
                    Some(TIMESTREAM.into())
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

fn variable(v: &Value) -> Variable {
    let kind = match text(v, "type").as_str() {
        "query" => VariableKind::Query,
        "custom" => VariableKind::Custom,
        "constant" => VariableKind::Constant,
        "textbox" => VariableKind::Textbox,
        "interval" => VariableKind::Interval,
        other => VariableKind::Other(other.to_owned()),
    };
    // Newer exports keep a query variable's query in an object.
    let definition = match v.get("query") {
        Some(Value::String(q)) => q.clone(),
        Some(q @ Value::Object(_)) => ["rawQuery", "query"]
            .iter()
            .find_map(|k| q.get(*k).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned(),
        _ => text(v, "definition"),
    };
    let saved: Vec<String> = v
        .get("options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("value").and_then(Value::as_str))
        .filter(|o| *o != "$__all")
        .map(str::to_owned)
        .collect();
    let options = match kind {
        VariableKind::Custom | VariableKind::Interval => custom_options(&definition),
        VariableKind::Constant => vec![definition.clone()],
        _ => saved,
    };
    let current = v.pointer("/current/value");
    let all = |s: &str| s == "$__all";
    let selected = match current {
        Some(Value::String(s)) if all(s) => Selection::All,
        Some(Value::Array(a)) if a.iter().any(|x| x.as_str().is_some_and(all)) => Selection::All,
        Some(Value::String(s)) => Selection::Values(vec![s.clone()]),
        Some(Value::Array(a)) => Selection::Values(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => Selection::Values(options.first().cloned().into_iter().collect()),
    };
    Variable {
        name: text(v, "name"),
        label: v
            .get("label")
            .and_then(Value::as_str)
            .filter(|l| !l.is_empty())
            .map(str::to_owned),
        kind,
        definition,
        options,
        multi: v.get("multi").and_then(Value::as_bool).unwrap_or(false),
        include_all: v
            .get("includeAll")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        all_value: v
            .get("allValue")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        selected,
        hidden: v.get("hide").and_then(Value::as_u64) == Some(2),
    }
}

fn panel(p: &Value, sources: &Sources, row: Option<&(String, bool)>) -> Panel {
    let kind_name = text(p, "type");
    let kind = match kind_name.as_str() {
        "timeseries" | "graph" => PanelKind::TimeSeries,
        "stat" | "singlestat" => PanelKind::Stat,
        "gauge" => PanelKind::Gauge,
        "bargauge" => PanelKind::BarGauge,
        "table" | "table-old" => PanelKind::Table,
        "heatmap" => PanelKind::Heatmap,
        "row" => PanelKind::Row,
        other => PanelKind::Unsupported(other.to_owned()),
    };
    let grid = p.get("gridPos").map_or(GridPos::default(), |g| {
        let n = |k: &str| {
            g.get(k)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0)
        };
        GridPos {
            x: n("x"),
            y: n("y"),
            w: n("w"),
            h: n("h"),
        }
    });
    let targets: Vec<Target> = p
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| Target {
            ref_id: Some(text(t, "refId"))
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "A".into()),
            // Timestream keeps its SQL in `rawQuery`; InfluxDB in `query`
            // (its `rawQuery` is the flag of a raw, not built, query).
            raw_query: match t.get("rawQuery") {
                Some(Value::String(sql)) => sql.clone(),
                Some(Value::Bool(true)) => text(t, "query"),
                _ if t.get("rawQuery").is_none() && t.get("select").is_none() => text(t, "query"),
                _ => String::new(),
            },
            database: text(t, "database"),
            table: text(t, "table"),
            measure: text(t, "measure"),
            hide: t.get("hide").and_then(Value::as_bool).unwrap_or(false),
        })
        .collect();
    // The panel's source, else its first target's: "-- Mixed --" panels
    // name one per target.
    let datasource = p
        .get("datasource")
        .and_then(|ds| sources.kind(ds))
        .filter(|k| k != "datasource")
        .or_else(|| {
            p.get("targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|t| t.get("datasource").and_then(|ds| sources.kind(ds)))
        });
    // Targets with an InfluxQL `query` and no SQL are InfluxDB's, whatever
    // the (unresolved) source says.
    let datasource = if datasource.is_none() && influx_targets(p) {
        Some("influxdb".to_owned())
    } else {
        datasource
    };
    let unavailable = unavailable(&kind, datasource.as_deref(), &targets, p);
    let defaults = p.pointer("/fieldConfig/defaults");
    let number = |key: &str| defaults.and_then(|d| d.get(key)).and_then(Value::as_f64);
    let thresholds = defaults
        .and_then(|d| d.pointer("/thresholds/steps"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| Threshold {
            value: s.get("value").and_then(Value::as_f64),
            color: text(s, "color"),
        })
        .collect();
    Panel {
        id: p
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
        title: text(p, "title"),
        kind,
        grid,
        targets,
        datasource,
        unit: defaults
            .and_then(|d| d.get("unit"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        decimals: defaults
            .and_then(|d| d.get("decimals"))
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok()),
        thresholds,
        min: number("min"),
        max: number("max"),
        reducer: p
            .pointer("/options/reduceOptions/calcs/0")
            .and_then(Value::as_str)
            .unwrap_or("lastNotNull")
            .to_owned(),
        min_interval: p
            .get("interval")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
            .map(str::to_owned),
        max_data_points: p
            .get("maxDataPoints")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok()),
        unavailable,
        row: row.map(|(title, _)| title.clone()),
        collapsed: row.is_some_and(|(_, c)| *c),
    }
}

/// Whether a panel's targets are InfluxDB's: a `query` (InfluxQL) and no
/// SQL.
fn influx_targets(p: &Value) -> bool {
    p.get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|t| !matches!(t.get("rawQuery"), Some(Value::String(_))) && t.get("query").is_some())
}

/// Why a panel cannot be run, if it cannot.
fn unavailable(
    kind: &PanelKind,
    datasource: Option<&str>,
    targets: &[Target],
    p: &Value,
) -> Option<String> {
    if *kind == PanelKind::Row {
        return None;
    }
    if let PanelKind::Unsupported(name) = kind {
        return Some(format!(
            "Grafana's {name:?} panel is not one Gridwatch draws yet"
        ));
    }
    if datasource == Some("influxdb") || influx_targets(p) {
        // Grafana's query builder keeps its query as parts, not InfluxQL.
        if targets
            .iter()
            .any(|t| !t.hide && !t.raw_query.trim().is_empty())
        {
            return None;
        }
        return Some(
            "this InfluxDB panel's queries are made in Grafana's query builder: switch them to raw InfluxQL (the pencil in Grafana) to run them here".into(),
        );
    }
    match datasource {
        Some(TIMESTREAM) | None => {}
        Some(other) => {
            return Some(format!(
                "the {other:?} data source is not one Gridwatch speaks"
            ));
        }
    }
    if !targets
        .iter()
        .any(|t| !t.hide && !t.raw_query.trim().is_empty())
    {
        return Some("this panel has no Timestream query".into());
    }
    None
}
