//! The in-memory duplex OpenSSL reads from and writes to instead of a socket.

use std::collections::VecDeque;
use std::io;

use bytes::Bytes;

/// OpenSSL's end of the pipe. Each `read` hands OpenSSL exactly one received datagram (DTLS
/// needs datagram boundaries) or `WouldBlock` when none is queued; each `write` from OpenSSL is
/// exactly one datagram to send (OpenSSL's DTLS writes one record or flight fragment per call,
/// sized to the MTU).
#[derive(Debug, Default)]
pub(crate) struct MemChannel {
    pub(crate) incoming: VecDeque<Bytes>,
    pub(crate) outgoing: VecDeque<Bytes>,
}

impl io::Read for MemChannel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(datagram) = self.incoming.pop_front() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        // OpenSSL reads with a buffer of its maximum record size; a longer datagram cannot
        // be valid DTLS and is truncated (and then rejected by OpenSSL), as a socket would.
        let n = datagram.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), datagram.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }
}

impl io::Write for MemChannel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.push_back(Bytes::copy_from_slice(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn one_datagram_per_read_and_write() {
        let mut m = MemChannel::default();
        let mut buf = [0u8; 8];
        assert_eq!(
            m.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        m.incoming.push_back(Bytes::from_static(b"abc"));
        m.incoming.push_back(Bytes::from_static(b"0123456789"));
        assert_eq!(m.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(m.read(&mut buf).unwrap(), 8);
        m.write_all(b"xy").unwrap();
        m.write_all(b"z").unwrap();
        assert_eq!(m.outgoing.len(), 2);
    }
}
