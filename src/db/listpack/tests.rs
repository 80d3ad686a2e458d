use super::*;

fn build(items: &[&[u8]]) -> Listpack {
    let mut lp = Listpack::new();
    for v in items {
        lp.push_back(v);
    }
    lp
}

fn contents(lp: &Listpack) -> Vec<Vec<u8>> {
    lp.iter().map(|v| v.to_vec()).collect()
}

/// Bytes of the single entry of a one-element listpack.
fn entry_bytes(v: &[u8]) -> Vec<u8> {
    let lp = build(&[v]);
    let b = lp.as_bytes();
    b[HDR_SIZE..b.len() - 1].to_vec()
}

#[test]
fn empty_is_seven_bytes() {
    let lp = Listpack::new();
    assert_eq!(lp.as_bytes(), &[7, 0, 0, 0, 0, 0, 0xFF]);
    assert!(lp.is_empty());
    assert_eq!(lp.len(), 0);
    assert_eq!(lp.first(), None);
    assert_eq!(lp.last(), None);
    assert_eq!(lp.seek(0), None);
    assert_eq!(lp.seek(-1), None);
    assert_eq!(lp.iter().next(), None);
    assert_eq!(Listpack::default(), lp);
    assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_some());
}

#[test]
fn known_redis_bytes() {
    let lp = build(&[b"a", b"1", b"-1", b"hello"]);
    #[rustfmt::skip]
    let expected = [
        0x16, 0, 0, 0, 4, 0,
        0x81, b'a', 2,
        0x01, 1,
        0xDF, 0xFF, 2,
        0x85, b'h', b'e', b'l', b'l', b'o', 6,
        0xFF,
    ];
    assert_eq!(lp.as_bytes(), &expected);
    assert_eq!(lp.len(), 4);
}

/// Captured from Redis 7.0.15: `HSET h f 300 g -70000 k 5000000000` then DUMP (the listpack blob).
#[test]
fn matches_redis_dump_of_a_hash() {
    let lp = build(&[b"f", b"300", b"g", b"-70000", b"k", b"5000000000"]);
    #[rustfmt::skip]
    let expected = [
        0x22, 0, 0, 0, 6, 0,
        0x81, b'f', 2,
        0xC1, 0x2C, 2,
        0x81, b'g', 2,
        0xF2, 0x90, 0xEE, 0xFE, 4,
        0x81, b'k', 2,
        0xF4, 0x00, 0xF2, 0x05, 0x2A, 0x01, 0, 0, 0, 9,
        0xFF,
    ];
    assert_eq!(lp.as_bytes(), &expected);
}

