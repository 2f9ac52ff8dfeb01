//! Hostile media into a connected peer connection (issue 15, "the same for media"): datagrams
//! in the RTP/RTCP range from a stranger or forged as the peer (no SRTP keys), and malformed
//! payloads from an authenticated but broken peer (valid SRTP around garbage VP8 payload
//! descriptors, empty payloads, unknown payload types). Each is a counted drop; the audio
//! stream beside it and the video frames after it arrive byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use bytes::Bytes;
use ferrtc_media_codecs::vp8::{PictureIdMode, Vp8Packetizer};
use ferrtc_media_codecs::Packetizer;
use ferrtc_peerconnection::{Datagram, MediaMode, PeerConnectionState};
use ferrtc_rtp::{RtpHeader, RtpPacket};
use ferrtc_testkit::Sim;

mod common;
use common::media_pc::*;

fn rtp(pt: u8, seq: u16, ts: u32, marker: bool, payload: Bytes) -> RtpPacket {
    RtpPacket {
        header: RtpHeader {
            marker,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc: 0,
            csrcs: Default::default(),
            extensions: None,
        },
        payload,
        padding: 0,
    }
}

#[test]
fn hostile_media_is_dropped_and_counted_and_the_streams_keep_flowing() {
    let AvPair {
        mut sim,
        a,
        b,
        video,
        audio,
        b_video,
        b_audio,
    } = av_pair(11, Duration::from_millis(10));

    // 1. No keys: RTP- and RTCP-looking datagrams (RFC 7983 first byte 128..=191) forged with
    //    A's address and from a stranger, each an authentication failure or a malformed drop.
    let forged: Vec<Vec<u8>> = vec![
        vec![0x80; 12], // bare RTP header
        vec![
            0x80, 96, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
            12, 13, 14,
        ],
        vec![0x80, 200, 0, 6, 0, 0, 0, 1], // SR header, length past the end
        vec![0x81, 201, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2], // RR, no SRTCP trailer
        vec![
            0x90, 96, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff,
        ], // extension overrun
        vec![0xbf; 1500],                  // 31 CSRCs and padding
        vec![0x80],                        // one byte
    ];
    let before = pc(&mut sim, b).media_drops();
    let now = sim.now();
    for (i, d) in forged.iter().enumerate() {
        let source = if i % 2 == 0 {
            a
        } else {
            "10.9.9.9:9999".parse().unwrap()
        };
        let _ = pc(&mut sim, b).handle_receive(
            now,
            Datagram {
                source,
                destination: b,
                contents: Bytes::from(d.clone()),
            },
        );
    }
    let after = pc(&mut sim, b).media_drops();
    let counted = |d: ferrtc_peerconnection::media::MediaDrops| {
        d.auth_failed + d.malformed + d.srtp_other + d.replayed + d.unrouted + d.refused
    };
    // Only datagrams from the selected pair's remote address reach the engine; each of those
    // is counted, none is delivered.
    assert!(
        counted(after) > counted(before),
        "forged datagrams counted: {before:?} -> {after:?}"
    );
    assert!(frames(&sim, b, b_video).is_empty());
    assert_eq!(
        pc(&mut sim, b).connection_state(),
        PeerConnectionState::Connected
    );

    // 2. An authenticated but broken sender: A's video goes RTP-level and writes garbage VP8
    //    payloads, an empty payload and a payload type that was not negotiated, between good
    //    frames it packetizes itself; Opus frames flow on the audio transceiver meanwhile.
    let vp8_pt = pc(&mut sim, a)
        .transceiver(video)
        .unwrap()
        .codecs
        .iter()
        .find(|c| c.mime_type.eq_ignore_ascii_case("video/VP8"))
        .unwrap()
        .payload_type;
    pc(&mut sim, a)
        .set_media_mode(video, MediaMode::Rtp)
        .unwrap();
    let vp8 = vp8_frames();
    let opus = opus_packets();
    let garbage: [&[u8]; 4] = [
        &[0xff],                         // X set, no extension byte
        &[0x90, 0x80],                   // I set, PictureID cut
        &[0xf0, 0xe0, 0xff, 0xff, 0xff], // every optional field, truncated
        &[],                             // empty payload
    ];
    let mut p = Vp8Packetizer::new(PictureIdMode::Long, 1);
    let mut seq: u16 = 1000;
    let mut ts: u32 = 0;
    let half = opus.len() / 2;
    let mut send_vp8 = |sim: &mut Sim<Peer>, seq: &mut u16, ts: u32, f: &Bytes| {
        let now = sim.now();
        for (payload, marker) in p.packetize(f.clone(), 1100).unwrap() {
            pc(sim, a)
                .write_rtp(now, video, rtp(vp8_pt, *seq, ts, marker, payload))
                .unwrap();
            *seq = seq.wrapping_add(1);
        }
    };
    let send_opus = |sim: &mut Sim<Peer>, i: usize| {
        let f = frame(opus[i].clone(), 960 * i as u32, sim.now());
        let now = sim.now();
        pc(sim, a).write_frame(now, audio, f).unwrap();
    };
    // Good frames first, with the first half of the audio.
    for (i, f) in vp8.iter().enumerate() {
        send_vp8(&mut sim, &mut seq, ts, f);
        ts = ts.wrapping_add(3000);
        if i < half {
            send_opus(&mut sim, i);
        }
        sim.run_for(Duration::from_millis(20)).unwrap();
    }
    // Then the garbage, each its own "frame", with the rest of the audio beside it.
    let mut bad = 0;
    for (k, i) in (vp8.len().min(half)..opus.len()).enumerate() {
        let g = Bytes::from_static(garbage[k % garbage.len()]);
        let now = sim.now();
        if pc(&mut sim, a)
            .write_rtp(now, video, rtp(vp8_pt, seq, ts, true, g))
            .is_ok()
        {
            bad += 1;
        }
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(3000);
        // An unnegotiated payload type is refused at the sender (a clear error).
        assert!(pc(&mut sim, a)
            .write_rtp(now, video, rtp(77, seq, ts, true, Bytes::from_static(b"x")))
            .is_err());
        send_opus(&mut sim, i);
        sim.run_for(Duration::from_millis(20)).unwrap();
    }
    // The receiver lost the chain of references: a key frame restarts it.
    send_vp8(&mut sim, &mut seq, ts, &vp8[0]);
    sim.run_for(Duration::from_millis(500)).unwrap();
    assert!(bad > 0, "the garbage went out");
    assert_eq!(frames(&sim, b, b_audio), opus, "audio undisturbed");
    // Every good VP8 frame arrives byte for byte, the garbage never becomes a frame, and the
    // key frame sent after it is delivered.
    let mut want = vp8.clone();
    want.push(vp8[0].clone());
    assert_eq!(
        frames(&sim, b, b_video),
        want,
        "video frames around the garbage"
    );
    assert_eq!(
        pc(&mut sim, b).connection_state(),
        PeerConnectionState::Connected
    );
}
