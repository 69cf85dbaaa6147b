//! Frame time of 16 charts of 1,000,000 points each: drawn through the
//! per-pixel min/max decimation the app uses, against the same charts drawn
//! undecimated (the baseline, in the same process): every point handed to
//! egui_plot borrowed (`PlotPoints::Borrowed`, no copy of the series a
//! frame), as a program that keeps its points in egui_plot's own type
//! would. A frame here is what the webview's CPU does each frame: egui's
//! layout of the 16 plots and the tessellation of their lines into
//! triangles. The pyramid is built once per answer, not per frame; its
//! build is timed on its own line (`pyramid_build`, all 16 charts). Before
//! timing, each chart's decimated drawings are checked to keep the
//! series' extremes.
#![allow(clippy::unwrap_used)] // a bench that unwraps fails loudly

use criterion::{Criterion, criterion_group, criterion_main};
use egui_plot::{Line, Plot, PlotPoint, PlotPoints};
use gridwatch_ui::decimate::{MinMaxPyramid, min_max};

const CHARTS: usize = 16;
const POINTS: usize = 1_000_000;
const WIDTH: f32 = 1280.0;
const HEIGHT: f32 = 800.0;

fn series(seed: usize) -> Vec<[f64; 2]> {
    (0..POINTS)
        .map(|i| {
            let t = i as f64;
            let spike = if (i * 7919 + seed * 104_729).is_multiple_of(50_000) {
                40.0
            } else {
                0.0
            };
            [t, 230.0 + (t / 5_000.0 + seed as f64).sin() * 8.0 + spike]
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Drawing<'a> {
    /// Every point to egui_plot, borrowed.
    Undecimated(&'a [Vec<PlotPoint>]),
    /// The per-pixel min/max fold over the visible points, every frame.
    Folded,
    /// The same figure from min/max levels built once.
    Pyramid(&'a [MinMaxPyramid]),
}

/// One frame: 16 plots in a 4x4 grid, tessellated.
fn frame(ctx: &egui::Context, data: &[Vec<[f64; 2]>], drawing: Drawing<'_>) -> usize {
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(WIDTH, HEIGHT),
        )),
        ..Default::default()
    };
    let output = ctx.run_ui(input, |ui| {
        let w = ui.available_width() / 4.0 - 8.0;
        let h = ui.available_height() / 4.0 - 8.0;
        egui::Grid::new("charts").show(ui, |ui| {
            for (i, points) in data.iter().enumerate() {
                Plot::new(("chart", i)).width(w).height(h).show(ui, |plot| {
                    let last = points.last().map_or(1.0, |p| p[0]);
                    let shown = match drawing {
                        Drawing::Undecimated(all) => PlotPoints::Borrowed(&all[i]),
                        Drawing::Folded => PlotPoints::from(min_max(points, 0.0, last, w as usize)),
                        Drawing::Pyramid(p) => {
                            PlotPoints::from(p[i].view(points, 0.0, last, w as usize))
                        }
                    };
                    plot.line(Line::new("v", shown));
                });
                if i % 4 == 3 {
                    ui.end_row();
                }
            }
        });
    });
    ctx.tessellate(output.shapes, output.pixels_per_point).len()
}

fn charts(c: &mut Criterion) {
    let data: Vec<Vec<[f64; 2]>> = (0..CHARTS).map(series).collect();
    let mut group = c.benchmark_group("frame_16_charts_1m_points");
    group.sample_size(10);
    let pyramids: Vec<MinMaxPyramid> = data.iter().map(|d| MinMaxPyramid::new(d)).collect();
    let borrowed: Vec<Vec<PlotPoint>> = data
        .iter()
        .map(|d| d.iter().map(|&[x, y]| PlotPoint::new(x, y)).collect())
        .collect();
    // What a chart shows must keep what a reading did: the extremes.
    let columns = 1280 / 4;
    for (points, pyramid) in data.iter().zip(&pyramids) {
        let extremes = |p: &[[f64; 2]]| {
            p.iter().fold((f64::MAX, f64::MIN), |(lo, hi), q| {
                (lo.min(q[1]), hi.max(q[1]))
            })
        };
        let last = points.last().unwrap()[0];
        let whole = extremes(points);
        assert_eq!(extremes(&min_max(points, 0.0, last, columns)), whole);
        assert_eq!(extremes(&pyramid.view(points, 0.0, last, columns)), whole);
    }
    group.bench_function("pyramid_build", |b| {
        b.iter(|| {
            data.iter()
                .map(|d| MinMaxPyramid::new(d))
                .collect::<Vec<_>>()
        })
    });
    let ctx = egui::Context::default();
    group.bench_function("pyramid", |b| {
        b.iter(|| frame(&ctx, &data, Drawing::Pyramid(&pyramids)))
    });
    let ctx = egui::Context::default();
    group.bench_function("folded", |b| b.iter(|| frame(&ctx, &data, Drawing::Folded)));
    let ctx = egui::Context::default();
    group.bench_function("undecimated", |b| {
        b.iter(|| frame(&ctx, &data, Drawing::Undecimated(&borrowed)))
    });
    group.finish();
}

criterion_group!(benches, charts);
criterion_main!(benches);
