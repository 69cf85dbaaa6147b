//! The utility network a fleet hangs off: substations, feeders,
//! transformers and meters, and the names the records carry for them.
//!
//! The layout is arithmetic on indices (meter `i` is on transformer
//! `i % T`, transformer `j` on feeder `j % F`, feeder `f` on substation
//! `f % S`), so a million meters cost no memory of their own here; only the
//! names of the transformers, feeders and substations are kept.

use gridwatch_core::codec::EncodedDimensions;
use gridwatch_types::{DeviceKind, FleetSpec};

/// The regions the substations are spread over, in turn.
pub const REGIONS: [&str; 5] = ["north", "south", "east", "west", "central"];

/// How many of each part the network has, and their names.
#[derive(Debug, Clone)]
pub struct Network {
    pub meters: u32,
    pub transformers: u32,
    pub feeders: u32,
    pub substations: u32,
    /// Whether the transformers and feeders report (are devices of the
    /// fleet) or are only named on the records below them.
    pub transformers_report: bool,
    pub feeders_report: bool,
    transformer_names: Vec<String>,
    feeder_names: Vec<String>,
    substation_names: Vec<String>,
    /// Each kind of device's place on each feeder as the wire writes it
    /// (`DeviceType`, `Region`, `Substation`, `Feeder`), in the order of
    /// [`DeviceKind::ALL`], and each transformer's `Transformer`: every
    /// record below a feeder carries the same text, written once here.
    places: Vec<Vec<EncodedDimensions>>,
    transformer_dimensions: Vec<EncodedDimensions>,
}

impl Network {
    /// The network `spec` describes: its own feeders and transformers when
    /// it has them, otherwise as many as its meters need by the topology's
    /// fan-out.
    pub fn new(spec: &FleetSpec) -> Network {
        let t = &spec.topology;
        let meters = spec.smart_meters;
        let transformers = match spec.transformers {
            0 if meters > 0 => meters.div_ceil(t.meters_per_transformer.max(1)),
            n => n,
        };
        let feeders = match spec.feeders {
            0 => transformers
                .div_ceil(t.transformers_per_feeder.max(1))
                .max(1),
            n => n,
        };
        let substations = match t.substations {
            0 => feeders.div_ceil(4),
            n => n.min(feeders),
        }
        .max(1);
        let substation_names: Vec<String> = (0..substations)
            .map(|s| {
                let region = REGIONS[s as usize % REGIONS.len()];
                format!(
                    "{}{}",
                    region[..1].to_uppercase(),
                    s / REGIONS.len() as u32 + 1
                )
            })
            .collect();
        let feeder_names: Vec<String> = (0..feeders)
            .map(|f| {
                format!(
                    "{}-F{:02}",
                    substation_names[(f % substations) as usize],
                    f / substations + 1
                )
            })
            .collect();
        let transformer_names = (0..transformers)
            .map(|j| {
                format!(
                    "{}-T{:02}",
                    feeder_names[(j % feeders) as usize],
                    j / feeders + 1
                )
            })
            .collect();
        let mut net = Network {
            meters,
            transformers,
            feeders,
            substations,
            transformers_report: spec.transformers > 0,
            feeders_report: spec.feeders > 0,
            transformer_names,
            feeder_names,
            substation_names,
            places: Vec::new(),
            transformer_dimensions: Vec::new(),
        };
        net.places = (DeviceKind::ALL.iter())
            .map(|kind| {
                (0..feeders)
                    .map(|f| {
                        let kind = [("DeviceType", kind.as_str())];
                        EncodedDimensions::new(kind.into_iter().chain(net.place_of_feeder(f)))
                    })
                    .collect()
            })
            .collect();
        net.transformer_dimensions = (0..transformers)
            .map(|j| EncodedDimensions::new([("Transformer", net.transformer_name(j))]))
            .collect();
        net
    }

