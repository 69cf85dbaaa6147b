//! Gridwatch's colours, named for what they mean.

use egui::Color32;

/// What went wrong.
pub const ERROR: Color32 = Color32::from_rgb(220, 60, 60);
/// A test that found what it looked for.
pub const OK: Color32 = Color32::from_rgb(80, 180, 80);
/// Needs a look: quarantined records, conflicts, open alarms.
pub const WARNING: Color32 = Color32::from_rgb(230, 120, 40);
/// An alarm whose cause has gone.
pub const CLEARED: Color32 = Color32::from_rgb(150, 150, 150);
/// Gridwatch's navy, behind the mode badge; the heatmap's low end.
pub const NAVY: Color32 = Color32::from_rgb(15, 42, 68);
/// Gridwatch's yellow: the mode badge, the fleet's power, the heatmap's
/// high end.
pub const YELLOW: Color32 = Color32::from_rgb(255, 196, 0);
/// A chart's line: a blue that reads on the dark and the light theme.
pub const LINE: Color32 = Color32::from_rgb(70, 150, 235);
/// Groups told apart on one chart (regions, device types), with a legend.
pub const GROUPS: [Color32; 8] = [
    Color32::from_rgb(70, 150, 235),
    Color32::from_rgb(255, 196, 0),
    Color32::from_rgb(80, 180, 80),
    Color32::from_rgb(220, 90, 160),
    Color32::from_rgb(150, 110, 230),
    Color32::from_rgb(40, 190, 190),
    Color32::from_rgb(230, 120, 40),
    Color32::from_rgb(160, 160, 160),
];
/// Behind the "CACHED" mark of an answer from the offline cache.
pub const CACHED: Color32 = Color32::from_rgb(120, 80, 0);

/// The heatmap's colour for `t` from 0 (low) to 1 (high): navy to yellow.
pub fn heat(t: f32) -> Color32 {
    Color32::from_rgb(
        (15.0 + 240.0 * t) as u8,
        (42.0 + 154.0 * t) as u8,
        (68.0 * (1.0 - t)) as u8,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heat_scale_runs_from_navy_to_yellow() {
        assert_eq!(heat(0.0), NAVY);
        assert_eq!(heat(1.0), YELLOW);
    }
}
