//! Response heads exactly as Venice's Netty sender writes them (reference §1.4, §2.1–§2.3):
//! lower-case standard header names, the custom headers in their own spelling, this order.

use super::checksum::Algorithm;
use super::{HEADER_TRANSFER_STATUS, HEADER_TRANSFER_TYPE, TRANSFER_STATUS_COMPLETED, TRANSFER_TYPE_FILE, TRANSFER_TYPE_METADATA};

/// Netty's reason phrases for the statuses a sender emits.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Unknown Status",
    }
}

/// The head of a FILE response for a vbt receiver: Venice's head with `x-vbt-checksum` in place
/// of `content-md5` when it asked for the fast checksum, and the `x-vbt-*` lines of `extra`.
pub fn file_head_ext(name: &str, len: u64, algorithm: Algorithm, sum: &str, extra: &str) -> Vec<u8> {
    let checksum = match algorithm {
        Algorithm::Md5 => format!("content-md5: {sum}\r\n"),
        Algorithm::Xxh3_128 => format!("{}: {} {sum}\r\n", super::checksum::HEADER_FILE, super::checksum::XXH3_128),
    };
    format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {len}\r\ncontent-type: application/octet-stream\r\n\
         content-disposition: attachment; filename=\"{name}\"\r\n{checksum}{extra}\
         {HEADER_TRANSFER_TYPE}: {TRANSFER_TYPE_FILE}\r\n\r\n"
    )
    .into_bytes()
}

/// The head of a FILE response for a receiver that asked for the fast checksum only.
pub fn file_head_fast(name: &str, len: u64, xxh3_hex: &str) -> Vec<u8> {
    file_head_ext(name, len, Algorithm::Xxh3_128, xxh3_hex, "")
}

/// The head of one FILE response, Venice's; the `len` raw bytes of the file follow it.
pub fn file_head(name: &str, len: u64, md5_hex: &str) -> Vec<u8> {
    file_head_ext(name, len, Algorithm::Md5, md5_hex, "")
}

/// The whole METADATA response, head and JSON body.
pub fn metadata_response(json: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: application/json\r\n\
         {HEADER_TRANSFER_TYPE}: {TRANSFER_TYPE_METADATA}\r\n\r\n",
        json.len()
    )
    .into_bytes();
    out.extend_from_slice(json);
    out
}

/// The COMPLETE response: no body and, as in Venice, no content-length.
pub fn complete_response() -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\n{HEADER_TRANSFER_STATUS}: {TRANSFER_STATUS_COMPLETED}\r\n\r\n").into_bytes()
}

/// A refusal (`NettyUtils.setupResponseAndFlush`): text/plain with a content-length.
pub fn error_response(status: u16, body: &str) -> Vec<u8> {
    let mut out =
        format!("HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n", reason(status), body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// A 429 for a vbt receiver: Venice's refusal plus when to come back and the sender's load
/// (protocol::ext). Venice's receivers never get it: they get [`error_response`].
pub fn busy_response(body: &str, retry_after_secs: u32, active: usize, limit: usize) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 429 {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nretry-after: {retry_after_secs}\r\n{}: {active}/{limit}\r\n\r\n",
        reason(429),
        body.len(),
        super::ext::HEADER_LOAD
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}
