//! The one request of a transfer: what a Java receiver sends (byte for byte), and how a Java
//! sender parses and validates it, in the same order and with the same answers (reference §1.3).

use super::{PartitionId, TableFormat, HEADER_PARTITION_STATE_VERSION, HEADER_STORE_VERSION_STATE_VERSION, MAX_REQUEST_HEAD};
use crate::error::{Error, Result};

/// The request bytes a Java receiver sends: no Host, no Content-Length, no Connection.
#[cfg_attr(not(feature = "cli"), allow(dead_code))] // the tests' and tools' way to ask
pub fn encode_request(id: &PartitionId, format: TableFormat, ps_version: u8, svs_version: u8) -> Vec<u8> {
    encode_request_with(id, format, ps_version, svs_version, &super::ext::Asks::default())
}

/// The Java request, plus the `X-Vbt-*` lines of what a vbt receiver asks (Java senders ignore
/// them; with nothing asked the bytes are Java's).
pub fn encode_request_with(id: &PartitionId, format: TableFormat, ps_version: u8, svs_version: u8, asks: &super::ext::Asks) -> Vec<u8> {
    format!(
        "GET /{}/{}/{}/{} HTTP/1.1\r\n{HEADER_PARTITION_STATE_VERSION}: {ps_version}\r\n\
         {HEADER_STORE_VERSION_STATE_VERSION}: {svs_version}\r\n{}\r\n",
        id.store,
        id.version,
        id.partition,
        format,
        asks.header_lines()
    )
    .into_bytes()
}

/// A request head as read off the socket, before validation.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// Bytes of body announced by `content-length` (a GET has none; the server discards any).
    #[cfg_attr(not(feature = "cli"), allow(dead_code))] // read by the tools and the fuzz targets
    pub body_len: u64,
}

impl RawRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The vbt extensions the requester asked for (none from a Java receiver); `Err` names a
    /// malformed one.
    pub fn asks(&self) -> Result<super::ext::Asks, String> {
        super::ext::Asks::from_headers(|n| self.header(n))
    }

    /// The checksum the requester wants: XXH3-128 if it asked (only vbt receivers do), else MD5.
    pub fn checksum(&self) -> super::checksum::Algorithm {
        use super::checksum::{Algorithm, HEADER_ASK, XXH3_128};
        match self.header(HEADER_ASK) {
            Some(v) if v.split(',').any(|a| a.trim().eq_ignore_ascii_case(XXH3_128)) => Algorithm::Xxh3_128,
            _ => Algorithm::Md5,
        }
    }
}

/// Parses a request head from `buf`. `Ok(None)`: need more bytes. `Err`: the head cannot be
/// decoded (Venice answers 400 `Request decoding failed`).
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RawRequest, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        // Refused however it arrives: else a long head passed when one read brought all of it
        // and failed when it came in pieces (caught by fuzz/fuzz_targets/request_head.rs).
        Ok(httparse::Status::Complete(n)) if n > MAX_REQUEST_HEAD => {
            Err(Error::protocol(format!("request head larger than {MAX_REQUEST_HEAD} bytes")))
        }
        Ok(httparse::Status::Complete(n)) => {
            let mut body_len = 0;
            let mut hs = Vec::with_capacity(req.headers.len());
            for h in req.headers.iter() {
                let v = std::str::from_utf8(h.value).map_err(|_| Error::protocol(format!("header {} is not UTF-8", h.name)))?;
                if h.name.eq_ignore_ascii_case("content-length") {
                    body_len = v.trim().parse().map_err(|_| Error::protocol("bad content-length"))?;
                }
                if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(Error::protocol("request bodies with transfer-encoding are not accepted"));
                }
                hs.push((h.name.to_string(), v.to_string()));
            }
            Ok(Some((
                RawRequest {
                    method: req.method.unwrap_or_default().to_string(),
                    target: req.path.unwrap_or_default().to_string(),
                    headers: hs,
                    body_len,
                },
                n,
            )))
        }
        Ok(httparse::Status::Partial) if buf.len() >= MAX_REQUEST_HEAD => {
            Err(Error::protocol(format!("request head larger than {MAX_REQUEST_HEAD} bytes")))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(Error::protocol(format!("malformed request head: {e}"))),
    }
}

