//! Forward convolution: the unrolled row kernels (3x3 stride 1; 3x3 and
//! 5x5 stride 2) where they apply, else the generic implicit GEMM; flat
//! launches for small maps, subgroup and texel-array variants where the
//! device has them, split-K sums for deep small maps.
use super::staging::{
    pack_weight_texels, pad_input_to_pitch, padded_copy, padded_pitch, padded_vec4s, texel_pitch,
    weight_texel_count, WeightLayout,
};
use super::{sum_splits, BLOCK};
use crate::kernels::params::{u, Conv2dFwdParams, Conv2dFwdRowsParams};
use crate::kernels::{grid_1d, Binding, DeviceTraits, Dispatch, Lowered, Params};
use crate::kernels::{Defines, Kernel, Shader};

/// `ConvOp::Conv2d`: input, weights, optional bias.
pub(super) fn lower(
    stride: usize,
    pad: usize,
    bias: bool,
    ins: &[&[usize]],
    outs: &[&[usize]],
    dev: &DeviceTraits,
) -> Lowered {
    let (x, w, y) = (ins[0], ins[1], outs[0]);
    let b = if bias {
        Binding::Input(2)
    } else {
        Binding::Unused
    };
    let conv = ForwardConv {
        x,
        c_out: w[0],
        k: w[2],
        stride,
        pad,
        y,
        bias,
    };
    conv.lower(Binding::Input(0), Binding::Input(1), false, b, dev)
}

/// Output channels per invocation of the row kernels (`CO` in
/// tools/gen_conv_row_kernels.py).
pub(super) const FWD3X3_CO: usize = 16;

/// Invocations per workgroup of the forward kernels (`@workgroup_size(64)`).
pub(super) const FWD_LANES: usize = 64;

/// Kernel and grid of a forward convolution over `tiles` pixel tiles and
/// `groups` channel groups per image: `base` (a kernel file with
/// `Defines::FLAT` and `Defines::SUBGROUP` variants) run flat, flat with
/// subgroups, with subgroups, or portable. Small maps (the deep
/// layers, 2x2 to 8x8) give each lane a (channel group, tile) pair, where a
/// workgroup along the tiles would run up to 63 of its 64 lanes for nothing
/// (one such dispatch took 3 s of a 13 s lavapipe step, 0.18 s flat). Flat
/// lanes cannot share weights by subgroupBroadcast, which costs more than
/// idling half the lanes: with subgroups only maps of at most 16 tiles go
/// flat (lavapipe: 16x16 maps took 150 ms with subgroups, 237 ms flat).
pub(super) fn fwd_launch(
    tiles: usize,
    groups: usize,
    n: usize,
    dev: &DeviceTraits,
    base: Kernel,
) -> (Kernel, [u32; 3]) {
    let sg = dev.flat_subgroup_size as usize;
    // A subgroup's lanes then share one channel group and still broadcast
    // weights (lavapipe: the "fit this image" step, 32×32 crops, 3.0 -> 1.8 s).
    let flat_shares = dev.subgroups_8_to_64 && sg > 0 && tiles.is_multiple_of(sg);
    let flat_below = if dev.subgroups_8_to_64 && !flat_shares {
        FWD_LANES / 4 + 1
    } else {
        FWD_LANES
    };
    if tiles < flat_below {
        let lanes = tiles * groups;
        let kernel = base
            .with(Defines::FLAT)
            .with_if(Defines::SUBGROUP, flat_shares);
        (kernel, [lanes.div_ceil(FWD_LANES) as u32, 1, n as u32])
    } else {
        let grid = [tiles.div_ceil(FWD_LANES) as u32, groups as u32, n as u32];
        (base.with_if(Defines::SUBGROUP, dev.subgroups_8_to_64), grid)
    }
}

/// Lanes per channel group of a `flat` row-kernel launch over `tiles`:
/// on small maps (under FWD_LANES tiles) rounded up to whole subgroups where
/// their layout is known, so that a subgroup's lanes share channels and keep
/// the subgroup and texel variants (lavapipe: the 4x4 decoder layer 84 ->
/// 24 ms, the stride-2 backward-data onto 8x8 838 -> 626 ms); the extra
/// lanes compute a clamped tile and store nothing.
pub(super) fn flat_lane_tiles(tiles: usize, dev: &DeviceTraits) -> usize {
    let sg = dev.flat_subgroup_size as usize;
    if dev.subgroups_8_to_64 && sg > 0 && tiles < FWD_LANES {
        tiles.next_multiple_of(sg)
    } else {
        tiles
    }
}

/// The texel twin of a row kernel variant (same launch, operands read from
/// texel arrays); only subgroup variants have one.
pub(super) fn texel_twin(kernel: Kernel) -> Option<Kernel> {
    let row_kernel = matches!(
        kernel.shader,
        Shader::Conv2dFwd3x3 | Shader::Conv2dFwdS2 | Shader::Conv2dBwdDataS2
    );
    (row_kernel && kernel.has(Defines::SUBGROUP)).then(|| kernel.with(Defines::TEXELS))
}

