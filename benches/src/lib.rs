//! Benchmarks live in `benches/`; this package has no library code.
