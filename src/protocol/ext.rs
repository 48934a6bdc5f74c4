//! vbt ↔ vbt extensions of the wire (design.md §7). A vbt receiver asks with `X-Vbt-*` request
//! headers, which Venice's Java sender never reads; a vbt sender answers with `x-vbt-*` headers on
//! its FILE responses, which Venice's Java receiver never reads. A peer that did not ask gets
//! Venice's bytes exactly, and with `vbt.extensions.enabled=false` the request is Java's.
//!
//! | header                 | dir  | meaning                                                    |
//! |------------------------|------|------------------------------------------------------------|
//! | `X-Vbt-Checksum`       | req  | `xxh3-128`: answer with the fast checksum (`x-vbt-checksum`) |
//! | `X-Vbt-Snapshot-Info`  | req  | `1`: put the snapshot's identity and totals on FILE heads  |
//! | `x-vbt-snapshot`       | resp | the snapshot's id: changes whenever its content could      |
//! | `x-vbt-file-index`     | resp | this file's place in the snapshot's file list (0-based)    |
//! | `x-vbt-files-total`    | resp | files in the snapshot (what the receiver must end up with) |
//! | `x-vbt-bytes-total`    | resp | bytes in the snapshot                                      |
//! | `X-Vbt-Streams`        | req  | `n` (2–8): the receiver will join with n−1 more connections |
//! | `x-vbt-transfer`       | resp | token the extra connections present to join this transfer  |
//! | `X-Vbt-Join`           | req  | `<token>`: serve files of that transfer; COMPLETE, no METADATA |
//! | `X-Vbt-Resume`         | req  | `<snapshot id> <base64url bitmap>`: skip the files held    |
//! | `X-Vbt-Resume-From`    | req  | `<index>:<offset>[,…]` (with `X-Vbt-Resume`, ≤ 64): the receiver holds that file's first bytes |
//! | `x-vbt-offset`         | resp | on a FILE head so asked: the body is the file from this offset; the checksum is the whole file's |
//! | `X-Vbt-Manifest`       | req  | `1`: first answer with the snapshot's manifest, then read a second request (protocol::manifest) |
//! | `x-vbt-manifest`       | resp | `<snapshot id>` on that answer; JSON body: each file's name, size, checksum |
//! | `X-Vbt-Wait`           | req  | `<seconds>` (≤ 60): no slot free → wait in line that long before a 429 (server::admission) |
//! | `retry-after`          | resp | on a 429 to a receiver that asked for anything above: seconds until a slot is likely free |
//! | `x-vbt-load`           | resp | on that 429: `<transfers in flight>/<admission limit>`     |
//!
//! All since vbt 0.1. Files of one transfer are handed out from one queue to whichever of its
//! connections is free, so the streams stay balanced however the file sizes differ; METADATA and
//! COMPLETE end the first connection, COMPLETE alone ends a joined one.

use base64::Engine;

pub const ASK_SNAPSHOT_INFO: &str = "X-Vbt-Snapshot-Info";
pub const ASK_STREAMS: &str = "X-Vbt-Streams";
pub const ASK_JOIN: &str = "X-Vbt-Join";
pub const ASK_RESUME: &str = "X-Vbt-Resume";
pub const ASK_RESUME_FROM: &str = "X-Vbt-Resume-From";
pub const ASK_MANIFEST: &str = "X-Vbt-Manifest";
pub const ASK_WAIT: &str = "X-Vbt-Wait";
pub const SNAPSHOT: &str = "x-vbt-snapshot";
pub const FILE_INDEX: &str = "x-vbt-file-index";
pub const FILES_TOTAL: &str = "x-vbt-files-total";
pub const BYTES_TOTAL: &str = "x-vbt-bytes-total";
pub const TRANSFER: &str = "x-vbt-transfer";
pub const OFFSET: &str = "x-vbt-offset";
pub const HEADER_LOAD: &str = "x-vbt-load";

/// Longest wait a busy sender's `retry-after` can ask of a receiver.
pub const MAX_RETRY_AFTER_SECS: u32 = 60;
/// Longest a receiver may wait in a busy sender's line (`X-Vbt-Wait`; more is served as this).
pub const MAX_WAIT_SECS: u32 = 60;

/// Most connections one transfer may use.
pub const MAX_STREAMS: usize = 8;
/// Highest file index a resume bitmap can name (what `decode_bitmap` accepts).
pub const MAX_INDEX: usize = MAX_BITMAP / 4 * 3 * 8;
const MAX_BITMAP: usize = 48 * 1024;
/// Most partly received files one resume may name (one per stream in flight at a cut, with
/// room for a few cuts at different stream counts).
pub const MAX_RESUME_FROM: usize = 64;
/// Longest snapshot id or transfer token accepted (ours are 32 hex digits).
const MAX_TOKEN: usize = 64;

