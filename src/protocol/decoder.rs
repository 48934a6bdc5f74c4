//! The receiver's strict decoder for the sender's response stream (reference §2). It parses one
//! head at a time and classifies it; the caller reads the body (its length is in the head).
//! Anything a Venice sender would never produce is an error naming what was wrong.

use super::checksum::{Algorithm, Announced, HEADER_FILE, XXH3_128};
use super::ext::FileInfo;
use super::{
    check_file_name, HEADER_TRANSFER_STATUS, HEADER_TRANSFER_TYPE, MAX_METADATA_BODY, MAX_RESPONSE_HEAD, TRANSFER_STATUS_COMPLETED,
    TRANSFER_TYPE_METADATA,
};
use crate::error::{Error, Result};

/// One response head of the stream, classified as Venice's client classifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseHead {
    /// A checkpoint file: `len` raw bytes follow.
    File { name: String, len: u64, checksum: Announced, info: FileInfo },
    /// The partition metadata JSON: `len` bytes follow.
    Metadata { len: u64 },
    /// End of transfer: nothing follows.
    Complete,
    /// A vbt sender's manifest of snapshot `snapshot` (protocol::manifest): `len` bytes of JSON.
    Manifest { snapshot: String, len: u64 },
    /// A refusal: status, reason phrase, the length of the message body if announced, and what a
    /// busy vbt sender adds to its 429 for a vbt receiver (protocol::ext, `busy`).
    Refused { status: u16, reason: String, body_len: Option<u64>, busy: Option<Busy> },
}

/// A busy sender's word on when to come back and how loaded it is (`retry-after` seconds,
/// `x-vbt-load: <transfers in flight>/<admission limit>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy {
    pub retry_after_secs: u32,
    pub active: u32,
    pub limit: u32,
}

