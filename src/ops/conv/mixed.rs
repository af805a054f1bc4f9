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
    /// gw from gy and x, its reduction over images and pixels cut into
    /// `splits` chunks (at most; parallelism for small weights and long
    /// reductions), each writing a partial gw to be summed.
    BackwardWeight { splits: usize },
}

/// One mixed-precision convolution: x (n, c_in, h, w), gy (n, c_out,
/// h_out, w_out) and weights (c_out, c_in, k, k) in f16; bias, y, gx and gw
/// in f32.
#[derive(Clone, Copy, Debug)]
pub struct MixedConv {
    pub dims: ConvDims,
    pub bias: bool,
}

/// A pass as the kernel's GEMM: result rows and columns, the reduction,
/// result matrices (grid z: images, or weight-gradient chunks) and the
/// reduction per chunk.
struct Gemm {
    rows: usize,
    cols: usize,
    matrices: usize,
    chunk: usize,
}

impl MixedConv {
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
        let conv = MixedConv {
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
        };
        let passes = [MixedPass::Forward, MixedPass::BackwardData];
        let fits = |g: Gemm| {
            g.cols.div_ceil(TILE_N) <= 65535
                && g.rows.div_ceil(TILE_M) <= 65535
                && g.matrices <= 65535
        };
        if n == 0 || c_in == 0 || c_out == 0 || !passes.iter().all(|&p| fits(conv.gemm(p))) {
            return Err(Error::Invalid(format!(
                "mixed-precision convolution of {n} images of {c_in} channels, {h_out}x{w_out} \
                 outputs: outside the kernel's grid"
            )));
        }
        Ok(conv)
    }

    fn gemm(&self, pass: MixedPass) -> Gemm {
        let d = &self.dims;
        let taps = d.win.k * d.win.k;
        let (rows, cols, red) = match pass {
            MixedPass::Forward => (d.c_out, d.h_out * d.w_out, d.c_in * taps),
            MixedPass::BackwardData => (d.c_in, d.h * d.w, d.c_out * taps),
            MixedPass::BackwardWeight { .. } => (d.c_out, d.c_in * taps, d.n * d.h_out * d.w_out),
        };
        let (matrices, chunk) = match pass {
            MixedPass::BackwardWeight { splits } => {
                // Whole slices per chunk, so every chunk but the last is full.
                let chunk = red.div_ceil(splits.clamp(1, 65535)).div_ceil(TILE_K) * TILE_K;
                (red.div_ceil(chunk), chunk)
            }
            _ => (d.n, red),
        };
        Gemm {
            rows,
            cols,
            matrices,
            chunk,
        }
    }

    /// The dispatch. Bindings: the gathered operand (x, or gy for
    /// backward-data), the left one (the weights, or gy for
    /// backward-weight), the bias (f32, forward only), the result (f32; for
    /// backward-weight `partials` gw one after the other).
    pub fn dispatch(&self, pass: MixedPass, coop: bool) -> Dispatch {
        let d = &self.dims;
        let forward = pass == MixedPass::Forward;
        let g = self.gemm(pass);
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
            chunk: g.chunk as u32,
            n: d.n as u32,
        };
        let direction = match pass {
            MixedPass::Forward => Defines::NONE,
            MixedPass::BackwardData => Defines::BWD_DATA,
            MixedPass::BackwardWeight { .. } => Defines::BWD_WEIGHT,
        };
        Dispatch {
            kernel: Shader::Conv2dMma.with(direction.with_if(Defines::COOP, coop)),
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
                g.cols.div_ceil(TILE_N) as u32,
                g.rows.div_ceil(TILE_M) as u32,
                g.matrices as u32,
            ],
        }
    }

    /// Chunks for the weight gradient: enough workgroups for
    /// `parallel_workgroups` (the device's `DeviceTraits`), each chunk at
    /// least 8 slices long so its partial result is worth writing.
    pub fn weight_splits(&self, parallel_workgroups: usize) -> usize {
        let g = self.gemm(MixedPass::BackwardWeight { splits: 1 });
        let blocks = g.cols.div_ceil(TILE_N) * g.rows.div_ceil(TILE_M);
        let longest = g.chunk.div_ceil(8 * TILE_K);
        parallel_workgroups
            .div_ceil(blocks)
            .clamp(1, longest.max(1))
    }

    /// Partial weight gradients a backward-weight dispatch writes (1 for
    /// the other passes).
    pub fn partials(&self, pass: MixedPass) -> usize {
        match pass {
            MixedPass::BackwardWeight { .. } => self.gemm(pass).matrices,
            _ => 1,
        }
    }

    /// Loop iterations one invocation of the plain-arithmetic twin runs
    /// (per reduction slice: 32 staging loads, 2 x 4 x 8 tile elements of
    /// 16 + 1 steps; then the epilogue), to keep CPU adapters' shapes under
    /// `LOOP_BUDGET`.
    pub fn twin_loop_iterations(&self, pass: MixedPass) -> usize {
        let slices = self.gemm(pass).chunk.div_ceil(TILE_K);
        slices * (32 + 2 * 4 * 8 * 17 + 2) + 4 * 8 + 32
    }

    /// 2 x multiply-adds, the same for every pass.
    pub fn flops(&self) -> f64 {
        let d = &self.dims;
        2.0 * (d.n * d.c_out * d.h_out * d.w_out * d.c_in * d.win.k * d.win.k) as f64
    }

    /// Bytes of the result: y, gx, or the partial gw.
    pub fn output_bytes(&self, pass: MixedPass) -> u64 {
        let g = self.gemm(pass);
        (g.matrices * g.rows * g.cols * 4) as u64
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