/// What a receiver asks for beyond Venice's request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Asks {
    pub fast_checksum: bool,
    pub snapshot_info: bool,
    /// More than 1: the receiver will open `streams - 1` more connections.
    pub streams: usize,
    /// Join an existing transfer instead of starting one.
    pub join: Option<String>,
    /// Files already held from this snapshot (by index).
    pub resume: Option<Resume>,
    /// Answer with the snapshot's manifest first, then read the request for the files.
    pub manifest: bool,
    /// Seconds this receiver waits in line when no slot is free (0: answer 429 at once).
    pub wait_secs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume {
    pub snapshot: String,
    pub held: Vec<usize>,
    /// Files held in part: (index, bytes held from the start). The sender sends each from there.
    pub from: Vec<(usize, u64)>,
}

impl Asks {
    /// The receiver asked for something of vbt's: it is a vbt receiver that reads vbt's answers.
    pub fn from_vbt(&self) -> bool {
        self.fast_checksum
            || self.snapshot_info
            || self.streams > 1
            || self.join.is_some()
            || self.resume.is_some()
            || self.manifest
            || self.wait_secs > 0
    }

    /// The header lines to add to the request (empty when nothing is asked).
    pub fn header_lines(&self) -> String {
        let mut s = String::new();
        if self.fast_checksum {
            s += &format!("{}: {}\r\n", super::checksum::HEADER_ASK, super::checksum::XXH3_128);
        }
        if self.snapshot_info {
            s += &format!("{ASK_SNAPSHOT_INFO}: 1\r\n");
        }
        if self.streams > 1 {
            s += &format!("{ASK_STREAMS}: {}\r\n", self.streams.min(MAX_STREAMS));
        }
        if let Some(t) = &self.join {
            s += &format!("{ASK_JOIN}: {t}\r\n");
        }
        if let Some(r) = &self.resume {
            s += &format!("{ASK_RESUME}: {} {}\r\n", r.snapshot, encode_bitmap(&r.held));
            if !r.from.is_empty() {
                let from: Vec<String> = r.from.iter().take(MAX_RESUME_FROM).map(|(i, o)| format!("{i}:{o}")).collect();
                s += &format!("{ASK_RESUME_FROM}: {}\r\n", from.join(","));
            }
        }
        if self.manifest {
            s += &format!("{ASK_MANIFEST}: 1\r\n");
        }
        if self.wait_secs > 0 {
            s += &format!("{ASK_WAIT}: {}\r\n", self.wait_secs.min(MAX_WAIT_SECS));
        }
        s
    }

    /// Reads the asks from a request's headers. A Java receiver sends none of them. A header
    /// of ours with a value we cannot read is an error naming it (the sender answers 400): an
    /// extension the receiver asked for is never silently dropped, since serving an ordinary
    /// transfer instead (a second full transfer for a malformed join, every file for a
    /// malformed resume) is not what it asked for. A stream count above [`MAX_STREAMS`] is
    /// served with [`MAX_STREAMS`] (documented: the sender caps it).
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Result<Asks, String> {
        let bad = |name: &str, v: &str, want: &str| {
            let shown: String = v.chars().take(80).collect();
            format!("malformed {name} header {shown:?}: expected {want}")
        };
        let snapshot_info = match header(ASK_SNAPSHOT_INFO).map(str::trim) {
            None => false,
            Some("1") => true,
            Some(v) => return Err(bad(ASK_SNAPSHOT_INFO, v, "1")),
        };
        let streams = match header(ASK_STREAMS).map(str::trim) {
            None => 1,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => n.min(MAX_STREAMS),
                _ => return Err(bad(ASK_STREAMS, v, "a stream count of 1 or more")),
            },
        };
        let join = match header(ASK_JOIN).map(str::trim) {
            None => None,
            Some(t) if token_ok(t) => Some(t.to_string()),
            Some(t) => return Err(bad(ASK_JOIN, t, "one transfer token (1-64 letters, digits or '-')")),
        };
        let mut resume = match header(ASK_RESUME).map(str::trim) {
            None => None,
            Some(v) => {
                let want = "<snapshot id> <base64url bitmap>";
                let (id, bits) = v.split_once(' ').ok_or_else(|| bad(ASK_RESUME, v, want))?;
                if !token_ok(id) {
                    return Err(bad(ASK_RESUME, v, want));
                }
                let held = decode_bitmap(bits.trim()).ok_or_else(|| bad(ASK_RESUME, v, want))?;
                Some(Resume { snapshot: id.to_string(), held, from: Vec::new() })
            }
        };
        if let Some(v) = header(ASK_RESUME_FROM).map(str::trim) {
            let want = "<index>:<offset>[,<index>:<offset>…] (at most 64), with X-Vbt-Resume";
            let from = parse_resume_from(v).ok_or_else(|| bad(ASK_RESUME_FROM, v, want))?;
            match resume.as_mut() {
                Some(r) => r.from = from,
                None => return Err(bad(ASK_RESUME_FROM, v, want)),
            }
        }
        let manifest = match header(ASK_MANIFEST).map(str::trim) {
            None => false,
            Some("1") => true,
            Some(v) => return Err(bad(ASK_MANIFEST, v, "1")),
        };
        let wait_secs = match header(ASK_WAIT).map(str::trim) {
            None => 0,
            Some(v) => match v.parse::<u64>() {
                Ok(n) => n.min(MAX_WAIT_SECS.into()) as u32,
                Err(_) => return Err(bad(ASK_WAIT, v, "a number of seconds")),
            },
        };
        Ok(Asks { fast_checksum: false, snapshot_info, streams, join, resume, manifest, wait_secs })
    }
}

