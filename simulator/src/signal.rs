//! The randomness and the daily shapes every simulated reading is made of.
//!
//! Deterministic for a given seed: every reading draws from its own stream,
//! keyed by the fleet seed, the device's index and the reading's slot
//! ([`Rng::keyed`]), so a reading does not depend on how many other devices
//! share the fleet, or on which readings were taken before it. That is what
//! lets a transformer add up its meters' power for the same slot without
//! the fleet keeping their readings.

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

    /// The stream of one purpose (`salt`), one device and one slot: the
    /// same three numbers give the same draws, whatever else the fleet did.
    pub fn keyed(salt: u64, device: u64, slot: i64) -> Rng {
        let mut sm = salt ^ device.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let a = splitmix64(&mut sm);
        let mut sm = a ^ (slot as u64).wrapping_mul(0xA076_1D64_78BD_642F);
        Rng::new(splitmix64(&mut sm))
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
        self.uuid_text().as_str().to_owned()
    }

    /// The same UUID as [`Rng::uuid`], written on the stack: the fleet
    /// writes one per reading.
    pub fn uuid_text(&mut self) -> UuidText {
        let a = self.next_u64();
        let b = self.next_u64();
        UuidText::from_bits(a, b)
    }
}

/// A UUID's 36 characters (`8-4-4-4-12` lowercase hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UuidText([u8; 36]);

impl UuidText {
    /// The UUID made of two draws: the first gives the first three groups
    /// (version 4 forced), the second the last two (variant 10 forced).
    fn from_bits(a: u64, b: u64) -> UuidText {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let groups: [(u64, usize); 5] = [
            (a >> 32, 8),
            ((a >> 16) & 0xffff, 4),
            (0x4000 | (a & 0xfff), 4),
            (((b >> 48) & 0x3fff) | 0x8000, 4),
            (b & 0xffff_ffff_ffff, 12),
        ];
        let mut text = [b'-'; 36];
        let mut at = 0;
        for (value, digits) in groups {
            for i in 0..digits {
                let nibble = (value >> (4 * (digits - 1 - i))) & 0xf;
                text[at + i] = HEX[nibble as usize];
            }
            at += digits + 1;
        }
        UuidText(text)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits and dashes are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
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
    fn keyed_streams_depend_on_their_keys_only() {
        let a = Rng::keyed(1, 2, 3).next_u64();
        assert_eq!(a, Rng::keyed(1, 2, 3).next_u64());
        assert_ne!(a, Rng::keyed(1, 2, 4).next_u64());
        assert_ne!(a, Rng::keyed(1, 3, 3).next_u64());
        assert_ne!(a, Rng::keyed(2, 2, 3).next_u64());
    }

    #[test]
    fn uuid_text_is_the_version_4_layout_of_its_two_draws() {
        for seed in 0..200 {
            let mut draws = Rng::new(seed);
            let (a, b) = (draws.next_u64(), draws.next_u64());
            let expected = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                ((b >> 48) & 0x3fff) | 0x8000,
                b & 0xffff_ffff_ffff
            );
            assert_eq!(Rng::new(seed).uuid_text().as_str(), expected);
            assert_eq!(Rng::new(seed).uuid(), expected);
        }
    }

    #[test]
    fn evening_peak_beats_night() {
        assert!(daily_load(19.0) > 2.5 * daily_load(3.0));
        assert!(daily_load(7.5) > daily_load(3.0));
    }
}
