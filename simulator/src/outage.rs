//! Outages: a feeder, a transformer or a single meter going silent for a
//! while, and the list of them as ground truth.
//!
//! Whether a part is out is a pure function of the seed, the part and the
//! day: each feeder, transformer and meter has, each UTC day, the
//! configured chance of one outage starting at a uniform time that day,
//! lasting log-uniformly between the shortest and longest duration. So the
//! fleet keeps no outage state, any span's outages can be listed after the
//! fact, and the same seed gives the same outages.
//!
//! A feeder or transformer outage is a loss of power: everything below it
//! is silent and draws nothing. A meter outage is the meter's own
//! communications failing: its load still flows (the transformer above
//! still carries it) and its register still counts, so its first reading
//! afterwards shows the energy used meanwhile.

use gridwatch_core::time::MICROS_PER_DAY;
use gridwatch_types::Outages;
use serde::Serialize;

use crate::signal::Rng;

const OUTAGE_SALT: u64 = 0x07a6_e5ee_d000_0001;

/// What went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Feeder,
    Transformer,
    Meter,
}

/// One outage, as `--outages-out` writes it: what went out, when (epoch
/// milliseconds, the end exclusive) and the devices that were silent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outage {
    pub scope: Scope,
    /// The feeder's or transformer's name, or the meter's device ID.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feeder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transformer: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub start: String,
    pub end: String,
    /// Every device of the fleet that sent nothing from start to end.
    pub devices: Vec<String>,
}

/// The outage schedule of one fleet.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    seed: u64,
    outages: Outages,
}

impl Schedule {
    pub fn new(seed: u64, outages: Outages) -> Schedule {
        Schedule { seed, outages }
    }

    pub fn is_on(&self) -> bool {
        self.outages.per_day > 0.0
    }

    /// The outage of `part` that starts on `day` (days since 1970), if any:
    /// start and end, epoch microseconds.
    pub fn on_day(&self, scope: Scope, part: u32, day: i64) -> Option<(i64, i64)> {
        let key = (scope as u64) << 32 | u64::from(part);
        let mut rng = Rng::keyed(self.seed ^ OUTAGE_SALT, key, day);
        if !rng.chance(self.outages.per_day) {
            return None;
        }
        // Whole milliseconds, as the ground truth writes them.
        let start = day * MICROS_PER_DAY + (rng.uniform() * 86_400_000.0) as i64 * 1000;
        // Log-uniform: most outages are short, a few last hours.
        let (lo, hi) = (
            (self.outages.min_ms.max(1) as f64).ln(),
            (self.outages.max_ms.max(1) as f64).ln(),
        );
        let ms = rng.range(lo, hi.max(lo)).exp();
        Some((start, start + ms as i64 * 1000))
    }

    /// Whether `part` is out at `time_us`. An outage lasts a day at most, so
    /// only today's and yesterday's can cover it.
    pub fn is_out(&self, scope: Scope, part: u32, time_us: i64) -> bool {
        if !self.is_on() {
            return false;
        }
        let day = time_us.div_euclid(MICROS_PER_DAY);
        [day, day - 1].into_iter().any(|d| {
            self.on_day(scope, part, d)
                .is_some_and(|(s, e)| (s..e).contains(&time_us))
        })
    }

    /// Every outage of `part` that overlaps `[from_us, to_us)`, in time
    /// order.
    pub fn between(
        &self,
        scope: Scope,
        part: u32,
        from_us: i64,
        to_us: i64,
    ) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = from_us.div_euclid(MICROS_PER_DAY) - 1;
        let last = to_us.div_euclid(MICROS_PER_DAY);
        (first..=last)
            .filter(|_| self.is_on())
            .filter_map(move |d| self.on_day(scope, part, d))
            .filter(move |(s, e)| *s < to_us && *e > from_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_come_at_the_asked_rate_and_last_as_long_as_asked() {
        let outages = Outages {
            per_day: 0.2,
            ..Outages::default()
        };
        let s = Schedule::new(9, outages);
        let mut n = 0;
        for part in 0..1_000 {
            for day in 0..10 {
                if let Some((start, end)) = s.on_day(Scope::Meter, part, day) {
                    n += 1;
                    let ms = (end - start) / 1000;
                    assert!((5 * 60_000..=4 * 3_600_000).contains(&ms), "{ms}");
                    assert!(s.is_out(Scope::Meter, part, start));
                    // Out at its end only if another outage covers it.
                    let other = (s.between(Scope::Meter, part, end, end + 1))
                        .any(|span| span != (start, end));
                    assert_eq!(s.is_out(Scope::Meter, part, end), other);
                }
            }
        }
        // 10,000 part-days at 0.2: 2,000 expected.
        assert!((1_850..2_150).contains(&n), "{n}");
        let off = Schedule::new(9, Outages::default());
        assert!(!off.is_out(Scope::Meter, 0, 0));
        assert_eq!(
            off.between(Scope::Meter, 0, 0, MICROS_PER_DAY * 9).count(),
            0
        );
    }
}
