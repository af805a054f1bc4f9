//! The 3x3 stride-1 candidates of mixed precision (`conv3x3_mma.wgsl`
//! for the forward pass and the input gradient, `conv3x3_mma_bwd_weight.wgsl`
//! for the weight gradient): a block's input is staged once per kx shift
//! and the nine taps read it in place, where the implicit GEMM stages each
//! tap's copy apart. Chosen with `DeviceTraits::mixed_direct` until a GPU
//! has timed them.
use super::super::sum_splits_then;
use super::{chunks_wanted, Chunks, MixedConv, MixedPass};
use crate::kernels::{
    grid_1d,
    params::{Conv3x3MmaBwdWeightParams, Conv3x3MmaParams},
    Binding, Defines, DeviceTraits, Dispatch, HalfStorage, Lowered, MixedKernels, Params, Shader,
};
use crate::ops::conv::Window;

/// The 3x3 stride-1 kernels: pixels per block (rows of 16), result
/// channels per block (the weight gradient's; `conv3x3_mma.wgsl`'s are
/// its `TILE_M`, `direct_rows`), channels per staged slice.
const DIRECT_BLOCK_ROWS: usize = 4;
const DIRECT_BLOCK_COLS: usize = 16;
const DIRECT_ROWS: usize = 64;
const DIRECT_SLICE: usize = 16;

/// Result channels per block of `conv3x3_mma.wgsl` for a pass of `c_out`
/// result channels: 128 (`tall`, each staged value serving twice the
/// multiply-adds) where `DeviceTraits::mixed_tall` asks and there are at
/// least 128, else 64.
fn direct_rows(c_out: usize, dev: &DeviceTraits) -> usize {
    if dev.mixed_tall && c_out >= 128 {
        128
    } else {
        64
    }
}

/// Loop iterations of `conv3x3_mma.wgsl`'s plain-arithmetic twin with
/// `rows` result channels per block, per staged slice (36 staging steps;
/// 9 taps x rows / 16 tiles x 8 elements of 16 + 1 steps) and outside them
/// (the epilogue, in passes of 64 channels), against `LOOP_BUDGET`.
fn direct_twin_iterations(rows: usize) -> (usize, usize) {
    (
        36 + 9 * (rows / 16 * (8 * 17 + 1) + 1) + 1,
        rows / 64 * (4 * 9 + 33),
    )
}
/// The same for its weight gradient, per pixel block (32 + 36 staging
/// steps; 4 pixel rows x 9 taps x 8 elements of 16 + 1 steps) and outside
/// (9 taps' epilogues).
const DIRECT_BWD_WEIGHT_TWIN_ITERATIONS: (usize, usize) =
    (32 + 36 + 4 * (9 * (8 * 17 + 1) + 1) + 1, 9 * 17 + 1);

impl MixedConv {
    /// Whether the 3x3 stride-1 kernels (`conv3x3_mma.wgsl` and
    /// `conv3x3_mma_bwd_weight.wgsl`) can run this convolution's passes: a
    /// 3x3 window of stride 1 and padding 1, on maps at least one block
    /// (16 pixels) wide, within the grid.
    pub fn direct_applies(&self) -> bool {
        let d = &self.dims;
        let Window { k, stride, pad } = d.win;
        let blocks = d.w.div_ceil(DIRECT_BLOCK_COLS) * d.h.div_ceil(DIRECT_BLOCK_ROWS);
        (k, stride, pad) == (3, 1, 1) && d.w >= DIRECT_BLOCK_COLS && blocks <= 65535
    }

    /// Operand and result channels of `pass` as the 3x3 kernel's
    /// convolution: the input gradient is that of gy with the flipped,
    /// transposed weights.
    fn direct_channels(&self, pass: MixedPass) -> (usize, usize) {
        let d = &self.dims;
        match pass {
            MixedPass::BackwardData => (d.c_out, d.c_in),
            _ => (d.c_in, d.c_out),
        }
    }

    /// The 3x3 kernel's chunks of operand channels on a device (whole
    /// slices of 16; `chunks_wanted`, at least 4 slices, 576 terms, per
    /// chunk), within the grid.
    pub fn direct_chunks_for(&self, pass: MixedPass, dev: &DeviceTraits) -> Chunks {
        let d = &self.dims;
        let (c_in, c_out) = self.direct_channels(pass);
        let slices = c_in.div_ceil(DIRECT_SLICE);
        let blocks = d.w.div_ceil(DIRECT_BLOCK_COLS)
            * d.h.div_ceil(DIRECT_BLOCK_ROWS)
            * c_out.div_ceil(direct_rows(c_out, dev))
            * d.n;
        let twin = direct_twin_iterations(direct_rows(c_out, dev));
        let wanted = chunks_wanted(dev, blocks, slices, 4, twin);
        let len = slices.div_ceil(wanted.min(65535 / d.n).max(1)) * DIRECT_SLICE;
        Chunks {
            len,
            count: c_in.div_ceil(len),
        }
    }

