//! Convolution family: conv forward / backward-data / backward-weight as
//! implicit GEMMs (`shaders/conv/`), and the partial-convolution mask update.
use super::{CpuResult, Op};
use crate::kernels::Kernel;
use crate::kernels::{grid_1d, Binding, DeviceTraits, Dispatch, Lowered, Params, LOOP_BUDGET};

/// Outputs per invocation along each GEMM dimension (8x8 register tiles) and
/// invocations per workgroup along each grid dimension (workgroup 8x8).
const BLOCK: usize = 8;

/// Output channels per invocation of the row kernels (`CO` in
/// tools/gen_conv_row_kernels.py).
const FWD3X3_CO: usize = 16;

/// Output channels per invocation of the 3x3 backward-weight row kernel
/// (`BW_CO` in the generator).
const BWD_WEIGHT_3X3_CO: usize = 16;

/// Invocations per workgroup of the forward kernels (`@workgroup_size(64)`).
const FWD_LANES: usize = 64;

/// Kernel and grid of a forward convolution over `tiles` pixel tiles and
/// `groups` channel groups per image; `kernels` are the variants of one
/// kernel file: flat, flat with subgroups, subgroup, portable. Small maps (the deep
/// layers, 2x2 to 8x8) give each lane a (channel group, tile) pair, where a
/// workgroup along the tiles would run up to 63 of its 64 lanes for nothing
/// (one such dispatch took 3 s of a 13 s lavapipe step, 0.18 s flat). Flat
/// lanes cannot share weights by subgroupBroadcast, which costs more than
/// idling half the lanes: with subgroups only maps of at most 16 tiles go
/// flat (lavapipe: 16x16 maps took 150 ms with subgroups, 237 ms flat).
fn fwd_launch(
    tiles: usize,
    groups: usize,
    n: usize,
    dev: &DeviceTraits,
    [flat, flat_subgroup, subgroup, portable]: [Kernel; 4],
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
        let kernel = if flat_shares { flat_subgroup } else { flat };
        (kernel, [lanes.div_ceil(FWD_LANES) as u32, 1, n as u32])
    } else {
        let grid = [tiles.div_ceil(FWD_LANES) as u32, groups as u32, n as u32];
        (
            if dev.subgroups_8_to_64 {
                subgroup
            } else {
                portable
            },
            grid,
        )
    }
}

/// Grid for kernels where invocation (x, y) computes an 8x8 block and the
/// workgroup is 8x8 invocations.
pub fn block_grid(threads_x: usize, threads_y: usize, z: usize) -> [u32; 3] {
    [
        threads_x.div_ceil(BLOCK) as u32,
        threads_y.div_ceil(BLOCK) as u32,
        z as u32,
    ]
}

/// Split of the backward-weight reduction over `rows` output rows (n, oy)
/// into chunks so that about `dev.parallel_workgroups` workgroups run;
/// returns (rows per chunk, chunks).
/// Chunks are also kept short enough (`iterations_per_row` loop steps per
/// row) to stay within `LOOP_BUDGET`.
pub fn weight_grad_split(
    workgroups: usize,
    rows: usize,
    iterations_per_row: usize,
    dev: &DeviceTraits,
) -> (usize, usize) {
    let wanted = (dev.parallel_workgroups as usize)
        .div_ceil(workgroups.max(1))
        .max(1);
    let splits = wanted.min(rows.max(1)).min(65535);
    let max_rows = (LOOP_BUDGET / iterations_per_row.max(1)).max(1);
    let per = rows.max(1).div_ceil(splits).min(max_rows);
    (per, rows.max(1).div_ceil(per))
}

/// With more than one chunk, the `splits` partial sums of `len` values a
/// split-K kernel wrote into the next scratch slot are added into the output
/// (the backward-weight kernels and the Gram matrices).
pub(super) fn sum_splits(lowered: &mut Lowered, splits: usize, len: usize) {
    if splits > 1 {
        let slot = lowered.scratch_bytes.len();
        lowered.scratch_bytes.push((splits * len * 4) as u64);
        lowered.dispatches.push(Dispatch {
            kernel: Kernel::SumSplits,
            params: Params::new().u(len).u(splits).done(),
            bindings: vec![Binding::Scratch(slot), Binding::Output(0)],
            workgroups: grid_1d(len),
        });
    }
}

