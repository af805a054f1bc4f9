//! The uniform blocks of the kernels with the longest parameter lists, by
//! name (the others, of at most five fields, build theirs with `Params`).
use super::launch::uniform;

uniform! {
    /// The generic forward convolution (implicit GEMM).
    Conv2dFwdParams in "conv/conv2d_fwd.wgsl" {
        c_in: u32, h: u32, w: u32, c_out: u32, h_out: u32, w_out: u32, k: u32, stride: u32, pad: u32, has_bias: u32, ci_chunk: u32, n: u32,
    }
}

uniform! {
    /// The mixed-precision convolutions (f16 matrix tiles); `chunk`: the
    /// weight gradient's reduction per split.
    Conv2dMmaParams in "conv/conv2d_mma.wgsl" {
        c_in: u32, h: u32, w: u32, c_out: u32, h_out: u32, w_out: u32, k: u32, stride: u32, pad: u32, has_bias: u32, chunk: u32, n: u32, act: u32, slope: f32,
    }
}

uniform! {
    /// The 3x3 stride-1 mixed-precision convolution (forward, or the input
    /// gradient as the forward convolution of gy): channels and size as
    /// the pass sees them, the padded taps' dimensions, operand channels
    /// per chunk.
    Conv3x3MmaParams in "conv/conv3x3_mma.wgsl" {
        c_in: u32, c_out: u32, h: u32, w: u32, n: u32, rows_pad: u32, depth_pad: u32, chunk: u32, has_bias: u32, act: u32, slope: f32,
    }
}

uniform! {
    /// The 3x3 stride-1 mixed-precision weight gradient: pixel blocks (4
    /// rows of 16, images one after the other) per chunk.
    Conv3x3MmaBwdWeightParams in "conv/conv3x3_mma_bwd_weight.wgsl" {
        c_in: u32, c_out: u32, h: u32, w: u32, n: u32, blocks_per_chunk: u32,
    }
}

uniform! {
    /// The forward row kernels: `h` and `pitch` are the padded input's
    /// height and row pitch (floats).
    Conv2dFwdRowsParams in "conv/conv2d_fwd_3x3.wgsl", "conv/conv2d_fwd_s2.wgsl" {
        c_in: u32, h: u32, pitch: u32, c_out: u32, h_out: u32, w_out: u32, has_bias: u32, ci_chunk: u32, n: u32, lane_tiles: u32,
    }
}

uniform! {
    /// The generic backward-data kernel.
    Conv2dBwdDataParams in "conv/conv2d_bwd_data.wgsl" {
        c_in: u32, h: u32, w: u32, c_out: u32, h_out: u32, w_out: u32, k: u32, stride: u32, pad: u32,
    }
}

uniform! {
    /// The stride-2 backward-data row kernel: gy's channels, padded height
    /// and row pitch; gx's channels and size; the largest phase's tiles.
    Conv2dBwdDataS2Params in "conv/conv2d_bwd_data_s2.wgsl" {
        c_out: u32, hp: u32, pitch: u32, c_in: u32, h: u32, w: u32, tiles: u32,
    }
}

uniform! {
    /// The generic backward-weight kernel (`pitch`: the texel copy's).
    Conv2dBwdWeightParams in "conv/conv2d_bwd_weight.wgsl" {
        n: u32, c_in: u32, h: u32, w: u32, c_out: u32, h_out: u32, w_out: u32, k: u32, stride: u32, pad: u32, rows_per_split: u32, pitch: u32,
    }
}

uniform! {
    /// The backward-weight row kernels: `hp` and `pitch` are the padded
    /// input's height and row pitch.
    Conv2dBwdWeightRowsParams in "conv/conv2d_bwd_weight_3x3.wgsl", "conv/conv2d_bwd_weight_s2.wgsl" {
        n: u32, c_in: u32, hp: u32, pitch: u32, c_out: u32, h_out: u32, w_out: u32, rows_per_split: u32,
    }
}

uniform! {
    /// The partial-convolution mask update.
    PConvMaskParams in "conv/pconv_mask.wgsl" {
        n: u32, h: u32, w: u32, h_out: u32, w_out: u32, k: u32, stride: u32, pad: u32, count_a: u32, count_b: u32,
    }
}

uniform! {
    /// Batch-norm statistics (and the running ones, in training).
    BatchnormStatsParams in "nn/batchnorm_stats.wgsl" {
        n: u32, c: u32, hw: u32, train: u32, eps: f32, momentum: f32,
    }
}

uniform! {
    /// Gram matrices, split over `chunk` pixels (`pitch4`: the texel
    /// copy's row pitch in vec4s, 0 without).
    GramParams in "loss/gram.wgsl" {
        c: u32, hw: u32, scale: f32, n: u32, chunk: u32, pitch4: u32,
    }
}

uniform! {
    /// Weights packed into a texel array for the texel row kernels.
    WeightTexelsParams in "conv/weight_texels.wgsl" {
        c_out: u32, c_in: u32, k: u32, mode: u32, group: u32, texels: u32, len: u32,
    }
}

/// (name, WGSL scalar type) of each field of a block, in order.
pub type Fields = &'static [(&'static str, &'static str)];

/// Every named uniform block: (its WGSL files, its fields).
pub const ALL: &[(&[&str], Fields)] = &[
    (Conv2dFwdParams::SHADERS, Conv2dFwdParams::FIELDS),
    (Conv2dFwdRowsParams::SHADERS, Conv2dFwdRowsParams::FIELDS),
    (Conv2dMmaParams::SHADERS, Conv2dMmaParams::FIELDS),
    (Conv3x3MmaParams::SHADERS, Conv3x3MmaParams::FIELDS),
    (
        Conv3x3MmaBwdWeightParams::SHADERS,
        Conv3x3MmaBwdWeightParams::FIELDS,
    ),
    (Conv2dBwdDataParams::SHADERS, Conv2dBwdDataParams::FIELDS),
    (
        Conv2dBwdDataS2Params::SHADERS,
        Conv2dBwdDataS2Params::FIELDS,
    ),
    (
        Conv2dBwdWeightParams::SHADERS,
        Conv2dBwdWeightParams::FIELDS,
    ),
    (
        Conv2dBwdWeightRowsParams::SHADERS,
        Conv2dBwdWeightRowsParams::FIELDS,
    ),
    (PConvMaskParams::SHADERS, PConvMaskParams::FIELDS),
    (BatchnormStatsParams::SHADERS, BatchnormStatsParams::FIELDS),
    (GramParams::SHADERS, GramParams::FIELDS),
    (WeightTexelsParams::SHADERS, WeightTexelsParams::FIELDS),
];

/// A size as a uniform field.
pub fn u(v: usize) -> u32 {
    v as u32
}
