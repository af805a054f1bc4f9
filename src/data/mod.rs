//! Training data: images (decoded and augmented in the background) and
//! masks (generated free-form, or files).
pub mod images;
pub mod masks;