/// Row pitch (floats) of a zero-padded copy: a multiple of 4 so that the
/// row kernel's vec4 loads are aligned.
fn padded_pitch(w: usize, pad: usize) -> usize {
    if pad > 0 {
        (w + 2 * pad).next_multiple_of(4)
    } else {
        w
    }
}

/// Row pitch of the generic kernels' padded texel-array copies: whole
/// texels, also without padding (where `padded_pitch` keeps `w`).
fn texel_pitch(w: usize, pad: usize) -> usize {
    (w + 2 * pad).next_multiple_of(4)
}

/// Lanes per channel group of a `flat` row-kernel launch over `tiles`:
/// on small maps (under FWD_LANES tiles) rounded up to whole subgroups where
/// their layout is known, so that a subgroup's lanes share channels and keep
/// the subgroup and texel variants (lavapipe: the 4x4 decoder layer 84 ->
/// 24 ms, the stride-2 backward-data onto 8x8 838 -> 626 ms); the extra
/// lanes compute a clamped tile and store nothing.
fn flat_lane_tiles(tiles: usize, dev: &DeviceTraits) -> usize {
    let sg = dev.flat_subgroup_size as usize;
    if dev.subgroups_8_to_64 && sg > 0 && tiles < FWD_LANES {
        tiles.next_multiple_of(sg)
    } else {
        tiles
    }
}

/// Adds the zero padding of `x` (a scratch copy) and returns what the
/// convolution reads: the copy, or `x` itself without padding.
fn pad_input(lowered: &mut Lowered, x_binding: Binding, x: &[usize], pad: usize) -> Binding {
    if pad == 0 {
        return x_binding;
    }
    pad_input_to_pitch(lowered, x_binding, x, pad, padded_pitch(x[3], pad))
}

/// `pad_input` with rows of `pitch` floats (a multiple of 4, at least
/// `padded_pitch`): zeros past the padding, for kernels whose loads run on.
fn pad_input_to_pitch(
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
fn pad_input_to_texels(
    lowered: &mut Lowered,
    x_binding: Binding,
    x: &[usize],
    pad: usize,
) -> Binding {
    padded_copy(lowered, x_binding, x, pad, padded_pitch(x[3], pad), true)
}

/// Vec4s of `x` zero-padded by `pad` with rows of `pitch` floats.
fn padded_vec4s(x: &[usize], pad: usize, pitch: usize) -> usize {
    x[0] * x[1] * (x[2] + 2 * pad) * pitch / 4
}

/// A scratch copy of `x` zero-padded by `pad` with rows of `pitch` floats (a
/// multiple of 4: pad2d writes 4 floats per invocation), in a buffer or a
/// texel array.
pub(super) fn padded_copy(
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
    let kernel = match (texels, x[3].is_multiple_of(4)) {
        (true, true) => Kernel::Pad2dTexelsVec4,
        (true, false) => Kernel::Pad2dTexels,
        (false, true) => Kernel::Pad2dVec4,
        (false, false) => Kernel::Pad2d,
    };
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
const PAD_RUN: usize = 4;

/// The texel twin of a row kernel variant (same launch, operands read from
/// texel arrays); only subgroup variants have one.
fn texel_twin(kernel: Kernel) -> Option<Kernel> {
    Some(match kernel {
        Kernel::Conv2dFwd3x3Subgroup => Kernel::Conv2dFwd3x3Texels,
        Kernel::Conv2dFwd3x3FlatSubgroup => Kernel::Conv2dFwd3x3FlatTexels,
        Kernel::Conv2dFwdS2Subgroup => Kernel::Conv2dFwdS2Texels,
        Kernel::Conv2dFwdS2FlatSubgroup => Kernel::Conv2dFwdS2FlatTexels,
        Kernel::Conv2dFwdS2K5Subgroup => Kernel::Conv2dFwdS2K5Texels,
        Kernel::Conv2dFwdS2K5FlatSubgroup => Kernel::Conv2dFwdS2K5FlatTexels,
        Kernel::Conv2dBwdDataS2Subgroup => Kernel::Conv2dBwdDataS2Texels,
        Kernel::Conv2dBwdDataS2FlatSubgroup => Kernel::Conv2dBwdDataS2FlatTexels,
        Kernel::Conv2dBwdDataS2K5Subgroup => Kernel::Conv2dBwdDataS2K5Texels,
        Kernel::Conv2dBwdDataS2K5FlatSubgroup => Kernel::Conv2dBwdDataS2K5FlatTexels,
        _ => return None,
    })
}

/// How `weight_texels` reads the weights w it packs.
#[derive(Clone, Copy)]
enum WeightLayout {
    /// w[co, ci, ky, kx] as it is.
    AsIs = 0,
    /// The transposed convolution's: w[ci, co, k-1-ky, k-1-kx].
    FlippedTransposed = 1,
    /// w[ci, co, ky, kx] (lanes over w's input channels).
    Transposed = 2,
}

/// Texels per (channel group, input channel, kernel row, lane) of weights
/// packed for a `k`x`k` kernel (`texels` in conv/weight_texels.wgsl).
fn weight_texels_per_lane(k: usize) -> usize {
    (k * FWD3X3_CO / 8).div_ceil(4)
}

/// Texels of weights packed for `c_out` output and `c_in` input channels.
fn weight_texel_count(c_out: usize, c_in: usize, k: usize) -> usize {
    c_out.div_ceil(FWD3X3_CO) * c_in * k * 8 * weight_texels_per_lane(k)
}

/// The weights packed for the texel row kernels of a convolution with
/// `c_out` output and `c_in` input channels (after `layout`).
fn pack_weight_texels(
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
        kernel: Kernel::WeightTexels,
        params: Params::new()
            .u(c_out)
            .u(c_in)
            .u(k)
            .u(layout as usize)
            .u(FWD3X3_CO)
            .u(weight_texels_per_lane(k))
            .u(texels)
            .done(),
        bindings: vec![w, Binding::ScratchTexels(slot)],
        workgroups: grid_1d(texels),
    });
    Binding::ScratchTexels(slot)
}

