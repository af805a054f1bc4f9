// The 3x3 convolution of stride 1 and padding 1 on 16x16x16 matrix tiles,
// f16 operands and f32 accumulation (mixed precision), with its input
// staged once per block instead of once per tap:
//   y[z, m, oy, ox] = sum_{t = 3 ky + kx, c} taps[t, m, c] * x[z, c, oy + ky - 1, ox + kx - 1]
//                     (+ bias[m]).
// The forward pass with taps[t, co, ci] = w[co, ci, ky, kx], and the input
// gradient as the same convolution of gy with the flipped, transposed
// weights (weight_taps.wgsl writes both, f16, padded). conv2d_mma.wgsl's
// implicit GEMM stages every (channel, tap) row of its operand apart,
// each of the nine copies of an input value with its own index and bounds
// checks: 4 staged values per invocation per 16x16x16 multiply-add. Here
// a workgroup stages its block's input channels once per kx (three
// shifted copies: a cooperative load wants 16-byte-aligned rows, so the
// kx shift cannot be a pointer offset) and the nine taps read them in
// place: 1 staged value per multiply-add (`tall`: 1/2); the weights are
// loaded as tiles straight from storage.
// A workgroup computes 64 result channels (`tall`: 128) x 64 pixels (4
// rows of 16) in four groups of 32 invocations, each 32 channels (`tall`:
// 64) x 2 rows: 2 x 2 tiles of 16 x 16 (`tall`: 4 x 2). Per 16-channel
// slice of the reduction it stages the block's input
// (common/stage3x3.wgsl) and multiplies each tap's weight tiles by the
// input tiles that tap reads.
// Split-K as conv2d_mma: chunk s of `chunk` channels writes its partial
// result at (s * n + z) times one image's result (the bias with chunk 0),
// which sum_splits adds. With `coop` the tiles are cooperative matrices
// (tensor cores; one group of 32 = one subgroup), else the same tiles are
// multiplied in plain arithmetic (each invocation holding 8 of a tile's
// 256 sums), so staging, indexing and stores are checked on any adapter
// with f16. Grid: x = pixel blocks (row-major over the image), y = blocks
// of TILE_M channels, z = chunk * n + image.
#import to_f16
#import mma_io
#import stage3x3
#ifdef coop
enable wgpu_cooperative_matrix;
#endif

struct Params {
    // Channels of the operand x (the reduction, with the taps) and of the
    // result, as this pass sees them (the input gradient: c_out and c_in
    // of the layer).
    c_in: u32,
    c_out: u32,
    h: u32,
    w: u32,
    n: u32,
    // taps' dimensions: c_out rounded up to TILE_M, c_in to 16.
    rows_pad: u32,
    depth_pad: u32,
    // Operand channels per chunk (a multiple of 16).
    chunk: u32,
    has_bias: u32,
    // The result through a leaky ReLU of `slope` (a fused activation;
    // only where it writes whole sums, one chunk).
    act: u32,
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
// x (or gy) and the result as stored (mma_io).
@group(0) @binding(1) var<storage, read> src: array<ACT>;
@group(0) @binding(2) var<storage, read> taps: array<f16>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// y (partial per chunk).
@group(0) @binding(4) var<storage, read_write> dst: array<DST>;

#ifdef tall
const TILE_M: u32 = 128u;
#else
const TILE_M: u32 = 64u;
#endif
// Channel tiles per group of 32 (each at two pixel rows).
const FRAGS_M: u32 = TILE_M / 32u;
// The sums' rows: 64 pixels and 4 of padding (the same, for 4-byte values).
const C_STRIDE: u32 = 68u;

// The block's sums, c_tile[m][pixel] (pixel = 16 row + column).
var<workgroup> c_tile: array<f32, 4352>;

// Where the 16 x 16 weight tile of tap t for result rows from `row`
// starts in taps (its rows depth_pad apart).
fn taps_at(t: u32, row: u32, c0: u32) -> u32 {
    return (t * p.rows_pad + row) * p.depth_pad + c0;
}

@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let blocks_x = (p.w + 15u) / 16u;
    let x0 = (wg.x % blocks_x) * 16u;
    let y0 = (wg.x / blocks_x) * BLOCK_ROWS;
    let row0 = wg.y * TILE_M;
    let img = wg.z % p.n;
    let split = wg.z / p.n;
    let c_begin = split * p.chunk;
    let c_end = min(c_begin + p.chunk, p.c_in);
    // The weight tiles' stride as a `let`: naga 30.0.2's SPIR-V writer can
    // panic on a cooperative load whose stride is a uniform load written
    // in place (tests/shaders_validate.rs keeps the minimal case).
    let depth_pad = p.depth_pad;

    // The group of 32: channels block_m .. + TILE_M / 2 of the block,
    // pixel rows block_r and block_r + 1.
    let group = lid / 32u;
    let lane = lid % 32u;
    let block_m = (group % 2u) * (TILE_M / 2u);
    let block_r = (group / 2u) * 2u;
#ifdef coop
    // c<a><b>: channels block_m + 16 a, pixel row block_r + b.
    var c00 = coop_mat16x16<f32, C>();
    var c01 = coop_mat16x16<f32, C>();
    var c10 = coop_mat16x16<f32, C>();
    var c11 = coop_mat16x16<f32, C>();
#ifdef tall
    var c20 = coop_mat16x16<f32, C>();
    var c21 = coop_mat16x16<f32, C>();
    var c30 = coop_mat16x16<f32, C>();
    var c31 = coop_mat16x16<f32, C>();
#endif
#else
    // acc[t * 8 + q]: tile t = 2 a + b, element lane + 32 q (row-major 16 x 16).
    var acc: array<f32, FRAGS_M * 16u>;
#endif

