//! Benchmarks live in `benches/`; this package's library holds only what several of them
//! share. The other implementations are dev-dependencies, so what reads their types is a
//! macro, expanded in the bench that names the crate.

/// webrtc-rs (0.17 async line) and rtc (0.21 sans-IO line), which spell their RTCP types the
/// same: unmarshals `$buf` (a `Bytes` clone or a `&[u8]`) with `$krate` (`webrtc_rtcp` or
/// `rtc_rtcp`) and reads the fields the RTCP benches read, through their types, summed as the
/// shared reader of ferrtc does (`crates/rtcp/examples/shared/compound.rs`): SR SSRC, NTP
/// time and first block's jitter, the CNAME's length, every TWCC receive delta (µs) or every
/// NACK entry's PID and BLP. Keeps the packets alive until the sum is done.
#[macro_export]
macro_rules! rtcp_fields {
    ($krate:ident, $buf:expr) => {{
        use $krate::sender_report::SenderReport;
        use $krate::source_description::{SdesType, SourceDescription};
        use $krate::transport_feedbacks::transport_layer_cc::TransportLayerCc;
        use $krate::transport_feedbacks::transport_layer_nack::TransportLayerNack;
        let pkts = $krate::packet::unmarshal(&mut ::std::hint::black_box($buf)).unwrap();
        let mut acc = 0i64;
        for p in &pkts {
            let any = p.as_any();
            if let Some(sr) = any.downcast_ref::<SenderReport>() {
                acc += i64::from(sr.ssrc) + (sr.ntp_time >> 40) as i64;
                acc += i64::from(sr.reports[0].jitter);
            } else if let Some(s) = any.downcast_ref::<SourceDescription>() {
                let item = s.chunks[0]
                    .items
                    .iter()
                    .find(|i| i.sdes_type == SdesType::SdesCname)
                    .unwrap();
                acc += item.text.len() as i64;
            } else if let Some(t) = any.downcast_ref::<TransportLayerCc>() {
                for d in &t.recv_deltas {
                    acc += d.delta;
                }
            } else if let Some(n) = any.downcast_ref::<TransportLayerNack>() {
                for p in &n.nacks {
                    acc += i64::from(p.packet_id) + i64::from(p.lost_packets);
                }
            }
        }
        ::std::hint::black_box(pkts);
        acc
    }};
}
