//! The strategic view: figures over the lake's extracts (energy, peak
//! demand, load factor, voltage quality) by region, device, type and period,
//! as a table and a chart; and, for an empty lake, a job that writes
//! simulated history into it, with progress and Cancel. The default figures
//! run as soon as the view opens on a lake.

mod chart;
mod run;
pub mod sql;
mod view;

use gridwatch_types::{
    AggregateQuery, AthenaTarget, ErrorCode, JobStatus, LakeCatalog, Reply, Request, ResultTable,
    ScanEstimate,
};

use crate::backend::{Answer, Outbox};
use crate::model::Model;

/// The groupings offered, as an operator names them.
pub const GROUPINGS: [(&str, &[&str], Option<u32>); 6] = [
    ("Region × day", &["region", "day"], None),
    ("Region", &["region"], None),
    ("Device type × week", &["type", "week"], None),
    ("Month", &["month"], None),
    ("Top 10 consumers", &["device"], Some(10)),
    ("Feeder", &["feeder"], None),
];

pub const RANGES: [(&str, i64); 3] = [
    ("Last 7 days", 7),
    ("Last 30 days", 30),
    ("Last 90 days", 90),
];

#[derive(Debug)]
pub struct Strategic {
    pub grouping: usize,
    pub range_days: i64,
    pub table: Option<ResultTable>,
    pub lake_empty: bool,
    pub job: Option<JobStatus>,
    pub waiting: bool,
    /// Where the last export or report went.
    pub saved: Option<String>,
    /// Why the last request failed (an empty lake is no failure).
    pub error: Option<String>,
    /// The lake folder the figures were last asked of; the view asks
    /// again when it opens and when the folder changes.
    pub asked_of: Option<String>,
    /// The measures and dimensions the lake holds: the pickers' choices.
    pub catalog: Option<LakeCatalog>,
    /// A measure's figures instead of energy and demand (None).
    pub measure: Option<String>,
    /// How the figures shown were made (energy from a counter or power).
    pub notes: Vec<String>,
    /// The SQL box and its answer.
    pub sql: sql::SqlBox,
    /// Run the views on Athena instead of the lake folder.
    pub on_athena: bool,
    /// Athena, as the Connections window has it (set by the app).
    pub athena_target: AthenaTarget,
    /// What a run on Athena would scan and cost (or why not known), and
    /// the question it was estimated for.
    pub estimate: Option<Result<ScanEstimate, String>>,
    estimated_for: Option<AggregateQuery>,
}

impl Default for Strategic {
    fn default() -> Self {
        Strategic {
            grouping: 0,
            range_days: 30,
            table: None,
            lake_empty: false,
            job: None,
            waiting: false,
            saved: None,
            error: None,
            asked_of: None,
            catalog: None,
            measure: None,
            notes: Vec::new(),
            sql: sql::SqlBox::default(),
            on_athena: false,
            athena_target: AthenaTarget::default(),
            estimate: None,
            estimated_for: None,
        }
    }
}

impl Strategic {
    pub fn query(&self, now_us: i64) -> AggregateQuery {
        let (_, by, top) = GROUPINGS[self.grouping];
        AggregateQuery {
            from_us: now_us - self.range_days * 86_400_000_000,
            to_us: now_us + 1,
            by: by.iter().map(|s| s.to_string()).collect(),
            filters: Vec::new(),
            top,
            measures: self.measure.iter().cloned().collect(),
            athena: self.on_athena.then(|| self.athena_target.clone()),
            ..AggregateQuery::default()
        }
    }

    /// On Athena, asks what the view would scan whenever the question
    /// changes (the range's ends move with the clock: not a change).
    fn estimate_when_asked_anew(&mut self, now_us: i64, out: &mut Outbox) {
        if !self.on_athena {
            return;
        }
        let query = self.query(now_us);
        let same = self.estimated_for.as_ref().is_some_and(|q| {
            q.to_us - q.from_us == query.to_us - query.from_us
                && AggregateQuery {
                    from_us: query.from_us,
                    to_us: query.to_us,
                    ..q.clone()
                } == query
        });
        if !same {
            self.estimate = None;
            self.estimated_for = Some(query.clone());
            out.push(Request::EstimateView(query));
        }
    }