    for (var c0 = c_begin; c0 < c_end; c0 += 16u) {
        stage_input(lid, img, c0, c_end, y0, x0);
        workgroupBarrier();
        for (var t = 0u; t < 9u; t++) {
#ifdef coop
            let a0 = coopLoadT<coop_mat16x16<f16, A>>(&taps[taps_at(t, row0 + block_m, c0)], depth_pad);
            let a1 = coopLoadT<coop_mat16x16<f16, A>>(&taps[taps_at(t, row0 + block_m + 16u, c0)], depth_pad);
            let b0 = coopLoadT<coop_mat16x16<f16, B>>(&staged[staged_at(t, block_r)], CHANNEL_STRIDE);
            let b1 = coopLoadT<coop_mat16x16<f16, B>>(&staged[staged_at(t, block_r + 1u)], CHANNEL_STRIDE);
            c00 = coopMultiplyAdd(a0, b0, c00);
            c01 = coopMultiplyAdd(a0, b1, c01);
            c10 = coopMultiplyAdd(a1, b0, c10);
            c11 = coopMultiplyAdd(a1, b1, c11);
#ifdef tall
            let a2 = coopLoadT<coop_mat16x16<f16, A>>(&taps[taps_at(t, row0 + block_m + 32u, c0)], depth_pad);
            let a3 = coopLoadT<coop_mat16x16<f16, A>>(&taps[taps_at(t, row0 + block_m + 48u, c0)], depth_pad);
            c20 = coopMultiplyAdd(a2, b0, c20);
            c21 = coopMultiplyAdd(a2, b1, c21);
            c30 = coopMultiplyAdd(a3, b0, c30);
            c31 = coopMultiplyAdd(a3, b1, c31);
#endif
#else
            for (var tile = 0u; tile < FRAGS_M * 2u; tile++) {
                let a_row = taps_at(t, row0 + block_m + (tile / 2u) * 16u, c0);
                let b_row = staged_at(t, block_r + tile % 2u);
                for (var q = 0u; q < 8u; q++) {
                    let e = lane + 32u * q;
                    let a = a_row + (e / 16u) * p.depth_pad;
                    let b = b_row + e % 16u;
                    var s = acc[tile * 8u + q];
                    for (var kk = 0u; kk < 16u; kk++) {
                        s += f32(taps[a + kk]) * f32(staged[b + kk * CHANNEL_STRIDE]);
                    }
                    acc[tile * 8u + q] = s;
                }
            }
#endif
        }
        workgroupBarrier();
    }

    // The sums through workgroup memory (a cooperative matrix's elements
    // cannot be addressed), then bias, activation and bounds per element,
    // 64 channels per pass: pass h holds tiles a = 2 h, 2 h + 1 of every
    // group, c_tile row r being channel (r / 32) * TILE_M / 2 + 32 h + r %
    // 32 of the block.
    let c_row = (group % 2u) * 32u;
    let pixel = lid % 64u;
    let oy = y0 + pixel / 16u;
    let ox = x0 + pixel % 16u;
    for (var h = 0u; h < TILE_M / 64u; h++) {
#ifdef coop
        var s00 = c00;
        var s01 = c01;
        var s10 = c10;
        var s11 = c11;
#ifdef tall
        if (h == 1u) {
            s00 = c20;
            s01 = c21;
            s10 = c30;
            s11 = c31;
        }
#endif
        coopStoreT(s00, &c_tile[c_row * C_STRIDE + block_r * 16u], C_STRIDE);
        coopStoreT(s01, &c_tile[c_row * C_STRIDE + (block_r + 1u) * 16u], C_STRIDE);
        coopStoreT(s10, &c_tile[(c_row + 16u) * C_STRIDE + block_r * 16u], C_STRIDE);
        coopStoreT(s11, &c_tile[(c_row + 16u) * C_STRIDE + (block_r + 1u) * 16u], C_STRIDE);
#else
        for (var tile = 0u; tile < 4u; tile++) {
            let base = (c_row + (tile / 2u) * 16u) * C_STRIDE + (block_r + tile % 2u) * 16u;
            for (var q = 0u; q < 8u; q++) {
                let e = lane + 32u * q;
                c_tile[base + (e / 16u) * C_STRIDE + e % 16u] = acc[(4u * h + tile) * 8u + q];
            }
        }
#endif
        workgroupBarrier();
        if (oy < p.h && ox < p.w) {
            let base = (split * p.n + img) * p.c_out * p.h * p.w + oy * p.w + ox;
            for (var i = 0u; i < 32u; i++) {
                let m = lid / 64u + 2u * i;
                let row = row0 + (m / 32u) * (TILE_M / 2u) + 32u * h + m % 32u;
                if (row < p.c_out) {
                    var v = c_tile[m * C_STRIDE + pixel];
                    if (p.has_bias != 0u && split == 0u) {
                        v += bias[row];
                    }
                    if (p.act != 0u) {
                        v = select(p.slope * v, v, v > 0.0);
                    }
                    dst[base + row * p.h * p.w] = store_dst(v);
                }
            }
        }
        workgroupBarrier();
    }
}