/// Parses one head at the front of `buf`. `Ok(None)`: more bytes are needed.
pub fn parse_response_head(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let used = match resp.parse(buf) {
        // Refused however it arrives: else a long head passed when one read brought all of it
        // and failed when it came in pieces (caught by fuzz/fuzz_targets/response_stream.rs).
        Ok(httparse::Status::Complete(n)) if n > MAX_RESPONSE_HEAD => {
            return Err(Error::protocol(format!("response head larger than {MAX_RESPONSE_HEAD} bytes")))
        }
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_RESPONSE_HEAD => {
            return Err(Error::protocol(format!("response head larger than {MAX_RESPONSE_HEAD} bytes")))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Error::protocol(format!("malformed response head: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let mut content_length: Option<u64> = None;
    let mut kind = None;
    let mut completed = false;
    let mut disposition = None;
    let mut md5 = None;
    let mut fast = None;
    let mut info = FileInfo::default();
    let (mut retry_after, mut load): (Option<u32>, Option<(u32, u32)>) = (None, None);
    let mut manifest = None;
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| Error::protocol(format!("response header {} is not UTF-8", h.name)))?.trim();
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value.parse().map_err(|_| Error::protocol(format!("bad content-length {value:?}")))?;
            if content_length.is_some_and(|m| m != n) {
                return Err(Error::protocol("conflicting content-length headers"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Error::protocol(format!(
                "response uses transfer-encoding {value:?}; Venice frames every body with content-length"
            )));
        } else if name.eq_ignore_ascii_case(HEADER_TRANSFER_TYPE) {
            kind = Some(value.to_string());
        } else if name.eq_ignore_ascii_case(HEADER_TRANSFER_STATUS) {
            completed = value == TRANSFER_STATUS_COMPLETED;
        } else if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("content-md5") {
            md5 = Some(value.to_string());
        } else if name.eq_ignore_ascii_case(HEADER_FILE) {
            fast = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("retry-after") {
            // Seconds only (a date form is ignored), bounded: a peer cannot park us for long.
            retry_after = value.parse::<u32>().ok().map(|n| n.min(super::ext::MAX_RETRY_AFTER_SECS));
        } else if name.eq_ignore_ascii_case(super::manifest::HEADER) {
            if !super::ext::token_ok(value) {
                return Err(Error::protocol(format!("{name} {value:?} is not a snapshot id")));
            }
            manifest = Some(value.to_string());
        } else if name.eq_ignore_ascii_case(super::ext::HEADER_LOAD) {
            load = value.split_once('/').and_then(|(a, l)| Some((a.trim().parse().ok()?, l.trim().parse().ok()?)));
        } else {
            info.take(name, value).map_err(Error::protocol)?;
        }
    }
    if status != 200 {
        let reason = resp.reason.unwrap_or("").to_string();
        let busy = match (status, retry_after, load) {
            (429, Some(retry_after_secs), Some((active, limit))) => Some(Busy { retry_after_secs, active, limit }),
            _ => None,
        };
        return Ok(Some((ResponseHead::Refused { status, reason, body_len: content_length, busy }, used)));
    }
    let head = if let Some(snapshot) = manifest {
        let len = content_length.ok_or_else(|| Error::protocol("manifest response has no content-length"))?;
        if len > super::manifest::MAX_BODY {
            return Err(Error::protocol(format!("manifest of {len} bytes is over the {} byte limit", super::manifest::MAX_BODY)));
        }
        ResponseHead::Manifest { snapshot, len }
    } else if kind.as_deref() == Some(TRANSFER_TYPE_METADATA) {
        let len = content_length.ok_or_else(|| Error::protocol("METADATA response has no content-length"))?;
        if len > MAX_METADATA_BODY {
            return Err(Error::protocol(format!("METADATA body of {len} bytes is over the 100 MiB limit")));
        }
        ResponseHead::Metadata { len }
    } else if completed {
        if content_length.unwrap_or(0) != 0 {
            return Err(Error::protocol("COMPLETE response announces a body"));
        }
        ResponseHead::Complete
    } else {
        let disposition = disposition.ok_or_else(|| Error::protocol("FILE response has no content-disposition (no file name)"))?;
        let name =
            file_name(&disposition).ok_or_else(|| Error::protocol(format!("no file name in content-disposition {disposition:?}")))?;
        check_file_name(&name)?;
        let len = content_length.ok_or_else(|| Error::protocol(format!("FILE response for {name:?} has no content-length")))?;
        // A fast checksum (only sent to a vbt receiver that asked) wins over MD5.
        let checksum = match (fast, md5) {
            (Some(v), _) => {
                let hex = v.strip_prefix(XXH3_128).map(str::trim).filter(|h| is_hex(h, 32)).ok_or_else(|| {
                    Error::protocol(format!("FILE response for {name:?} has {HEADER_FILE} {v:?}, not \"{XXH3_128} <32 hex digits>\""))
                })?;
                Announced { algorithm: Algorithm::Xxh3_128, hex: hex.to_ascii_lowercase() }
            }
            (None, Some(m)) if is_hex(&m, 32) => Announced { algorithm: Algorithm::Md5, hex: m.to_ascii_lowercase() },
            (None, Some(m)) => return Err(Error::protocol(format!("FILE response for {name:?} has content-md5 {m:?}, not 32 hex digits"))),
            (None, None) => return Err(Error::protocol(format!("FILE response for {name:?} has no content-md5"))),
        };
        ResponseHead::File { name, len, checksum, info }
    };
    Ok(Some((head, used)))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Java's `filename="(.+?)"`: the shortest non-empty run up to a closing quote.
fn file_name(disposition: &str) -> Option<String> {
    let start = disposition.find("filename=\"")? + "filename=\"".len();
    let rest = &disposition[start..];
    let end = rest.char_indices().skip(1).find(|(_, c)| *c == '"')?.0;
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::response;

    #[test]
    fn classifies_venice_heads() {
        let h = response::file_head("000001.sst", 5, "5d41402abc4b2a76b9719d911017c592");
        let (head, n) = parse_response_head(&h).unwrap().unwrap();
        assert_eq!(n, h.len());
        assert_eq!(
            head,
            ResponseHead::File {
                name: "000001.sst".into(),
                len: 5,
                checksum: Announced { algorithm: Algorithm::Md5, hex: "5d41402abc4b2a76b9719d911017c592".into() },
                info: FileInfo::default(),
            }
        );
        let m = response::metadata_response(b"{}");
        assert_eq!(parse_response_head(&m).unwrap().unwrap().0, ResponseHead::Metadata { len: 2 });
        let c = response::complete_response();
        assert_eq!(parse_response_head(&c).unwrap().unwrap().0, ResponseHead::Complete);
        let e = response::error_response(429, "busy");
        assert!(matches!(
            parse_response_head(&e).unwrap().unwrap().0,
            ResponseHead::Refused { status: 429, body_len: Some(4), busy: None, .. }
        ));
        let e = response::busy_response("busy", 7, 3, 3);
        let busy = Some(Busy { retry_after_secs: 7, active: 3, limit: 3 });
        assert!(
            matches!(parse_response_head(&e).unwrap().unwrap().0, ResponseHead::Refused { status: 429, body_len: Some(4), busy: b, .. } if b == busy)
        );
        // A peer cannot park a receiver for long, and a malformed word is no word.
        let far = b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nretry-after: 999999\r\nx-vbt-load: 1/1\r\n\r\n";
        assert!(matches!(
            parse_response_head(far).unwrap().unwrap().0,
            ResponseHead::Refused { busy: Some(Busy { retry_after_secs: crate::protocol::ext::MAX_RETRY_AFTER_SECS, .. }), .. }
        ));
        let bad = b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nretry-after: soon\r\nx-vbt-load: 1/1\r\n\r\n";
        assert!(matches!(parse_response_head(bad).unwrap().unwrap().0, ResponseHead::Refused { busy: None, .. }));
        assert!(parse_response_head(&h[..h.len() - 1]).unwrap().is_none());
    }

    #[test]
    fn rejects_what_venice_never_sends() {
        let bad = [
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-disposition: attachment; filename=\"a\"\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-md5: 5d41402abc4b2a76b9719d911017c592\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-disposition: attachment; filename=\"../x\"\r\ncontent-md5: 5d41402abc4b2a76b9719d911017c592\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-disposition: attachment; filename=\"a\"\r\ncontent-md5: 5d41402abc4b2a76b9719d911017c592\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-disposition: attachment; filename=\"a\"\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-Blob-Transfer-Type: METADATA\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            "garbage\r\n\r\n",
        ];
        for b in bad {
            assert!(parse_response_head(b.as_bytes()).is_err(), "{b}");
        }
    }

    #[test]
    fn head_limit_does_not_depend_on_reads() {
        let pad = "x".repeat(MAX_RESPONSE_HEAD);
        let head = format!("HTTP/1.1 200 OK\r\nX-Blob-Transfer-Status: Completed\r\nx-pad: {pad}\r\n\r\n");
        // In one read, and cut at the limit: refused both ways.
        assert!(parse_response_head(head.as_bytes()).is_err());
        assert!(parse_response_head(&head.as_bytes()[..MAX_RESPONSE_HEAD]).is_err());
        // A head of exactly the limit still passes.
        let fit = &pad[..pad.len() - (head.len() - MAX_RESPONSE_HEAD)];
        let head = format!("HTTP/1.1 200 OK\r\nX-Blob-Transfer-Status: Completed\r\nx-pad: {fit}\r\n\r\n");
        assert_eq!(head.len(), MAX_RESPONSE_HEAD);
        assert_eq!(parse_response_head(head.as_bytes()).unwrap(), Some((ResponseHead::Complete, MAX_RESPONSE_HEAD)));
    }
}
