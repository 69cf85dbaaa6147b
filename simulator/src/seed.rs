//! The seed talk's sample producer: what its devices send.
//!
//! Its records are `{"Time", "DeviceID", "temperature_measure",
//! "humidity_measure", "voltage_measure", "watt_measure"}`, each measure
//! uniform in a fixed range and no dimension at all, with whole
//! milliseconds for `Time` (the producer's `int(time.time() * 1000)`). The
//! sample itself has no anomalies; Gridwatch adds the seed's anomaly
//! chance as a value outside its range, so alarms have something to find.

use gridwatch_core::codec::MeasureKey;

use crate::reading::{Measures, keys};
use crate::signal::Rng;

const SEED_SALT: u64 = 0x5eed_0000_0000_0001;

/// The measures and their ranges, in the producer's order.
pub const RANGES: [(&MeasureKey, f64, f64); 4] = [
    (&keys::TEMPERATURE, 10.0, 15.0),
    (&keys::HUMIDITY, 50.0, 100.0),
    (&keys::VOLTAGE, 30.0, 70.0),
    (&keys::WATT, 200.0, 400.0),
];

/// The measures of device `device`'s reading in `slot`.
pub fn sample(seed: u64, device: u32, slot: i64, anomaly_rate: f64) -> Measures {
    let mut r = Rng::keyed(seed ^ SEED_SALT, u64::from(device), slot);
    let mut values = RANGES.map(|(_, lo, hi)| r.range(lo, hi));
    if r.chance(anomaly_rate) {
        // Clear of the range, so an anomaly is never mistaken for a reading.
        match r.next_u64() % 4 {
            0 => values[2] = r.range(10.0, 29.0),     // a voltage sag
            1 => values[2] = r.range(71.0, 90.0),     // a swell
            2 => values[3] = r.range(401.0, 1_200.0), // a power spike
            _ => values[0] = r.range(16.0, 40.0),     // overheating
        }
    }
    let mut out = Measures::new();
    for ((key, _, _), v) in RANGES.iter().zip(values) {
        out.push(key, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_range_but_for_the_anomalies() {
        let n = 20_000;
        let mut anomalies = 0;
        for slot in 0..n {
            let m = sample(1, 3, slot, 0.051);
            let outside = m
                .as_slice()
                .iter()
                .zip(RANGES)
                .filter(|(m, (_, lo, hi))| !(lo..hi).contains(&&m.value))
                .count();
            assert!(outside <= 1);
            anomalies += outside;
        }
        let share = anomalies as f64 / n as f64;
        assert!((0.045..0.057).contains(&share), "{share}");
    }
}
