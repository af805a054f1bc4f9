// Convolution forward as an implicit GEMM on 16x16x16 matrix tiles, f16
// operands and f32 accumulation (mixed precision):
//   y[z, co, oy, ox] = sum_{ci,ky,kx} w[co, ci, ky, kx] * x[z, ci, oy*s + ky - pad, ox*s + kx - pad]
//                      (+ bias[co]),
// any square kernel, stride and padding. GEMM rows are output channels,
// columns one image's output pixels, the reduction (ci, ky, kx).
// With `bwd_data` it computes the input gradient of that convolution
// instead, the same GEMM transposed: gx[z, ci, iy, ix] = sum_{co,ky,kx}
// w[co, ci, ky, kx] * gy[z, co, oy, ox] where oy*s = iy + pad - ky (and
// likewise ox); rows are input channels, columns input pixels. With stride
// 2 three quarters of the gathered taps are zeros (correct, not yet
// split into phases as conv2d_bwd_data_s2 does).
// A workgroup computes 64 channels x 64 pixels of one image in four groups
// of 32 invocations, each 2 x 2 tiles of 16 x 16; per 32-wide reduction
// slice the weights (64 x 32) and the gathered input (32 x 64, zeros
// outside the image) are staged as f16 in workgroup memory.
// With `coop` the tile multiply-add is a cooperative-matrix instruction
// (tensor cores; one group of 32 invocations = one subgroup, so the host
// picks it only where subgroups are exactly 32 wide). Without it the same
// tiles are multiplied in plain f32 arithmetic, each of the 32 invocations
// holding 8 of a tile's 256 accumulators: staging, indexing, conversions
// and the epilogue are the same code, checked on any adapter with f16.
// f16 x f16 products are exact in f32, so both variants differ from an
// exact sum of the f16 operands only by f32 accumulation.
// Grid: x = result pixel tiles of 64, y = result channel tiles of 64,
// z = image.
enable f16;
#ifdef coop
enable wgpu_cooperative_matrix;
#endif

struct Params {
    c_in: u32,
    h: u32,
    w: u32,
    c_out: u32,
    h_out: u32,
    w_out: u32,
    k: u32,
    stride: u32,
    pad: u32,
    has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// x (forward) or gy (`bwd_data`); y or gx.
@group(0) @binding(1) var<storage, read> src: array<f16>;
@group(0) @binding(2) var<storage, read> weight: array<f16>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 32u;

// Row-major: a_tile[m][k], b_tile[k][n], c_tile[m][n].
var<workgroup> a_tile: array<f16, 2048>;
var<workgroup> b_tile: array<f16, 2048>;
var<workgroup> c_tile: array<f32, 4096>;

@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let img = wg.z;
    let co0 = wg.y * TILE_M;
    let pix0 = wg.x * TILE_N;
    let kk_total = p.k * p.k;
    // GEMM rows (result channels), the result's plane, the source's.
#ifdef bwd_data
    let rows = p.c_in;
    let dst_h = p.h;
    let dst_w = p.w;
    let src_c = p.c_out;
    let src_h = p.h_out;
    let src_w = p.w_out;
#else
    let rows = p.c_out;
    let dst_h = p.h_out;
    let dst_w = p.w_out;
    let src_c = p.c_in;
    let src_h = p.h;
    let src_w = p.w;
#endif
    let dst_plane = dst_h * dst_w;
    let red = src_c * kk_total;

    // Each invocation stages one pixel column of the source slice (its
    // rows lid / 64 + 2i) and stores that column of the result.
    let col = lid % TILE_N;
    let pix = pix0 + col;
    let pix_ok = pix < dst_plane;
#ifdef bwd_data
    // Source row of tap ky: (iy + pad - ky) / s where that divides.
    let sy0 = i32(pix / dst_w + p.pad);
    let sx0 = i32(pix % dst_w + p.pad);
#else
    let sy0 = i32((pix / dst_w) * p.stride) - i32(p.pad);
    let sx0 = i32((pix % dst_w) * p.stride) - i32(p.pad);
#endif
    let src_img = img * src_c * src_h * src_w;

    // The group of 32 and its 32 x 32 block of the workgroup's tile.
    let group = lid / 32u;
    let lane = lid % 32u;
    let block_m = (group / 2u) * 32u;
    let block_n = (group % 2u) * 32u;
#ifdef coop
    var c00 = coop_mat16x16<f32, C>();
    var c01 = coop_mat16x16<f32, C>();
    var c10 = coop_mat16x16<f32, C>();
    var c11 = coop_mat16x16<f32, C>();
#else
    // acc[t * 8 + q]: tile t = 2 i + j, element lane + 32 q (row-major 16 x 16).
    var acc: array<f32, 32>;
#endif

