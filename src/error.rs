//! The core error type. Every failure carries a stable [`ErrorKind`] (the bindings map kinds to
//! result codes and exception codes) and a message that names the cause.

use std::fmt;

/// Stable classes of failure. Numbers are part of the C/Java contract: never reuse one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorKind {
    /// A bad argument from the caller (empty store name, negative partition, ...).
    InvalidArgument = 1,
    /// A configuration key with a value that cannot be used.
    Config = 2,
    /// Local file-system or socket I/O failed.
    Io = 3,
    /// A peer broke the protocol: malformed head, wrong size, bad metadata, hostile filename...
    Protocol = 4,
    /// A file's checksum did not match what the peer announced.
    Checksum = 5,
    /// A peer answered with a non-200 status.
    PeerStatus = 6,
    /// A time limit ran out.
    Timeout = 7,
    /// The operation was cancelled by the host.
    Cancelled = 8,
    /// No peer was found for the partition.
    NoPeers = 9,
    /// Every peer was tried and each one failed; the message lists the causes.
    AllPeersFailed = 10,
    /// A bootstrap of the same partition is already in flight on this node.
    AlreadyInProgress = 11,
    /// RocksDB refused an operation or the installed partition does not open.
    Storage = 12,
    /// The node is shutting down or already closed.
    Shutdown = 13,
    /// A bug in vbt (a caught panic, a broken invariant).
    Internal = 14,
    /// The partition asked for is not served here (a sender answers 404).
    NotFound = 15,
    /// The partition directory to install into already holds data.
    PartitionExists = 16,
    /// Blob transfer is switched off for this node (`blob.transfer.manager.enabled=false`).
    Disabled = 17,
}

impl ErrorKind {
    /// Every kind, in code order. The C result enum and Java's `Code` enum mirror this list
    /// (with 0 = OK before it); a test checks that they agree.
    pub const ALL: [ErrorKind; 17] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Config,
        ErrorKind::Io,
        ErrorKind::Protocol,
        ErrorKind::Checksum,
        ErrorKind::PeerStatus,
        ErrorKind::Timeout,
        ErrorKind::Cancelled,
        ErrorKind::NoPeers,
        ErrorKind::AllPeersFailed,
        ErrorKind::AlreadyInProgress,
        ErrorKind::Storage,
        ErrorKind::Shutdown,
        ErrorKind::Internal,
        ErrorKind::NotFound,
        ErrorKind::PartitionExists,
        ErrorKind::Disabled,
    ];

    /// The stable number of this kind (never 0, which means success in the bindings).
    pub fn code(self) -> u32 {
        self as u32
    }

    pub fn from_code(code: u32) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// SCREAMING_SNAKE name used by the C enum (`VBT_<NAME>`) and the Java `Code` enum.
    pub fn constant_name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Config => "CONFIG",
            ErrorKind::Io => "IO",
            ErrorKind::Protocol => "PROTOCOL",
            ErrorKind::Checksum => "CHECKSUM",
            ErrorKind::PeerStatus => "PEER_STATUS",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Cancelled => "CANCELLED",
            ErrorKind::NoPeers => "NO_PEERS",
            ErrorKind::AllPeersFailed => "ALL_PEERS_FAILED",
            ErrorKind::AlreadyInProgress => "ALREADY_IN_PROGRESS",
            ErrorKind::Storage => "STORAGE",
            ErrorKind::Shutdown => "SHUTDOWN",
            ErrorKind::Internal => "INTERNAL",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::PartitionExists => "PARTITION_EXISTS",
            ErrorKind::Disabled => "DISABLED",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Config => "configuration error",
            ErrorKind::Io => "I/O error",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Checksum => "checksum mismatch",
            ErrorKind::PeerStatus => "peer refused",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::NoPeers => "no peers",
            ErrorKind::AllPeersFailed => "all peers failed",
            ErrorKind::AlreadyInProgress => "already in progress",
            ErrorKind::Storage => "storage error",
            ErrorKind::Shutdown => "node shut down",
            ErrorKind::Internal => "internal error",
            ErrorKind::NotFound => "not found",
            ErrorKind::PartitionExists => "partition exists",
            ErrorKind::Disabled => "blob transfer disabled",
        }
    }
}

