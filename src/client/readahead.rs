//! A read-ahead buffer under the TLS client. rustls asks its transport for about one record
//! (up to 16 KiB) per read, so a 1 GiB transfer cost about 66,000 `recvfrom` calls on the
//! receiver; reading the socket in large pieces here and handing rustls its records from memory
//! makes that a few thousand. Writes pass straight through (a receiver writes only requests).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read from the socket at once (per connection).
const AHEAD: usize = 256 * 1024;

pub(crate) struct ReadAhead<S> {
    inner: S,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<S> ReadAhead<S> {
    pub fn new(inner: S) -> ReadAhead<S> {
        ReadAhead { inner, buf: vec![0u8; AHEAD].into_boxed_slice(), start: 0, end: 0 }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.start == me.end {
            // A read as large as ours gains nothing from a copy.
            if out.remaining() >= me.buf.len() {
                return Pin::new(&mut me.inner).poll_read(cx, out);
            }
            let mut ahead = ReadBuf::new(&mut me.buf);
            ready!(Pin::new(&mut me.inner).poll_read(cx, &mut ahead))?;
            (me.start, me.end) = (0, ahead.filled().len());
            if me.end == 0 {
                return Poll::Ready(Ok(())); // end of stream
            }
        }
        let n = (me.end - me.start).min(out.remaining());
        out.put_slice(&me.buf[me.start..me.start + n]);
        me.start += n;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_come_from_one_large_read_and_the_stream_ends_cleanly() {
        let (mut a, b) = tokio::io::duplex(1 << 20);
        let data: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        a.write_all(&data).await.unwrap();
        drop(a);
        let mut r = ReadAhead::new(b);
        let mut got = Vec::new();
        let mut piece = [0u8; 4096];
        loop {
            let n = r.read(&mut piece).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&piece[..n]);
        }
        assert!(got == data);
    }
}
