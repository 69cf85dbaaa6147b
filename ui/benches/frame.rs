//! Frame time of 16 charts of 1,000,000 points each: drawn through the
//! per-pixel min/max decimation the app uses, against the same charts drawn
//! undecimated (the baseline, in the same process). A frame here is what
//! the webview's CPU does each frame: egui's layout of the 16 plots and the
//! tessellation of their lines into triangles.
#![allow(clippy::unwrap_used)] // a bench that unwraps fails loudly

use criterion::{Criterion, criterion_group, criterion_main};
use egui_plot::{Line, Plot, PlotPoints};
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
    /// Every point to egui_plot.
    Undecimated,
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
                        Drawing::Undecimated => points.clone(),
                        Drawing::Folded => min_max(points, 0.0, last, w as usize),
                        Drawing::Pyramid(p) => p[i].view(points, 0.0, last, w as usize),
                    };
                    plot.line(Line::new("v", PlotPoints::from(shown)));
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
    let ctx = egui::Context::default();
    group.bench_function("pyramid", |b| {
        b.iter(|| frame(&ctx, &data, Drawing::Pyramid(&pyramids)))
    });
    let ctx = egui::Context::default();
    group.bench_function("folded", |b| b.iter(|| frame(&ctx, &data, Drawing::Folded)));
    let ctx = egui::Context::default();
    group.bench_function("undecimated", |b| {
        b.iter(|| frame(&ctx, &data, Drawing::Undecimated))
    });
    group.finish();
}

criterion_group!(benches, charts);
criterion_main!(benches);
