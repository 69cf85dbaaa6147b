//! One time chart, the same in every view: value ticks on round steps in
//! the measure's unit (scaled: W, kW, MW), calendar time ticks on the
//! operator's clock, the nearest reading's time and value on hover, zoom
//! and pan along time only, a line broken where readings stopped, and no
//! axes at all before the first reading. Charts stacked under one link
//! share one time axis, aligned: each keeps the same room for its values.

use egui::{Color32, RichText};
use egui_plot::{GridInput, GridMark, HoverPosition, Line, Plot, PlotPoint, PlotPoints};

use crate::format::{Clock, axis_value, moment, time_tick, time_ticks, value, value_ticks};

/// Room for the value ticks, the same on every chart so stacked charts
/// line up on one time axis.
pub const VALUE_AXIS_WIDTH: f32 = 76.0;
/// Points between time ticks, at least: room for `23:45` over `Mar 2`.
const TIME_TICK_SPACING: f64 = 110.0;
/// Points between value ticks, at most one tick this close.
const VALUE_TICK_SPACING: f64 = 28.0;

/// What to draw.
pub struct TimeChart<'a> {
    /// Names the chart (with its measure) and its line.
    pub id: egui::Id,
    pub name: &'a str,
    /// The measure's unit: `W`, `kWh`, `V`…
    pub unit: &'a str,
    pub height: f32,
    /// Charts with the same link share their time range and cursor.
    pub link: Option<egui::Id>,
    pub clock: Clock,
    /// The first and last reading's time, epoch seconds; None before the
    /// first reading (then no axes are drawn).
    pub span: Option<(f64, f64)>,
    /// The time range to show from this frame on; None keeps the
    /// operator's pan and zoom.
    pub fit_x: Option<(f64, f64)>,
    /// The readings' interval, seconds: a gap longer than two breaks the
    /// line.
    pub interval_s: Option<f64>,
    pub color: Color32,
}

/// What the chart showed, for the caller and for the tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shown {
    /// The time range in view, epoch seconds.
    pub x: (f64, f64),
    pub value_ticks: Vec<String>,
    pub time_ticks: Vec<String>,
    /// The operator double-clicked: fit the time axis again (every chart
    /// of the link, so they stay together).
    pub reset: bool,
    /// The reading nearest the pointer, as written beside it.
    pub hovered: Option<String>,
}

/// Ticks of the value axis over `lo..hi` with `px` points of height.
fn value_marks(lo: f64, hi: f64, px: f64, unit: &str) -> (f64, Vec<f64>) {
    let most = (px / VALUE_TICK_SPACING).floor().clamp(3.0, 8.0) as usize;
    value_ticks(lo, hi, most, unit)
}

fn marks(step: f64, ticks: Vec<f64>) -> Vec<GridMark> {
    ticks
        .into_iter()
        .map(|value| GridMark {
            value,
            step_size: step,
        })
        .collect()
}

/// Points per unit of a grid's axis, from egui_plot's hint (its smallest
/// step is eight points' worth).
fn points_across(input: &GridInput) -> f64 {
    let per_point = input.base_step_size / 8.0;
    if per_point > 0.0 {
        (input.bounds.1 - input.bounds.0) / per_point
    } else {
        0.0
    }
}

/// The median time between readings, in seconds, from their times in
/// order; None with fewer than two distinct times.
pub fn typical_step(times: impl IntoIterator<Item = f64>) -> Option<f64> {
    let times: Vec<f64> = times.into_iter().collect();
    let mut steps: Vec<f64> = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .collect();
    steps.sort_by(f64::total_cmp);
    steps.get(steps.len() / 2).copied()
}