    /// Feeder `f`'s place on a record: its region, substation and name.
    pub fn place_of_feeder(&self, f: u32) -> [(&'static str, &str); 3] {
        [
            ("Region", self.region_of_feeder(f)),
            ("Substation", self.substation_name(self.substation_of(f))),
            ("Feeder", self.feeder_name(f)),
        ]
    }

    /// A `kind` of device's `DeviceType` and [`Network::place_of_feeder`],
    /// as the wire writes them.
    pub fn encoded_place(&self, kind: DeviceKind, f: u32) -> &EncodedDimensions {
        let k = DeviceKind::ALL.iter().position(|&k| k == kind).unwrap_or(0);
        &self.places[k][f as usize]
    }

    /// Transformer `j`'s `Transformer` dimension, as the wire writes it.
    pub fn encoded_transformer(&self, j: u32) -> &EncodedDimensions {
        &self.transformer_dimensions[j as usize]
    }

    /// The transformer meter `meter` is on.
    pub fn transformer_of(&self, meter: u32) -> u32 {
        meter % self.transformers.max(1)
    }

    /// The feeder transformer `transformer` is on.
    pub fn feeder_of(&self, transformer: u32) -> u32 {
        transformer % self.feeders
    }

    pub fn substation_of(&self, feeder: u32) -> u32 {
        feeder % self.substations
    }

    /// The meters on a transformer.
    pub fn meters_on(&self, transformer: u32) -> impl ExactSizeIterator<Item = u32> + use<> {
        (transformer..self.meters).step_by(self.transformers.max(1) as usize)
    }

    /// The transformers on a feeder.
    pub fn transformers_on(&self, feeder: u32) -> impl ExactSizeIterator<Item = u32> + use<> {
        (feeder..self.transformers).step_by(self.feeders as usize)
    }

    /// How many meters hang below a feeder, through its transformers.
    pub fn meters_below_feeder(&self, feeder: u32) -> u32 {
        self.transformers_on(feeder)
            .map(|j| self.meters_on(j).len() as u32)
            .sum()
    }

    pub fn transformer_name(&self, transformer: u32) -> &str {
        &self.transformer_names[transformer as usize]
    }

    pub fn feeder_name(&self, feeder: u32) -> &str {
        &self.feeder_names[feeder as usize]
    }

    pub fn substation_name(&self, substation: u32) -> &str {
        &self.substation_names[substation as usize]
    }

    /// The region a feeder's substation is in.
    pub fn region_of_feeder(&self, feeder: u32) -> &'static str {
        REGIONS[self.substation_of(feeder) as usize % REGIONS.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meter_on_one_transformer_every_transformer_on_one_feeder() {
        let spec = FleetSpec {
            smart_meters: 200,
            ..FleetSpec::default()
        };
        let net = Network::new(&spec);
        // 200 meters, 8 to a transformer, 12 transformers to a feeder,
        // four feeders to a substation.
        assert_eq!((net.transformers, net.feeders, net.substations), (25, 3, 1));
        assert!(!net.transformers_report && !net.feeders_report);
        let mut seen = vec![0; 200];
        for j in 0..net.transformers {
            for m in net.meters_on(j) {
                assert_eq!(net.transformer_of(m), j);
                seen[m as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        let below: u32 = (0..net.feeders).map(|f| net.meters_below_feeder(f)).sum();
        assert_eq!(below, 200);
        assert_eq!(net.transformer_name(4), "N1-F02-T02");
        assert_eq!(net.feeder_name(2), "N1-F03");
    }

    #[test]
    fn the_fleets_own_feeders_and_transformers_are_the_network() {
        let spec = FleetSpec {
            smart_meters: 16,
            feeders: 2,
            transformers: 4,
            topology: gridwatch_types::Topology {
                substations: 2,
                ..Default::default()
            },
            ..FleetSpec::default()
        };
        let net = Network::new(&spec);
        assert_eq!((net.transformers, net.feeders, net.substations), (4, 2, 2));
        assert!(net.transformers_report && net.feeders_report);
        assert_eq!(net.feeder_name(1), "S1-F01");
        assert_eq!(net.region_of_feeder(1), "south");
        assert_eq!(net.transformers_on(1).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(net.meters_on(3).collect::<Vec<_>>(), vec![3, 7, 11, 15]);
    }
}