/// A refusal: the status and body Venice sends, and whether it closes the connection after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub body: String,
    pub close: bool,
}

impl Rejection {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Rejection { status, body: body.into(), close: false }
    }
    pub fn closing(status: u16, body: impl Into<String>) -> Self {
        Rejection { status, body: body.into(), close: true }
    }
}

/// What the local node serves, for the checks that compare against it.
#[derive(Debug, Clone, Copy)]
pub struct LocalProtocol {
    pub table_format: TableFormat,
    pub partition_state_version: u8,
    pub store_version_state_version: u8,
}

/// Validates a request in Venice's order (method, path shape, table format name, segment count,
/// numbers, format match, schema headers). Admission and snapshot checks come after, in the server.
pub fn validate(req: &RawRequest, local: &LocalProtocol) -> Result<(PartitionId, TableFormat), Rejection> {
    if req.method != "GET" {
        return Err(Rejection::new(405, "Request method is not supported"));
    }
    // Java: the raw path (query appended) split on '/', trailing empty strings dropped.
    let path = req.target.as_str();
    let mut parts: Vec<&str> = path.split('/').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() < 5 {
        return Err(Rejection::closing(
            500,
            format!(
                "Invalid request path {path}: expected /<store>/<version>/<partition>/<tableFormat> \
                 ({} segments, 4 needed)",
                parts.len().saturating_sub(1)
            ),
        ));
    }
    let Some(format) = TableFormat::from_name(parts[4]) else {
        return Err(Rejection::new(400, format!("Invalid table format: {} for fetching blob at {path}", parts[4])));
    };
    if parts.len() != 5 {
        return Err(Rejection::new(400, format!("Invalid request for fetching blob at {path}")));
    }
    let version = java_parse_int(parts[2]).map_err(|m| Rejection::new(400, m))?;
    let partition = java_parse_int(parts[3]).map_err(|m| Rejection::new(400, m))?;
    // The store name is used for directory names: refuse what could escape the base directory.
    let id = PartitionId::new(parts[1], version, partition)
        .map_err(|e| Rejection::new(400, format!("Invalid request for fetching blob at {path}: {e}")))?;
    if format != local.table_format {
        return Err(Rejection::new(
            404,
            format!(
                "Table format mismatch for {}, current snapshot format is {}, requested format is {}",
                id.replica(),
                local.table_format,
                format
            ),
        ));
    }
    check_schema_versions(req, local)?;
    Ok((id, format))
}

/// Venice's rule: absent or unparseable (not an int in 0..127) headers are ignored; a known
/// value must equal the local version exactly, else 412.
fn check_schema_versions(req: &RawRequest, local: &LocalProtocol) -> Result<(), Rejection> {
    let known = |name: &str| -> Option<u8> {
        req.header(name).and_then(|v| v.trim().parse::<i64>().ok()).filter(|n| (0..=127).contains(n)).map(|n| n as u8)
    };
    let ps = known(HEADER_PARTITION_STATE_VERSION);
    let svs = known(HEADER_STORE_VERSION_STATE_VERSION);
    let ps_bad = ps.is_some_and(|v| v != local.partition_state_version);
    let svs_bad = svs.is_some_and(|v| v != local.store_version_state_version);
    if ps_bad || svs_bad {
        let show = |v: Option<u8>| v.map_or("<unknown>".to_string(), |v| v.to_string());
        return Err(Rejection::new(
            412,
            format!(
                "Blob transfer schema version mismatch: requester PartitionState={}, \
                 StoreVersionState={}; local PartitionState={}, StoreVersionState={}",
                show(ps),
                show(svs),
                local.partition_state_version,
                local.store_version_state_version
            ),
        ));
    }
    Ok(())
}

