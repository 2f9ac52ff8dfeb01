//! IVF: read arbitrary files; the frames read must write back into a file that reads the same.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::container::ivf::{self, IvfReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = IvfReader::new(Bytes::copy_from_slice(data)) else {
        return;
    };
    let header = *r.header();
    let frames: Vec<_> = r.take_while(Result::is_ok).map(Result::unwrap).collect();
    let total: usize = frames.iter().map(|f| f.data.len() + 12).sum();
    assert!(total <= data.len());
    let mut out = Vec::new();
    header.write_to(&mut out);
    for f in &frames {
        ivf::write_frame(f.timestamp, &f.data, &mut out).unwrap();
    }
    let back: Vec<_> = IvfReader::new(Bytes::from(out)).unwrap().map(Result::unwrap).collect();
    assert_eq!(back, frames);
});