    /// Asks for the figures of the range and grouping chosen, as a job
    /// with progress and Cancel; and for what the lake holds, once.
    pub fn run(&mut self, now_us: i64, out: &mut Outbox) {
        self.waiting = true;
        self.error = None;
        let query = self.query(now_us);
        if self.catalog.is_none() {
            out.push(run::catalog_request(&query));
        }
        out.push(Request::RunView(query));
    }

    /// Whether a lake job (one the operator started, or the app's first
    /// start) is running.
    pub fn job_running(&self) -> bool {
        self.job.as_ref().is_some_and(|j| j.running)
    }

    /// A newcomer sees figures without knowing to press Run: the default
    /// view runs when the view first opens, and again when the lake folder
    /// changes. Whether a lake job runs is asked at the same time, so the
    /// first start's simulated lake shows its progress.
    fn run_when_a_lake_may_be_there(&mut self, model: &Model, now_us: i64, out: &mut Outbox) {
        let Some(folder) = model.status.as_ref().map(|s| s.lake_dir.clone()) else {
            return;
        };
        if self.asked_of.as_ref() == Some(&folder) || self.waiting {
            return;
        }
        let first = self.asked_of.is_none();
        self.asked_of = Some(folder.clone());
        if first {
            out.push(Request::JobStatus);
        }
        // No folder: nothing to ask yet; the empty state says what to do.
        if !folder.is_empty() {
            self.run(now_us, out);
        }
    }

    /// Takes the answer to one of this view's requests; gives back what it
    /// leaves to the app. A lake job that ends well is followed at once by
    /// the figures of what it wrote.
    pub fn on_reply(&mut self, answer: Answer, now_us: i64, out: &mut Outbox) -> Option<Answer> {
        let answer = self.sql.on_reply(answer)?;
        let answer = self.on_view_reply(answer)?;
        match (answer.request, answer.result) {
            (Request::EstimateView(_), result) => {
                self.estimate = Some(match result {
                    Ok(Reply::Estimate(e)) => Ok(e),
                    Ok(other) => Err(format!("unexpected answer {other:?}")),
                    Err(e) => Err(e.message),
                });
            }
            (_, Ok(Reply::Table(table))) => {
                self.waiting = false;
                self.lake_empty = false;
                self.error = None;
                self.table = Some(table);
            }
            (_, Ok(Reply::Job(job))) => {
                // A job seen running has ended well; or, with no lake yet,
                // one that ended well between two looks.
                let ended_well = !job.running && job.error.is_none() && !job.name.is_empty();
                let news = self.job.as_ref() != Some(&job);
                let finished = ended_well && (self.job_running() || (self.lake_empty && news));
                // A nameless job is no job: none has run yet.
                self.job = (!job.name.is_empty()).then_some(job);
                if finished {
                    self.run(now_us, out);
                }
            }
            (_, Ok(Reply::Saved(saved))) => {
                if let Some(path) = saved.path {
                    self.saved = Some(path);
                }
            }
            // An empty lake is a state, not an error: say what to do, and
            // look for a job that may be filling it.
            (Request::Aggregate(_) | Request::RunView(_), Err(e))
                if e.code == ErrorCode::NotFound =>
            {
                self.waiting = false;
                self.lake_empty = true;
                self.table = None;
                out.push(Request::JobStatus);
            }
            (Request::Aggregate(_) | Request::RunView(_), Err(e)) => {
                self.waiting = false;
                self.error = Some(e.message);
            }
            (Request::FillLake(_), Err(e)) => {
                self.error = Some(format!("Not written: {}", e.message));
            }
            (Request::ExportTable(_) | Request::SaveReport(_), Err(e)) => {
                self.error = Some(format!("Not saved: {}", e.message));
            }
            (request, result) => return Some(Answer { request, result }),
        }
        None
    }
}