    for (var k0 = 0u; k0 < red; k0 += TILE_K) {
        // Weights: a_tile[m][kk] = the weight of row co0 + m, reduction
        // index k0 + kk; 16 per invocation.
        for (var i = 0u; i < 16u; i++) {
            let e = lid + 128u * i;
            let m = e / TILE_K;
            let kk = e % TILE_K;
            let row = co0 + m;
            let r = k0 + kk;
            var v = f16(0.0);
            if (row < rows && r < red) {
#ifdef bwd_data
                // w[co, ci = row, tap] with r = (co, tap).
                v = weight[((r / kk_total) * p.c_in + row) * kk_total + r % kk_total];
#else
                v = weight[row * red + r];
#endif
            }
            a_tile[e] = v;
        }
        // Source gathered: b_tile[kk][col] = src[img, c, sy, sx] of
        // reduction index (c, tap), zero outside the plane.
        for (var i = 0u; i < 16u; i++) {
            let kk = lid / TILE_N + 2u * i;
            let r = k0 + kk;
            var v = f16(0.0);
            if (pix_ok && r < red) {
                let c = r / kk_total;
                let tap = r % kk_total;
#ifdef bwd_data
                let ty = sy0 - i32(tap / p.k);
                let tx = sx0 - i32(tap % p.k);
                let s = i32(p.stride);
                let sy = ty / s;
                let sx = tx / s;
                let hit = ty >= 0 && tx >= 0 && ty % s == 0 && tx % s == 0;
#else
                let sy = sy0 + i32(tap / p.k);
                let sx = sx0 + i32(tap % p.k);
                let hit = true;
#endif
                if (hit && sy >= 0 && sy < i32(src_h) && sx >= 0 && sx < i32(src_w)) {
                    v = src[src_img + (c * src_h + u32(sy)) * src_w + u32(sx)];
                }
            }
            b_tile[kk * TILE_N + col] = v;
        }
        workgroupBarrier();
        for (var ks = 0u; ks < TILE_K; ks += 16u) {
#ifdef coop
            let a0 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[block_m * TILE_K + ks], TILE_K);
            let a1 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[(block_m + 16u) * TILE_K + ks], TILE_K);
            let b0 = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[ks * TILE_N + block_n], TILE_N);
            let b1 = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[ks * TILE_N + block_n + 16u], TILE_N);
            c00 = coopMultiplyAdd(a0, b0, c00);
            c01 = coopMultiplyAdd(a0, b1, c01);
            c10 = coopMultiplyAdd(a1, b0, c10);
            c11 = coopMultiplyAdd(a1, b1, c11);
#else
            for (var t = 0u; t < 4u; t++) {
                let tm = block_m + (t / 2u) * 16u;
                let tn = block_n + (t % 2u) * 16u;
                for (var q = 0u; q < 8u; q++) {
                    let e = lane + 32u * q;
                    let a_row = (tm + e / 16u) * TILE_K + ks;
                    let b_col = ks * TILE_N + tn + e % 16u;
                    var s = acc[t * 8u + q];
                    for (var kk = 0u; kk < 16u; kk++) {
                        s += f32(a_tile[a_row + kk]) * f32(b_tile[b_col + kk * TILE_N]);
                    }
                    acc[t * 8u + q] = s;
                }
            }
#endif
        }
        workgroupBarrier();
    }

    // The accumulators through workgroup memory (a cooperative matrix's
    // elements cannot be addressed), then bias and bounds per element.
#ifdef coop
    coopStoreT(c00, &c_tile[block_m * TILE_N + block_n], TILE_N);
    coopStoreT(c01, &c_tile[block_m * TILE_N + block_n + 16u], TILE_N);
    coopStoreT(c10, &c_tile[(block_m + 16u) * TILE_N + block_n], TILE_N);
    coopStoreT(c11, &c_tile[(block_m + 16u) * TILE_N + block_n + 16u], TILE_N);
#else
    for (var t = 0u; t < 4u; t++) {
        let tm = block_m + (t / 2u) * 16u;
        let tn = block_n + (t % 2u) * 16u;
        for (var q = 0u; q < 8u; q++) {
            let e = lane + 32u * q;
            c_tile[(tm + e / 16u) * TILE_N + tn + e % 16u] = acc[t * 8u + q];
        }
    }
#endif
    workgroupBarrier();
    if (pix_ok) {
        for (var i = 0u; i < 32u; i++) {
            let m = lid / TILE_N + 2u * i;
            let row = co0 + m;
            if (row < rows) {
                var v = c_tile[m * TILE_N + col];
                if (p.has_bias != 0u) {
                    v += bias[row];
                }
                dst[(img * rows + row) * dst_plane + pix] = v;
            }
        }
    }
}
