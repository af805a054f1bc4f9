//! What the conv kernels read besides their operands: zero-padded copies
//! of the input (buffers with vec4-aligned rows, or texel arrays) and
//! weights packed into texel arrays.
use super::forward::FWD3X3_CO;
use crate::kernels::params::{u, WeightTexelsParams};
use crate::kernels::{grid_1d, Binding, Dispatch, Lowered, Params};
use crate::kernels::{Defines, Shader};

/// Row pitch (floats) of a zero-padded copy: a multiple of 4 so that the
/// row kernel's vec4 loads are aligned.
pub(super) fn padded_pitch(w: usize, pad: usize) -> usize {
    if pad > 0 {
        (w + 2 * pad).next_multiple_of(4)
    } else {
        w
    }
}

/// Row pitch of the generic kernels' padded texel-array copies: whole
/// texels, also without padding (where `padded_pitch` keeps `w`).
pub(super) fn texel_pitch(w: usize, pad: usize) -> usize {
    (w + 2 * pad).next_multiple_of(4)
}

/// Adds the zero padding of `x` (a scratch copy) and returns what the
/// convolution reads: the copy, or `x` itself without padding.
pub(super) fn pad_input(
    lowered: &mut Lowered,
    x_binding: Binding,
    x: &[usize],
    pad: usize,
) -> Binding {
    if pad == 0 {
        return x_binding;
    }
    pad_input_to_pitch(lowered, x_binding, x, pad, padded_pitch(x[3], pad))
}

/// `pad_input` with rows of `pitch` floats (a multiple of 4, at least
/// `padded_pitch`): zeros past the padding, for kernels whose loads run on.
pub(super) fn pad_input_to_pitch(
    lowered: &mut Lowered,
    x_binding: Binding,
    x: &[usize],
    pad: usize,
    pitch: usize,
) -> Binding {
    padded_copy(lowered, x_binding, x, pad, pitch, false)
}

/// The zero-padded copy of `x` (rows of `padded_pitch` floats) as a texel
/// array, for the row kernels' `texels` variants (`pad` 0: a plain copy of
/// rows whose width is a multiple of 4).
pub(super) fn pad_input_to_texels(
    lowered: &mut Lowered,
    x_binding: Binding,
    x: &[usize],
    pad: usize,
) -> Binding {
    padded_copy(lowered, x_binding, x, pad, padded_pitch(x[3], pad), true)
}

/// Vec4s of `x` zero-padded by `pad` with rows of `pitch` floats.
pub(super) fn padded_vec4s(x: &[usize], pad: usize, pitch: usize) -> usize {
    x[0] * x[1] * (x[2] + 2 * pad) * pitch / 4
}

/// A scratch copy of `x` zero-padded by `pad` with rows of `pitch` floats (a
/// multiple of 4: pad2d writes 4 floats per invocation), in a buffer or a
/// texel array.
pub(crate) fn padded_copy(
    lowered: &mut Lowered,
    x_binding: Binding,
    x: &[usize],
    pad: usize,
    pitch: usize,
    texels: bool,
) -> Binding {
    debug_assert!(pitch.is_multiple_of(4));
    let vec4s = padded_vec4s(x, pad, pitch);
    // Rows of whole vec4s are read as vec4s.
    let kernel = Shader::Pad2d
        .kernel()
        .with_if(Defines::TEXELS, texels)
        .with_if(Defines::VEC4, x[3].is_multiple_of(4));
    let target = if texels {
        lowered.scratch_texels.push(vec4s as u64);
        Binding::ScratchTexels(lowered.scratch_texels.len() - 1)
    } else {
        lowered.scratch_bytes.push((vec4s * 16) as u64);
        Binding::Scratch(lowered.scratch_bytes.len() - 1)
    };
    lowered.dispatches.push(Dispatch {
        kernel,
        params: Params::new()
            .u(x[0] * x[1])
            .u(x[2])
            .u(x[3])
            .u(pad)
            .u(pitch)
            .done(),
        bindings: vec![x_binding, target],
        // The vec4 kernels write runs of PAD_RUN vec4s of a row.
        workgroups: if x[3].is_multiple_of(4) {
            grid_1d(x[0] * x[1] * (x[2] + 2 * pad) * (pitch / 4).div_ceil(PAD_RUN))
        } else {
            grid_1d(vec4s)
        },
    });
    target
}

/// Output vec4s per invocation of pad2d's vec4 variants (`RUN` there).
pub(super) const PAD_RUN: usize = 4;

/// How `weight_texels` reads the weights w it packs.
#[derive(Clone, Copy)]
pub(super) enum WeightLayout {
    /// w[co, ci, ky, kx] as it is.
    AsIs = 0,
    /// The transposed convolution's: w[ci, co, k-1-ky, k-1-kx].
    FlippedTransposed = 1,
    /// w[ci, co, ky, kx] (lanes over w's input channels).
    Transposed = 2,
}

/// Texels per (channel group, input channel, kernel row, lane) of weights
/// packed for a `k`x`k` kernel (`texels` in conv/weight_texels.wgsl).
pub(super) fn weight_texels_per_lane(k: usize) -> usize {
    (k * FWD3X3_CO / 8).div_ceil(4)
}

/// Texels of weights packed for `c_out` output and `c_in` input channels.
pub(super) fn weight_texel_count(c_out: usize, c_in: usize, k: usize) -> usize {
    c_out.div_ceil(FWD3X3_CO) * c_in * k * 8 * weight_texels_per_lane(k)
}

/// The weights packed for the texel row kernels of a convolution with
/// `c_out` output and `c_in` input channels (after `layout`).
pub(super) fn pack_weight_texels(
    lowered: &mut Lowered,
    w: Binding,
    (c_out, c_in, k): (usize, usize, usize),
    layout: WeightLayout,
) -> Binding {
    let texels = weight_texel_count(c_out, c_in, k);
    let slot = lowered.scratch_texels.len();
    lowered.scratch_texels.push(texels as u64);
    lowered.hoistable.push(lowered.dispatches.len());
    lowered.dispatches.push(Dispatch {
        kernel: Shader::WeightTexels.kernel(),
        params: WeightTexelsParams {
            c_out: u(c_out),
            c_in: u(c_in),
            k: u(k),
            mode: layout as u32,
            group: u(FWD3X3_CO),
            texels: u(weight_texels_per_lane(k)),
            len: u(texels),
        }
        .words(),
        bindings: vec![w, Binding::ScratchTexels(slot)],
        workgroups: grid_1d(texels),
    });
    Binding::ScratchTexels(slot)
}
