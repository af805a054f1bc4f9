// The weight gradient of the 3x3 convolution of stride 1 and padding 1 on
// 16x16x16 matrix tiles, f16 operands and f32 accumulation (mixed
// precision), its input staged once per block instead of once per tap:
//   gw[co, ci, ky, kx] = sum_{z, oy, ox} gy[z, co, oy, ox] * x[z, ci, oy + ky - 1, ox + kx - 1],
// nine GEMMs (one per tap) of result channels x input channels, reduced
// over the pixels. A workgroup computes 64 result channels x 16 input
// channels x 9 taps, in four groups of 32 invocations, each 16 result
// channels x 16 input channels x 9 taps (nine 16 x 16 tiles). It walks
// its chunk's blocks of BLOCK_ROWS rows of 16 pixels: per block it stages
// gy (64 channels x 64 pixels) and x (common/stage3x3.wgsl: 16 channels,
// the block and the window's border, once per kx), then for each pixel
// row multiplies one gy tile (channels x pixels) by the nine x tiles the
// taps read (pixels x channels): about 2 staged values per multiply-add,
// where conv2d_mma's implicit GEMM stages 4 (each of the nine copies of an
// x value apart, with its own index and bounds checks).
// Split-K: chunk s of `blocks_per_chunk` pixel blocks (images one after
// the other) writes its partial gw at s times gw's length; sum_splits
// adds them. With `coop` the tiles are cooperative matrices (tensor
// cores; one group of 32 = one subgroup), else the same tiles are
// multiplied in plain arithmetic (each invocation holding 8 of a tile's
// 256 sums), so staging, indexing and stores are checked on any adapter
// with f16. Grid: x = blocks of 16 input channels, y = blocks of 64
// result channels, z = chunks.
#import to_f16
#import mma_io
#import stage3x3
#ifdef coop
enable wgpu_cooperative_matrix;
#endif

struct Params {
    c_in: u32,
    c_out: u32,
    h: u32,
    w: u32,
    n: u32,
    blocks_per_chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// x and gy as stored (mma_io).
@group(0) @binding(1) var<storage, read> src: array<ACT>;
@group(0) @binding(2) var<storage, read> gy: array<ACT>;
// gw, partial per chunk.
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// gy's staged block: gy_tile[co][pixel] (pixel = 16 row + column), rows
// padded from 64 to 72 halves (8 rows of a tile load, 144 bytes apart,
// start on 8 different banks).
const GY_STRIDE: u32 = 72u;
var<workgroup> gy_tile: array<f16, 4608>;
// One tap's sums at a time, c_tile[co][ci], rows padded from 16 to 20.
const C_STRIDE: u32 = 20u;
var<workgroup> c_tile: array<f32, 1280>;

@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let ci0 = wg.x * 16u;
    let co0 = wg.y * 64u;
    let blocks_x = (p.w + 15u) / 16u;
    let per_image = blocks_x * ((p.h + BLOCK_ROWS - 1u) / BLOCK_ROWS);
    let b_begin = wg.z * p.blocks_per_chunk;
    let b_end = min(b_begin + p.blocks_per_chunk, p.n * per_image);
    let c_end = min(ci0 + 16u, p.c_in);

    // The group of 32: result channels block_m .. + 16.
    let group = lid / 32u;
    let lane = lid % 32u;
    let block_m = group * 16u;
    let j = lid % 16u;
#ifdef coop
    // c<t>: tap t = 3 ky + kx.
    var c0 = coop_mat16x16<f32, C>();
    var c1 = coop_mat16x16<f32, C>();
    var c2 = coop_mat16x16<f32, C>();
    var c3 = coop_mat16x16<f32, C>();
    var c4 = coop_mat16x16<f32, C>();
    var c5 = coop_mat16x16<f32, C>();
    var c6 = coop_mat16x16<f32, C>();
    var c7 = coop_mat16x16<f32, C>();
    var c8 = coop_mat16x16<f32, C>();
#else
    // acc[t * 8 + q]: tap t's tile, element lane + 32 q (row-major 16 x 16).
    var acc: array<f32, 72>;
#endif

