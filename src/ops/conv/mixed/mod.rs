//! Mixed-precision convolution: f16 operands, f32 accumulation, on 16 x 16
//! x 16 matrix tiles (`shaders/conv/conv2d_mma.wgsl`): the forward pass,
//! the input gradient and the weight gradient, each a GEMM with its own
//! gather. With `coop` the tiles are cooperative matrices (tensor cores,
//! where `MixedPrecision::coop_16x16_f16`); without it the same kernel
//! multiplies them in plain arithmetic on any device with f16, which is how
//! CI checks everything but the multiply-add instruction. Operands and
//! results are f32 in storage; the kernel rounds the operands to f16 as it
//! stages them. `lower` runs a graph's convolution this way; `dispatch`
//! alone is what the tests run on f16-representable data against the f64
//! twins (tests/common/direct.rs).
mod direct;

use super::cpu::{ConvDims, Window};
use super::sum_splits_then;
use crate::error::{Error, Result};
use crate::graph::{Graph, TensorId};
use crate::kernels::{
    params::Conv2dMmaParams, Binding, Defines, DeviceTraits, Dispatch, HalfStorage, Lowered,
    MixedKernels, Shader, LOOP_BUDGET,
};
use crate::ops::conv_out;

/// Result columns per workgroup, and the reduction slice staged at a time
/// (the shader's TILE_N, TILE_K); the rows are the `MmaTile`'s.
const TILE_N: usize = 64;
const TILE_K: usize = 32;

/// The kernel's candidate blocks of results per workgroup, each with where
/// it applies (the shader's TILE_M).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmaTile {
    /// 64 x 64: every shape.
    Square,
    /// 128 x 64 (`tall`): each staged gathered value (the costly operand:
    /// an index computed per value) serves twice the multiply-adds, for
    /// results of 128 rows or more. Chosen only with
    /// `DeviceTraits::mixed_tall` until a GPU has timed it.
    Tall,
}

impl MmaTile {
    pub const ALL: [MmaTile; 2] = [MmaTile::Square, MmaTile::Tall];

    /// Result rows per workgroup.
    pub fn rows(self) -> usize {
        match self {
            MmaTile::Square => 64,
            MmaTile::Tall => 128,
        }
    }

    /// The block for a result of `rows` rows on `dev`.
    pub fn for_rows(rows: usize, dev: &DeviceTraits) -> Self {
        if dev.mixed_tall && rows >= MmaTile::Tall.rows() {
            MmaTile::Tall
        } else {
            MmaTile::Square
        }
    }

    /// Loop iterations of the plain-arithmetic twin per reduction slice
    /// (staging rows / 4 + 16 loads; 2 x (rows / 16) tiles x 8 elements
    /// of 16 + 1 steps; the slice loops) and outside them (the epilogue in
    /// passes of 64 rows), against `LOOP_BUDGET`.
    fn twin_iterations(self) -> (usize, usize) {
        let tiles = self.rows() / 16;
        let passes = self.rows() / 64;
        (
            self.rows() / 4 + 16 + 2 * tiles * 8 * 17 + 2,
            passes * (4 * 8 + 32 + 1),
        )
    }
}

/// Which product of the convolution a dispatch computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixedPass {
    /// y from x and the weights (and bias).
    Forward,
    /// gx from gy and the weights.
    BackwardData,
    /// gw from gy and x.
    BackwardWeight,
}

impl MixedPass {
    pub const ALL: [MixedPass; 3] = [
        MixedPass::Forward,
        MixedPass::BackwardData,
        MixedPass::BackwardWeight,
    ];
}

/// One mixed-precision convolution: x (n, c_in, h, w), gy (n, c_out,
/// h_out, w_out) and weights (c_out, c_in, k, k) rounded to f16 (they are
/// f32 in storage); bias, y, gx and gw in f32.
#[derive(Clone, Copy, Debug)]
pub struct MixedConv {
    pub dims: ConvDims,
    pub bias: bool,
    /// The kernel's block of results (`new`: `Square`).
    pub tile: MmaTile,
    /// The forward result through a leaky ReLU of this slope (an
    /// activation fused into the convolution; `new`: none).
    pub activation: Option<f32>,
}

/// A pass as the kernel's GEMMs: result rows and columns per matrix,
/// matrices (images, times the stride's phases for backward-data; 1 for
/// the weight gradient), the reduction length; the largest phase's
/// columns and reduction where phases differ.
struct Gemm {
    rows: usize,
    cols: usize,
    matrices: usize,
    red: usize,
}

impl Gemm {
    /// Workgroups of one chunk.
    fn blocks(&self, tile: MmaTile) -> usize {
        self.cols.div_ceil(TILE_N) * self.rows.div_ceil(tile.rows()) * self.matrices
    }
}

