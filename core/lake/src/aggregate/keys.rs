//! Group keys resolved against the readings: a dimension by its column
//! (or an error naming the keys there are), the device, or a period of the
//! reading's time.

use gridwatch_core::time::{MICROS_PER_DAY, MICROS_PER_HOUR, civil};

use super::GroupKey;
use crate::LakeError;
use crate::readings::{Batch, Readings};
use crate::table::{DAY, DEVICE, HOUR, MONTH, WEEK, week_start};

/// A group key resolved against the readings: a value per reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Part {
    Dim(usize),
    Device,
    Hour,
    Day,
    Week,
    Month,
}

/// `YYYYMM` of a time, remembering the last day asked (readings come in
/// time order, so most calls hit).
#[derive(Default)]
pub(super) struct MonthOf {
    day: i64,
    month: i64,
}

impl MonthOf {
    pub(super) fn get(&mut self, t: i64) -> i64 {
        let day = t - t.rem_euclid(MICROS_PER_DAY);
        if day != self.day || self.month == 0 {
            let c = civil(day);
            self.day = day;
            self.month = i64::from(c.year) * 100 + i64::from(c.month);
        }
        self.month
    }
}

impl Part {
    pub(super) fn value(self, b: &Batch, i: usize, month: &mut MonthOf) -> i64 {
        let t = b.time_us[i];
        match self {
            Part::Dim(d) => i64::from(b.dim(d, i)),
            Part::Device => i64::from(b.device[i]),
            Part::Hour => t - t.rem_euclid(MICROS_PER_HOUR),
            Part::Day => t - t.rem_euclid(MICROS_PER_DAY),
            Part::Week => week_start(t),
            Part::Month => month.get(t),
        }
    }
}

/// The dimensions every Gridwatch lake's records carry (the simulator's and
/// the operator's words for them in [`crate::readings::dimension_column`]).
const LAYOUT_DIMENSIONS: [&str; 3] = ["Region", "Feeder", "DeviceType"];

fn known_keys(readings: &Readings) -> String {
    let mut known = vec![DEVICE.to_owned()];
    if readings.dimensions.is_empty() {
        known.extend(LAYOUT_DIMENSIONS.map(String::from));
    }
    known.extend(readings.dimensions.iter().map(|(n, _)| n.clone()));
    known.extend([HOUR, DAY, WEEK, MONTH].map(String::from));
    known.join(", ")
}

pub(super) fn resolve(readings: &Readings, by: &[GroupKey]) -> Result<Vec<Part>, LakeError> {
    by.iter()
        .map(|k| match k {
            GroupKey::Device => Ok(Part::Device),
            GroupKey::Hour => Ok(Part::Hour),
            GroupKey::Day => Ok(Part::Day),
            GroupKey::Week => Ok(Part::Week),
            GroupKey::Month => Ok(Part::Month),
            GroupKey::Dimension(d) if d == DEVICE => Ok(Part::Device),
            GroupKey::Dimension(d) => match readings.dimension(d) {
                Some(i) => Ok(Part::Dim(i)),
                // With no readings at all the view is empty, but only a
                // word the layout knows makes an empty view rather than
                // an error: a typo must not pass for "nothing there".
                None if readings.report.records == 0 && LAYOUT_DIMENSIONS.contains(&d.as_str()) => {
                    Ok(Part::Dim(usize::MAX))
                }
                None => Err(LakeError::UnknownKey {
                    name: d.clone(),
                    known: known_keys(readings),
                }),
            },
        })
        .collect()
}
