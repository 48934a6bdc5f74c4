//! The sender's request path: `parse_request_head` on arbitrary bytes, then `validate` against
//! both table formats a node can serve.
//!
//! Properties:
//! - errors are protocol errors; "need more bytes" only below MAX_REQUEST_HEAD; a parsed head
//!   ends inside the input;
//! - the server feeds a growing buffer, so the answer must not depend on where reads end: every
//!   prefix says "need more" until the head is complete, then the same request at the same length
//!   (or, for a bad head, an error from then on);
//! - validation answers one of Venice's statuses, closing exactly on 500; the two table formats
//!   give the same answer up to the format check, then one 404 and one Ok/412;
//! - an accepted request names a valid partition, and the request a vbt receiver encodes for it
//!   parses and validates back to the same partition, with the checksum it asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vbt_fuzz::error::ErrorKind;
use vbt_fuzz::protocol::checksum::Algorithm;
use vbt_fuzz::protocol::ext::Asks;
use vbt_fuzz::protocol::request::{encode_request_with, parse_request_head, validate, LocalProtocol, RawRequest, Rejection};
use vbt_fuzz::protocol::{PartitionId, TableFormat, MAX_REQUEST_HEAD};

const LOCALS: [LocalProtocol; 2] = [
    LocalProtocol { table_format: TableFormat::BlockBased, partition_state_version: 24, store_version_state_version: 7 },
    LocalProtocol { table_format: TableFormat::PlainTable, partition_state_version: 24, store_version_state_version: 7 },
];

/// A parse outcome reduced to what the server acts on.
#[derive(Debug, PartialEq)]
enum Outcome {
    More,
    Head(String, String, Vec<(String, String)>, u64, usize),
    Bad,
}

fn outcome(buf: &[u8]) -> Outcome {
    match parse_request_head(buf) {
        Ok(None) => {
            assert!(buf.len() < MAX_REQUEST_HEAD, "asked for more bytes with {} buffered", buf.len());
            Outcome::More
        }
        Ok(Some((r, n))) => {
            assert!(n > 0 && n <= buf.len(), "head length {n} of {}", buf.len());
            Outcome::Head(r.method, r.target, r.headers, r.body_len, n)
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
            Outcome::Bad
        }
    }
}

/// An outcome for a panic message, without echoing a huge input.
fn brief(o: &Outcome) -> String {
    match o {
        Outcome::Head(m, t, h, b, n) => {
            format!("a {n}-byte head ({:.40} {:.80}, {} headers, body {b})", m, t, h.len())
        }
        other => format!("{other:?}"),
    }
}

/// Prefix lengths to try: all of them for short inputs, else a spread plus the ends.
fn cuts(len: usize, head_end: Option<usize>) -> Vec<usize> {
    let mut v: Vec<usize> = if len <= 64 { (0..len).collect() } else { (0..48).map(|i| i * len / 48).collect() };
    if let Some(n) = head_end {
        v.extend([n.saturating_sub(1), n]);
    }
    v.retain(|&c| c <= len);
    v
}

fn check_split_invariance(data: &[u8], full: &Outcome) {
    let head_end = match full {
        Outcome::Head(.., n) => Some(*n),
        _ => None,
    };
    let mut seen_bad = false;
    let mut cs = cuts(data.len(), head_end);
    cs.sort_unstable();
    for c in cs {
        let o = outcome(&data[..c]);
        match (&o, full) {
            (Outcome::More, _) => assert!(!seen_bad, "prefix {c}: need-more after an error"),
            (Outcome::Bad, Outcome::Bad) => seen_bad = true,
            (Outcome::Head(..), Outcome::Head(..)) => assert!(o == *full, "prefix {c}: {} vs {}", brief(&o), brief(full)),
            _ => panic!("prefix {c} gives {}, the whole input {}", brief(&o), brief(full)),
        }
        if let (Outcome::More, Some(n)) = (&o, head_end) {
            assert!(c < n, "prefix {c} needs more though the head ends at {n}");
        }
    }
}

fn check_rejection(r: &Rejection) {
    assert!([400, 404, 405, 412, 500].contains(&r.status), "status {}", r.status);
    assert_eq!(r.close, r.status == 500, "close on {}", r.status);
}

fn check_accepted(req: &RawRequest, local: &LocalProtocol, id: &PartitionId, format: TableFormat) {
    assert_eq!(req.method, "GET");
    assert_eq!(format, local.table_format);
    assert_eq!(PartitionId::new(id.store.clone(), id.version, id.partition).as_ref(), Ok(id));
    // What a vbt receiver would send for this partition comes back as the same partition.
    for ask in [false, true] {
        let asks = Asks { fast_checksum: ask, snapshot_info: ask, streams: if ask { 2 } else { 1 }, ..Default::default() };
        let bytes = encode_request_with(id, format, local.partition_state_version, local.store_version_state_version, &asks);
        let (again, n) = parse_request_head(&bytes).expect("encoded request parses").expect("encoded request is complete");
        assert_eq!(n, bytes.len());
        assert_eq!(validate(&again, local), Ok((id.clone(), format)));
        let want = if ask { Algorithm::Xxh3_128 } else { Algorithm::Md5 };
        assert_eq!(again.checksum(), want);
    }
}

fuzz_target!(|data: &[u8]| {
    let full = outcome(data);
    check_split_invariance(data, &full);
    let Ok(Some((req, _))) = parse_request_head(data) else { return };
    let _ = req.checksum();
    let answers = LOCALS.map(|l| validate(&req, &l));
    for (answer, local) in answers.iter().zip(&LOCALS) {
        match answer {
            Ok((id, format)) => check_accepted(&req, local, id, *format),
            Err(r) => check_rejection(r),
        }
    }
    // The served format matters only from the format check on: before it both answers agree;
    // past it exactly one format mismatches (404) and the other is accepted or fails on schema.
    match (&answers[0], &answers[1]) {
        (Err(a), Err(b)) if a == b => assert!(a.status != 404 && a.status != 412, "{a:?} for both formats"),
        (x, y) => {
            let mismatch = |r: &Result<_, Rejection>| matches!(r, Err(r) if r.status == 404);
            let matched = |r: &Result<_, Rejection>| matches!(r, Ok(_) | Err(Rejection { status: 412, .. }));
            assert!((mismatch(x) && matched(y)) || (matched(x) && mismatch(y)), "block-based: {x:?}, plain table: {y:?}");
        }
    }
});
