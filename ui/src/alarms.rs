//! Alarms on the live readings, by the operator's [`AlarmRules`]: voltage
//! outside a tolerance of the device type's nominal, power changing too
//! fast, a measure past its limits, and devices gone quiet. Raised once per
//! condition (not per reading), cleared when the condition ends, and kept
//! until the operator acknowledges them.

use std::collections::HashMap;

use gridwatch_types::{AlarmRules, DeviceLatest, Notification, nominal_voltage};

/// Most alarms kept; the oldest acknowledged ones go first.
const MAX_ALARMS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    Voltage,
    RapidChange,
    Stale,
    /// A measure below its minimum or above its maximum.
    Limit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub id: u64,
    pub device_id: String,
    pub kind: AlarmKind,
    pub message: String,
    pub raised_us: i64,
    /// The condition has ended (the alarm stays until acknowledged).
    pub cleared: bool,
    pub acknowledged: bool,
}

#[derive(Debug, Default)]
pub struct Alarms {
    pub list: Vec<Alarm>,
    /// The open alarm of each kind, per device (looked up on every reading
    /// without allocating).
    active: HashMap<String, [Option<u64>; 3]>,
    /// Open limit alarms, per device and measure.
    limit_active: HashMap<String, HashMap<String, u64>>,
    pub rules: AlarmRules,
    last_watt: HashMap<String, f64>,
    next_id: u64,
    /// Alarms raised since the last desktop notification: count and first
    /// device, per kind.
    unnotified: HashMap<AlarmKind, (u64, String)>,
    last_notified_s: Option<f64>,
}

/// At most one desktop notification this often: at the seed's anomaly rate
/// a fleet raises several alarms a second, and a notification each would
/// drown the operator.
pub const NOTIFY_EVERY_S: f64 = 30.0;

impl Alarms {
    /// The open alarm of `kind` (of `measure`, for limits) on `device`.
    fn open_id(&self, device: &str, kind: AlarmKind, measure: &str) -> Option<u64> {
        match kind {
            AlarmKind::Limit => self.limit_active.get(device)?.get(measure).copied(),
            _ => self.active.get(device)?[kind as usize],
        }
    }

    fn raise(&mut self, device: &str, kind: AlarmKind, measure: &str, message: String, at_us: i64) {
        if self.open_id(device, kind, measure).is_some() {
            return;
        }
        self.next_id += 1;
        let id = self.next_id;
        match kind {
            AlarmKind::Limit => {
                self.limit_active
                    .entry(device.to_owned())
                    .or_default()
                    .insert(measure.to_owned(), id);
            }
            _ => self.active.entry(device.to_owned()).or_default()[kind as usize] = Some(id),
        }
        let pending = self
            .unnotified
            .entry(kind)
            .or_insert_with(|| (0, device.to_owned()));
        pending.0 += 1;
        self.list.push(Alarm {
            id,
            device_id: device.to_owned(),
            kind,
            message,
            raised_us: at_us,
            cleared: false,
            acknowledged: false,
        });
        if self.list.len() > MAX_ALARMS {
            let drop = self.list.iter().position(|a| a.acknowledged).unwrap_or(0);
            self.list.remove(drop);
        }
    }

    fn clear(&mut self, device: &str, kind: AlarmKind, measure: &str) {
        let id = match kind {
            AlarmKind::Limit => self
                .limit_active
                .get_mut(device)
                .and_then(|m| m.remove(measure)),
            _ => self
                .active
                .get_mut(device)
                .and_then(|a| a[kind as usize].take()),
        };
        if let Some(id) = id
            && let Some(a) = self.list.iter_mut().find(|a| a.id == id)
        {
            a.cleared = true;
        }
    }