/// A failure with its kind and a human-readable message naming the cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// For [`ErrorKind::PeerStatus`]: the HTTP status the peer sent.
    status: Option<u16>,
    /// For [`ErrorKind::AllPeersFailed`]: each peer and its own error, so hosts need not parse
    /// the message (which names them too).
    peer_failures: Vec<PeerFailure>,
    /// For a 429 from a busy vbt sender: when to come back, and its load.
    busy: Option<crate::protocol::decoder::Busy>,
    /// A checksum mismatch of a file that went on from bytes kept from an earlier attempt.
    kept_start: bool,
}

/// A peer that was tried (or only probed) and failed, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerFailure {
    /// `host:port`.
    pub peer: String,
    pub error: Error,
    /// True when the peer failed the connectivity check, so no transfer was attempted from it.
    pub probe_only: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), status: None, peer_failures: Vec::new(), busy: None, kept_start: false }
    }
    pub fn peer_status(status: u16, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::PeerStatus,
            message: message.into(),
            status: Some(status),
            peer_failures: Vec::new(),
            busy: None,
            kept_start: false,
        }
    }
    /// A busy sender's word (429 with `retry-after` and `x-vbt-load`), kept for the peer order.
    pub(crate) fn with_busy(mut self, busy: Option<crate::protocol::decoder::Busy>) -> Self {
        self.busy = busy;
        self
    }
    pub(crate) fn busy(&self) -> Option<crate::protocol::decoder::Busy> {
        self.busy
    }
    /// Attaches each peer's failure (for [`ErrorKind::AllPeersFailed`]); the message is kept.
    pub fn with_peer_failures(mut self, failures: Vec<PeerFailure>) -> Self {
        self.peer_failures = failures;
        self
    }
    /// The peers that failed, each with its own error: set when every peer failed
    /// ([`ErrorKind::AllPeersFailed`]), empty otherwise.
    pub fn peer_failures(&self) -> &[PeerFailure] {
        &self.peer_failures
    }
    /// Venice's `fallback_reason` for a bootstrap that ended with this error and sends the host
    /// back to Kafka: `"no_candidates"` when no transfer was attempted (no peer given, discovery
    /// found none, or every peer failed the connectivity check), `"all_hosts_failed"` when at
    /// least one transfer was attempted and every one failed; `None` for other errors (cancel,
    /// bad argument, ...), which are not a fallback.
    pub fn fallback_reason(&self) -> Option<&'static str> {
        match self.kind {
            ErrorKind::NoPeers => Some("no_candidates"),
            ErrorKind::AllPeersFailed if self.peer_failures.iter().all(|f| f.probe_only) => Some("no_candidates"),
            ErrorKind::AllPeersFailed => Some("all_hosts_failed"),
            _ => None,
        }
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn status(&self) -> Option<u16> {
        self.status
    }
    /// Prefixes the message with context, keeping the kind.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Protocol, message)
    }
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Storage, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// An I/O error with the action and path that failed.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{what}: {err}"))
    }

    /// Marks a checksum mismatch of a file that went on from bytes kept from an earlier attempt:
    /// the kept start may be what was wrong (the file is removed), not the peer.
    pub(crate) fn of_kept_start(mut self) -> Self {
        self.kept_start = true;
        self
    }
    pub(crate) fn is_kept_start_mismatch(&self) -> bool {
        self.kept_start
    }

    /// A write failed because the disk is full (ENOSPC, EDQUOT): keeping files for a resume
    /// would only hold the space the host needs back.
    pub(crate) fn is_disk_full(&self) -> bool {
        self.kind == ErrorKind::Io && (self.message.contains("(os error 28)") || self.message.contains("(os error 122)"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn codes_are_dense_and_stable() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.code(), i as u32 + 1);
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
        }
        assert_eq!(ErrorKind::from_code(0), None);
    }
}
