//! Helpers shared by the integration tests.
pub mod lone;
pub mod media_pc;
