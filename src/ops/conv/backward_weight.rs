//! Backward-weight of a convolution (the gradient of its weights), split-K
//! over output rows, by the first candidate that applies.
use super::staging::{
    pad_input, pad_input_to_texels, padded_copy, padded_pitch, padded_vec4s, texel_pitch,
};
use super::{split_target, sum_splits, weight_grad_split, Candidate, BLOCK};
use crate::kernels::params::{u, Conv2dBwdWeightParams, Conv2dBwdWeightRowsParams};
use crate::kernels::{Binding, DeviceTraits, Dispatch, Lowered};
use crate::kernels::{Defines, Kernel, Shader};

/// gy [n, c_out, ho, wo], the input x [n, c_in, h, w], the stride, padding
/// and kernel size.
pub(super) struct Args {
    pub gy: [usize; 4],
    pub x: [usize; 4],
    pub stride: usize,
    pub pad: usize,
    pub k: usize,
}

pub(super) const CANDIDATES: [Candidate<Args>; 2] = [
    Candidate {
        name: "row kernels",
        applies: |a| bwd_weight_row_kernel(a.k, a.stride, a.pad, a.x[3], a.gy[3]).is_some(),
        lower: rows,
        why: "3x3 stride 1 and the stride-2 layers: a lane per input channel and 16 output \
              channels over whole 8-pixel tiles of gy",
    },
    Candidate {
        name: "implicit GEMM",
        applies: |_| true,
        lower: generic,
        why: "any shape",
    },
];

fn rows(a: &Args, dev: &DeviceTraits) -> Lowered {
    let (stride, pad, k) = (a.stride, a.pad, a.k);
    // The row kernels: a lane per input channel, 16 output channels.
    let (gy, x): (&[usize], &[usize]) = (&a.gy, &a.x);
    let (n, co, ho, wo) = (gy[0], gy[1], gy[2], gy[3]);
    let row_kernel = bwd_weight_row_kernel(k, stride, pad, x[3], wo).expect("checked");
    let mut lowered = Lowered::default();
    let pitch = padded_pitch(x[3], pad);
    let texels = dev.subgroups_8_to_64
        && dev.texels_fit(padded_vec4s(x, pad, pitch))
        && dev.texels_fit(padded_vec4s(gy, 0, wo));
    let (gy_binding, input, kernel) = if texels {
        (
            pad_input_to_texels(&mut lowered, Binding::Input(0), gy, 0),
            pad_input_to_texels(&mut lowered, Binding::Input(1), x, pad),
            row_kernel.with(Defines::SUBGROUP.with(Defines::TEXELS)),
        )
    } else {
        (
            Binding::Input(0),
            pad_input(&mut lowered, Binding::Input(1), x, pad),
            row_kernel.with_if(Defines::SUBGROUP, dev.subgroups_8_to_64),
        )
    };
    let grid = [x[1].div_ceil(64), co.div_ceil(BWD_WEIGHT_3X3_CO)];
    let (rows_per_split, splits) =
        weight_grad_split(grid[0] * grid[1], n * ho, wo / BLOCK + 1, dev);
    let len = co * x[1] * k * k;
    let target = split_target(&lowered, splits);
    lowered.dispatches.push(Dispatch {
        kernel,
        params: Conv2dBwdWeightRowsParams {
            n: u(n),
            c_in: u(x[1]),
            hp: u(x[2] + 2 * pad),
            pitch: u(pitch),
            c_out: u(co),
            h_out: u(ho),
            w_out: u(wo),
            rows_per_split: u(rows_per_split),
        }
        .words(),
        bindings: vec![gy_binding, input, target],
        workgroups: [grid[0] as u32, grid[1] as u32, splits as u32],
    });
    sum_splits(&mut lowered, splits, len);
    lowered
}