/// The forward row kernel for a `k`x`k` convolution, at any output width,
/// where one applies: 3x3 stride 1 padding 1, or stride 2 with k of 3 or 5
/// and padding (its rows are vec4-aligned copies, `fwd_row_pitch` long).
pub(super) fn fwd_row_kernel(k: usize, stride: usize, pad: usize) -> Option<Kernel> {
    if k == 3 && stride == 1 && pad == 1 {
        return Some(Shader::Conv2dFwd3x3.kernel());
    }
    let fits = stride == 2 && pad > 0;
    match k {
        3 if fits => Some(Shader::Conv2dFwdS2.kernel()),
        5 if fits => Some(Shader::Conv2dFwdS2.with(Defines::K5)),
        _ => None,
    }
}

/// Row pitch (floats) of the forward row kernels' padded input `w` wide:
/// the last 8-pixel tile of a row, which may run past `w_out`, loads 12
/// (stride 1) or 20 (stride 2) floats from float 8 stride tile.
pub(super) fn fwd_row_pitch(w: usize, pad: usize, stride: usize, w_out: usize) -> usize {
    padded_pitch(w, pad).max(BLOCK * stride * w_out.div_ceil(BLOCK) + 4)
}

/// A forward convolution as the conv kernels see it: input of logical shape
/// `x` (already zero-padded by `pad` into a scratch copy when `pad` > 0),
/// `c_out` filters of `k`x`k`, output `y`; bindings: input, weights, bias, y.
pub(super) struct ForwardConv<'a> {
    pub(super) x: &'a [usize],
    pub(super) c_out: usize,
    pub(super) k: usize,
    pub(super) stride: usize,
    pub(super) pad: usize,
    pub(super) y: &'a [usize],
    pub(super) bias: bool,
}

