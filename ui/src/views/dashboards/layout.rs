//! Grafana's grid on screen: 24 columns across the view, rows of 30 px,
//! collapsed rows' panels hidden until opened; and its refresh intervals.

use gridwatch_types::{Panel, PanelKind};

/// Grafana's row height, in points.
pub const ROW_PX: f32 = 30.0;

/// Each shown panel's rectangle, relative to the top left of the grid,
/// for a grid `width` points wide. Panels under a collapsed row are left
/// out unless the row is in `opened`. (Grafana's exports already place the
/// panels after a collapsed row right below its header.)
pub fn panel_rects<'p>(
    panels: &'p [Panel],
    width: f32,
    opened: &[String],
) -> Vec<(&'p Panel, egui::Rect)> {
    let col = width / 24.0;
    let hidden = |p: &Panel| {
        p.collapsed
            && p.kind != PanelKind::Row
            && !p.row.as_ref().is_some_and(|r| opened.contains(r))
    };
    let mut out = Vec::new();
    for p in panels.iter().filter(|p| !hidden(p)) {
        let y = p.grid.y as f32 * ROW_PX;
        let h = p.grid.h.max(1) as f32 * ROW_PX;
        let x = p.grid.x.min(23) as f32 * col;
        let w = p.grid.w.clamp(1, 24 - p.grid.x.min(23)) as f32 * col;
        out.push((
            p,
            egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(w, h)),
        ));
    }
    out
}

/// Grafana's refresh intervals (`5s`, `1m`, `1h`, `1d`) in seconds.
pub fn refresh_seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: f64 = s[..digits].parse().ok()?;
    let unit = match &s[digits..] {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3_600.0,
        "d" => 86_400.0,
        _ => return None,
    };
    Some(n * unit).filter(|secs| *secs > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwatch_types::GridPos;

    fn p(id: u32, y: u32, h: u32, collapsed: bool) -> Panel {
        Panel {
            id,
            grid: GridPos { x: 0, y, w: 12, h },
            collapsed,
            row: collapsed.then(|| "More".to_owned()),
            ..Panel::default()
        }
    }

    #[test]
    fn panels_sit_on_the_24_column_grid() {
        let panels = [
            p(1, 0, 8, false),
            Panel {
                grid: GridPos {
                    x: 12,
                    y: 0,
                    w: 12,
                    h: 4,
                },
                ..p(2, 0, 4, false)
            },
        ];
        let rects = panel_rects(&panels, 1200.0, &[]);
        assert_eq!(
            rects[0].1,
            egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(600.0, 240.0))
        );
        assert_eq!(rects[1].1.min, egui::pos2(600.0, 0.0));
    }

    #[test]
    fn a_collapsed_rows_panels_show_only_when_opened() {
        let panels = [p(1, 0, 8, false), p(2, 9, 8, true)];
        assert_eq!(panel_rects(&panels, 1200.0, &[]).len(), 1);
        assert_eq!(panel_rects(&panels, 1200.0, &["More".into()]).len(), 2);
    }

    #[test]
    fn refresh_intervals_read_as_grafana_writes_them() {
        assert_eq!(refresh_seconds("30s"), Some(30.0));
        assert_eq!(refresh_seconds("1m"), Some(60.0));
        assert_eq!(refresh_seconds("off"), None);
    }
}
