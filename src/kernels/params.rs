//! The uniform blocks of the convolution kernels, by name (the kernels with
//! the longest parameter lists; the others build theirs with `Params`).
use super::launch::uniform;

uniform! {
    /// The generic forward convolution (implicit GEMM).
    Conv2dFwdParams in "conv/conv2d_fwd.wgsl" {
        c_in, h, w, c_out, h_out, w_out, k, stride, pad, has_bias, ci_chunk, n,
    }
}

uniform! {
    /// The forward row kernels: `h` and `pitch` are the padded input's
    /// height and row pitch (floats).
    Conv2dFwdRowsParams in "conv/conv2d_fwd_3x3.wgsl", "conv/conv2d_fwd_s2.wgsl" {
        c_in, h, pitch, c_out, h_out, w_out, has_bias, ci_chunk, n, lane_tiles,
    }
}

uniform! {
    /// The generic backward-data kernel.
    Conv2dBwdDataParams in "conv/conv2d_bwd_data.wgsl" {
        c_in, h, w, c_out, h_out, w_out, k, stride, pad,
    }
}

uniform! {
    /// The stride-2 backward-data row kernel: gy's channels, padded height
    /// and row pitch; gx's channels and size; the largest phase's tiles.
    Conv2dBwdDataS2Params in "conv/conv2d_bwd_data_s2.wgsl" {
        c_out, hp, pitch, c_in, h, w, tiles,
    }
}

uniform! {
    /// The generic backward-weight kernel (`pitch`: the texel copy's).
    Conv2dBwdWeightParams in "conv/conv2d_bwd_weight.wgsl" {
        n, c_in, h, w, c_out, h_out, w_out, k, stride, pad, rows_per_split, pitch,
    }
}

uniform! {
    /// The backward-weight row kernels: `hp` and `pitch` are the padded
    /// input's height and row pitch.
    Conv2dBwdWeightRowsParams in "conv/conv2d_bwd_weight_3x3.wgsl", "conv/conv2d_bwd_weight_s2.wgsl" {
        n, c_in, hp, pitch, c_out, h_out, w_out, rows_per_split,
    }
}

uniform! {
    /// The partial-convolution mask update.
    PConvMaskParams in "conv/pconv_mask.wgsl" {
        n, h, w, h_out, w_out, k, stride, pad, count_a, count_b,
    }
}

/// Every named uniform block: (its WGSL files, its field names).
pub const ALL: &[(&[&str], &[&str])] = &[
    (Conv2dFwdParams::SHADERS, Conv2dFwdParams::FIELDS),
    (Conv2dFwdRowsParams::SHADERS, Conv2dFwdRowsParams::FIELDS),
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
];

/// A size as a uniform field.
pub fn u(v: usize) -> u32 {
    v as u32
}