impl ForwardConv<'_> {
    /// The convolution of input `x` with weights `w` (with `flip`, the
    /// weights of the transposed convolution: w is [c_in, c_out, k, k] and
    /// read flipped, for backward-data) plus `bias`: the input padded, then a
    /// row kernel where one applies, reading texel arrays where the device
    /// has them, else the generic kernel.
    pub(super) fn lower(
        &self,
        x: Binding,
        w: Binding,
        flip: bool,
        bias: Binding,
        dev: &DeviceTraits,
    ) -> Lowered {
        let mut lowered = Lowered::default();
        let mut d = self.dispatch(dev);
        if d.kernel.shader == Shader::Conv2dFwd && d.kernel.has(Defines::TEXELS) {
            // The generic kernel's texel twins read only x from a texel array.
            let x = padded_copy(
                &mut lowered,
                x,
                self.x,
                self.pad,
                texel_pitch(self.x[3], self.pad),
                true,
            );
            let w = if flip {
                self.flipped_weights(&mut lowered, w)
            } else {
                w
            };
            d.bindings = vec![x, w, bias, Binding::Output(0)];
        } else if let Some(kernel) = texel_twin(d.kernel).filter(|_| self.texels_fit(dev)) {
            let x = padded_copy(&mut lowered, x, self.x, self.pad, self.pitch(), true);
            let layout = if flip {
                WeightLayout::FlippedTransposed
            } else {
                WeightLayout::AsIs
            };
            let w = pack_weight_texels(&mut lowered, w, (self.c_out, self.x[1], self.k), layout);
            d.kernel = kernel;
            d.bindings = vec![x, w, bias, Binding::Output(0)];
        } else {
            let x = if self.pad > 0 {
                pad_input_to_pitch(&mut lowered, x, self.x, self.pad, self.pitch())
            } else {
                x
            };
            let w = if flip {
                self.flipped_weights(&mut lowered, w)
            } else {
                w
            };
            d.bindings = vec![x, w, bias, Binding::Output(0)];
        }
        // The input-channel splits (fwd_split) write partial outputs that
        // sum_splits adds.
        let splits = d.workgroups[2] as usize / self.x[0];
        if splits > 1 {
            d.bindings[3] = Binding::Scratch(lowered.scratch_bytes.len());
        }
        lowered.dispatches.push(d);
        let y = self.y;
        sum_splits(&mut lowered, splits, y[0] * y[1] * y[2] * y[3]);
        lowered
    }

    /// Whether the padded input and the packed weights fit the device's
    /// texel arrays.
    fn texels_fit(&self, dev: &DeviceTraits) -> bool {
        let x = self.x;
        let input = padded_vec4s(x, self.pad, self.pitch());
        dev.texels_fit(input) && dev.texels_fit(weight_texel_count(self.c_out, x[1], self.k))
    }

    /// The transposed convolution's weights (w read flipped) in a scratch
    /// buffer, for the buffer kernels.
    fn flipped_weights(&self, lowered: &mut Lowered, w: Binding) -> Binding {
        let len = self.c_out * self.x[1] * self.k * self.k;
        let slot = lowered.scratch_bytes.len();
        lowered.scratch_bytes.push((len * 4) as u64);
        lowered.dispatches.push(Dispatch {
            kernel: Shader::WeightFlip.kernel(),
            // WeightFlip's (c_out, c_in) are those of w itself.
            params: Params::new().u(self.x[1]).u(self.c_out).u(self.k).done(),
            bindings: vec![w, Binding::Scratch(slot)],
            workgroups: grid_1d(len),
        });
        Binding::Scratch(slot)
    }

    /// Row pitch of the padded input: longer rows for the row kernels;
    /// whole texels for the generic kernel's texel twins.
    fn pitch(&self) -> usize {
        let (w, w_out) = (self.x[3], self.y[3]);
        match fwd_row_kernel(self.k, self.stride, self.pad) {
            Some(_) => fwd_row_pitch(w, self.pad, self.stride, w_out),
            None => padded_pitch(w, self.pad),
        }
    }

    /// Whether the generic kernel reads the padded input from a texel array
    /// (CPU adapters), with rows of `texel_pitch` floats.
    fn generic_texels(&self, dev: &DeviceTraits) -> bool {
        dev.subgroups_8_to_64
            && dev.texels_fit(padded_vec4s(
                self.x,
                self.pad,
                texel_pitch(self.x[3], self.pad),
            ))
    }

    /// A row kernel where one applies, else the generic kernel; either runs
    /// `flat` on small maps. Its bindings are left to `lower`.
    fn dispatch(&self, dev: &DeviceTraits) -> Dispatch {
        let bindings = Vec::new();
        let (x, y) = (self.x, self.y);
        if let Some(row_kernel) = fwd_row_kernel(self.k, self.stride, self.pad) {
            let tiles = y[2] * y[3].div_ceil(BLOCK);
            let lane_tiles = flat_lane_tiles(tiles, dev);
            let (kernel, mut workgroups) = fwd_launch(
                lane_tiles,
                self.c_out.div_ceil(FWD3X3_CO),
                x[0],
                dev,
                row_kernel,
            );
            let (ci_chunk, splits) = fwd_split(x, workgroups, dev);
            workgroups[2] = (x[0] * splits) as u32;
            return Dispatch {
                kernel,
                params: Conv2dFwdRowsParams {
                    c_in: u(x[1]),
                    h: u(x[2] + 2 * self.pad),
                    pitch: u(self.pitch()),
                    c_out: u(self.c_out),
                    h_out: u(y[2]),
                    w_out: u(y[3]),
                    has_bias: self.bias.into(),
                    ci_chunk: u(ci_chunk),
                    n: u(x[0]),
                    lane_tiles: u(lane_tiles),
                }
                .words(),
                bindings,
                workgroups,
            };
        }
        let (kernel, mut workgroups) = fwd_launch(
            (y[2] * y[3]).div_ceil(BLOCK),
            self.c_out.div_ceil(BLOCK),
            x[0],
            dev,
            Shader::Conv2dFwd.kernel(),
        );
        let (ci_chunk, splits) = fwd_split(x, workgroups, dev);
        workgroups[2] = (x[0] * splits) as u32;
        // The subgroup variants' texel twins read x from a texel array.
        let (kernel, pitch) = if kernel.has(Defines::SUBGROUP) && self.generic_texels(dev) {
            (
                kernel.with(Defines::TEXELS),
                texel_pitch(self.x[3], self.pad),
            )
        } else {
            (kernel, padded_pitch(x[3], self.pad))
        };
        Dispatch {
            kernel,
            params: Conv2dFwdParams {
                c_in: u(x[1]),
                h: u(x[2] + 2 * self.pad),
                w: u(pitch),
                c_out: u(self.c_out),
                h_out: u(y[2]),
                w_out: u(y[3]),
                k: u(self.k),
                stride: u(self.stride),
                // The input is a zero-padded copy.
                pad: 0,
                has_bias: self.bias.into(),
                ci_chunk: u(ci_chunk),
                n: u(x[0]),
            }
            .words(),
            bindings,
            workgroups,
        }
    }
}

/// Input channels summed per split of a forward kernel, and the splits:
/// small deep maps launch few workgroups (a 512-channel 2x2 map one, the
/// 8x8 decoder layer four), so the sum over input channels is split until
/// the device has `parallel_workgroups` in flight, in chunks of at least
/// `MIN_SPLIT_CHANNELS`; sum_splits adds the partial outputs.
pub(super) fn fwd_split(x: &[usize], workgroups: [u32; 3], dev: &DeviceTraits) -> (usize, usize) {
    let launched = workgroups.iter().map(|&g| g as usize).product::<usize>();
    let wanted = (dev.parallel_workgroups as usize).div_ceil(launched.max(1));
    let most = (x[1] / MIN_SPLIT_CHANNELS).min(65535 / x[0].max(1)).max(1);
    let chunk = x[1].div_ceil(wanted.clamp(1, most)).max(1);
    (chunk, x[1].div_ceil(chunk).max(1))
}

/// Fewest input channels one split of a forward kernel sums.
pub(super) const MIN_SPLIT_CHANNELS: usize = 16;
