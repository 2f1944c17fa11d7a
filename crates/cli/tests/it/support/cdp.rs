//! CDP
