//! The part every depacketizer fuzz target shares: arbitrary payload sequences (each payload
//! prefixed by its length byte) pushed through one depacketizer, which must never panic and
//! never write more than `bound(input bytes so far)`.

use ferrtc_media_codecs::Depacketizer;

pub fn arbitrary_payloads<D: Depacketizer>(mut d: D, data: &[u8], bound: impl Fn(usize) -> usize) {
    let mut out = Vec::new();
    let mut rest = data;
    let mut total = 0usize;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (p, tail) = tail.split_at(n);
        rest = tail;
        total += p.len() + 1;
        let _ = d.packet_info(p);
        match d.push(p, &mut out) {
            Ok(info) => {
                let _ = d.decodable(&info, n % 2 == 0);
            }
            Err(_) => {
                out.clear();
                d.reset();
            }
        }
        if n % 5 == 0 {
            let _ = d.finish(&mut out);
            out.clear();
        }
        assert!(
            out.len() <= bound(total),
            "output {} for input {total}",
            out.len()
        );
    }
    let _ = d.finish(&mut out);
}
