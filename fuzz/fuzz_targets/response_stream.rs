//! The receiver's response stream: arbitrary bytes through `parse_response_head`, driven the way
//! `client::reader::StreamReader` and `client::attempt` drive it (heads from a growing buffer,
//! bodies by the announced length, stop at COMPLETE, a refusal or an error), fed once whole and
//! once in pseudo-random pieces.
//!
//! Properties:
//! - the sequence of heads, bodies and the final outcome does not depend on how TCP splits the
//!   stream (errors compared by kind: the message may name a different first problem);
//! - "need more bytes" only below MAX_RESPONSE_HEAD; a head ends inside the buffer;
//! - every FILE head carries a safe file name and a 32-digit lower-case hex checksum; METADATA
//!   stays under its limit; a refusal is never 200;
//! - what vbt's sender writes for a decoded head (`protocol::response`) decodes to the same head.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vbt_fuzz::error::ErrorKind;
use vbt_fuzz::protocol::checksum::Algorithm;
use vbt_fuzz::protocol::decoder::{parse_response_head, ResponseHead};
use vbt_fuzz::protocol::{check_file_name, response, MAX_METADATA_BODY, MAX_RESPONSE_HEAD};

/// The client keeps a refusal's message only up to this size (client/attempt.rs).
const MAX_REFUSAL_BODY: u64 = 64 * 1024;

#[derive(Debug, PartialEq)]
enum Event {
    Head(ResponseHead),
    /// A whole body: its length and XXH3-64 (not the bytes, to keep failure reports short).
    Body(usize, u64),
    /// The stream ended between responses (clean close).
    Closed,
    /// The stream ended inside a head or a body.
    Truncated,
    Error(ErrorKind),
}

#[derive(Default)]
struct Driver {
    buf: Vec<u8>,
    start: usize,
    /// Body bytes still to come for the current response, and whether the stream ends after it.
    body_left: u64,
    last: bool,
    body: Vec<u8>,
    done: bool,
    events: Vec<Event>,
}

impl Driver {
    fn feed(&mut self, chunk: &[u8]) {
        if self.done {
            return;
        }
        self.buf.extend_from_slice(chunk);
        self.step();
    }

    fn step(&mut self) {
        while !self.done {
            if self.body_left > 0 {
                let avail = self.buf.len() - self.start;
                let take = self.body_left.min(avail as u64) as usize;
                if take == 0 {
                    return;
                }
                self.body.extend_from_slice(&self.buf[self.start..self.start + take]);
                self.start += take;
                self.body_left -= take as u64;
                if self.body_left == 0 {
                    self.end_body();
                }
                continue;
            }
            let pending = &self.buf[self.start..];
            match parse_response_head(pending) {
                Ok(None) => {
                    assert!(pending.len() < MAX_RESPONSE_HEAD, "need-more with {} bytes buffered", pending.len());
                    return;
                }
                Err(e) => {
                    self.events.push(Event::Error(e.kind()));
                    self.done = true;
                }
                Ok(Some((head, used))) => {
                    assert!(used > 0 && used <= pending.len(), "head of {used} bytes in {}", pending.len());
                    check_head(&head, &pending[..used]);
                    let (len, last) = match &head {
                        ResponseHead::File { len, .. } | ResponseHead::Metadata { len } | ResponseHead::Manifest { len, .. } => {
                            (*len, false)
                        }
                        ResponseHead::Complete => (0, true),
                        ResponseHead::Refused { body_len: Some(n), .. } if *n <= MAX_REFUSAL_BODY => (*n, true),
                        ResponseHead::Refused { .. } => (0, true),
                    };
                    self.start += used;
                    self.events.push(Event::Head(head));
                    self.body_left = len;
                    self.last = last;
                    if len == 0 {
                        self.end_body();
                    }
                }
            }
        }
    }

    fn end_body(&mut self) {
        let body = std::mem::take(&mut self.body);
        self.events.push(Event::Body(body.len(), xxhash_rust::xxh3::xxh3_64(&body)));
        if self.last {
            self.done = true;
        }
    }

    fn finish(mut self) -> Vec<Event> {
        if !self.done {
            let clean = self.body_left == 0 && self.start == self.buf.len();
            self.events.push(if clean { Event::Closed } else { Event::Truncated });
        }
        self.events
    }
}

fn check_head(head: &ResponseHead, raw: &[u8]) {
    match head {
        ResponseHead::File { name, len, checksum, .. } => {
            check_file_name(name).unwrap_or_else(|e| panic!("decoder passed an unsafe name: {e}"));
            assert_eq!(checksum.hex.len(), 32);
            assert!(checksum.hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{:?}", checksum.hex);
            let again = match checksum.algorithm {
                Algorithm::Md5 => response::file_head(name, *len, &checksum.hex),
                Algorithm::Xxh3_128 => response::file_head_fast(name, *len, &checksum.hex),
            };
            assert_eq!(reparse(&again), *head, "re-encoded as {:?}", String::from_utf8_lossy(&again));
        }
        ResponseHead::Metadata { len } => {
            assert!(*len <= MAX_METADATA_BODY);
            if *len <= 4096 {
                let whole = response::metadata_response(&vec![b'x'; *len as usize]);
                assert_eq!(reparse(&whole[..whole.len() - *len as usize]), *head);
            }
        }
        ResponseHead::Complete => {
            assert_eq!(reparse(&response::complete_response()), *head);
        }
        ResponseHead::Manifest { snapshot, len } => {
            assert!(*len <= vbt_fuzz::protocol::manifest::MAX_BODY);
            assert!(!snapshot.is_empty() && snapshot.len() <= 64 && snapshot.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        }
        ResponseHead::Refused { status, .. } => {
            assert_ne!(*status, 200, "refusal from {:.300}", String::from_utf8_lossy(raw));
            if (100..=999).contains(status) {
                let r = response::error_response(*status, "no");
                let want =
                    ResponseHead::Refused { status: *status, reason: response::reason(*status).to_string(), body_len: Some(2), busy: None };
                assert_eq!(reparse(&r[..r.len() - 2]), want);
            }
            if let ResponseHead::Refused { busy: Some(b), .. } = head {
                // What a busy sender says survives a round trip, within the bound.
                assert_eq!(*status, 429);
                assert!(b.retry_after_secs <= vbt_fuzz::protocol::ext::MAX_RETRY_AFTER_SECS);
                let r = response::busy_response("no", b.retry_after_secs, b.active as usize, b.limit as usize);
                assert!(matches!(reparse(&r[..r.len() - 2]), ResponseHead::Refused { busy: Some(got), .. } if got == *b));
            }
        }
    }
}

fn reparse(head: &[u8]) -> ResponseHead {
    let (h, n) = parse_response_head(head).expect("vbt's own head decodes").expect("vbt's own head is complete");
    assert_eq!(n, head.len());
    h
}

/// splitmix64: piece sizes from the input's hash, so each input has one fixed split.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fuzz_target!(|data: &[u8]| {
    let mut whole = Driver::default();
    whole.feed(data);
    let whole = whole.finish();

    let mut split = Driver::default();
    let mut state = xxhash_rust::xxh3::xxh3_64(data);
    let mut at = 0;
    while at < data.len() {
        let r = next(&mut state);
        // Mostly tiny pieces (heads cut anywhere), sometimes large ones.
        let piece = if r & 3 == 0 { 1 + (r >> 8) as usize % 4096 } else { 1 + (r >> 8) as usize % 8 };
        let end = (at + piece).min(data.len());
        split.feed(&data[at..end]);
        at = end;
    }
    let split = split.finish();
    assert_eq!(whole, split, "the decoded stream depends on how it was split");
});
