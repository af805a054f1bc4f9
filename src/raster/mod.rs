//! The image types every part uses: hole maps, f32 planes and the
//! composite, image files, and the eight flips/rotations. (Not `image`:
//! that is the decoding crate's name.)
pub mod colour;
pub mod dihedral;
pub mod files;
pub mod holes;
pub mod metadata;
pub mod photo;
pub mod planes;

pub use holes::{HoleMap, MaskRule};
pub use planes::Planes;
