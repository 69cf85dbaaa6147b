//! The Glue database and the seed's table, made once (`lake athena-setup`)
//! or checked against the lake's layout, and read back for the views: the
//! table's columns say which dimensions and measures a view may name, and
//! its location where the estimate lists the partitions.

use aws_sdk_glue::Client;
use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, Table, TableInput};

use super::estimate::Location;
use super::{AthenaError, TableDefinition, TableRef};

/// A Glue client from the shared AWS configuration.
pub fn glue_client<'c, C>(conf: &'c C) -> Client
where
    aws_sdk_glue::config::Builder: From<&'c C>,
{
    Client::from_conf(aws_sdk_glue::config::Builder::from(conf).build())
}

/// What `athena-setup` found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupOutcome {
    /// The table was made (and the database, if it was missing).
    Created { database_created: bool },
    /// The table was there and matches the lake's layout.
    Matches,
    /// The table was there and differs: each difference, worded. Nothing
    /// was changed.
    Differs(Vec<String>),
}

fn not_found<E: aws_sdk_glue::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("EntityNotFoundException")
}

/// Makes the database and table of `definition` in Glue, or checks the
/// table that is there.
pub async fn setup(
    glue: &Client,
    database: &str,
    definition: &TableDefinition,
) -> Result<SetupOutcome, AthenaError> {
    let mut database_created = false;
    match glue.get_database().name(database).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(not_found) => {
            let input = DatabaseInput::builder()
                .name(database)
                .description("Gridwatch: the telemetry lake (Firehose extracts)")
                .build()
                .map_err(|e| AthenaError::Answer(e.to_string()))?;
            glue.create_database()
                .database_input(input)
                .send()
                .await
                .map_err(AthenaError::call("Glue CreateDatabase"))?;
            database_created = true;
        }
        Err(e) => return Err(AthenaError::call("Glue GetDatabase")(e)),
    }
    match glue
        .get_table()
        .database_name(database)
        .name(&definition.table)
        .send()
        .await
    {
        Ok(found) => {
            let differences = found.table().map_or_else(
                || vec!["Glue returned no table".into()],
                |t| differences(definition, t),
            );
            Ok(if differences.is_empty() {
                SetupOutcome::Matches
            } else {
                SetupOutcome::Differs(differences)
            })
        }
        Err(e) if e.as_service_error().is_some_and(not_found) => {
            glue.create_table()
                .database_name(database)
                .table_input(table_input(definition)?)
                .send()
                .await
                .map_err(AthenaError::call("Glue CreateTable"))?;
            Ok(SetupOutcome::Created { database_created })
        }
        Err(e) => Err(AthenaError::call("Glue GetTable")(e)),
    }
}

fn column(name: &str, kind: &str) -> Result<Column, AthenaError> {
    Column::builder()
        .name(name.to_ascii_lowercase())
        .r#type(kind)
        .build()
        .map_err(|e| AthenaError::Answer(e.to_string()))
}

/// The Glue form of the definition (Hive keeps names in lower case).
fn table_input(d: &TableDefinition) -> Result<TableInput, AthenaError> {
    let mut serde = SerDeInfo::builder().serialization_library(d.serde);
    for (k, v) in &d.serde_parameters {
        serde = serde.parameters(*k, *v);
    }
    let mut storage = StorageDescriptor::builder()
        .location(&d.location)
        .input_format(d.input_format)
        .output_format(d.output_format)
        .serde_info(serde.build());
    for (name, kind) in &d.columns {
        storage = storage.columns(column(name, kind)?);
    }
    let mut input = TableInput::builder()
        .name(&d.table)
        .table_type("EXTERNAL_TABLE")
        .storage_descriptor(storage.build())
        .parameters("classification", "json")
        .parameters("EXTERNAL", "TRUE");
    for key in d.partition_keys {
        input = input.partition_keys(column(key, "string")?);
    }
    for (k, v) in &d.parameters {
        input = input.parameters(k, v);
    }
    input
        .build()
        .map_err(|e| AthenaError::Answer(e.to_string()))
}

