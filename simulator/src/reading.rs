//! One simulated reading as the fleet holds it: the device's index, the
//! time it reports and its measures under static names. Identities and
//! dimensions are the network's, borrowed when the reading is written, so
//! taking a reading allocates nothing (see `Fleet::encode`).

/// The most measures one device sends: a transformer's six.
const MAX_MEASURES: usize = 6;

use gridwatch_core::codec::MeasureKey;

/// The measures simulated devices send, as keys the wire writes whole.
pub mod keys {
    use gridwatch_core::codec::MeasureKey;

    pub const VOLTAGE: MeasureKey = MeasureKey::new("voltage");
    pub const CURRENT: MeasureKey = MeasureKey::new("current");
    pub const WATT: MeasureKey = MeasureKey::new("watt");
    pub const ENERGY: MeasureKey = MeasureKey::new("energy");
    pub const TEMPERATURE: MeasureKey = MeasureKey::new("temperature");
    pub const POWER_FACTOR: MeasureKey = MeasureKey::new("power_factor");
    pub const OIL_TEMPERATURE: MeasureKey = MeasureKey::new("oil_temperature");
    pub const LOAD_PCT: MeasureKey = MeasureKey::new("load_pct");
    pub const HUMIDITY: MeasureKey = MeasureKey::new("humidity");
}

/// One measure: its key (its name without the `_measure` suffix), its
/// value, and the decimal places it was rounded to, if it was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub key: &'static MeasureKey,
    pub value: f64,
    pub decimals: Option<u32>,
}

impl Measure {
    pub fn name(&self) -> &'static str {
        self.key.name()
    }
}

/// A device's measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measures {
    len: usize,
    items: [Measure; MAX_MEASURES],
}

impl Measures {
    pub fn new() -> Measures {
        const BLANK: MeasureKey = MeasureKey::new("");
        let blank = Measure {
            key: &BLANK,
            value: 0.0,
            decimals: None,
        };
        Measures {
            len: 0,
            items: [blank; MAX_MEASURES],
        }
    }

    /// Adds a measure at full precision (the seed's producer sends these).
    pub fn push(&mut self, key: &'static MeasureKey, value: f64) {
        self.add(Measure {
            key,
            value,
            decimals: None,
        });
    }

    /// Adds a measure rounded to `decimals` places, as a meter reports
    /// it; the encoder writes it from those digits.
    pub fn push_rounded(&mut self, key: &'static MeasureKey, value: f64, decimals: u32) {
        self.add(Measure {
            key,
            value: round(value, decimals),
            decimals: Some(decimals),
        });
    }

    /// Every device kind's set is written out in this crate and fits; one
    /// more would be dropped, and a test of each kind's measures would see
    /// it missing.
    fn add(&mut self, measure: Measure) {
        debug_assert!(self.len < MAX_MEASURES, "more measures than a device sends");
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = measure;
            self.len += 1;
        }
    }

    pub fn as_slice(&self) -> &[Measure] {
        &self.items[..self.len]
    }

    /// The value of measure `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.as_slice()
            .iter()
            .find(|m| m.name() == name)
            .map(|m| m.value)
    }
}

impl Default for Measures {
    fn default() -> Self {
        Measures::new()
    }
}

/// `v` to `decimals` places, as a device reports it.
pub fn round(v: f64, decimals: u32) -> f64 {
    gridwatch_core::codec::round_to(v, decimals)
}

/// Device `device`'s reading, at the time its clock reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub device: u32,
    /// Epoch microseconds, by the device's own clock.
    pub time_us: i64,
    pub measures: Measures,
}
