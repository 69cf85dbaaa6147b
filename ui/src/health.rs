//! What the UI tells the shell about itself: frames, batches, points on the
//! chart, and frame-time percentiles.

use std::collections::VecDeque;

/// The last 256 frames' times, for percentiles.
#[derive(Debug, Default)]
pub struct FrameLog(VecDeque<f32>);

impl FrameLog {
    pub fn record(&mut self, ms: f32) {
        if self.0.len() == 256 {
            self.0.pop_front();
        }
        self.0.push_back(ms);
    }

    pub fn percentile(&self, p: f64) -> f64 {
        let mut sorted: Vec<f32> = self.0.iter().copied().collect();
        sorted.sort_by(f32::total_cmp);
        match sorted.len() {
            0 => 0.0,
            n => f64::from(sorted[((n - 1) as f64 * p).round() as usize]),
        }
    }
}

/// The frames drawn and how long they took.
#[derive(Debug, Default)]
pub struct Health {
    pub frames: u64,
    /// eframe's figure: the UI's logic, tessellation and the WebGL calls.
    pub frame_ms: FrameLog,
    /// `show` itself: the UI's logic only.
    pub logic_ms: FrameLog,
    /// The first live point was reported (the cold-start benchmark times
    /// it).
    pub reported_first_point: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_the_last_frames() {
        let mut log = FrameLog::default();
        assert_eq!(log.percentile(0.99), 0.0);
        for ms in 1..=300 {
            log.record(ms as f32);
        }
        // Only the last 256 count: 45..=300.
        assert_eq!(log.percentile(0.0), 45.0);
        assert_eq!(log.percentile(1.0), 300.0);
    }
}