/// How a table in Glue differs from the definition, worded; empty when it
/// matches. Columns the table has beyond the definition's are not
/// differences (a utility's own measures).
pub fn differences(d: &TableDefinition, t: &Table) -> Vec<String> {
    let mut out = Vec::new();
    let storage = t.storage_descriptor();
    let columns: Vec<(String, String)> = storage
        .map(|s| s.columns())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c.name().to_ascii_lowercase(),
                c.r#type().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (name, kind) in &d.columns {
        let lower = name.to_ascii_lowercase();
        match columns.iter().find(|(n, _)| *n == lower) {
            None => out.push(format!("column {lower} ({kind}) is missing")),
            Some((_, found)) if !found.eq_ignore_ascii_case(kind) => {
                out.push(format!("column {lower} is {found}, the lake writes {kind}"))
            }
            Some(_) => {}
        }
    }
    let keys: Vec<String> = t
        .partition_keys()
        .iter()
        .map(|c| c.name().to_ascii_lowercase())
        .collect();
    if keys != d.partition_keys {
        out.push(format!(
            "partitioned by ({}), the lake is partitioned by ({})",
            keys.join(", "),
            d.partition_keys.join(", ")
        ));
    }
    let location = storage.and_then(|s| s.location()).unwrap_or("");
    if location.trim_end_matches('/') != d.location.trim_end_matches('/') {
        out.push(format!(
            "location is {location:?}, the lake is at {:?}",
            d.location
        ));
    }
    let serde = storage
        .and_then(|s| s.serde_info())
        .and_then(|s| s.serialization_library())
        .unwrap_or("");
    if serde != d.serde {
        out.push(format!(
            "SerDe is {serde:?}, the lake's JSON needs {:?}",
            d.serde
        ));
    }
    let parameters = t.parameters();
    for (k, v) in &d.parameters {
        let found = parameters.and_then(|p| p.get(k));
        if found != Some(v) {
            out.push(match found {
                None => format!("table property {k} is missing (the lake needs {v:?})"),
                Some(f) => format!("table property {k} is {f:?}, the lake needs {v:?}"),
            });
        }
    }
    out
}

/// The table as the views see it: its dimensions and measures from its
/// columns, and where its extracts are.
pub async fn describe(
    glue: &Client,
    database: &str,
    table: &str,
) -> Result<(TableRef, Location), AthenaError> {
    let found = glue
        .get_table()
        .database_name(database)
        .name(table)
        .send()
        .await
        .map_err(AthenaError::call("Glue GetTable"))?;
    let missing = |reason: &str| AthenaError::Table {
        table: format!("{database}.{table}"),
        reason: reason.to_string(),
    };
    let t = found
        .table()
        .ok_or_else(|| missing("Glue returned no table"))?;
    let storage = t
        .storage_descriptor()
        .ok_or_else(|| missing("no storage descriptor"))?;
    let location = storage
        .location()
        .and_then(Location::parse)
        .ok_or_else(|| missing("its location is not an s3:// URL"))?;
    Ok((table_ref(database, table, storage.columns()), location))
}

/// Dimensions are the string columns but the device's; measures the
/// columns named `*_measure`. Names as records spell them where the seed
/// knows them (`Region`), else as Glue keeps them.
fn table_ref(database: &str, table: &str, columns: &[Column]) -> TableRef {
    let mut r = TableRef {
        database: database.to_string(),
        table: table.to_string(),
        dimensions: Vec::new(),
        measures: Vec::new(),
    };
    for c in columns {
        let name = c.name();
        if let Some(m) = name.to_ascii_lowercase().strip_suffix("_measure") {
            r.measures.push(m.to_string());
        } else if c.r#type().is_some_and(|t| t.eq_ignore_ascii_case("string"))
            && !name.eq_ignore_ascii_case("deviceid")
        {
            let seed = super::DIMENSIONS
                .iter()
                .find(|d| d.eq_ignore_ascii_case(name));
            r.dimensions
                .push(seed.map_or_else(|| name.to_string(), |d| d.to_string()));
        }
    }
    r
}