/// Whether the 3x3 stride-1 backward-weight row kernel computes this
/// convolution's weight gradient (it reads whole 8-pixel tiles of gy).
fn row_kernel_applies(k: usize, stride: usize, pad: usize, w_out: usize) -> bool {
    k == 3 && stride == 1 && pad == 1 && w_out.is_multiple_of(BLOCK)
}

/// Whether the stride-2 backward-weight row kernel can read a convolution's
/// input, `w` wide, for `w_out` columns: padding (its rows are vec4-aligned
/// copies), whole 8-pixel tiles of gy and rows long enough for its loads.
fn stride2_rows_fit(stride: usize, pad: usize, w: usize, w_out: usize) -> bool {
    stride == 2 && pad > 0 && w_out.is_multiple_of(BLOCK) && padded_pitch(w, pad) >= 2 * w_out + 4
}

/// The backward-weight row kernels (portable, subgroup, texels) for a
/// `k`x`k` convolution of an input `w` wide into `w_out` columns, where one
/// applies: 3x3 stride 1 (as the forward row kernel), or 3x3 and 5x5 stride
/// 2 where the stride-2 forward row kernel fits.
fn bwd_weight_row_kernels(
    k: usize,
    stride: usize,
    pad: usize,
    w: usize,
    w_out: usize,
) -> Option<[Kernel; 3]> {
    if row_kernel_applies(k, stride, pad, w_out) {
        return Some([
            Kernel::Conv2dBwdWeight3x3,
            Kernel::Conv2dBwdWeight3x3Subgroup,
            Kernel::Conv2dBwdWeight3x3Texels,
        ]);
    }
    match k {
        3 if stride2_rows_fit(stride, pad, w, w_out) => Some([
            Kernel::Conv2dBwdWeightS2,
            Kernel::Conv2dBwdWeightS2Subgroup,
            Kernel::Conv2dBwdWeightS2Texels,
        ]),
        5 if stride2_rows_fit(stride, pad, w, w_out) => Some([
            Kernel::Conv2dBwdWeightS2K5,
            Kernel::Conv2dBwdWeightS2K5Subgroup,
            Kernel::Conv2dBwdWeightS2K5Texels,
        ]),
        _ => None,
    }
}

