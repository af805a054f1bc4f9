//! pconv: image inpainting with partial convolutions (Liu et al. 2018),
//! trained and run on any GPU through wgpu/WGSL.
//!
//! Layers of the crate, from the ground up:
//! - [`kernels`]: the embedded WGSL kernels and the launch vocabulary
//!   (dispatches, parameters, device traits);
//! - [`gpu`]: the wgpu device and the executor;
//! - [`graph`]: tensors and nodes, autodiff, buffer planning, the
//!   wgpu-free recording of dispatches, and a CPU executor;
//! - [`ops`]: each op's lowering to kernels and its CPU twin;
//! - [`model`], [`loss`], [`train`]: the PConv-UNet, the inpainting loss
//!   with VGG-16 features, and the training step and loop, built on the
//!   graph;
//! - [`raster`]: the image types every part uses (hole maps, f32 planes,
//!   image files, the eight flips/rotations);
//! - [`data`]: training images and masks, loaded in the background;
//! - [`infer`]: inpainting (the network, its self-ensemble, OpenCV's
//!   classical methods, any image size), metrics and evaluation;
//! - [`io`]: safetensors and careful file access;
//! - [`bench`]: kernel, step and baseline-suite benchmarks;
//! - [`app`]: the desktop app (window-free logic, and the egui shell);
//! - [`error`]: the crate's error type.
pub mod app;
pub mod bench;
pub mod data;
pub mod error;
pub mod gpu;
pub mod graph;
pub mod infer;
pub mod io;
pub mod kernels;
pub mod loss;
pub mod model;
pub mod ops;
pub mod raster;
pub mod train;

pub use error::{Error, Result};