    for (var b = b_begin; b < b_end; b++) {
        let img = b / per_image;
        let y0 = (b % per_image) / blocks_x * BLOCK_ROWS;
        let x0 = (b % per_image) % blocks_x * 16u;
        // gy_tile[co][16 r + j] = gy[img, co0 + co, y0 + r, x0 + j]: rows
        // q = lid / 16 + 8 i = 4 co + r.
        for (var i = 0u; i < 32u; i++) {
            let q = lid / 16u + 8u * i;
            let co = q / 4u;
            let y = y0 + q % 4u;
            var v = f16(0.0);
            if (co0 + co < p.c_out && y < p.h && x0 + j < p.w) {
                v = stage_act(gy[((img * p.c_out + co0 + co) * p.h + y) * p.w + x0 + j]);
            }
            gy_tile[co * GY_STRIDE + (q % 4u) * 16u + j] = v;
        }
        stage_input(lid, img, ci0, c_end, y0, x0);
        workgroupBarrier();
        for (var r = 0u; r < BLOCK_ROWS; r++) {
#ifdef coop
            // gy's tile (channels x pixels, row-major) and x's (pixels x
            // channels: column-major, a channel's pixels contiguous).
            let a = coopLoadT<coop_mat16x16<f16, A>>(&gy_tile[block_m * GY_STRIDE + r * 16u], GY_STRIDE);
            c0 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(0u, r)], CHANNEL_STRIDE), c0);
            c1 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(1u, r)], CHANNEL_STRIDE), c1);
            c2 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(2u, r)], CHANNEL_STRIDE), c2);
            c3 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(3u, r)], CHANNEL_STRIDE), c3);
            c4 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(4u, r)], CHANNEL_STRIDE), c4);
            c5 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(5u, r)], CHANNEL_STRIDE), c5);
            c6 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(6u, r)], CHANNEL_STRIDE), c6);
            c7 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(7u, r)], CHANNEL_STRIDE), c7);
            c8 = coopMultiplyAdd(a, coopLoad<coop_mat16x16<f16, B>>(&staged[staged_at(8u, r)], CHANNEL_STRIDE), c8);
#else
            for (var t = 0u; t < 9u; t++) {
                let b_at = staged_at(t, r);
                for (var q = 0u; q < 8u; q++) {
                    let e = lane + 32u * q;
                    // Element (m, n) = (e / 16, e % 16): gy row block_m +
                    // m, x channel n; the sum runs over the row's pixels.
                    let a_row = (block_m + e / 16u) * GY_STRIDE + r * 16u;
                    let b_col = b_at + (e % 16u) * CHANNEL_STRIDE;
                    var s = acc[t * 8u + q];
                    for (var kk = 0u; kk < 16u; kk++) {
                        s += f32(gy_tile[a_row + kk]) * f32(staged[b_col + kk]);
                    }
                    acc[t * 8u + q] = s;
                }
            }
#endif
        }
        workgroupBarrier();
    }

    // Tap by tap, the sums through workgroup memory (a cooperative matrix's
    // elements cannot be addressed), then to gw[co, ci, t] of this chunk.
    for (var t = 0u; t < 9u; t++) {
#ifdef coop
        var s = c0;
        switch t {
            case 1u: { s = c1; }
            case 2u: { s = c2; }
            case 3u: { s = c3; }
            case 4u: { s = c4; }
            case 5u: { s = c5; }
            case 6u: { s = c6; }
            case 7u: { s = c7; }
            case 8u: { s = c8; }
            default: {}
        }
        coopStoreT(s, &c_tile[block_m * C_STRIDE], C_STRIDE);
#else
        for (var q = 0u; q < 8u; q++) {
            let e = lane + 32u * q;
            c_tile[(block_m + e / 16u) * C_STRIDE + e % 16u] = acc[t * 8u + q];
        }
#endif
        workgroupBarrier();
        for (var i = 0u; i < 8u; i++) {
            let e = lid + 128u * i;
            let co = co0 + e / 16u;
            let ci = ci0 + e % 16u;
            if (co < p.c_out && ci < p.c_in) {
                dst[(wg.z * p.c_out + co) * p.c_in * 9u + ci * 9u + t] = c_tile[(e / 16u) * C_STRIDE + e % 16u];
            }
        }
        workgroupBarrier();
    }
}