/// The forward row kernels' variants (flat, flat with subgroups,
/// subgroup, portable) for a `k`x`k` convolution, at any output width,
/// where one applies: 3x3 stride 1 padding 1, or stride 2 with k of 3 or 5
/// and padding (its rows are vec4-aligned copies, `fwd_row_pitch` long).
fn fwd_row_kernels(k: usize, stride: usize, pad: usize) -> Option<[Kernel; 4]> {
    if k == 3 && stride == 1 && pad == 1 {
        return Some([
            Kernel::Conv2dFwd3x3Flat,
            Kernel::Conv2dFwd3x3FlatSubgroup,
            Kernel::Conv2dFwd3x3Subgroup,
            Kernel::Conv2dFwd3x3,
        ]);
    }
    let fits = stride == 2 && pad > 0;
    match k {
        3 if fits => Some([
            Kernel::Conv2dFwdS2Flat,
            Kernel::Conv2dFwdS2FlatSubgroup,
            Kernel::Conv2dFwdS2Subgroup,
            Kernel::Conv2dFwdS2,
        ]),
        5 if fits => Some([
            Kernel::Conv2dFwdS2K5Flat,
            Kernel::Conv2dFwdS2K5FlatSubgroup,
            Kernel::Conv2dFwdS2K5Subgroup,
            Kernel::Conv2dFwdS2K5,
        ]),
        _ => None,
    }
}

/// The stride-2 backward-data row kernel's variants (flat, flat with
/// subgroups, subgroup, portable) for `k`x`k` filters and padding `pad`,
/// where it applies: k of 3 or 5 with padding (k - 1) / 2.
fn stride2_bwd_data_kernels(k: usize, pad: usize) -> Option<[Kernel; 4]> {
    let fits = pad == (k - 1) / 2;
    match k {
        3 if fits => Some([
            Kernel::Conv2dBwdDataS2Flat,
            Kernel::Conv2dBwdDataS2FlatSubgroup,
            Kernel::Conv2dBwdDataS2Subgroup,
            Kernel::Conv2dBwdDataS2,
        ]),
        5 if fits => Some([
            Kernel::Conv2dBwdDataS2K5Flat,
            Kernel::Conv2dBwdDataS2K5FlatSubgroup,
            Kernel::Conv2dBwdDataS2K5Subgroup,
            Kernel::Conv2dBwdDataS2K5,
        ]),
        _ => None,
    }
}

/// Row pitch (floats) of the forward row kernels' padded input `w` wide:
/// the last 8-pixel tile of a row, which may run past `w_out`, loads 12
/// (stride 1) or 20 (stride 2) floats from float 8 stride tile.
fn fwd_row_pitch(w: usize, pad: usize, stride: usize, w_out: usize) -> usize {
    padded_pitch(w, pad).max(BLOCK * stride * w_out.div_ceil(BLOCK) + 4)
}

/// A forward convolution as the conv kernels see it: input of logical shape
/// `x` (already zero-padded by `pad` into a scratch copy when `pad` > 0),
/// `c_out` filters of `k`x`k`, output `y`; bindings: input, weights, bias, y.
struct ForwardConv<'a> {
    x: &'a [usize],
    c_out: usize,
    k: usize,
    stride: usize,
    pad: usize,
    y: &'a [usize],
    bias: bool,
}

