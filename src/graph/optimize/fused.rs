//! Placeholder for the fused op.

/// Placeholder.
#[derive(Debug)]
pub struct Fused;