/// Splits readings where they stopped for longer than `max_gap` seconds.
pub fn segments(points: Vec<[f64; 2]>, max_gap: f64) -> Vec<Vec<[f64; 2]>> {
    let mut out: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut current: Vec<[f64; 2]> = Vec::new();
    for p in points {
        if current.last().is_some_and(|last| p[0] - last[0] > max_gap) {
            out.push(std::mem::take(&mut current));
        }
        current.push(p);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `plot` with calendar time ticks on `clock` along x, epoch seconds.
pub fn with_time_axis(plot: Plot<'_>, clock: Clock) -> Plot<'_> {
    plot.x_grid_spacer(move |input| {
        let px = points_across(&input);
        let offset = clock.offset_s(input.bounds.0);
        let (step, ticks) = time_ticks(
            input.bounds.0,
            input.bounds.1,
            px,
            TIME_TICK_SPACING,
            offset,
        );
        marks(step, ticks)
    })
    .x_axis_formatter(move |mark, range| {
        time_tick(mark.value, mark.step_size, *range.start(), clock)
    })
}

/// The time ticks [`with_time_axis`] draws over `lo..hi` (epoch seconds)
/// on `width` points, each on one line.
pub fn time_labels(lo: f64, hi: f64, width: f32, clock: Clock) -> Vec<String> {
    let (step, ticks) = time_ticks(
        lo,
        hi,
        f64::from(width),
        TIME_TICK_SPACING,
        clock.offset_s(lo),
    );
    ticks
        .iter()
        .map(|t| time_tick(*t, step, lo, clock).replace('\n', " "))
        .collect()
}

/// The point of `points` (in time order) nearest `t` in time.
pub fn nearest(points: &[[f64; 2]], t: f64) -> Option<[f64; 2]> {
    let i = points.partition_point(|p| p[0] < t);
    let after = points.get(i);
    let before = i.checked_sub(1).and_then(|j| points.get(j));
    match (before, after) {
        (Some(b), Some(a)) => Some(if t - b[0] <= a[0] - t { *b } else { *a }),
        (b, a) => b.or(a).copied(),
    }
}

/// Draws the chart. `data` gives the points to draw for a time range in
/// view (None: all of them) and a width in pixels.
pub fn show(
    ui: &mut egui::Ui,
    chart: TimeChart<'_>,
    data: impl FnOnce(Option<(f64, f64)>, usize) -> Vec<[f64; 2]>,
) -> Shown {
    let Some(span) = chart.span else {
        // Before the first reading: no axis in 1970, a line saying so.
        let (rect, _) = ui.allocate_exact_size(
            egui::vec2(ui.available_width(), chart.height),
            egui::Sense::hover(),
        );
        ui.put(
            rect,
            egui::Label::new(RichText::new(format!("No readings of {} yet", chart.name)).weak()),
        );
        return Shown::default();
    };
    let unit = chart.unit.to_owned();
    let clock = chart.clock;
    let name = chart.name.to_owned();
    let pixels = (ui.available_width() * ui.ctx().pixels_per_point()).max(1.0) as usize;
    let y_unit = unit.clone();
    let hover_unit = unit.clone();
    let mut plot = with_time_axis(Plot::new(chart.id), clock)
        .height(chart.height)
        .y_axis_min_width(VALUE_AXIS_WIDTH)
        .y_grid_spacer(move |input| {
            let px = points_across(&input);
            let (step, ticks) = value_marks(input.bounds.0, input.bounds.1, px, &y_unit);
            marks(step, ticks)
        })
        .y_axis_formatter(move |mark, range| {
            let magnitude = range.start().abs().max(range.end().abs());
            axis_value(mark.value, mark.step_size, magnitude, &unit)
        })
        // The hovered reading is written by `show` itself (and said in the
        // chart's accessible text), not by egui_plot's own label.
        .label_formatter(|_: &HoverPosition| None)
        // Time only: a scroll or a drag never loses the trace off the
        // value axis, which always fits what is in view.
        .allow_zoom([true, false])
        .allow_scroll([true, false])
        .allow_drag([true, false])
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false);
    if let Some(link) = chart.link {
        plot = plot
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false]);
    }
    let fit_x = chart.fit_x;
    let interval = chart.interval_s;
    let color = chart.color;
    let line_name = name.clone();
    let mut hovered: Option<String> = None;
    let response = plot.show(ui, |plot| {
        let (lo, hi) = match fit_x {
            Some((lo, hi)) => {
                plot.set_plot_bounds_x(lo..=hi);
                (lo, hi)
            }
            None if plot.auto_bounds().x => span,
            None => {
                let b = plot.plot_bounds();
                (b.min()[0], b.max()[0])
            }
        };
        plot.set_auto_bounds([false, true]);
        let shown = data((hi > lo).then_some((lo, hi)), pixels);
        // Two pixel columns' worth is the least a gap can be: the points
        // drawn are per column.
        let column = if hi > lo {
            (hi - lo) / pixels as f64
        } else {
            0.0
        };
        let max_gap = interval.map_or(f64::INFINITY, |i| 2.0 * i.max(column));
        // The reading nearest the pointer in time: its value and time.
        if let Some(p) = plot.pointer_coordinate()
            && let Some(near) = nearest(&shown, p.x)
        {
            let text = format!(
                "{line_name}: {}, {}",
                value(near[1], &hover_unit),
                moment(near[0], clock)
            );
            plot.text(
                egui_plot::Text::new("hovered", PlotPoint::new(near[0], near[1]), text.clone())
                    .anchor(egui::Align2::LEFT_BOTTOM)
                    .color(color),
            );
            hovered = Some(text);
        }
        for segment in segments(shown, max_gap) {
            plot.line(Line::new(line_name.clone(), PlotPoints::from(segment)).color(color));
        }
    });
    let bounds = response.transform.bounds();
    let frame = response.transform.frame();
    let (x_lo, x_hi) = (bounds.min()[0], bounds.max()[0]);
    let (y_lo, y_hi) = (bounds.min()[1], bounds.max()[1]);
    let (step, ticks) = value_marks(y_lo, y_hi, f64::from(frame.height()), chart.unit);
    let magnitude = y_lo.abs().max(y_hi.abs());
    let value_labels: Vec<String> = ticks
        .iter()
        .map(|t| axis_value(*t, step, magnitude, chart.unit))
        .collect();
    let time_labels = time_labels(x_lo, x_hi, frame.width(), clock);
    // What the axes say, and the reading under the pointer, for a screen
    // reader (and the tests).
    let mut summary = format!(
        "{name} chart. Values: {}. Times ({}): {}",
        value_labels.join(", "),
        clock.name(),
        time_labels.join(", ")
    );
    if let Some(h) = &hovered {
        summary.push_str(&format!(". Pointer at {h}"));
    }
    response
        .response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Figure, true, &summary));
    Shown {
        x: (x_lo, x_hi),
        value_ticks: value_labels,
        time_ticks: time_labels,
        reset: response.response.double_clicked(),
        hovered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_longer_than_allowed_breaks_the_line() {
        let points = vec![[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [10.0, 1.0], [11.0, 1.0]];
        let parts = segments(points, 2.0);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], vec![[10.0, 1.0], [11.0, 1.0]]);
        assert_eq!(segments(Vec::new(), 2.0).len(), 0);
    }
}