impl ForwardConv<'_> {
    /// The convolution of input `x` with weights `w` (with `flip`, the
    /// weights of the transposed convolution: w is [c_in, c_out, k, k] and
    /// read flipped, for backward-data) plus `bias`: the input padded, then a
    /// row kernel where one applies, reading texel arrays where the device
    /// has them, else the generic kernel.
    fn lower(
        &self,
        x: Binding,
        w: Binding,
        flip: bool,
        bias: Binding,
        dev: &DeviceTraits,
    ) -> Lowered {
        let mut lowered = Lowered::default();
        let mut d = self.dispatch(dev);
        if matches!(
            d.kernel,
            Kernel::Conv2dFwdTexels | Kernel::Conv2dFwdFlatTexels
        ) {
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
            kernel: Kernel::WeightFlip,
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
        match fwd_row_kernels(self.k, self.stride, self.pad) {
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
        if let Some(kernels) = fwd_row_kernels(self.k, self.stride, self.pad) {
            let tiles = y[2] * y[3].div_ceil(BLOCK);
            let lane_tiles = flat_lane_tiles(tiles, dev);
            let (kernel, mut workgroups) = fwd_launch(
                lane_tiles,
                self.c_out.div_ceil(FWD3X3_CO),
                x[0],
                dev,
                kernels,
            );
            let (ci_chunk, splits) = fwd_split(x, workgroups, dev);
            workgroups[2] = (x[0] * splits) as u32;
            return Dispatch {
                kernel,
                params: Params::new()
                    .u(x[1])
                    .u(x[2] + 2 * self.pad)
                    .u(self.pitch())
                    .u(self.c_out)
                    .u(y[2])
                    .u(y[3])
                    .b(self.bias)
                    .u(ci_chunk)
                    .u(x[0])
                    .u(lane_tiles)
                    .done(),
                bindings,
                workgroups,
            };
        }
        let (kernel, mut workgroups) = fwd_launch(
            (y[2] * y[3]).div_ceil(BLOCK),
            self.c_out.div_ceil(BLOCK),
            x[0],
            dev,
            [
                Kernel::Conv2dFwdFlat,
                Kernel::Conv2dFwdFlatSubgroup,
                Kernel::Conv2dFwdSubgroup,
                Kernel::Conv2dFwd,
            ],
        );
        let (ci_chunk, splits) = fwd_split(x, workgroups, dev);
        workgroups[2] = (x[0] * splits) as u32;
        let texels = self.generic_texels(dev);
        let (kernel, pitch) = match kernel {
            Kernel::Conv2dFwdSubgroup if texels => {
                (Kernel::Conv2dFwdTexels, texel_pitch(self.x[3], self.pad))
            }
            Kernel::Conv2dFwdFlatSubgroup if texels => (
                Kernel::Conv2dFwdFlatTexels,
                texel_pitch(self.x[3], self.pad),
            ),
            _ => (kernel, padded_pitch(x[3], self.pad)),
        };
        Dispatch {
            kernel,
            params: Params::new()
                .u(x[1])
                .u(x[2] + 2 * self.pad)
                .u(pitch)
                .u(self.c_out)
                .u(y[2])
                .u(y[3])
                .u(self.k)
                .u(self.stride)
                .u(0)
                .b(self.bias)
                .u(ci_chunk)
                .u(x[0])
                .done(),
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
fn fwd_split(x: &[usize], workgroups: [u32; 3], dev: &DeviceTraits) -> (usize, usize) {
    let launched = workgroups.iter().map(|&g| g as usize).product::<usize>();
    let wanted = (dev.parallel_workgroups as usize).div_ceil(launched.max(1));
    let most = (x[1] / MIN_SPLIT_CHANNELS).min(65535 / x[0].max(1)).max(1);
    let chunk = x[1].div_ceil(wanted.clamp(1, most)).max(1);
    (chunk, x[1].div_ceil(chunk).max(1))
}

/// Fewest input channels one split of a forward kernel sums.
const MIN_SPLIT_CHANNELS: usize = 16;

pub(super) fn lower(op: &Op, ins: &[&[usize]], outs: &[&[usize]], dev: &DeviceTraits) -> Lowered {
    match *op {
        Op::Conv2d { stride, pad, bias } => {
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
        Op::Conv2dBwdData {
            stride: 1,
            pad,
            h,
            w: wd,
        } if pad < ins[1][2] => {
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
        Op::Conv2dBwdData {
            stride: 2,
            pad,
            h,
            w: wd,
        } if stride2_bwd_data_kernels(ins[1][2], pad).is_some() => {
            let (gy, w) = (ins[0], ins[1]);
            let kernels = stride2_bwd_data_kernels(w[2], pad).expect("checked");
            let mut lowered = Lowered::default();
            // Each row's last pixel group loads 12 floats from its start.
            let groups = wd.div_ceil(2).div_ceil(BLOCK);
            let pitch = padded_pitch(gy[3], 1).max(groups * BLOCK + 4);
            // Phase 0 (even rows, even columns) has the most tiles.
            let tiles = flat_lane_tiles(h.div_ceil(2) * groups, dev);
            let (mut kernel, workgroups) =
                fwd_launch(tiles, w[1].div_ceil(FWD3X3_CO), gy[0] * 4, dev, kernels);
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
                params: Params::new()
                    .u(w[0])
                    .u(gy[2] + 2)
                    .u(pitch)
                    .u(w[1])
                    .u(h)
                    .u(wd)
                    .u(tiles)
                    .done(),
                bindings: vec![input, weights, Binding::Output(0)],
                workgroups,
            });
            lowered
        }
        Op::Conv2dBwdData {
            stride,
            pad,
            h,
            w: wd,
        } => {
            let (gy, w) = (ins[0], ins[1]);
            let params = Params::new()
                .u(w[1])
                .u(h)
                .u(wd)
                .u(w[0])
                .u(gy[2])
                .u(gy[3])
                .u(w[2])
                .u(stride)
                .u(pad)
                .done();
            Lowered::one(Dispatch {
                kernel: Kernel::Conv2dBwdData,
                params,
                bindings: vec![Binding::Input(0), Binding::Input(1), Binding::Output(0)],
                workgroups: block_grid(
                    h * stride * wd.div_ceil(stride).div_ceil(BLOCK),
                    w[1].div_ceil(BLOCK),
                    gy[0],
                ),
            })
        }
        Op::Conv2dBwdWeight { stride, pad, k }
            if bwd_weight_row_kernels(k, stride, pad, ins[1][3], ins[0][3]).is_some() =>
        {
            // The row kernels: a lane per input channel, 16 output channels.
            let (gy, x) = (ins[0], ins[1]);
            let (n, co, ho, wo) = (gy[0], gy[1], gy[2], gy[3]);
            let [portable, subgroup, texel] =
                bwd_weight_row_kernels(k, stride, pad, x[3], wo).expect("checked");
            let mut lowered = Lowered::default();
            let pitch = padded_pitch(x[3], pad);
            let texels = dev.subgroups_8_to_64
                && dev.texels_fit(padded_vec4s(x, pad, pitch))
                && dev.texels_fit(padded_vec4s(gy, 0, wo));
            let (gy_binding, input, kernel) = if texels {
                (
                    pad_input_to_texels(&mut lowered, Binding::Input(0), gy, 0),
                    pad_input_to_texels(&mut lowered, Binding::Input(1), x, pad),
                    texel,
                )
            } else {
                (
                    Binding::Input(0),
                    pad_input(&mut lowered, Binding::Input(1), x, pad),
                    if dev.subgroups_8_to_64 {
                        subgroup
                    } else {
                        portable
                    },
                )
            };
            let grid = [x[1].div_ceil(64), co.div_ceil(BWD_WEIGHT_3X3_CO)];
            let (rows_per_split, splits) =
                weight_grad_split(grid[0] * grid[1], n * ho, wo / BLOCK + 1, dev);
            let len = co * x[1] * k * k;
            let target = if splits == 1 {
                Binding::Output(0)
            } else {
                // The slot `sum_splits` adds next.
                Binding::Scratch(lowered.scratch_bytes.len())
            };
            lowered.dispatches.push(Dispatch {
                kernel,
                params: Params::new()
                    .u(n)
                    .u(x[1])
                    .u(x[2] + 2 * pad)
                    .u(pitch)
                    .u(co)
                    .u(ho)
                    .u(wo)
                    .u(rows_per_split)
                    .done(),
                bindings: vec![gy_binding, input, target],
                workgroups: [grid[0] as u32, grid[1] as u32, splits as u32],
            });
            sum_splits(&mut lowered, splits, len);
            lowered
        }
        Op::Conv2dBwdWeight { stride, pad, k } => {
            let (gy, x) = (ins[0], ins[1]);
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
                    Kernel::Conv2dBwdWeightTexels,
                )
            } else if dev.subgroups_8_to_64 {
                (Binding::Input(1), Kernel::Conv2dBwdWeightSubgroup)
            } else {
                (Binding::Input(1), Kernel::Conv2dBwdWeight)
            };
            let params = Params::new()
                .u(n)
                .u(x[1])
                .u(x[2])
                .u(x[3])
                .u(co)
                .u(ho)
                .u(wo)
                .u(k)
                .u(stride)
                .u(pad)
                .u(rows_per_split)
                .u(pitch)
                .done();
            let target = if splits == 1 {
                Binding::Output(0)
            } else {
                // The slot `sum_splits` adds next.
                Binding::Scratch(lowered.scratch_bytes.len())
            };
            lowered.dispatches.push(Dispatch {
                kernel,
                params,
                bindings: vec![Binding::Input(0), input, target],
                workgroups: [grid[0], grid[1], splits as u32],
            });
            sum_splits(&mut lowered, splits, co * cols);
            lowered
        }
        Op::PConvMask {
            k,
            stride,
            pad,
            count_a,
            count_b,
        } => {
            let (m, r) = (ins[0], outs[0]);
            let params = Params::new()
                .u(m[0])
                .u(m[2])
                .u(m[3])
                .u(r[2])
                .u(r[3])
                .u(k)
                .u(stride)
                .u(pad)
                .u(count_a)
                .u(count_b)
                .done();
            let mb = if count_b > 0 {
                Binding::Input(1)
            } else {
                Binding::Unused
            };
            Lowered::one(Dispatch {
                kernel: Kernel::PConvMask,
                params,
                bindings: vec![
                    Binding::Input(0),
                    mb,
                    Binding::Output(0),
                    Binding::Output(1),
                ],
                workgroups: grid_1d(m[0] * r[2] * r[3]),
            })
        }
        _ => unreachable!("not a conv op"),
    }
}

/// A sliding window: kernel size, stride and zero padding.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Window {
    /// Input coordinate of output position `o`, tap `t`; None in the padding.
    fn tap(&self, o: usize, t: usize, len: usize) -> Option<usize> {
        (o * self.stride + t)
            .checked_sub(self.pad)
            .filter(|&i| i < len)
    }
}

/// The sizes of one convolution: (batch, C_in, H, W) of the input,
/// (C_out, H_out, W_out) of the output, and the window.
#[derive(Clone, Copy, Debug)]
pub struct ConvDims {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub h_out: usize,
    pub w_out: usize,
    pub win: Window,
}

impl ConvDims {
    /// Calls `f(x index, weight index, y index)` for every multiply-add of
    /// the convolution (padding taps skipped): forward, backward-data and
    /// backward-weight are the three ways of accumulating over these triples.
    fn for_each_term(&self, mut f: impl FnMut(usize, usize, usize)) {
        let ConvDims {
            n,
            c_in,
            h,
            w,
            c_out,
            h_out,
            w_out,
            win,
        } = *self;
        let k = win.k;
        for img in 0..n {
            for o in 0..c_out {
                for oy in 0..h_out {
                    for ox in 0..w_out {
                        let yi = ((img * c_out + o) * h_out + oy) * w_out + ox;
                        for c in 0..c_in {
                            for ky in 0..k {
                                let Some(iy) = win.tap(oy, ky, h) else {
                                    continue;
                                };
                                for kx in 0..k {
                                    let Some(ix) = win.tap(ox, kx, w) else {
                                        continue;
                                    };
                                    f(
                                        ((img * c_in + c) * h + iy) * w + ix,
                                        ((o * c_in + c) * k + ky) * k + kx,
                                        yi,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn of(x: &[usize], weight: &[usize], y: &[usize], stride: usize, pad: usize) -> Self {
        ConvDims {
            n: x[0],
            c_in: x[1],
            h: x[2],
            w: x[3],
            c_out: weight[0],
            h_out: y[2],
            w_out: y[3],
            win: Window {
                k: weight[2],
                stride,
                pad,
            },
        }
    }
}

/// CPU twin of conv2d_fwd: y = w ⋆ x (+ b).
pub fn conv2d_cpu(d: &ConvDims, x: &[f64], w: &[f64], b: Option<&[f64]>) -> Vec<f64> {
    let plane = d.h_out * d.w_out;
    let mut y: Vec<f64> = (0..d.n * d.c_out * plane)
        .map(|i| b.map_or(0.0, |b| b[(i / plane) % d.c_out]))
        .collect();
    d.for_each_term(|xi, wi, yi| y[yi] += w[wi] * x[xi]);
    y
}

/// CPU twin of conv2d_bwd_data: the transpose of conv2d_cpu.
pub fn conv2d_bwd_data_cpu(d: &ConvDims, gy: &[f64], w: &[f64]) -> Vec<f64> {
    let mut gx = vec![0.0; d.n * d.c_in * d.h * d.w];
    d.for_each_term(|xi, wi, yi| gx[xi] += gy[yi] * w[wi]);
    gx
}

/// CPU twin of conv2d_bwd_weight.
pub fn conv2d_bwd_weight_cpu(d: &ConvDims, gy: &[f64], x: &[f64]) -> Vec<f64> {
    let mut gw = vec![0.0; d.c_out * d.c_in * d.win.k * d.win.k];
    d.for_each_term(|xi, wi, yi| gw[wi] += gy[yi] * x[xi]);
    gw
}

/// CPU twin of pconv_mask: (ratio, new mask).
pub fn pconv_mask_cpu(
    ma: &[f64],
    mb: Option<&[f64]>,
    ms: &[usize],
    win: Window,
    (count_a, count_b): (usize, usize),
    (ho, wo): (usize, usize),
) -> (Vec<f64>, Vec<f64>) {
    let (n, h, w, k) = (ms[0], ms[2], ms[3], win.k);
    let mut ratio = vec![0.0; n * ho * wo];
    let mut mask = vec![0.0; n * ho * wo];
    for img in 0..n {
        for oy in 0..ho {
            for ox in 0..wo {
                let mut s = 0.0;
                for ky in 0..k {
                    let Some(iy) = win.tap(oy, ky, h) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(ix) = win.tap(ox, kx, w) else {
                            continue;
                        };
                        let at = (img * h + iy) * w + ix;
                        s += count_a as f64 * ma[at] + mb.map_or(0.0, |mb| count_b as f64 * mb[at]);
                    }
                }
                let o = (img * ho + oy) * wo + ox;
                if s > 0.0 {
                    ratio[o] = ((count_a + count_b) * k * k) as f64 / s;
                    mask[o] = 1.0;
                }
            }
        }
    }
    (ratio, mask)
}

pub(super) fn eval_cpu(
    op: &Op,
    ins: &[&[f64]],
    shapes: &[&[usize]],
    outs: &[Vec<usize>],
) -> CpuResult {
    match *op {
        Op::Conv2d { stride, pad, bias } => {
            let d = ConvDims::of(shapes[0], shapes[1], &outs[0], stride, pad);
            let b = if bias { Some(ins[2]) } else { None };
            CpuResult::one(conv2d_cpu(&d, ins[0], ins[1], b))
        }
        Op::Conv2dBwdData { stride, pad, h, w } => {
            let (gy, wt) = (shapes[0], shapes[1]);
            let d = ConvDims::of(&[gy[0], wt[1], h, w], wt, gy, stride, pad);
            CpuResult::one(conv2d_bwd_data_cpu(&d, ins[0], ins[1]))
        }
        Op::Conv2dBwdWeight { stride, pad, k } => {
            let (gy, x) = (shapes[0], shapes[1]);
            let d = ConvDims::of(x, &[gy[1], x[1], k, k], gy, stride, pad);
            CpuResult::one(conv2d_bwd_weight_cpu(&d, ins[0], ins[1]))
        }
        Op::PConvMask {
            k,
            stride,
            pad,
            count_a,
            count_b,
        } => {
            let mb = if count_b > 0 { Some(ins[1]) } else { None };
            let (r, m) = pconv_mask_cpu(
                ins[0],
                mb,
                shapes[0],
                Window { k, stride, pad },
                (count_a, count_b),
                (outs[0][2], outs[0][3]),
            );
            CpuResult {
                outputs: vec![r, m],
                written: vec![],
            }
        }
        _ => unreachable!("not a conv op"),
    }
}
