//! Ogg pages and Ogg Opus: read arbitrary files with a packet size limit; an Ogg Opus file that
//! reads must write back (new pages, CRCs, granules) into one that reads the same.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_media_codecs::container::ogg::{OggOpusFile, OggOpusWriter, OggReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Bytes::copy_from_slice(data);
    for p in OggReader::new(file.clone(), 4096) {
        match p {
            Ok(p) => assert!(p.data.len() <= 4096),
            Err(_) => break,
        }
    }
    let Ok(f) = OggOpusFile::read(file, 1000) else {
        return;
    };
    let mut out = Vec::new();
    let mut w = OggOpusWriter::new(&f.head, &f.tags, f.serial, 1024, &mut out);
    for p in &f.packets {
        w.write_packet(p, &mut out).unwrap();
    }
    w.finish(Some(f.final_granule), &mut out);
    let back = OggOpusFile::read(Bytes::from(out), 1000).unwrap();
    assert_eq!(back.head, f.head);
    assert_eq!(back.tags, f.tags);
    assert_eq!(back.packets, f.packets);
    assert_eq!(back.final_granule, f.final_granule);
});
