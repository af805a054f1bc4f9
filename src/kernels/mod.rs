//! The ground floor: the WGSL kernels (the catalog, embedded at build time,
//! preprocessed and validated) and the launch vocabulary their lowering
//! speaks. `ops` lower onto it, `graph` records it, `gpu` runs it.
pub mod catalog;
pub mod launch;
pub mod params;

pub use catalog::{Defines, Kernel, Shader};
pub use launch::{
    grid_1d, Binding, DeviceTraits, Dispatch, HalfStorage, Lowered, MixedKernels, Params,
    LOOP_BUDGET, TEXELS_PER_ROW, WG_SIZE,
};
