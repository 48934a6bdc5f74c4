//! A buffered reader over the response stream: heads through the strict decoder, bodies in
//! pieces borrowed from one fixed buffer (so memory does not grow with the transfer), and the
//! reader-idle limit on every read.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::timeout;

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::decoder::{parse_response_head, ResponseHead};
use crate::protocol::MAX_RESPONSE_HEAD;

pub(crate) struct StreamReader<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    idle: Duration,
}

impl<R: AsyncRead + Unpin> StreamReader<R> {
    pub fn new(inner: R, capacity: usize, idle: Duration) -> Self {
        let capacity = capacity.max(2 * MAX_RESPONSE_HEAD);
        StreamReader { inner, buf: vec![0u8; capacity].into_boxed_slice(), start: 0, end: 0, idle }
    }

    /// Reads more bytes after the buffered ones; 0 means the peer closed.
    async fn fill(&mut self) -> Result<usize> {
        if self.start > 0 && (self.start == self.end || self.end == self.buf.len()) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let read = timeout(self.idle, self.inner.read(&mut self.buf[self.end..])).await.map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("peer sent nothing for {}s before completing the transfer (reader idle)", self.idle.as_secs_f64()),
            )
        })?;
        let n = read.map_err(|e| Error::io("reading from peer", e))?;
        self.end += n;
        Ok(n)
    }

    /// The next response head; `None` when the peer closed cleanly between responses.
    pub async fn next_head(&mut self) -> Result<Option<ResponseHead>> {
        loop {
            if let Some((head, used)) = parse_response_head(&self.buf[self.start..self.end])? {
                self.start += used;
                return Ok(Some(head));
            }
            if self.fill().await? == 0 {
                if self.start == self.end {
                    return Ok(None);
                }
                return Err(Error::protocol("peer closed the connection in the middle of a response head"));
            }
        }
    }

    /// Up to `max` body bytes (at least one); an error if the peer closes first.
    pub async fn body_piece(&mut self, max: usize) -> Result<&[u8]> {
        if self.start == self.end && self.fill().await? == 0 {
            return Err(Error::protocol("peer closed the connection in the middle of a body"));
        }
        let n = max.min(self.end - self.start);
        let piece = &self.buf[self.start..self.start + n];
        self.start += n;
        Ok(piece)
    }

    /// Appends up to `want` body bytes to `buf` — the buffered ones first, the rest straight from
    /// the socket into `buf` (no second copy) — until `want` bytes or the buffer's room are in.
    pub async fn read_into(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<()> {
        let take = want.min(self.end - self.start);
        buf.extend_from_slice(&self.buf[self.start..self.start + take]);
        self.start += take;
        while buf.len() < want {
            // Into the buffer's spare room, never zeroed first (a TLS read returns a record or so
            // at a time, and zeroing the rest of a 1 MiB buffer before each cost more than the
            // copy); `take` keeps the read within this body.
            let mut limited = (&mut self.inner).take((want - buf.len()) as u64);
            let read = timeout(self.idle, limited.read_buf(buf)).await;
            let n = match read {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(Error::io("reading from peer", e)),
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("peer sent nothing for {}s before completing the transfer (reader idle)", self.idle.as_secs_f64()),
                    ));
                }
            };
            if n == 0 {
                return Err(Error::protocol("peer closed the connection in the middle of a body"));
            }
        }
        Ok(())
    }

    /// A whole body of `len` bytes, for the small ones (metadata, refusal messages).
    pub async fn body(&mut self, len: u64) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(len.min(1 << 20) as usize);
        while (out.len() as u64) < len {
            let want = (len - out.len() as u64).min(usize::MAX as u64) as usize;
            out.extend_from_slice(self.body_piece(want).await?);
        }
        Ok(out)
    }
}
