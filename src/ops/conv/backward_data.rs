//! Backward-data of a convolution (the gradient of its input), by the
//! first candidate that applies.
use super::forward::{flat_lane_tiles, fwd_launch, texel_twin, ForwardConv, FWD3X3_CO};
use super::staging::{
    pack_weight_texels, pad_input_to_pitch, padded_copy, padded_pitch, padded_vec4s,
    weight_texel_count, WeightLayout,
};
use super::{block_grid, Candidate, BLOCK};
use crate::kernels::params::{u, Conv2dBwdDataParams, Conv2dBwdDataS2Params};
use crate::kernels::{Binding, DeviceTraits, Dispatch, Lowered};
use crate::kernels::{Defines, Kernel, Shader};

/// gy [n, c_out, ho, wo], weights [c_out, c_in, k, k], the stride and
/// padding of the forward convolution and its input's height and width.
pub(super) struct Args {
    pub gy: [usize; 4],
    pub w: [usize; 4],
    pub stride: usize,
    pub pad: usize,
    pub h: usize,
    pub wd: usize,
}

pub(super) const CANDIDATES: [Candidate<Args>; 3] = [
    Candidate {
        name: "stride 1 as a forward convolution",
        applies: |a| a.stride == 1 && a.pad < a.w[2],
        lower: stride1_as_forward,
        why: "dx = conv(gy padded by k - 1 - pad, flipped transposed weights): the forward \
              kernels, row kernels and texel arrays included",
    },
    Candidate {
        name: "stride-2 row kernels",
        applies: |a| a.stride == 2 && stride2_bwd_data_kernel(a.w[2], a.pad).is_some(),
        lower: stride2_rows,
        why: "the encoder's 3x3 and 5x5 stride-2 layers, one output phase at a time \
              (lavapipe: onto 8x8, 838 -> 626 ms with whole subgroups per channel group)",
    },
    Candidate {
        name: "implicit GEMM",
        applies: |_| true,
        lower: generic,
        why: "any shape",
    },
];

fn stride1_as_forward(a: &Args, dev: &DeviceTraits) -> Lowered {
    let (pad, h, wd) = (a.pad, a.h, a.wd);
    let ins: [&[usize]; 2] = [&a.gy, &a.w];
    // Stride 1: dx = conv(gy padded by k - 1 - pad, flipped
    // transposed weights), on the forward kernels.
    let (gy, w) = (ins[0], ins[1]);
    let k = w[2];
    let flipped_pad = k - 1 - pad;
    let conv = ForwardConv {
        x: gy,
        c_out: w[1],
        k,
        stride: 1,
        pad: flipped_pad,
        y: &[gy[0], w[1], h, wd],
        bias: false,
    };
    conv.lower(
        Binding::Input(0),
        Binding::Input(1),
        true,
        Binding::Unused,
        dev,
    )
}

fn stride2_rows(a: &Args, dev: &DeviceTraits) -> Lowered {
    let (pad, h, wd) = (a.pad, a.h, a.wd);
    let ins: [&[usize]; 2] = [&a.gy, &a.w];
    let (gy, w) = (ins[0], ins[1]);
    let row_kernel = stride2_bwd_data_kernel(w[2], pad).expect("checked");
    let mut lowered = Lowered::default();
    // Each row's last pixel group loads 12 floats from its start.
    let groups = wd.div_ceil(2).div_ceil(BLOCK);
    let pitch = padded_pitch(gy[3], 1).max(groups * BLOCK + 4);
    // Phase 0 (even rows, even columns) has the most tiles.
    let tiles = flat_lane_tiles(h.div_ceil(2) * groups, dev);
    let (mut kernel, workgroups) =
        fwd_launch(tiles, w[1].div_ceil(FWD3X3_CO), gy[0] * 4, dev, row_kernel);
    let texel_kernel = texel_twin(kernel).filter(|_| {
        dev.texels_fit(padded_vec4s(gy, 1, pitch))
            && dev.texels_fit(weight_texel_count(w[1], w[0], w[2]))
    });
    let (input, weights) = if let Some(twin) = texel_kernel {
        kernel = twin;
        (
            padded_copy(&mut lowered, Binding::Input(0), gy, 1, pitch, true),
            pack_weight_texels(
                &mut lowered,
                Binding::Input(1),
                (w[1], w[0], w[2]),
                WeightLayout::Transposed,
            ),
        )
    } else {
        (
            pad_input_to_pitch(&mut lowered, Binding::Input(0), gy, 1, pitch),
            Binding::Input(1),
        )
    };
    lowered.dispatches.push(Dispatch {
        kernel,
        params: Conv2dBwdDataS2Params {
            c_out: u(w[0]),
            hp: u(gy[2] + 2),
            pitch: u(pitch),
            c_in: u(w[1]),
            h: u(h),
            w: u(wd),
            tiles: u(tiles),
        }
        .words(),
        bindings: vec![input, weights, Binding::Output(0)],
        workgroups,
    });
    lowered
}

fn generic(a: &Args, _dev: &DeviceTraits) -> Lowered {
    let (stride, pad, h, wd) = (a.stride, a.pad, a.h, a.wd);
    let ins: [&[usize]; 2] = [&a.gy, &a.w];
    let (gy, w) = (ins[0], ins[1]);
    let params = Conv2dBwdDataParams {
        c_in: u(w[1]),
        h: u(h),
        w: u(wd),
        c_out: u(w[0]),
        h_out: u(gy[2]),
        w_out: u(gy[3]),
        k: u(w[2]),
        stride: u(stride),
        pad: u(pad),
    }
    .words();
    Lowered::one(Dispatch {
        kernel: Shader::Conv2dBwdData.kernel(),
        params,
        bindings: vec![Binding::Input(0), Binding::Input(1), Binding::Output(0)],
        workgroups: block_grid(
            h * stride * wd.div_ceil(stride).div_ceil(BLOCK),
            w[1].div_ceil(BLOCK),
            gy[0],
        ),
    })
}

/// The stride-2 backward-data row kernel for `k`x`k` filters and padding
/// `pad`, where it applies: k of 3 or 5 with padding (k - 1) / 2.
pub(super) fn stride2_bwd_data_kernel(k: usize, pad: usize) -> Option<Kernel> {
    let fits = pad == (k - 1) / 2;
    match k {
        3 if fits => Some(Shader::Conv2dBwdDataS2.kernel()),
        5 if fits => Some(Shader::Conv2dBwdDataS2.with(Defines::K5)),
        _ => None,
    }
}