    /// Takes a device's newest reading.
    pub fn observe(&mut self, latest: &DeviceLatest, device_type: Option<&str>) {
        let value = |m: &str| {
            latest
                .values
                .iter()
                .find(|v| v.measure == m)
                .map(|v| v.value)
        };
        let d = latest.device_id.as_str();
        self.clear(d, AlarmKind::Stale, "");
        if let Some(v) = value("voltage") {
            let nominal = nominal_voltage(device_type);
            let tolerance = self.rules.voltage_tolerance_pct;
            if (v - nominal).abs() > tolerance / 100.0 * nominal {
                self.raise(
                    d,
                    AlarmKind::Voltage,
                    "",
                    format!("voltage {v:.1} V is outside {nominal:.0} V ±{tolerance}%"),
                    latest.time_us,
                );
            } else {
                self.clear(d, AlarmKind::Voltage, "");
            }
        }
        let previous = |last: &mut HashMap<String, f64>, w: f64| match last.get_mut(d) {
            Some(prev) => Some(std::mem::replace(prev, w)),
            None => last.insert(d.to_owned(), w),
        };
        if let Some(w) = value("watt")
            && let Some(prev) = previous(&mut self.last_watt, w)
        {
            let (lo, hi) = (prev.min(w), prev.max(w));
            if lo > 0.0 && hi / lo > self.rules.rapid_change_factor {
                self.raise(
                    d,
                    AlarmKind::RapidChange,
                    "",
                    format!("power went from {prev:.0} W to {w:.0} W in one reading"),
                    latest.time_us,
                );
            } else {
                self.clear(d, AlarmKind::RapidChange, "");
            }
        }
        for v in &latest.values {
            let Some(limit) = self.rules.limits.get(&v.measure).copied() else {
                continue;
            };
            let past = match (limit.min, limit.max) {
                (Some(min), _) if v.value < min => Some(format!("below its minimum {min}")),
                (_, Some(max)) if v.value > max => Some(format!("above its maximum {max}")),
                _ => None,
            };
            match past {
                Some(why) => self.raise(
                    d,
                    AlarmKind::Limit,
                    &v.measure,
                    format!("{} {:.2} is {why}", v.measure, v.value),
                    latest.time_us,
                ),
                None => self.clear(d, AlarmKind::Limit, &v.measure),
            }
        }
    }

    /// Raises a stale alarm for every device whose newest reading is older
    /// than the rules' stale intervals.
    pub fn check_stale<'a>(
        &mut self,
        now_us: i64,
        interval_us: i64,
        devices: impl Iterator<Item = (&'a str, i64)>,
    ) {
        let limit = i64::from(self.rules.stale_intervals.max(1)) * interval_us.max(1);
        for (d, last) in devices {
            if now_us - last > limit {
                self.raise(
                    d,
                    AlarmKind::Stale,
                    "",
                    format!("no reading for {:.0} s", (now_us - last) as f64 / 1e6),
                    now_us,
                );
            }
        }
    }

    /// One desktop notification summing up the alarms raised since the last
    /// one, when there are any and the last is `NOTIFY_EVERY_S` old.
    pub fn notification(&mut self, now_s: f64) -> Option<Notification> {
        if self.unnotified.is_empty()
            || self
                .last_notified_s
                .is_some_and(|t| now_s - t < NOTIFY_EVERY_S)
        {
            return None;
        }
        self.last_notified_s = Some(now_s);
        let mut kinds: Vec<(AlarmKind, (u64, String))> = self.unnotified.drain().collect();
        kinds.sort_by_key(|(kind, (n, _))| (std::cmp::Reverse(*n), *kind as u8));
        let total: u64 = kinds.iter().map(|(_, (n, _))| n).sum();
        let lines: Vec<String> = kinds
            .iter()
            .map(|(kind, (n, first))| {
                let what = match kind {
                    AlarmKind::Voltage => "voltage out of range",
                    AlarmKind::RapidChange => "rapid power change",
                    AlarmKind::Stale => "stale device",
                    AlarmKind::Limit => "measure past its limit",
                };
                if *n == 1 {
                    format!("{what}: {first}")
                } else {
                    format!("{n} × {what} (first: {first})")
                }
            })
            .collect();
        Some(Notification {
            title: if total == 1 {
                "Gridwatch: 1 new alarm".into()
            } else {
                format!("Gridwatch: {total} new alarms")
            },
            body: lines.join("\n"),
        })
    }

    pub fn acknowledge(&mut self, id: u64) {
        if let Some(a) = self.list.iter_mut().find(|a| a.id == id) {
            a.acknowledged = true;
        }
    }