/// `<index>:<offset>` pairs, comma-separated: indices below [`MAX_INDEX`], each named once.
fn parse_resume_from(v: &str) -> Option<Vec<(usize, u64)>> {
    let mut from: Vec<(usize, u64)> = Vec::new();
    for pair in v.split(',') {
        let (i, o) = pair.trim().split_once(':')?;
        let (i, o) = (i.parse::<usize>().ok()?, o.parse::<u64>().ok()?);
        if i >= MAX_INDEX || from.len() >= MAX_RESUME_FROM || from.iter().any(|(j, _)| *j == i) {
            return None;
        }
        from.push((i, o));
    }
    Some(from)
}

pub(crate) fn token_ok(t: &str) -> bool {
    !t.is_empty() && t.len() <= MAX_TOKEN && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Held file indices as a bitmap in base64url: 1,600 files fit in 268 characters.
pub fn encode_bitmap(held: &[usize]) -> String {
    // At least one byte: an empty bitmap would leave the header without its second field
    // (a resume of partial files only), which every sender refuses as malformed.
    let len = held.iter().max().map_or(1, |m| m / 8 + 1);
    let mut bytes = vec![0u8; len];
    for &i in held {
        bytes[i / 8] |= 1 << (i % 8);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The indices of a bitmap; `None` if it is not base64url or absurdly large.
pub fn decode_bitmap(s: &str) -> Option<Vec<usize>> {
    if s.len() > MAX_BITMAP {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()?;
    Some((0..bytes.len() * 8).filter(|i| bytes[i / 8] & (1 << (i % 8)) != 0).collect())
}

/// What a vbt sender said about the snapshot on a FILE head (all absent from a Java sender).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileInfo {
    pub snapshot: Option<String>,
    pub index: Option<usize>,
    pub files_total: Option<usize>,
    pub bytes_total: Option<u64>,
    pub transfer: Option<String>,
    /// The body starts at this offset of the file (the receiver asked with `X-Vbt-Resume-From`).
    pub offset: Option<u64>,
}

impl FileInfo {
    /// Takes one response header if it is ours; `Err` names a malformed one.
    pub fn take(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("{name} {v:?} is not a number"));
        let tok = |v: &str| if token_ok(v) { Ok(v.to_string()) } else { Err(format!("{name} {v:?} is not a token")) };
        if name.eq_ignore_ascii_case(SNAPSHOT) {
            self.snapshot = Some(tok(value)?);
        } else if name.eq_ignore_ascii_case(FILE_INDEX) {
            self.index = Some(num(value)? as usize);
        } else if name.eq_ignore_ascii_case(FILES_TOTAL) {
            self.files_total = Some(num(value)? as usize);
        } else if name.eq_ignore_ascii_case(BYTES_TOTAL) {
            self.bytes_total = Some(num(value)?);
        } else if name.eq_ignore_ascii_case(TRANSFER) {
            self.transfer = Some(tok(value)?);
        } else if name.eq_ignore_ascii_case(OFFSET) {
            self.offset = Some(num(value)?);
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// The header lines a sender adds to a FILE head.
    pub fn header_lines(&self) -> String {
        let mut s = String::new();
        if let Some(v) = &self.snapshot {
            s += &format!("{SNAPSHOT}: {v}\r\n");
        }
        if let Some(v) = self.index {
            s += &format!("{FILE_INDEX}: {v}\r\n");
        }
        if let Some(v) = self.files_total {
            s += &format!("{FILES_TOTAL}: {v}\r\n");
        }
        if let Some(v) = self.bytes_total {
            s += &format!("{BYTES_TOTAL}: {v}\r\n");
        }
        if let Some(v) = &self.transfer {
            s += &format!("{TRANSFER}: {v}\r\n");
        }
        if let Some(v) = self.offset {
            s += &format!("{OFFSET}: {v}\r\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_round_trip() {
        for held in [vec![], vec![0], vec![7, 8], vec![1, 3, 1599], (0..100).collect()] {
            assert_eq!(decode_bitmap(&encode_bitmap(&held)).unwrap(), held);
        }
        assert_eq!(encode_bitmap(&(0..1600).collect::<Vec<_>>()).len(), 267);
        // Nothing held whole (only partial files): still a bitmap a sender reads.
        let lines = Asks { resume: Some(Resume { snapshot: "00ff".into(), held: vec![], from: vec![(3, 10)] }), ..Default::default() }
            .header_lines();
        let value = lines.lines().find_map(|l| l.strip_prefix("X-Vbt-Resume: ")).unwrap();
        let get = |n: &str| match n {
            ASK_RESUME => Some(value),
            ASK_RESUME_FROM => Some("3:10"),
            _ => None,
        };
        assert_eq!(Asks::from_headers(get).unwrap().resume.unwrap().held, Vec::<usize>::new());
        assert!(decode_bitmap("not base64!").is_none());
    }

    #[test]
    fn asks_round_trip_and_garbage_is_ignored() {
        let a = Asks {
            fast_checksum: false,
            snapshot_info: true,
            streams: 3,
            join: Some("abc123".into()),
            resume: Some(Resume { snapshot: "00ff".into(), held: vec![0, 2], from: vec![(1, 4096), (5, 0)] }),
            manifest: true,
            wait_secs: 30,
        };
        let lines = a.header_lines();
        let pairs: Vec<(String, String)> = lines
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let get = |n: &str| pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
        assert_eq!(Asks::from_headers(get), Ok(a));
        let only = |name: &'static str, value: &'static str| move |n: &str| (n == name).then_some(value);
        assert_eq!(Asks::from_headers(only(ASK_STREAMS, "999999")).unwrap().streams, MAX_STREAMS);
        assert_eq!(Asks::from_headers(only(ASK_WAIT, "9223372036854775807")).unwrap().wait_secs, MAX_WAIT_SECS);
        assert_eq!(Asks::from_headers(only(ASK_WAIT, "0")).unwrap(), Asks { streams: 1, ..Default::default() });
        // Issue #18: a malformed ask is refused naming the header, never served as a plain transfer.
        let long = "a".repeat(200);
        let long: &'static str = Box::leak(long.into_boxed_str());
        for (name, value) in [
            (ASK_JOIN, "../../etc"),
            (ASK_JOIN, long),
            (ASK_JOIN, ""),
            (ASK_JOIN, "tok1 tok2"),
            (ASK_JOIN, "tok!"),
            (ASK_RESUME, "x"),
            (ASK_RESUME, "00ff not+base64url"),
            (ASK_RESUME_FROM, "1:10"), // without X-Vbt-Resume
            (ASK_STREAMS, "two"),
            (ASK_STREAMS, "0"),
            (ASK_SNAPSHOT_INFO, "yes"),
            (ASK_MANIFEST, "please"),
            (ASK_WAIT, "-1"),
            (ASK_WAIT, "30s"),
        ] {
            let e = Asks::from_headers(only(name, value)).unwrap_err();
            assert!(e.contains(name), "{name}: {value:?}: {e}");
        }
        let many: String = (0..=MAX_RESUME_FROM).map(|i| format!("{i}:1")).collect::<Vec<_>>().join(",");
        let many: &'static str = Box::leak(many.into_boxed_str());
        for value in ["1", "1:", ":5", "1:-1", "1:512KB", "1:2,1:3", "99999999999:1", "1:99999999999999999999", many] {
            let get = |n: &str| match n {
                ASK_RESUME => Some("00ff AQ"),
                ASK_RESUME_FROM => Some(value),
                _ => None,
            };
            let e = Asks::from_headers(get).unwrap_err();
            assert!(e.contains(ASK_RESUME_FROM), "{value:?}: {e}");
        }
    }
}
