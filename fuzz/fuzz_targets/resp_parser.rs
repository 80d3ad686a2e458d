//! Fuzz the request parser: any byte sequence, fed whole or in arbitrary pieces, must parse or be
//! rejected with a protocol error, never panic, and every argument range must lie inside its buffer.
#![no_main]

use ferrodis::resp::parse::{ArgSource, ParseLimits, Parsed, RequestParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, input)) = data.split_first() else { return };
    for authenticated in [true, false] {
        let limits = ParseLimits { max_bulk_len: 1 << 20, authenticated };
        let mut parser = RequestParser::default();
        let mut buf: Vec<u8> = Vec::new();
        let mut pos = 0;
        // Feed the input in chunks of `split + 1` bytes, parsing after each one like the server does.
        for chunk in input.chunks(split as usize + 1) {
            buf.extend_from_slice(chunk);
            loop {
                match parser.parse(&buf, pos, limits) {
                    Parsed::Incomplete => break,
                    Parsed::Empty { end } => {
                        assert!(end <= buf.len());
                        pos = end;
                        parser.reset();
                    }
                    Parsed::Error(_) => return,
                    Parsed::Command { source, end } => {
                        assert!(end <= buf.len());
                        let backing = if source == ArgSource::Query { &buf } else { &parser.inline_buf };
                        for &(s, e) in &parser.argv {
                            assert!(s <= e && e <= backing.len());
                        }
                        pos = end;
                        parser.reset();
                    }
                }
            }
        }
    }
});