    pub fn unacknowledged(&self) -> usize {
        self.list.iter().filter(|a| !a.acknowledged).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwatch_types::MeasureValue;

    fn latest(d: &str, t: i64, volts: f64, watt: f64) -> DeviceLatest {
        DeviceLatest {
            device_id: d.into(),
            time_us: t,
            values: vec![
                MeasureValue {
                    measure: "voltage".into(),
                    value: volts,
                },
                MeasureValue {
                    measure: "watt".into(),
                    value: watt,
                },
            ],
        }
    }

    #[test]
    fn a_condition_raises_one_alarm_until_it_clears() {
        let mut a = Alarms::default();
        a.observe(&latest("m", 1, 250.0, 100.0), None);
        a.observe(&latest("m", 2, 255.0, 100.0), None);
        assert_eq!(a.list.len(), 1, "one alarm per condition, not per reading");
        a.observe(&latest("m", 3, 231.0, 100.0), None);
        assert!(a.list[0].cleared);
        a.observe(&latest("m", 4, 200.0, 100.0), None);
        assert_eq!(a.list.len(), 2);
        // A transformer's 400 V is normal.
        a.observe(&latest("t", 1, 400.0, 100.0), Some("transformer"));
        assert_eq!(a.list.len(), 2);
    }

    #[test]
    fn rapid_changes_and_stale_devices() {
        let mut a = Alarms::default();
        a.observe(&latest("m", 1, 230.0, 100.0), None);
        a.observe(&latest("m", 2, 230.0, 350.0), None);
        assert_eq!(a.list[0].kind, AlarmKind::RapidChange);
        a.check_stale(
            10_000_000,
            1_000_000,
            [("m", 2), ("n", 9_500_000)].into_iter(),
        );
        assert_eq!(a.list.len(), 2);
        assert_eq!(a.list[1].kind, AlarmKind::Stale);
        assert_eq!(a.list[1].device_id, "m");
        assert_eq!(a.unacknowledged(), 2);
        a.acknowledge(a.list[0].id);
        assert_eq!(a.unacknowledged(), 1);
    }

    #[test]
    fn notifications_sum_up_alarms_at_most_every_thirty_seconds() {
        let mut a = Alarms::default();
        assert_eq!(a.notification(0.0), None, "nothing to say");
        a.observe(&latest("m1", 1_000_000, 180.0, 100.0), None);
        a.observe(&latest("m2", 1_000_000, 180.0, 100.0), None);
        a.observe(&latest("m3", 1_000_000, 230.0, 100.0), None);
        a.observe(&latest("m3", 2_000_000, 230.0, 900.0), None);
        let n = a.notification(10.0).unwrap();
        assert_eq!(n.title, "Gridwatch: 3 new alarms");
        assert_eq!(
            n.body,
            "2 × voltage out of range (first: m1)\nrapid power change: m3"
        );
        // More alarms within 30 s wait for the next notification.
        a.observe(&latest("m4", 1_000_000, 300.0, 100.0), None);
        assert_eq!(a.notification(20.0), None);
        let n = a.notification(40.5).unwrap();
        assert_eq!(n.title, "Gridwatch: 1 new alarm");
        assert_eq!(n.body, "voltage out of range: m4");
        assert_eq!(a.notification(80.0), None, "each alarm is told once");
    }

    #[test]
    fn limits_and_tolerances_follow_the_operators_rules() {
        let reading = |d: &str, t: i64, m: &str, v: f64| DeviceLatest {
            device_id: d.into(),
            time_us: t,
            values: vec![MeasureValue {
                measure: m.into(),
                value: v,
            }],
        };
        let mut a = Alarms::default();
        // The default rules: a transformer loaded past 100%.
        a.observe(&reading("t1", 1, "load_pct", 104.0), Some("transformer"));
        assert_eq!(a.list.len(), 1);
        assert_eq!(a.list[0].kind, AlarmKind::Limit);
        assert_eq!(
            a.list[0].message,
            "load_pct 104.00 is above its maximum 100"
        );
        a.observe(&reading("t1", 2, "load_pct", 90.0), Some("transformer"));
        assert!(a.list[0].cleared);
        // The operator's own limit, on another measure of the same device.
        a.rules.limits.insert(
            "current".into(),
            gridwatch_types::MeasureLimit {
                min: Some(0.5),
                max: None,
            },
        );
        a.observe(&reading("t1", 3, "current", 0.1), Some("transformer"));
        assert_eq!(a.list.len(), 2);
        assert_eq!(a.list[1].message, "current 0.10 is below its minimum 0.5");
        // A wider voltage tolerance: 240 V on a 230 V meter is fine at 5%...
        a.rules.voltage_tolerance_pct = 5.0;
        a.observe(&reading("m1", 1, "voltage", 240.0), None);
        assert_eq!(a.list.len(), 2);
        // ... and 245 V is not.
        a.observe(&reading("m1", 2, "voltage", 245.0), None);
        assert_eq!(a.list.len(), 3);
        assert_eq!(a.list[2].message, "voltage 245.0 V is outside 230 V ±5%");
    }
}