    /// `pass` on the 3x3 kernel: the weights as f16 taps (a scratch of the
    /// node, hoisted where the weights are constant), then the tiles on
    /// `src` (x, or gy), partial results summed where the reduction runs
    /// in chunks.
    pub(super) fn lower_direct(
        &self,
        pass: MixedPass,
        (src, weights, bias): (Binding, Binding, Binding),
        dev: &DeviceTraits,
        half: HalfStorage,
    ) -> Lowered {
        let d = &self.dims;
        let forward = pass == MixedPass::Forward;
        let (c_in, c_out) = self.direct_channels(pass);
        let (rows_pad, depth_pad) = (
            c_out.next_multiple_of(direct_rows(c_out, dev)),
            c_in.next_multiple_of(DIRECT_SLICE),
        );
        let taps = 9 * rows_pad * depth_pad;
        let mut lowered = Lowered {
            scratch_bytes: vec![(taps * 2) as u64],
            hoistable: vec![0],
            ..Default::default()
        };
        lowered.dispatches.push(Dispatch {
            kernel: Shader::WeightTaps.kernel(),
            params: Params::new()
                .u(d.c_out)
                .u(d.c_in)
                .u(rows_pad)
                .u(depth_pad)
                .b(!forward)
                .done(),
            bindings: vec![weights, Binding::Scratch(0)],
            workgroups: grid_1d(taps),
        });
        let chunks = self.direct_chunks_for(pass, dev);
        let has_bias = self.bias && forward;
        let activation = self.activation.filter(|_| forward);
        let params = Conv3x3MmaParams {
            c_in: c_in as u32,
            c_out: c_out as u32,
            h: d.h as u32,
            w: d.w as u32,
            n: d.n as u32,
            rows_pad: rows_pad as u32,
            depth_pad: depth_pad as u32,
            chunk: chunks.len as u32,
            has_bias: has_bias as u32,
            // With chunks the activation follows their sum.
            act: (chunks.count == 1 && activation.is_some()) as u32,
            slope: activation.unwrap_or(0.0),
        };
        let whole = chunks.count == 1;
        lowered.dispatches.push(Dispatch {
            kernel: Shader::Conv3x3Mma.with(
                Defines::NONE
                    .with_if(Defines::COOP, dev.mixed == MixedKernels::Coop)
                    .with_if(Defines::TALL, direct_rows(c_out, dev) == 128)
                    .with_if(Defines::HALF_IN, half.input)
                    .with_if(Defines::HALF_OUT, half.output && whole),
            ),
            params: params.words(),
            bindings: vec![
                src,
                Binding::Scratch(0),
                if has_bias { bias } else { Binding::Unused },
                if whole {
                    Binding::Output(0)
                } else {
                    Binding::Scratch(1)
                },
            ],
            workgroups: [
                (d.w.div_ceil(DIRECT_BLOCK_COLS) * d.h.div_ceil(DIRECT_BLOCK_ROWS)) as u32,
                c_out.div_ceil(direct_rows(c_out, dev)) as u32,
                (d.n * chunks.count) as u32,
            ],
        });
        sum_splits_then(
            &mut lowered,
            chunks.count,
            self.output_len(pass),
            activation,
        );
        if half.output && !whole {
            let last = lowered.dispatches.last_mut().expect("sum_splits");
            last.kernel = last.kernel.with(Defines::HALF_OUT);
        }
        lowered
    }

    /// The weight gradient on the 3x3 kernel: gw from x and gy, in chunks
    /// of pixel blocks (`chunks_wanted`, at least 8 per chunk), summed by
    /// sum_splits.
    pub(super) fn lower_direct_bwd_weight(
        &self,
        (x, gy): (Binding, Binding),
        dev: &DeviceTraits,
        half: HalfStorage,
    ) -> Lowered {
        let d = &self.dims;
        let blocks = d.n * d.h.div_ceil(DIRECT_BLOCK_ROWS) * d.w.div_ceil(DIRECT_BLOCK_COLS);
        let groups = d.c_in.div_ceil(DIRECT_SLICE) * d.c_out.div_ceil(DIRECT_ROWS);
        let wanted = chunks_wanted(dev, groups, blocks, 8, DIRECT_BWD_WEIGHT_TWIN_ITERATIONS);
        let per_chunk = blocks.div_ceil(wanted.min(65535));
        let chunks = blocks.div_ceil(per_chunk);
        let mut lowered = Lowered::default();
        let params = Conv3x3MmaBwdWeightParams {
            c_in: d.c_in as u32,
            c_out: d.c_out as u32,
            h: d.h as u32,
            w: d.w as u32,
            n: d.n as u32,
            blocks_per_chunk: per_chunk as u32,
        };
        lowered.dispatches.push(Dispatch {
            kernel: Shader::Conv3x3MmaBwdWeight.with(
                Defines::NONE
                    .with_if(Defines::COOP, dev.mixed == MixedKernels::Coop)
                    .with_if(Defines::HALF_IN, half.input),
            ),
            params: params.words(),
            bindings: vec![
                x,
                gy,
                if chunks == 1 {
                    Binding::Output(0)
                } else {
                    Binding::Scratch(0)
                },
            ],
            workgroups: [
                d.c_in.div_ceil(DIRECT_SLICE) as u32,
                d.c_out.div_ceil(DIRECT_ROWS) as u32,
                chunks as u32,
            ],
        });
        sum_splits_then(
            &mut lowered,
            chunks,
            self.output_len(MixedPass::BackwardWeight),
            None,
        );
        lowered
    }
}