#[test]
fn integer_encodings_use_the_smallest_width() {
    let cases: &[(i64, &[u8])] = &[
        (0, &[0x00]),
        (127, &[0x7F]),
        (128, &[0xC0, 0x80]),
        (-1, &[0xDF, 0xFF]),
        (4095, &[0xCF, 0xFF]),
        (-4096, &[0xD0, 0x00]),
        (4096, &[0xF1, 0x00, 0x10]),
        (-4097, &[0xF1, 0xFF, 0xEF]),
        (32767, &[0xF1, 0xFF, 0x7F]),
        (-32768, &[0xF1, 0x00, 0x80]),
        (32768, &[0xF2, 0x00, 0x80, 0x00]),
        (8_388_607, &[0xF2, 0xFF, 0xFF, 0x7F]),
        (-8_388_608, &[0xF2, 0x00, 0x00, 0x80]),
        (8_388_608, &[0xF3, 0x00, 0x00, 0x80, 0x00]),
        (i64::from(i32::MIN), &[0xF3, 0x00, 0x00, 0x00, 0x80]),
        (i64::from(i32::MAX) + 1, &[0xF4, 0, 0, 0, 0x80, 0, 0, 0, 0]),
        (i64::MIN, &[0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80]),
        (i64::MAX, &[0xF4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for &(v, enc) in cases {
        let mut expected = enc.to_vec();
        expected.push(enc.len() as u8);
        let text = v.to_string();
        assert_eq!(entry_bytes(text.as_bytes()), expected, "{v}");
        let mut lp = Listpack::new();
        lp.push_back_int(v);
        assert_eq!(lp, build(&[text.as_bytes()]));
        assert!(matches!(lp.get(HDR_SIZE), LpValue::Int(x) if x == v));
        assert_eq!(lp_entry_size_for(text.as_bytes()), expected.len());
    }
}

#[test]
fn only_canonical_decimals_become_integers() {
    for s in [
        &b"+1"[..],
        b"01",
        b"-0",
        b"00",
        b" 1",
        b"1 ",
        b"-",
        b"",
        b"1.0",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"000000000000000000001",
    ] {
        let lp = build(&[s]);
        assert!(matches!(lp.get(HDR_SIZE), LpValue::Str(x) if x == s), "{s:?}");
    }
    for s in [&b"0"[..], b"-9223372036854775808", b"9223372036854775807", b"-5"] {
        let lp = build(&[s]);
        assert!(matches!(lp.get(HDR_SIZE), LpValue::Int(_)), "{s:?}");
        assert_eq!(lp.get(HDR_SIZE).to_vec(), s);
    }
}

#[test]
fn string_encodings_and_backlen_boundaries() {
    let check = |n: usize, header: &[u8], backlen: &[u8]| {
        let s = vec![b'x'; n];
        let e = entry_bytes(&s);
        assert_eq!(&e[..header.len()], header, "len {n}");
        assert_eq!(&e[header.len()..header.len() + n], &s[..]);
        assert_eq!(&e[header.len() + n..], backlen, "len {n}");
        assert_eq!(lp_entry_size_for(&s), e.len());
        let lp = build(&[&s, b"z"]);
        assert_eq!(lp.get(lp.last().and_then(|p| lp.prev(p)).unwrap()), s.as_slice());
    };
    check(0, &[0x80], &[1]);
    check(63, &[0xBF], &[64]);
    check(64, &[0xE0, 64], &[66]);
    check(125, &[0xE0, 125], &[127]);
    check(126, &[0xE0, 126], &[0x01, 0x80]);
    check(4095, &[0xEF, 0xFF], &[32, 0x80 | 1]);
    check(4096, &[0xF0, 0, 0x10, 0, 0], &[32, 0x80 | 5]);
    // Encoded length 16382 still takes two backlen bytes; 16383 takes three (Redis's `< 16383`).
    check(16377, &[0xF0, 0xF9, 0x3F, 0, 0], &[0x7F, 0xFE]);
    check(16378, &[0xF0, 0xFA, 0x3F, 0, 0], &[0x00, 0xFF, 0xFF]);
    check(70000, &[0xF0, 0x70, 0x11, 0x01, 0], &[0x04, 0xA2, 0xF5]);
}

#[test]
fn backlen_round_trips_at_every_threshold() {
    for l in [1, 127, 128, 16382, 16383, 16384, 2_097_150, 2_097_151, 268_435_454, 268_435_455, 1 << 32] {
        let (bytes, n) = encode_backlen(l);
        assert_eq!(n, backlen_size(l));
        let mut buf = vec![0u8; 3];
        buf.extend_from_slice(&bytes[..n]);
        assert_eq!(prev_entry_size(&buf, buf.len()), l + n, "{l}");
    }
    assert_eq!([backlen_size(127), backlen_size(128), backlen_size(16382), backlen_size(16383)], [1, 2, 2, 3]);
    assert_eq!([backlen_size(2_097_150), backlen_size(2_097_151)], [3, 4]);
    assert_eq!([backlen_size(268_435_454), backlen_size(268_435_455)], [4, 5]);
}

#[test]
fn cursor_api() {
    let mut lp = build(&[b"a", b"b", b"c"]);
    let a = lp.first().unwrap();
    let b = lp.next(a).unwrap();
    let c = lp.next(b).unwrap();
    assert_eq!(lp.next(c), None);
    assert_eq!(lp.last(), Some(c));
    assert_eq!(lp.prev(c), Some(b));
    assert_eq!(lp.prev(a), None);
    assert_eq!([lp.seek(0), lp.seek(1), lp.seek(2), lp.seek(3)], [Some(a), Some(b), Some(c), None]);
    assert_eq!([lp.seek(-1), lp.seek(-3), lp.seek(-4)], [Some(c), Some(a), None]);
    assert_eq!(lp.seek(i64::MIN), None);

    let x = lp.insert_after(b, b"x");
    assert_eq!(lp.get(x), b"x");
    lp.insert_before(a, b"0");
    assert_eq!(contents(&lp), [&b"0"[..], b"a", b"b", b"x", b"c"]);
    let p = lp.seek(1).unwrap();
    lp.replace(p, &[b'y'; 200]);
    assert_eq!(lp.get(p), &[b'y'; 200][..]);
    lp.replace_int(p, -123456);
    assert_eq!(lp.get(p), b"-123456");
    assert_eq!(lp.delete(p), Some(p));
    assert_eq!(lp.get(p), b"b");
    let last = lp.last().unwrap();
    assert_eq!(lp.delete(last), None);
    assert_eq!(contents(&lp), [&b"0"[..], b"b", b"x"]);
    lp.push_front(b"f");
    assert_eq!(contents(&lp), [&b"f"[..], b"0", b"b", b"x"]);
    lp.clear();
    assert!(lp.is_empty());
}

#[test]
fn delete_range_clamps_to_the_end() {
    let items: Vec<Vec<u8>> = (0..10).map(|i| format!("v{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    let mut lp = build(&refs);
    lp.delete_range(2, 3);
    assert_eq!(lp.len(), 7);
    assert_eq!(contents(&lp)[2], b"v5");
    lp.delete_range(5, 100);
    assert_eq!(contents(&lp), [&b"v0"[..], b"v1", b"v5", b"v6", b"v7"]);
    lp.delete_range(5, 1);
    lp.delete_range(0, 0);
    assert_eq!(lp.len(), 5);
    lp.delete_range(0, 5);
    assert_eq!(lp, Listpack::new());
}

#[test]
fn find_with_skip() {
    let lp = build(&[b"f1", b"v1", b"10", b"f1", b"abc", b"-3"]);
    let first = lp.first().unwrap();
    assert_eq!(lp.find(first, b"f1", 1), lp.seek(0));
    // With skip = 1 only fields are compared: "f1" at index 3 is a value.
    assert_eq!(lp.find(lp.seek(1).unwrap(), b"f1", 1), lp.seek(3));
    assert_eq!(lp.find(first, b"10", 1), lp.seek(2));
    assert_eq!(lp.find(first, b"010", 0), None);
    assert_eq!(lp.find(first, b"-3", 1), None);
    assert_eq!(lp.find(first, b"-3", 0), lp.seek(5));
    assert_eq!(lp.find(first, b"nope", 0), None);
}

#[test]
fn values_compare_as_strings() {
    let mut scratch = [0u8; INTBUF_SIZE];
    assert_eq!(LpValue::Int(12), LpValue::Str(b"12"));
    assert_ne!(LpValue::Int(12), LpValue::Str(b"012"));
    assert_eq!(LpValue::Int(i64::MIN).to_bytes(&mut scratch), b"-9223372036854775808");
    assert_eq!(LpValue::Int(0).to_bytes(&mut scratch), b"0");
    assert_eq!(LpValue::Str(b"7").as_i64(), Some(7));
    assert_eq!(LpValue::Str(b"07").as_i64(), None);
    assert!(LpValue::Int(-5) == b"-5");
}

#[test]
fn count_saturates_at_65535() {
    let mut lp = Listpack::new();
    for i in 0..65_534 {
        lp.push_back_int(i % 100);
    }
    assert_eq!(&lp.as_bytes()[4..6], &[0xFE, 0xFF]);
    lp.push_back(b"x");
    assert_eq!(&lp.as_bytes()[4..6], &[0xFF, 0xFF]);
    lp.push_back(b"y");
    assert_eq!(lp.len(), 65_536);
    assert_eq!(lp.seek(65_535).map(|p| lp.get(p)), Some(LpValue::Str(b"y")));
    assert_eq!(lp.seek(-2).map(|p| lp.get(p)), Some(LpValue::Str(b"x")));
    assert_eq!(lp.seek(65_536), None);
    lp.delete_range(0, 10);
    assert_eq!(&lp.as_bytes()[4..6], &[0xFF, 0xFF]);
    assert_eq!(lp.len(), 65_526);
    assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_some());
}

#[test]
fn from_bytes_rejects_corruption() {
    let good = build(&[b"a", b"1", b"-1", b"hello", &[b'q'; 100]]).into_bytes();
    assert!(Listpack::from_bytes(good.clone()).is_some());
    let reject = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        assert!(Listpack::from_bytes(b).is_none());
    };
    reject(&|b| b.truncate(5));
    reject(&|b| b.clear());
    reject(&|b| b[0] += 1);
    reject(&|b| *b.last_mut().unwrap() = 0);
    reject(&|b| b[4] = 3);
    reject(&|b| b[6] = 0xF5); // unused encoding
    reject(&|b| b[6] = 0xFF); // early terminator
    reject(&|b| b[8] = 3); // wrong backlen
    reject(&|b| b[6] = 0xBF); // string length disagreeing with the backlen
    reject(&|b| b[21] = 0xE1); // string running past the end
    reject(&|b| b[6] = 0xF0); // 32-bit length header over the following entries
    reject(&|b| {
        let n = b.len();
        b[n - 2] = 0xFF;
    });
    // Unknown count is accepted.
    let mut b = good.clone();
    b[4] = 0xFF;
    b[5] = 0xFF;
    assert_eq!(Listpack::from_bytes(b).map(|lp| lp.len()), Some(5));
    // A 32-bit string header cut short by the terminator.
    assert!(Listpack::from_bytes(vec![9, 0, 0, 0, 1, 0, 0xF0, 1, 0xFF]).is_none());
    assert!(Listpack::from_bytes(vec![8, 0, 0, 0, 1, 0, 0xE0, 0xFF]).is_none());
}

#[test]
fn from_bytes_never_panics_on_mutations() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let base = build(&[b"a", b"12345", b"-70000", &[b'z'; 70], &[b'w'; 5000], b"5000000000"]).into_bytes();
    for _ in 0..20_000 {
        let mut b = base.clone();
        for _ in 0..=rng.below(3) {
            let i = rng.below(b.len());
            b[i] = rng.next() as u8;
        }
        if rng.below(4) == 0 {
            b.truncate(rng.below(b.len() + 1));
        }
        if let Some(lp) = Listpack::from_bytes(b) {
            // Anything accepted must be fully walkable both ways.
            let fwd: Vec<Vec<u8>> = contents(&lp);
            let mut back: Vec<Vec<u8>> = lp.iter().rev().map(|v| v.to_vec()).collect();
            back.reverse();
            assert_eq!(fwd, back);
            assert_eq!(lp.len(), fwd.len());
        }
    }
}

use crate::test_rng::XorShift;

fn random_value(rng: &mut XorShift) -> Vec<u8> {
    match rng.below(10) {
        0 => (rng.next() as i64).to_string().into_bytes(),
        1 => ((rng.next() % 10_000) as i64 - 5000).to_string().into_bytes(),
        2 => ((rng.next() % 20_000_000) as i64 - 10_000_000).to_string().into_bytes(),
        3 => [&b"01"[..], b"-0", b"+5", b"", b" 7"][rng.below(5)].to_vec(),
        4 => vec![b'L'; 60 + rng.below(5000)],
        _ => (0..rng.below(70)).map(|_| b'a' + rng.below(26) as u8).collect(),
    }
}

#[test]
fn randomized_against_a_vec_model() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    for round in 0..40 {
        let mut lp = Listpack::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        for _ in 0..400 {
            let v = random_value(&mut rng);
            let n = model.len();
            match rng.below(9) {
                0 => {
                    lp.push_back(&v);
                    model.push(v);
                }
                1 => {
                    lp.push_front(&v);
                    model.insert(0, v);
                }
                2 if n > 0 => {
                    let i = rng.below(n);
                    let pos = lp.seek(i as i64).unwrap();
                    if rng.below(2) == 0 {
                        assert_eq!(lp.insert_before(pos, &v), pos);
                        model.insert(i, v.clone());
                    } else {
                        let p = lp.insert_after(pos, &v);
                        assert_eq!(lp.get(p), v.as_slice());
                        model.insert(i + 1, v);
                    }
                }
                3 if n > 0 => {
                    let i = rng.below(n);
                    let pos = lp.seek(-(i as i64) - 1).unwrap();
                    lp.replace(pos, &v);
                    assert_eq!(lp.get(pos), v.as_slice());
                    model[n - 1 - i] = v;
                }
                4 if n > 0 => {
                    let i = rng.below(n);
                    let pos = lp.seek(i as i64).unwrap();
                    let next = lp.delete(pos);
                    model.remove(i);
                    assert_eq!(next.map(|p| lp.get(p).to_vec()), model.get(i).cloned());
                }
                5 if n > 0 => {
                    let i = rng.below(n);
                    let count = rng.below(6);
                    lp.delete_range(i, count);
                    model.drain(i..(i + count).min(n));
                }
                6 if n > 0 => {
                    let target = &model[rng.below(n)];
                    let skip = rng.below(3);
                    let expect = model.iter().step_by(skip + 1).position(|m| m == target);
                    let got = lp.find(lp.first().unwrap(), target, skip);
                    assert_eq!(got, expect.and_then(|k| lp.seek((k * (skip + 1)) as i64)));
                }
                7 => {
                    let i = rng.next() as i64 % 8;
                    let pos = lp.seek(i);
                    let idx = if i < 0 { n as i64 + i } else { i };
                    let expect = usize::try_from(idx).ok().and_then(|k| model.get(k));
                    assert_eq!(pos.map(|p| lp.get(p).to_vec()).as_ref(), expect);
                }
                _ => {
                    let x = rng.next() as i64 >> rng.below(64);
                    lp.push_back_int(x);
                    model.push(x.to_string().into_bytes());
                }
            }
            assert_eq!(lp.len(), model.len());
            assert_eq!(lp.bytes_len(), lp.as_bytes().len());
        }
        assert_eq!(contents(&lp), model, "round {round}");
        let mut back: Vec<Vec<u8>> = lp.iter().rev().map(|v| v.to_vec()).collect();
        back.reverse();
        assert_eq!(back, model);
        let expected_size: usize = HDR_SIZE + 1 + model.iter().map(|v| lp_entry_size_for(v)).sum::<usize>();
        assert_eq!(lp.bytes_len(), expected_size);
        let copy = Listpack::from_bytes(lp.as_bytes().to_vec()).expect("our own buffer validates");
        assert_eq!(copy, lp);
        assert!(lp.heap_size() >= lp.bytes_len());
    }
}

#[test]
fn iterator_meets_in_the_middle() {
    let lp = build(&[b"1", b"2", b"3", b"4", b"5"]);
    let mut it = lp.iter();
    assert_eq!(it.next(), Some(LpValue::Int(1)));
    assert_eq!(it.next_back(), Some(LpValue::Int(5)));
    assert_eq!(it.next(), Some(LpValue::Int(2)));
    assert_eq!(it.next_back(), Some(LpValue::Int(4)));
    assert_eq!(it.next(), Some(LpValue::Int(3)));
    assert_eq!(it.next_back(), None);
    assert_eq!(it.next(), None);
}
