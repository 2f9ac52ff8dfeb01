//! The in-memory duplex OpenSSL reads from and writes to instead of a socket.

use std::collections::VecDeque;
use std::io;

use bytes::Bytes;

/// OpenSSL's end of the pipe. Each `read` hands OpenSSL exactly one received datagram (DTLS
/// needs datagram boundaries) or `WouldBlock` when none is queued; each `write` from OpenSSL is
/// exactly one datagram to send (OpenSSL's DTLS writes one record or flight fragment per call,
/// sized to the MTU).
///
/// It also notes what the record layer needs to take over from OpenSSL after the handshake
/// (record headers are cleartext): the highest epoch and sequence number OpenSSL wrote, and the
/// last datagram it read.
#[derive(Debug, Default)]
pub(crate) struct MemChannel {
    pub(crate) incoming: VecDeque<Bytes>,
    pub(crate) outgoing: VecDeque<Bytes>,
    /// Highest (epoch, sequence number) of the records OpenSSL wrote.
    pub(crate) highest_written: Option<(u16, u64)>,
    /// The last datagram handed to OpenSSL.
    pub(crate) last_read: Option<Bytes>,
}

/// (epoch, sequence number) of each record header in a datagram, as far as they parse.
fn record_numbers(mut d: &[u8]) -> impl Iterator<Item = (u16, u64)> + '_ {
    std::iter::from_fn(move || {
        let (Some(&[e0, e1]), Some(&[s0, s1, s2, s3, s4, s5]), Some(&[l0, l1])) =
            (d.get(3..5), d.get(5..11), d.get(11..13))
        else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        d = d.get(13 + len..).unwrap_or_default();
        Some((
            u16::from_be_bytes([e0, e1]),
            u64::from_be_bytes([0, 0, s0, s1, s2, s3, s4, s5]),
        ))
    })
}

impl io::Read for MemChannel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(datagram) = self.incoming.pop_front() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        // OpenSSL reads with a buffer of its maximum record size; a longer datagram cannot
        // be valid DTLS and is truncated (and then rejected by OpenSSL), as a socket would.
        let n = datagram.len().min(buf.len());
        self.last_read = Some(datagram.clone());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), datagram.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }
}

impl io::Write for MemChannel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for n in record_numbers(buf) {
            if self.highest_written.is_none_or(|h| n > h) {
                self.highest_written = Some(n);
            }
        }
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
        assert_eq!(m.last_read.as_deref(), Some(&b"0123456789"[..]));
    }

    #[test]
    fn tracks_the_highest_record_number_written() {
        let mut m = MemChannel::default();
        // Two records in one datagram: epoch 0 seq 7, epoch 1 seq 0; then epoch 0 seq 9.
        let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 0xaa];
        d.extend_from_slice(&[20, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.write_all(&d).unwrap();
        assert_eq!(m.highest_written, Some((1, 0)));
        m.write_all(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0])
            .unwrap();
        assert_eq!(m.highest_written, Some((1, 0)));
        m.write_all(&[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 1, 2, 0, 0, 1, 2])
            .unwrap();
        assert_eq!(m.highest_written, Some((1, 258)));
    }
}