/// Into how many chunks a reduction of `units` (slices, or pixel blocks)
/// is cut on `dev`, for a kernel launching `blocks` workgroups per chunk:
/// enough for the device's `parallel_workgroups`, each chunk at least
/// `min_units` long (a partial result must be worth writing), and with
/// the plain-arithmetic twin short enough for lavapipe's loop budget
/// (`twin`: its loop iterations per unit and outside them; on a GPU the
/// twin only serves comparisons, so one rule for all devices).
pub(super) fn chunks_wanted(
    dev: &DeviceTraits,
    blocks: usize,
    units: usize,
    min_units: usize,
    (per_unit, fixed): (usize, usize),
) -> usize {
    let wanted = (dev.parallel_workgroups as usize)
        .div_ceil(blocks.max(1))
        .clamp(1, units.div_ceil(min_units).max(1));
    if dev.mixed == MixedKernels::Twin {
        wanted.max(units.div_ceil((LOOP_BUDGET - fixed) / per_unit))
    } else {
        wanted
    }
}

/// A pass cut into chunks of its reduction (split-K): each chunk writes
/// its own partial result, which sum_splits adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunks {
    /// Reduction indices per chunk (whole 32-wide slices).
    pub len: usize,
    /// Chunks, so partial results.
    pub count: usize,
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
            tile: MmaTile::Square,
            activation: None,
        };
        let fits = |g: Gemm| {
            g.cols.div_ceil(TILE_N) <= 65535
                && g.rows.div_ceil(MmaTile::Square.rows()) <= 65535
                && g.matrices <= 65535
        };
        if n == 0 || c_in == 0 || c_out == 0 || !MixedPass::ALL.iter().all(|&p| fits(conv.gemm(p)))
        {
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
        let (rows, cols, matrices, red) = match pass {
            MixedPass::Forward => (d.c_out, d.h_out * d.w_out, d.n, d.c_in * taps),
            // One GEMM per phase of the input pixels (the shader's
            // `Phase`): at most ceil(h / s) x ceil(w / s) pixels, each
            // taking at most ceil(k / s)^2 taps.
            MixedPass::BackwardData => {
                let s = d.win.stride;
                let per_axis = d.win.k.div_ceil(s);
                (
                    d.c_in,
                    d.h.div_ceil(s) * d.w.div_ceil(s),
                    d.n * s * s,
                    d.c_out * per_axis * per_axis,
                )
            }
            MixedPass::BackwardWeight => (d.c_out, d.c_in * taps, 1, d.n * d.h_out * d.w_out),
        };
        Gemm {
            rows,
            cols,
            matrices,
            red,
        }
    }

    /// The reduction of `pass` in at most `wanted` chunks of whole slices
    /// (every chunk but the last full; fewer where the reduction is short
    /// or the grid would overflow).
    pub fn chunks(&self, pass: MixedPass, wanted: usize) -> Chunks {
        let g = self.gemm(pass);
        let most = (65535 / g.matrices).max(1);
        let len = g
            .red
            .div_ceil(wanted.clamp(1, most))
            .div_ceil(TILE_K)
            .max(1)
            * TILE_K;
        Chunks {
            len,
            count: g.red.div_ceil(len),
        }
    }

    /// The chunks `pass` runs in on a device (`chunks_wanted`, chunks at
    /// least 8 slices long).
    pub fn chunks_for(&self, pass: MixedPass, dev: &DeviceTraits) -> Chunks {
        let g = self.gemm(pass);
        let slices = g.red.div_ceil(TILE_K);
        let wanted = chunks_wanted(
            dev,
            g.blocks(self.tile),
            slices,
            8,
            self.tile.twin_iterations(),
        );
        self.chunks(pass, wanted)
    }

    /// The dispatch. Bindings: the gathered operand (x, or gy for
    /// backward-data), the left one (the weights, or gy for
    /// backward-weight), the bias (f32, forward only), the result (f32;
    /// with several chunks, their partial results one after the other).
    pub fn dispatch(&self, pass: MixedPass, chunks: Chunks, coop: bool) -> Dispatch {
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
            chunk: chunks.len as u32,
            n: d.n as u32,
            // With chunks the activation follows their sum.
            act: (forward && chunks.count == 1 && self.activation.is_some()) as u32,
            slope: self.activation.unwrap_or(0.0),
        };
        let direction = match pass {
            MixedPass::Forward => Defines::NONE,
            MixedPass::BackwardData => Defines::BWD_DATA,
            MixedPass::BackwardWeight => Defines::BWD_WEIGHT,
        };
        Dispatch {
            kernel: Shader::Conv2dMma.with(
                direction
                    .with_if(Defines::COOP, coop)
                    .with_if(Defines::TALL, self.tile == MmaTile::Tall),
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
                g.cols.div_ceil(TILE_N) as u32,
                g.rows.div_ceil(self.tile.rows()) as u32,
                (g.matrices * chunks.count) as u32,
            ],
        }
    }

    /// A graph of this convolution's three passes as graph ops (each
    /// lowered as the device's traits say): inputs x, w, bias, gy; outputs
    /// y (with the bias), gx, gw; with `f16_activations` x, gy, y and gx
    /// pass through copies, so that mixed precision stores them as f16.
    #[allow(clippy::type_complexity)]
    pub fn three_passes(
        &self,
        f16_activations: bool,
    ) -> Result<(Graph, [TensorId; 4], [TensorId; 3])> {
        use crate::ops::{ConvOp, NnOp, Op};
        let ConvDims {
            n,
            c_in,
            h,
            w,
            c_out,
            h_out,
            w_out,
            win: Window { k, stride, pad },
        } = self.dims;
        let mut g = Graph::new();
        let inputs = [
            g.input("x", &[n, c_in, h, w]),
            g.input("w", &[c_out, c_in, k, k]),
            g.input("b", &[c_out]),
            g.input("gy", &[n, c_out, h_out, w_out]),
        ];
        let [x, wt, b, gy] = inputs;
        // A copy that stores its result as f16 where mixed precision does
        // (`graph::storage`): the activations x and gy reach the passes as
        // f16, and y and gx leave them so.
        let copy = |g: &mut Graph, t: TensorId| -> Result<TensorId> {
            if !f16_activations {
                return Ok(t);
            }
            let op = Op::Nn(NnOp::Axpby {
                alpha: 1.0,
                beta: 0.0,
            });
            Ok(g.push(op, &[t])?[0])
        };
        let (x, gy) = (copy(&mut g, x)?, copy(&mut g, gy)?);
        let forward = ConvOp::Conv2d {
            stride,
            pad,
            bias: true,
        };
        let y = g.push(Op::Conv(forward), &[x, wt, b])?[0];
        let gx = g.push(
            Op::Conv(ConvOp::Conv2dBwdData { stride, pad, h, w }),
            &[gy, wt],
        )?[0];
        let gw = g.push(
            Op::Conv(ConvOp::Conv2dBwdWeight { stride, pad, k }),
            &[gy, x],
        )?[0];
        let (y, gx) = (copy(&mut g, y)?, copy(&mut g, gx)?);
        Ok((g, inputs, [y, gx, gw]))
    }

    /// Loop iterations one invocation of the twin runs with `chunks`.
    pub fn twin_loop_iterations(&self, chunks: Chunks) -> usize {
        let (per_slice, fixed) = self.tile.twin_iterations();
        chunks.len.div_ceil(TILE_K) * per_slice + fixed
    }

    /// 2 x multiply-adds, the same for every pass.
    pub fn flops(&self) -> f64 {
        let d = &self.dims;
        2.0 * (d.n * d.c_out * d.h_out * d.w_out * d.c_in * d.win.k * d.win.k) as f64
    }

    /// Values of the result: y, gx or gw.
    pub fn output_len(&self, pass: MixedPass) -> usize {
        let d = &self.dims;
        match pass {
            MixedPass::Forward => d.n * d.c_out * d.h_out * d.w_out,
            MixedPass::BackwardData => d.n * d.c_in * d.h * d.w,
            MixedPass::BackwardWeight => d.c_out * d.c_in * d.win.k * d.win.k,
        }
    }

    /// `pass` of a graph's convolution: the tiles on the node's f32
    /// operands (`gathered` and `left`, as `dispatch` binds them; partial
    /// results summed where the reduction runs in chunks), the f32 result
    /// in the node's output.
    pub fn lower(
        &self,
        pass: MixedPass,
        (gathered, left, bias): (Binding, Binding, Binding),
        dev: &DeviceTraits,
        half: HalfStorage,
    ) -> Lowered {
        if dev.mixed_direct && self.direct_applies() {
            return if pass == MixedPass::BackwardWeight {
                self.lower_direct_bwd_weight((gathered, left), dev, half)
            } else {
                self.lower_direct(pass, (gathered, left, bias), dev, half)
            };
        }
        let mut lowered = Lowered::default();
        let conv = MixedConv {
            tile: MmaTile::for_rows(self.gemm(pass).rows, dev),
            ..*self
        };
        let chunks = conv.chunks_for(pass, dev);
        let mut tiles = conv.dispatch(pass, chunks, dev.mixed == MixedKernels::Coop);
        tiles.bindings[0] = gathered;
        tiles.bindings[1] = left;
        tiles.bindings[2] = if pass == MixedPass::Forward {
            bias
        } else {
            Binding::Unused
        };
        if chunks.count > 1 {
            tiles.bindings[3] = Binding::Scratch(lowered.scratch_bytes.len());
        }
        // The result is stored as f16 by whichever dispatch writes it; the
        // chunks' partial sums stay f32.
        tiles.kernel = tiles
            .kernel
            .with_if(Defines::HALF_IN, half.input)
            .with_if(Defines::HALF_OUT, half.output && chunks.count == 1);
        lowered.dispatches.push(tiles);
        let activation = self.activation.filter(|_| pass == MixedPass::Forward);
        sum_splits_then(
            &mut lowered,
            chunks.count,
            self.output_len(pass),
            activation,
        );
        if half.output && chunks.count > 1 {
            let last = lowered.dispatches.last_mut().expect("sum_splits");
            last.kernel = last.kernel.with(Defines::HALF_OUT);
        }
        lowered
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

/// Runs the three passes of three small convolutions (3x3 stride 1 and
/// 5x5 stride 2, partial tiles of everything, several chunks where the
/// device splits; 130 output channels, so the 128-row blocks run where the
/// device's traits choose them; a 3x3 on a map 17 wide, for the 3x3
/// kernel where they choose it) through the graph with `kernels`, on
/// integers from -3 to 3 with f32 activations and from -1 to 1 with f16
/// ones: f16 holds them exactly and their f32 sums are exact in any order
/// (and, for the second, within f16's integers), so every value must
/// equal the CPU's. A driver whose cooperative matrices
/// (an experimental wgpu feature) compute wrongly, or fail to build, is
/// found before a run trusts them; the error says which value differed.
pub fn self_test(
    ctx: &crate::gpu::GpuContext,
    kernels: MixedKernels,
) -> std::result::Result<(), String> {
    let run = || -> Result<()> {
        // Each case with f32 activations on integers from -3 to 3, then
        // with f16 activations (the kernels' f16-storage variants) on -1 to
        // 1, whose sums (at most 1,170) f16 holds exactly too.
        // The third on the 3x3 kernel where the run uses it (a map 16
        // pixels wide or more).
        let cases = [
            (2, 37, 9, 11, 21, 3, 1, 1),
            (1, 5, 13, 10, 130, 5, 2, 2),
            (1, 20, 6, 17, 70, 3, 1, 1),
        ];
        let runs = [(false, 7u32), (true, 3u32)];
        for ((case, (n, c_in, h, w, c_out, k, stride, pad)), (f16_activations, span)) in cases
            .into_iter()
            .enumerate()
            .flat_map(|c| runs.map(|r| (c, r)))
        {
            let conv = MixedConv::new((n, c_in, h, w), c_out, Window { k, stride, pad }, true)?;
            let d = conv.dims;
            let mut state = 0x9E37_79B9u32.wrapping_add(case as u32);
            let mut ints = |len: usize| -> Vec<f64> {
                (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        ((state >> 16) % span) as f64 - (span / 2) as f64
                    })
                    .collect()
            };
            let x = ints(n * c_in * h * w);
            let wt = ints(c_out * c_in * k * k);
            let b = ints(c_out);
            let gy = ints(n * c_out * d.h_out * d.w_out);
            let (g, [tx, tw, tb, tgy], [y, gx, gw]) = conv.three_passes(f16_activations)?;
            let traits = DeviceTraits {
                mixed: kernels,
                half_storage: f16_activations,
                ..ctx.traits()
            };
            let exec = crate::gpu::Executor::with_traits(ctx, &g, &[y, gx, gw], &traits)?;
            let f32s = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<_>>();
            for (t, v) in [(tx, &x), (tw, &wt), (tb, &b), (tgy, &gy)] {
                exec.write(t, &f32s(v))?;
            }
            exec.run();
            exec.wait()?;
            let errors = ctx.take_errors();
            if !errors.is_empty() {
                return Err(Error::Gpu(errors.join("; ")));
            }
            let expected = [
                ("forward", y, super::conv2d_cpu(&d, &x, &wt, Some(&b))),
                (
                    "input gradient",
                    gx,
                    super::conv2d_bwd_data_cpu(&d, &gy, &wt),
                ),
                (
                    "weight gradient",
                    gw,
                    super::conv2d_bwd_weight_cpu(&d, &gy, &x),
                ),
            ];
            for (what, t, want) in expected {
                let got = exec.read(t)?;
                if let Some((i, (g, w))) = got
                    .iter()
                    .zip(&want)
                    .enumerate()
                    .find(|(_, (g, w))| **g as f64 != **w)
                {
                    let storage = if f16_activations { "f16" } else { "f32" };
                    return Err(Error::Invalid(format!(
                        "the {what} of a {k}x{k} stride-{stride} convolution ({storage} \
                         activations) gave {g} at [{i}] where the exact value is {w}"
                    )));
                }
            }
        }
        Ok(())
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(format!(
            "building or running the kernels panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    }
}
