#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
use bytes::Bytes;
use ferrtc_stun::*;
use std::hint::black_box;
use std::time::Instant;
fn main() {
    let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").unwrap();
    let mut b = MessageBuilder::new(MessageType::new(Method::BINDING, Class::Request), TransactionId([5; 12]));
    b.add(&Attribute::Username(Text::new("evtj:h6vY"))).unwrap();
    b.add(&Attribute::Priority(1)).unwrap();
    b.add(&Attribute::IceControlling(2)).unwrap();
    b.add(&Attribute::UseCandidate).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    let p = b.build();
    let n = 3_000_000;
    for round in 0..2 {
    let t = Instant::now();
    for _ in 0..n { black_box(black_box(p.clone())); }
    println!("{round} clone {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { black_box(Message::parse(black_box(p.clone())).unwrap()); }
    println!("{round} parse {:?}", t.elapsed() / n);
    let m = Message::parse(p.clone()).unwrap();
    let t = Instant::now();
    for _ in 0..n { black_box(m.verify_integrity(black_box(&key)).is_ok()); }
    println!("{round} verify {:?}", t.elapsed() / n);
    let a = m.verify_integrity(&key).unwrap();
    let t = Instant::now();
    for _ in 0..n { let a = black_box(a); black_box((a.username().unwrap(), a.priority().unwrap(), a.ice_controlling().unwrap(), a.use_candidate())); }
    println!("{round} getters {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { black_box(crc32fast::hash(black_box(&p[..84]))); }
    println!("{round} crc {:?}", t.elapsed() / n);
    }
}
