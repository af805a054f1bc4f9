//! The PConv-UNet of the spec, declared on a graph: parameters with the
//! checkpoint's names, and the forward pass built from graph ops.
pub mod bundled;
pub mod checkpoint;
mod init;
mod unet;

pub use checkpoint::{AdamState, Checkpoint};
pub use init::{kaiming_normal, SplitMix64};
pub use unet::{BnParams, Layer, Mode, UNet, UNetConfig};
