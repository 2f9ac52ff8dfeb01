//! Dependency Descriptor (AV1 RTP specification, Appendix A): the stateful parser never panics
//! on any sequence of descriptors; whatever parses writes back to bytes that parse the same.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_media_codecs::dependency_descriptor::{
    DependencyDescriptor, DependencyDescriptorParser,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parser = DependencyDescriptorParser::new();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (ext, tail) = tail.split_at(n);
        rest = tail;
        let known = parser.structure().cloned();
        let Ok((d, f)) = parser.parse(ext) else {
            continue;
        };
        assert!(f.fdiffs.as_slice().len() <= 8);
        // Re-serialize against the structure in force and parse again: same descriptor.
        let mut out = Vec::new();
        d.write_to(known.as_deref(), &mut out).unwrap();
        assert!(out.len() <= ext.len());
        let again = DependencyDescriptor::parse(&out, known.as_ref()).unwrap();
        assert_eq!(again, d);
    }
});
