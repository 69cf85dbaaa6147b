use proptest::prelude::*;

use super::*;

fn agg(records: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut a = Aggregator::new();
    for (pk, ehk, data) in records {
        a.add(pk, *ehk, data);
    }
    a.finish()
}

/// A record with the magic and a correct MD5 around any body.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(&Md5::digest(body));
    out
}

#[test]
fn user_records_come_back_in_order_with_their_own_keys() {
    let data = agg(&[
        ("meter-1", None, b"{\"a\":1}"),
        ("meter-2", Some("12345"), b"{\"b\":2}"),
        ("meter-1", Some("12345"), b"{\"c\":3}"),
    ]);
    assert!(is_aggregate(&data));
    let a = Aggregate::parse(&data).unwrap();
    let got: Vec<(usize, &str, Option<&str>, &[u8])> = a
        .records
        .iter()
        .map(|r| (r.index, r.partition_key, r.explicit_hash_key, r.data))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, "meter-1", None, &b"{\"a\":1}"[..]),
            (1, "meter-2", Some("12345"), &b"{\"b\":2}"[..]),
            (2, "meter-1", Some("12345"), &b"{\"c\":3}"[..]),
        ]
    );
}

#[test]
fn the_aggregator_writes_each_key_once() {
    let data = agg(&[("k", None, b"x"), ("k", None, b"y")]);
    // magic, one table entry (0a 01 'k'), two records, MD5
    let body = &data[4..data.len() - 16];
    assert_eq!(&body[..3], &[0x0a, 0x01, b'k']);
    assert_eq!(
        &body[3..],
        &[
            0x1a, 0x05, 0x08, 0x00, 0x1a, 0x01, b'x', 0x1a, 0x05, 0x08, 0x00, 0x1a, 0x01, b'y'
        ]
    );
}

#[test]
fn size_with_is_the_size_after_adding() {
    let mut a = Aggregator::new();
    let long = vec![b'z'; 300];
    for (i, (pk, ehk, data)) in [
        ("a", None, &b"1"[..]),
        ("a", Some("99"), &b"22"[..]),
        ("bb", Some("99"), &long[..]),
        ("c", Some("7"), &b""[..]),
    ]
    .into_iter()
    .enumerate()
    {
        let want = a.size_with(pk, ehk, data.len());
        a.add(pk, ehk, data);
        assert_eq!(a.size(), want, "record {i}");
        assert_eq!(a.len(), i + 1);
    }
    let size = a.size();
    assert_eq!(a.finish().len(), size);
    assert!(a.is_empty());
    assert_eq!(a.size(), 20, "a fresh start: magic and MD5 only");
}

#[test]
fn corrupt_aggregates_say_what_is_wrong() {
    let good = agg(&[("k", None, b"{}"), ("k2", None, b"{}")]);
    assert_eq!(
        Aggregate::parse(&good[..10]),
        Err(AggregateError::TooShort(10))
    );
    let mut bad_md5 = good.clone();
    let last = bad_md5.len() - 1;
    bad_md5[last] ^= 1;
    assert_eq!(Aggregate::parse(&bad_md5), Err(AggregateError::BadChecksum));
    let mut flipped = good.clone();
    flipped[8] ^= 0x40;
    assert_eq!(Aggregate::parse(&flipped), Err(AggregateError::BadChecksum));
    let mut bad_magic = good.clone();
    bad_magic[0] = 0xF4;
    assert_eq!(Aggregate::parse(&bad_magic), Err(AggregateError::BadMagic));
    assert!(!is_aggregate(&bad_magic));
    assert!(has_damaged_magic(&bad_magic));
    assert!(!has_damaged_magic(&good), "a good one is not damaged");
    assert!(!has_damaged_magic(
        br#"{"Time": 1, "DeviceID": "a", "x_measure": 1}"#
    ));
    // Truncated protobuf with a digest made over what is left.
    let body = &good[4..good.len() - 16];
    let cut = framed(&body[..body.len() - 1]);
    assert!(matches!(
        Aggregate::parse(&cut),
        Err(AggregateError::Malformed { at: _, what }) if what.contains("truncated")
    ));
    for e in [
        AggregateError::BadChecksum,
        AggregateError::Empty,
        AggregateError::BadMagic,
    ] {
        assert_eq!(e.code(), "bad_aggregate");
    }
}

