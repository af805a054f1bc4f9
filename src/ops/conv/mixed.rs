//! Mixed-precision convolution: f16 operands, f32 accumulation, on 16 x 16
//! x 16 matrix tiles (`shaders/conv/conv2d_mma.wgsl`): the forward pass
//! and the input gradient (the same GEMM transposed). With `coop` the
//! tiles are cooperative matrices (tensor cores, where
//! `MixedPrecision::coop_16x16_f16`); without it the same kernel multiplies
//! them in plain arithmetic on any device with f16, which is how CI checks
//! everything but the multiply-add instruction. The training graph holds
//! f32 tensors only, so these run directly (`gpu::direct`) for now: tests
//! against the f64 twin and benchmarks beside the f32 kernels.
use super::cpu::{ConvDims, Window};
use crate::error::{Error, Result};
use crate::kernels::{params::Conv2dMmaParams, Binding, Defines, Dispatch, Shader};
use crate::ops::conv_out;

/// Output channels and pixels per workgroup, and the reduction slice
/// staged at a time (the shader's TILE_M, TILE_N, TILE_K).
const TILE_M: usize = 64;
const TILE_N: usize = 64;
const TILE_K: usize = 32;

/// Which product of the convolution a dispatch computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixedPass {
    /// y from x and the weights (and bias).
    Forward,
    /// gx from gy and the weights.
    BackwardData,
}

/// One mixed-precision convolution: x (n, c_in, h, w), gy (n, c_out,
/// h_out, w_out) and weights (c_out, c_in, k, k) in f16; bias, y and gx in
/// f32.
#[derive(Clone, Copy, Debug)]
pub struct MixedConv {
    pub dims: ConvDims,
    pub bias: bool,
}

impl MixedConv {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        (n, c_in, h, w): (usize, usize, usize, usize),
        c_out: usize,
        win: Window,
        bias: bool,
    ) -> Result<Self> {
        let out = |len| {
            conv_out(len, win.k, win.stride.max(1), win.pad)
                .filter(|&o| o > 0 && win.stride > 0)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "a {0}x{0} window with padding {1} does not fit {len} pixels",
                        win.k, win.pad
                    ))
                })
        };
        let (h_out, w_out) = (out(h)?, out(w)?);
        let tiles = (h * w).max(h_out * w_out).div_ceil(TILE_N);
        if n == 0 || c_in == 0 || c_out == 0 || n > 65535 || tiles > 65535 {
            return Err(Error::Invalid(format!(
                "mixed-precision convolution of {n} images of {c_in} channels, {h_out}x{w_out} \
                 outputs: outside the kernel's grid"
            )));
        }
        Ok(MixedConv {
            dims: ConvDims {
                n,
                c_in,
                h,
                w,
                c_out,
                h_out,
                w_out,
                win,
            },
            bias,
        })
    }

    /// The dispatch: bindings x or gy (f16), w (f16), bias (f32, forward
    /// only), y or gx (f32).
    pub fn dispatch(&self, pass: MixedPass, coop: bool) -> Dispatch {
        let d = &self.dims;
        let forward = pass == MixedPass::Forward;
        let params = Conv2dMmaParams {
            c_in: d.c_in as u32,
            h: d.h as u32,
            w: d.w as u32,
            c_out: d.c_out as u32,
            h_out: d.h_out as u32,
            w_out: d.w_out as u32,
            k: d.win.k as u32,
            stride: d.win.stride as u32,
            pad: d.win.pad as u32,
            has_bias: (self.bias && forward) as u32,
        };
        let (rows, plane) = if forward {
            (d.c_out, d.h_out * d.w_out)
        } else {
            (d.c_in, d.h * d.w)
        };
        Dispatch {
            kernel: Shader::Conv2dMma.with(
                Defines::NONE
                    .with_if(Defines::COOP, coop)
                    .with_if(Defines::BWD_DATA, !forward),
            ),
            params: params.words(),
            bindings: vec![
                Binding::Input(0),
                Binding::Input(1),
                if self.bias && forward {
                    Binding::Input(2)
                } else {
                    Binding::Unused
                },
                Binding::Output(0),
            ],
            workgroups: [
                plane.div_ceil(TILE_N) as u32,
                rows.div_ceil(TILE_M) as u32,
                d.n as u32,
            ],
        }
    }

    /// Loop iterations one invocation of the plain-arithmetic twin runs
    /// (per reduction slice: 32 staging loads, 2 x 4 x 8 tile elements of
    /// 16 + 1 steps; then the epilogue), to keep CPU adapters' shapes under
    /// `LOOP_BUDGET`.
    pub fn twin_loop_iterations(&self, pass: MixedPass) -> usize {
        let d = &self.dims;
        let channels = match pass {
            MixedPass::Forward => d.c_in,
            MixedPass::BackwardData => d.c_out,
        };
        let slices = (channels * d.win.k * d.win.k).div_ceil(TILE_K);
        slices * (32 + 2 * 4 * 8 * 17 + 2) + 4 * 8 + 32
    }

    /// 2 x multiply-adds.
    pub fn flops(&self) -> f64 {
        let d = &self.dims;
        2.0 * (d.n * d.c_out * d.h_out * d.w_out * d.c_in * d.win.k * d.win.k) as f64
    }

    /// Bytes of y or gx.
    pub fn output_bytes(&self, pass: MixedPass) -> u64 {
        let d = &self.dims;
        match pass {
            MixedPass::Forward => (d.n * d.c_out * d.h_out * d.w_out * 4) as u64,
            MixedPass::BackwardData => (d.n * d.c_in * d.h * d.w * 4) as u64,
        }
    }
}

/// `v` rounded to the nearest f16 (ties to even), as little-endian bytes:
/// the host rounds, so a CPU twin sees exactly the GPU's operands.
pub fn f16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect()
}

/// `x` rounded to the nearest f16 (ties to even), back in f32.
pub fn round_to_f16(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
}
