//! Signal generators: what a smart meter, a feeder and a transformer report.
//!
//! Deterministic for a given seed: every device has its own random stream,
//! seeded from the fleet seed and its index, so a device's readings do not
//! depend on how many other devices share the fleet.

use gridwatch_types::DeviceKind;

/// SplitMix64: turns one seed into well-spread seeds for each device.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256**: small, fast, and its output is fixed by its definition, so
/// a seed means the same fleet on every machine and every Gridwatch version.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        Rng {
            s: [
                splitmix64(&mut sm),
                splitmix64(&mut sm),
                splitmix64(&mut sm),
                splitmix64(&mut sm),
            ],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// A random version-4 UUID, as device IDs and Firehose file names use.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

fn bump(h: f64, centre: f64, width: f64) -> f64 {
    let d = h - centre;
    (-(d * d) / (2.0 * width * width)).exp()
}

/// A household's daily load shape, 0.3 at night up to ~1.2 at the evening
/// peak, by hour of day.
pub fn daily_load(hour: f64) -> f64 {
    0.30 + 0.45 * bump(hour, 7.5, 1.5) + 0.15 * bump(hour, 13.0, 3.0) + 0.85 * bump(hour, 19.0, 2.2)
}

/// Outdoor temperature in degC by hour: coolest before dawn, warmest mid-afternoon.
pub fn ambient_temperature(hour: f64) -> f64 {
    14.0 + 7.0 * (std::f64::consts::TAU * (hour - 9.0) / 24.0).sin()
}

/// An anomaly a reading may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    VoltageSag,
    VoltageSwell,
    PowerSpike,
    Overheat,
}

/// The changing state of one simulated device.
#[derive(Debug, Clone)]
pub struct DeviceSignal {
    pub kind: DeviceKind,
    rng: Rng,
    /// Typical power at the daily peak, W.
    base_watt: f64,
    nominal_voltage: f64,
    power_factor: f64,
    /// The energy register, kWh: only ever increases.
    energy_kwh: f64,
    last_us: Option<i64>,
}

impl DeviceSignal {
    pub fn new(kind: DeviceKind, rng: &mut Rng) -> DeviceSignal {
        let (base_watt, nominal_voltage, energy) = match kind {
            DeviceKind::SmartMeter => (rng.range(400.0, 1_600.0), 230.0, rng.range(1e3, 2e4)),
            DeviceKind::Feeder => (rng.range(2e6, 6e6), 11_000.0, rng.range(1e7, 5e7)),
            DeviceKind::Transformer => (rng.range(1.5e5, 4e5), 400.0, rng.range(1e6, 5e6)),
        };
        DeviceSignal {
            kind,
            rng: Rng::new(rng.next_u64()),
            base_watt,
            nominal_voltage,
            power_factor: rng.range(0.9, 0.98),
            energy_kwh: energy,
            last_us: None,
        }
    }

    pub fn nominal_voltage(&self) -> f64 {
        self.nominal_voltage
    }

    /// The measures at `time_us`, given the chance of an anomaly.
    pub fn sample(&mut self, time_us: i64, anomaly_rate: f64) -> Vec<(String, f64)> {
        let hour = (time_us as f64 / 3.6e9).rem_euclid(24.0);
        let r = &mut self.rng;
        let mut watt = (self.base_watt * daily_load(hour) * (1.0 + 0.10 * r.normal()))
            .max(self.base_watt * 0.05);
        let mut voltage = self.nominal_voltage * (1.0 + 0.006 * r.normal())
            - self.nominal_voltage * 0.02 * (watt / self.base_watt);
        let mut temperature = match self.kind {
            DeviceKind::Transformer => 35.0 + 30.0 * watt / self.base_watt + 0.5 * r.normal(),
            _ => ambient_temperature(hour) + 0.4 * r.normal() + 2.0 * watt / self.base_watt,
        };
        let anomaly = r.chance(anomaly_rate).then(|| match r.next_u64() % 4 {
            0 => Anomaly::VoltageSag,
            1 => Anomaly::VoltageSwell,
            2 => Anomaly::PowerSpike,
            _ => Anomaly::Overheat,
        });
        match anomaly {
            Some(Anomaly::VoltageSag) => voltage *= r.range(0.75, 0.88),
            Some(Anomaly::VoltageSwell) => voltage *= r.range(1.11, 1.2),
            Some(Anomaly::PowerSpike) => watt *= r.range(2.5, 4.0),
            Some(Anomaly::Overheat) => temperature += r.range(20.0, 35.0),
            None => {}
        }
        if let Some(last) = self.last_us {
            let hours = (time_us - last).max(0) as f64 / 3.6e9;
            self.energy_kwh += watt * hours / 1_000.0;
        }
        self.last_us = Some(time_us);
        let current = watt / (voltage * self.power_factor);
        let mut out = vec![
            ("voltage".to_string(), round(voltage, 2)),
            ("current".to_string(), round(current, 3)),
            ("watt".to_string(), round(watt, 1)),
            ("energy".to_string(), round(self.energy_kwh, 4)),
        ];
        match self.kind {
            DeviceKind::SmartMeter => out.push(("temperature".into(), round(temperature, 2))),
            DeviceKind::Feeder => out.push(("power_factor".into(), round(self.power_factor, 3))),
            DeviceKind::Transformer => {
                out.push(("oil_temperature".into(), round(temperature, 2)));
                out.push((
                    "load_pct".into(),
                    round(100.0 * watt / (self.base_watt * 1.3), 2),
                ));
            }
        }
        out
    }
}

fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(8).next_u64(), xs[0]);
    }

    #[test]
    fn evening_peak_beats_night() {
        assert!(daily_load(19.0) > 2.5 * daily_load(3.0));
        assert!(daily_load(7.5) > daily_load(3.0));
    }

    #[test]
    fn meter_readings_are_plausible_and_energy_only_rises() {
        let mut seed = Rng::new(1);
        let mut meter = DeviceSignal::new(DeviceKind::SmartMeter, &mut seed);
        let mut last_energy = f64::MIN;
        let mut volts = Vec::new();
        for i in 0..5_000i64 {
            let m = meter.sample(1_700_000_000_000_000 + i * 60_000_000, 0.0);
            let get = |k: &str| m.iter().find(|(n, _)| n == k).unwrap().1;
            assert!(get("energy") >= last_energy);
            last_energy = get("energy");
            assert!(get("watt") > 0.0);
            volts.push(get("voltage"));
        }
        let within = volts
            .iter()
            .filter(|v| (207.0..=253.0).contains(*v))
            .count();
        assert_eq!(
            within,
            volts.len(),
            "no anomalies asked for: voltage stays within +-10%"
        );
    }

    #[test]
    fn anomalies_appear_at_about_the_asked_rate() {
        let mut seed = Rng::new(3);
        let mut meter = DeviceSignal::new(DeviceKind::SmartMeter, &mut seed);
        let n = 20_000;
        let out_of_band = (0..n)
            .filter(|i| {
                let m = meter.sample(1_700_000_000_000_000 + i * 1_000_000, 0.051);
                let v = m[0].1;
                !(207.0..=253.0).contains(&v)
            })
            .count();
        // Half of the anomalies are voltage ones: about 2.55% of readings.
        let share = out_of_band as f64 / n as f64;
        assert!((0.018..0.034).contains(&share), "share {share}");
    }
}