/// `Integer.parseInt`: optional sign, decimal digits, fits in i32; Java's message otherwise.
fn java_parse_int(s: &str) -> Result<i32, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = s.parse::<i32>() {
            return Ok(n);
        }
    }
    Err(format!("For input string: \"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: LocalProtocol =
        LocalProtocol { table_format: TableFormat::BlockBased, partition_state_version: 24, store_version_state_version: 7 };

    fn raw(method: &str, target: &str, headers: &[(&str, &str)]) -> RawRequest {
        RawRequest {
            method: method.into(),
            target: target.into(),
            headers: headers.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            body_len: 0,
        }
    }

    #[test]
    fn encodes_the_java_request() {
        let id = PartitionId::new("myStore", 1, 0).unwrap();
        // The committed vector, by a path relative to this file so the fuzz crate (which compiles
        // this module by path) finds it too.
        let want = include_bytes!("../../tests/vectors/venice-wire/java-receiver.request.bin");
        let got = encode_request(&id, TableFormat::BlockBased, 24, 7);
        assert_eq!(got.len(), 154);
        assert_eq!(got, want.as_slice());
    }

    #[test]
    fn validation_order() {
        let v = |m, t, h: &[(&str, &str)]| validate(&raw(m, t, h), &LOCAL);
        assert_eq!(v("POST", "/a/1/0/X", &[]).unwrap_err().status, 405);
        let short = v("GET", "/test", &[]).unwrap_err();
        assert_eq!((short.status, short.close), (500, true));
        assert_eq!(v("GET", "/a/1/0/FOO", &[]).unwrap_err().status, 400);
        assert_eq!(v("GET", "/a/1/0/BLOCK_BASED_TABLE/x", &[]).unwrap_err().status, 400);
        assert_eq!(v("GET", "/a/x/0/BLOCK_BASED_TABLE", &[]).unwrap_err().body, "For input string: \"x\"");
        assert_eq!(v("GET", "/a/1/0/PLAIN_TABLE", &[]).unwrap_err().status, 404);
        let h = [(HEADER_PARTITION_STATE_VERSION, "23")];
        assert_eq!(v("GET", "/a/1/0/BLOCK_BASED_TABLE", &h).unwrap_err().status, 412);
        let h = [(HEADER_PARTITION_STATE_VERSION, "abc"), (HEADER_STORE_VERSION_STATE_VERSION, "300")];
        assert!(v("GET", "/a/1/0/BLOCK_BASED_TABLE", &h).is_ok());
        assert!(v("GET", "/a/1/0/BLOCK_BASED_TABLE/", &[]).is_ok());
        assert_eq!(v("GET", "/../1/0/BLOCK_BASED_TABLE", &[]).unwrap_err().status, 400);
    }

    #[test]
    fn head_limit_does_not_depend_on_reads() {
        let pad = "x".repeat(MAX_REQUEST_HEAD);
        let head = format!("GET /a/1/0/BLOCK_BASED_TABLE HTTP/1.1\r\nx-pad: {pad}\r\n\r\n");
        // In one read, and cut at the limit: refused both ways.
        assert!(parse_request_head(head.as_bytes()).is_err());
        assert!(parse_request_head(&head.as_bytes()[..MAX_REQUEST_HEAD]).is_err());
        // A head of exactly the limit still passes.
        let fit = &pad[..pad.len() - (head.len() - MAX_REQUEST_HEAD)];
        let head = format!("GET /a/1/0/BLOCK_BASED_TABLE HTTP/1.1\r\nx-pad: {fit}\r\n\r\n");
        assert_eq!(head.len(), MAX_REQUEST_HEAD);
        assert_eq!(parse_request_head(head.as_bytes()).unwrap().unwrap().1, MAX_REQUEST_HEAD);
    }
}
