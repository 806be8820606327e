//! The one error type of keyward-core.

#[derive(Debug, thiserror::Error)]
pub enum Error {}
