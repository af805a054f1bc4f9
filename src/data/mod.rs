//! Training data: images and masks.
pub mod masks;
