//! The Dashboards view: Grafana dashboards brought in from an export
//! ("Open Grafana dashboard…", or `gridwatch grafana import`), their
//! panels laid out by Grafana's grid, their variables as pickers, their
//! time range and refresh applied. Every change of a picker runs the
//! panels again; offline, the last answers are shown, marked.

mod layout;
mod panel;
mod view;

use gridwatch_types::{
    Dashboard, DashboardAnswers, Reply, Request, RunDashboard, Selection, TimestreamConnection,
    Variable, VariableValue,
};

pub use layout::{ROW_PX, panel_rects, refresh_seconds};

use crate::backend::{Answer, Outbox};

#[derive(Debug, Default)]
pub struct Dashboards {
    /// The saved dashboards' names (None until asked).
    pub names: Option<Vec<String>>,
    pub current: Option<Dashboard>,
    pub answers: Option<DashboardAnswers>,
    /// The operator's selections, over the dashboard's saved ones.
    pub selections: Vec<VariableValue>,
    /// Rows the operator opened (collapsed in the dashboard).
    pub opened_rows: Vec<String>,
    pub running: bool,
    pub error: Option<String>,
    /// The InfluxDB that panels of that source read (the app's, set before
    /// each frame; None when not named).
    pub influx: Option<gridwatch_types::InfluxConnection>,
    /// When the panels last ran, seconds on the UI clock (for refresh).
    last_run_s: f64,
    /// A dashboard just opened: run it at the next frame, at its width.
    run_next: bool,
}

impl Dashboards {
    /// The variables as they stand: the last answer's (a query variable's
    /// options filled), else the dashboard's, with the operator's picks.
    pub fn variables(&self) -> Vec<Variable> {
        let mut vars = match (&self.answers, &self.current) {
            (Some(a), Some(d)) if a.name == d.name => a.variables.clone(),
            (_, Some(d)) => d.variables.clone(),
            _ => Vec::new(),
        };
        for s in &self.selections {
            if let Some(v) = vars.iter_mut().find(|v| v.name == s.name) {
                v.selected = s.selected.clone();
            }
        }
        vars
    }

    /// Picks `selected` for the variable `name`, and runs the panels again.
    pub fn select(
        &mut self,
        name: &str,
        selected: Selection,
        connection: &TimestreamConnection,
        width_px: u32,
        now_s: f64,
        out: &mut Outbox,
    ) {
        self.selections.retain(|s| s.name != name);
        self.selections.push(VariableValue {
            name: name.to_owned(),
            selected,
        });
        self.run(connection, width_px, now_s, out);
    }

    /// Runs the open dashboard's panels.
    pub fn run(
        &mut self,
        connection: &TimestreamConnection,
        width_px: u32,
        now_s: f64,
        out: &mut Outbox,
    ) {
        let Some(d) = &self.current else {
            return;
        };
        self.running = true;
        self.run_next = false;
        self.last_run_s = now_s;
        out.push(Request::RunDashboard(RunDashboard {
            name: d.name.clone(),
            connection: connection.clone(),
            variables: self.selections.clone(),
            width_px,
            influx: self.influx.clone(),
            ..RunDashboard::default()
        }));
    }

    /// Whether the dashboard's refresh interval has passed since the last
    /// run (and nothing runs now).
    pub fn due(&self, now_s: f64) -> bool {
        let every = self
            .current
            .as_ref()
            .and_then(|d| d.refresh.as_deref())
            .and_then(refresh_seconds);
        self.run_next || matches!(every, Some(s) if !self.running && now_s - self.last_run_s >= s)
    }

    /// Takes the answers to this view's own requests.
    pub fn on_reply(&mut self, answer: Answer, out: &mut Outbox) -> Option<Answer> {
        match (answer.request, answer.result) {
            (Request::Dashboards, Ok(Reply::Dashboards(names))) => self.names = Some(names),
            (
                Request::ImportDashboard(_)
                | Request::ChooseDashboardFile
                | Request::LoadDashboard(_),
                Ok(Reply::Dashboard(d)),
            ) => {
                self.error = None;
                self.selections.clear();
                self.answers = None;
                let name = d.name.clone();
                self.current = Some(*d);
                self.running = false;
                self.run_next = true;
                let names = self.names.get_or_insert_with(Vec::new);
                if !names.contains(&name) {
                    names.push(name);
                    names.sort();
                }
                out.push(Request::Dashboards);
            }
            (Request::ChooseDashboardFile, Ok(_)) => {}
            (Request::RunDashboard(run), Ok(Reply::DashboardAnswers(a))) => {
                // An answer to an older run of another dashboard is dropped.
                if self.current.as_ref().is_some_and(|d| d.name == run.name) {
                    self.answers = Some(*a);
                    self.error = None;
                }
                self.running = false;
            }
            (
                Request::Dashboards
                | Request::ImportDashboard(_)
                | Request::ChooseDashboardFile
                | Request::LoadDashboard(_)
                | Request::RunDashboard(_),
                Err(e),
            ) => {
                self.running = false;
                self.error = Some(crate::format::failure(&e));
            }
            (request, result) => return Some(Answer { request, result }),
        }
        None
    }
}
