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

/// SplitMix64 as a stream: one word of state, and its output fixed by its
/// definition, so a seed means the same fleet on every machine. A keyed
/// stream ([`Rng::keyed`]) gives a handful of draws, so what counts is
/// making one: two mixes here, where xoshiro256** took six.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        Rng {
            state: splitmix64(&mut sm),
        }
    }

    /// The stream of one purpose (`salt`), one device and one slot: the
    /// same three numbers give the same draws, whatever else the fleet did.
    pub fn keyed(salt: u64, device: u64, slot: i64) -> Rng {
        let mut sm = salt ^ device.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let a = splitmix64(&mut sm);
        let mut sm = a ^ (slot as u64).wrapping_mul(0xA076_1D64_78BD_642F);
        Rng {
            state: splitmix64(&mut sm),
        }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        splitmix64(&mut self.state)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform in (0, 1): never 0, so a logarithm of it is finite.
    fn open_uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal, by the inverse of its distribution function at one
    /// uniform draw (Acklam's rational approximation, relative error under
    /// 1.2e-9). Inside the central 95% it is additions, multiplications
    /// and a division only: exact IEEE operations, so the same on every
    /// machine and without the logarithm and cosine of Box-Muller, which
    /// were a third of a meter reading's cost.
    #[inline]
    pub fn normal(&mut self) -> f64 {
        inverse_normal(self.open_uniform())
    }

    /// Steps over the draw of one [`Rng::normal`] without making it.
    pub fn skip_normal(&mut self) {
        self.next_u64();
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

/// The standard normal quantile of `p` in (0, 1), by Acklam's algorithm:
/// a rational function of `p - 0.5` in the centre, of `sqrt(-2 ln p)` in
/// the tails.
fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
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
    fn the_normal_quantile_is_the_tables_to_nine_digits() {
        // Quantiles of the standard normal as published (to 15 digits).
        let table = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.025, -1.959_963_984_540_054),
            (0.841_344_746_068_543, 1.0),
            (0.001, -3.090_232_306_167_813),
            (0.9999, 3.719_016_485_455_709),
            (1e-9, -5.997_807_015_007_686),
        ];
        for (p, z) in table {
            let got = inverse_normal(p);
            assert!(
                (got - z).abs() <= 1.2e-9 * z.abs().max(1.0),
                "{p}: {got} vs {z}"
            );
        }
    }

    #[test]
    fn normal_draws_have_the_normals_moments_and_tails() {
        let mut r = Rng::new(11);
        let n = 400_000;
        let draws: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let beyond = draws.iter().filter(|x| x.abs() > 1.959_964).count() as f64 / n as f64;
        let far = draws.iter().filter(|x| x.abs() > 3.0).count() as f64 / n as f64;
        // Five standard errors either side.
        assert!(mean.abs() < 0.008, "{mean}");
        assert!((var - 1.0).abs() < 0.012, "{var}");
        assert!((beyond - 0.05).abs() < 0.0018, "{beyond}");
        assert!((far - 0.0027).abs() < 0.0005, "{far}");
    }

    #[test]
    fn a_skipped_normal_leaves_the_stream_where_a_drawn_one_does() {
        let (mut a, mut b) = (Rng::keyed(3, 4, 5), Rng::keyed(3, 4, 5));
        a.normal();
        b.skip_normal();
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn evening_peak_beats_night() {
        assert!(daily_load(19.0) > 2.5 * daily_load(3.0));
        assert!(daily_load(7.5) > daily_load(3.0));
    }
}