fn generic(a: &Args, dev: &DeviceTraits) -> Lowered {
    let (stride, pad, k) = (a.stride, a.pad, a.k);
    let (gy, x): (&[usize], &[usize]) = (&a.gy, &a.x);
    let (n, co, ho, wo) = (gy[0], gy[1], gy[2], gy[3]);
    let cols = x[1] * k * k;
    let grid = [
        cols.div_ceil(BLOCK).div_ceil(64) as u32,
        co.div_ceil(BLOCK) as u32,
        1,
    ];
    let (rows_per_split, splits) =
            // Loop steps per output row: the columns plus two 8-step setup loops.
            weight_grad_split((grid[0] * grid[1]) as usize, n * ho, wo + 17, dev);
    let mut lowered = Lowered::default();
    // CPU adapters read x from a zero-padded texel-array copy.
    let pitch = texel_pitch(x[3], pad);
    let texels = dev.subgroups_8_to_64 && dev.texels_fit(padded_vec4s(x, pad, pitch));
    let (input, kernel) = if texels {
        (
            padded_copy(&mut lowered, Binding::Input(1), x, pad, pitch, true),
            Shader::Conv2dBwdWeight.with(Defines::SUBGROUP.with(Defines::TEXELS)),
        )
    } else if dev.subgroups_8_to_64 {
        (
            Binding::Input(1),
            Shader::Conv2dBwdWeight.with(Defines::SUBGROUP),
        )
    } else {
        (Binding::Input(1), Shader::Conv2dBwdWeight.kernel())
    };
    let params = Conv2dBwdWeightParams {
        n: u(n),
        c_in: u(x[1]),
        h: u(x[2]),
        w: u(x[3]),
        c_out: u(co),
        h_out: u(ho),
        w_out: u(wo),
        k: u(k),
        stride: u(stride),
        pad: u(pad),
        rows_per_split: u(rows_per_split),
        pitch: u(pitch),
    }
    .words();
    let target = split_target(&lowered, splits);
    lowered.dispatches.push(Dispatch {
        kernel,
        params,
        bindings: vec![Binding::Input(0), input, target],
        workgroups: [grid[0], grid[1], splits as u32],
    });
    sum_splits(&mut lowered, splits, co * cols);
    lowered
}

/// Output channels per invocation of the 3x3 backward-weight row kernel
/// (`BW_CO` in the generator).
pub(super) const BWD_WEIGHT_3X3_CO: usize = 16;

/// Whether the 3x3 stride-1 backward-weight row kernel computes this
/// convolution's weight gradient (it reads whole 8-pixel tiles of gy).
pub(super) fn row_kernel_applies(k: usize, stride: usize, pad: usize, w_out: usize) -> bool {
    k == 3 && stride == 1 && pad == 1 && w_out.is_multiple_of(BLOCK)
}

/// Whether the stride-2 backward-weight row kernel can read a convolution's
/// input, `w` wide, for `w_out` columns: padding (its rows are vec4-aligned
/// copies), whole 8-pixel tiles of gy and rows long enough for its loads.
pub(super) fn stride2_rows_fit(stride: usize, pad: usize, w: usize, w_out: usize) -> bool {
    stride == 2 && pad > 0 && w_out.is_multiple_of(BLOCK) && padded_pitch(w, pad) >= 2 * w_out + 4
}

/// The backward-weight row kernel for a `k`x`k` convolution of an input
/// `w` wide into `w_out` columns, where one applies: 3x3 stride 1 (as the
/// forward row kernel), or 3x3 and 5x5 stride 2 where the stride-2 forward
/// row kernel fits.
pub(super) fn bwd_weight_row_kernel(
    k: usize,
    stride: usize,
    pad: usize,
    w: usize,
    w_out: usize,
) -> Option<Kernel> {
    if row_kernel_applies(k, stride, pad, w_out) {
        return Some(Shader::Conv2dBwdWeight3x3.kernel());
    }
    match k {
        3 if stride2_rows_fit(stride, pad, w, w_out) => Some(Shader::Conv2dBwdWeightS2.kernel()),
        5 if stride2_rows_fit(stride, pad, w, w_out) => {
            Some(Shader::Conv2dBwdWeightS2.with(Defines::K5))
        }
        _ => None,
    }
}