#[test]
fn table_indices_outside_their_tables_are_refused() {
    // One key in the table, a record naming entry 1.
    let body = [0x0a, 0x01, b'k', 0x1a, 0x05, 0x08, 0x01, 0x1a, 0x01, b'x'];
    assert_eq!(
        Aggregate::parse(&framed(&body)),
        Err(AggregateError::BadIndex {
            index: 0,
            table: "partition_key_table",
            entry: 1,
            len: 1
        })
    );
    // An explicit hash key index with no table.
    let body = [
        0x0a, 0x01, b'k', 0x1a, 0x07, 0x08, 0x00, 0x10, 0x00, 0x1a, 0x01, b'x',
    ];
    assert!(matches!(
        Aggregate::parse(&framed(&body)),
        Err(AggregateError::BadIndex {
            table: "explicit_hash_key_table",
            ..
        })
    ));
    // A varint index past usize on any machine.
    let mut body = vec![0x0a, 0x01, b'k', 0x1a, 0x0e, 0x08];
    body.extend_from_slice(&[0xff; 9]);
    body.push(0x01);
    body.extend_from_slice(&[0x1a, 0x01, b'x']);
    assert!(matches!(
        Aggregate::parse(&framed(&body)),
        Err(AggregateError::BadIndex {
            entry: u64::MAX,
            ..
        })
    ));
}

#[test]
fn unknown_fields_and_tags_are_skipped_and_zeros_may_be_left_out() {
    let body = [
        0x0a, 0x01, b'k', // partition key table: "k"
        0x20, 0x05, // field 4, varint: unknown
        0x2d, 1, 2, 3, 4, // field 5, fixed32: unknown
        0x31, 1, 2, 3, 4, 5, 6, 7, 8, // field 6, fixed64: unknown
        // A record with no partition_key_index (protobuf 3 leaves out 0),
        // a tag {key "t", value "v"}, data "x".
        0x1a, 0x0b, 0x22, 0x06, 0x0a, 0x01, b't', 0x12, 0x01, b'v', 0x1a, 0x01, b'x',
    ];
    let data = framed(&body);
    let a = Aggregate::parse(&data).unwrap();
    assert_eq!(a.records.len(), 1);
    assert_eq!(a.records[0].partition_key, "k");
    assert_eq!(a.records[0].data, b"x");
}

#[test]
fn malformed_bodies_are_refused_not_panicked_on() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no record", vec![0x0a, 0x01, b'k']),
        ("empty body", vec![]),
        (
            "a tag without a key",
            vec![
                0x0a, 0x01, b'k', 0x1a, 0x07, 0x22, 0x03, 0x12, 0x01, b'v', 0x1a, 0x00,
            ],
        ),
        ("field 0", vec![0x00, 0x00]),
        ("a group", vec![0x0b]),
        ("a key of the wrong type", vec![0x08, 0x01]),
        ("a varint cut short", vec![0x0a, 0x81]),
        (
            "an 11-byte varint",
            vec![
                0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ),
        (
            "a key that is not UTF-8",
            vec![0x0a, 0x01, 0xff, 0x1a, 0x00],
        ),
        (
            "a length past the end",
            vec![0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ),
    ];
    for (what, body) in cases {
        let data = framed(&body);
        let r = Aggregate::parse(&data);
        assert!(r.is_err(), "{what}: {r:?}");
        assert_eq!(r.unwrap_err().code(), "bad_aggregate");
    }
}

#[test]
fn varints_take_the_bytes_protobuf_gives_them() {
    for (v, n) in [
        (0, 1),
        (127, 1),
        (128, 2),
        (16_383, 2),
        (16_384, 3),
        (u64::MAX, 10),
    ] {
        assert_eq!(varint_len(v), n, "{v}");
        let mut out = Vec::new();
        push_varint(&mut out, v);
        assert_eq!(out.len(), n);
        assert_eq!(Reader::new(&out, 0).varint(), Ok(v));
    }
}

proptest! {
    #[test]
    fn any_bytes_are_read_or_refused(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Aggregate::parse(&framed(&body));
        let _ = Aggregate::parse(&body);
        let _ = has_damaged_magic(&body);
    }

    #[test]
    fn what_the_aggregator_writes_reads_back(
        records in proptest::collection::vec(
            ("[a-z]{1,4}", proptest::option::of("[0-9]{1,39}"), proptest::collection::vec(any::<u8>(), 0..64)),
            1..40,
        )
    ) {
        let mut a = Aggregator::new();
        for (pk, ehk, data) in &records {
            a.add(pk, ehk.as_deref(), data);
        }
        let size = a.size();
        let out = a.finish();
        prop_assert_eq!(out.len(), size);
        let back = Aggregate::parse(&out).unwrap();
        prop_assert_eq!(back.records.len(), records.len());
        for (got, (pk, ehk, data)) in back.records.iter().zip(&records) {
            prop_assert_eq!(got.partition_key, pk.as_str());
            prop_assert_eq!(got.explicit_hash_key, ehk.as_deref());
            prop_assert_eq!(got.data, data.as_slice());
        }
    }
}
