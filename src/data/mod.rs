//! Training data: images (decoded and augmented in the background) and masks.
pub mod dihedral;
pub mod images;
pub mod masks;
