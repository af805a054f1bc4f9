// The three products of a convolution as implicit GEMMs on 16x16x16
// matrix tiles, f16 operands and f32 accumulation (mixed precision); any
// square kernel, stride and padding. The forward convolution is
//   y[z, co, oy, ox] = sum_{ci,ky,kx} w[co, ci, ky, kx] * x[z, ci, oy*s + ky - pad, ox*s + kx - pad]
//                      (+ bias[co]).
// GEMM (rows x columns, reduction), left operand, gathered right operand:
// - forward:    (c_out x one image's output pixels, (ci, ky, kx)); w; x.
// - `bwd_data`: gx (c_in x one phase of one image's input pixels, (co, a,
//   b)); w read transposed; gy at oy*s = iy + pad - ky. With stride s the
//   input pixels fall into s x s phases (iy % s, ix % s), and all pixels of
//   a phase take the same taps, ky = ky0 + s a and kx = kx0 + s b: one GEMM
//   per phase, so no step multiplies a tap that cannot divide (three
//   quarters of them at stride 2). Stride 1 is one phase of every tap.
// - `bwd_weight`: gw (c_out x (ci, ky, kx), (z, oy, ox)); gy; x.
// Split-K: the reduction runs in chunks of `chunk`, each writing its own
// partial result, which sum_splits adds (the bias goes with chunk 0): deep
// small maps and the weight gradient's long sums fill a GPU that way, and
// the twin stays within lavapipe's loop budget.
// A workgroup computes a 64 x 64 block of the result (`tall`: 128 x 64) in
// four groups of 32 invocations, each 2 x 2 tiles of 16 x 16 (`tall`: 4 x
// 2). `tall` stages half as many gathered values per multiply-add (the
// staged gather, not the matrix instruction, bounds this kernel), for
// results of at least 128 rows; per 32-wide reduction slice
// both operands are staged as f16 in workgroup memory, zeros outside. The
// operands stay f32 in storage and are rounded to f16 as they are staged
// (`to_f16`): no cast pass writes and rereads an f16 copy of each. With
// `half_in` the activation operands (x, gy) are stored as f16 already,
// with `half_out` the result (y, gx; never the f32 weight gradient, nor
// partial results) is stored as f16.
// With `coop` the tile multiply-add is a cooperative-matrix instruction
// (tensor cores; one group of 32 invocations = one subgroup, so the host
// picks it only where subgroups are exactly 32 wide). Without it the same
// tiles are multiplied in plain f32 arithmetic, each of the 32 invocations
// holding 8 of a tile's 256 accumulators: staging, indexing, conversions
// and stores are the same code, checked on any adapter with f16.
// f16 x f16 products are exact in f32, so both variants differ from an
// exact sum of the f16 operands only by f32 accumulation.
// Grid: x = column blocks of 64, y = row blocks of TILE_M, z = (chunk *
// phases + phase) * n + image (forward: 1 phase; bwd_data: stride^2) or
// chunk (bwd_weight). Chunk c's result for image i starts at (c * n + i)
// times one image's result (all phases of it); bwd_weight's at c times gw.
#import to_f16
#import mma_io
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
    // Reduction indices per chunk.
    chunk: u32,
    n: u32,
    // The forward result through a leaky ReLU of `slope` (an activation
    // fused into this kernel; only where it writes whole sums, one chunk).
    act: u32,
    slope: f32,
}

// Operands and result as stored (mma_io): activations f16 with `half_in`
// / `half_out`, weights f32. The left operand is an activation (gy) only
// in bwd_weight.
#ifdef bwd_weight
alias LEFT = ACT;

fn stage_left(v: LEFT) -> f16 {
    return stage_act(v);
}
#else
alias LEFT = f32;

fn stage_left(v: LEFT) -> f16 {
    return to_f16(v);
}
#endif

@group(0) @binding(0) var<uniform> p: Params;
// The gathered operand: x (forward, bwd_weight) or gy (bwd_data).
@group(0) @binding(1) var<storage, read> gathered: array<ACT>;
// The left operand: w (forward, bwd_data) or gy (bwd_weight).
@group(0) @binding(2) var<storage, read> left: array<LEFT>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// y, gx or gw (partial per chunk).
@group(0) @binding(4) var<storage, read_write> dst: array<DST>;

#ifdef tall
const TILE_M: u32 = 128u;
#else
const TILE_M: u32 = 64u;
#endif
const TILE_N: u32 = 64u;
const TILE_K: u32 = 32u;
// 16 x 16 tiles per group of 32 along m (along n: 2).
const FRAGS_M: u32 = TILE_M / 32u;

// Row-major: a_tile[m][k], b_tile[k][n]; c_tile[m][n] holds 64 rows of the
// result at a time (`tall`: two passes), within lavapipe's 32 KiB. Rows
// are padded (A_STRIDE, B_STRIDE, C_STRIDE values apart) so that the 8
// rows a tile load or store touches at a time start on 8 different
// 4-byte banks of 32 (unpadded, 64 halves or 64 floats apart, they all
// start on bank 0).
const A_STRIDE: u32 = 40u;
const B_STRIDE: u32 = 72u;
const C_STRIDE: u32 = 68u;
#ifdef tall
var<workgroup> a_tile: array<f16, 5120>;
#else
var<workgroup> a_tile: array<f16, 2560>;
#endif
var<workgroup> b_tile: array<f16, 2304>;
var<workgroup> c_tile: array<f32, 4352>;

// bwd_data's pixels (iy, ix) = (py + s j, px + s i) of one phase, j <
// hp, i < wp: each takes the taps ky = ky0 + s a (a < ny) and kx = kx0 +
// s b (b < nx), from gy[j + dy - a, i + dx - b]. A phase may have no
// taps (a 1x1 window at stride 2): its pixels are zeros.
struct Phase {
    py: u32,
    px: u32,
    hp: u32,
    wp: u32,
    ky0: u32,
    kx0: u32,
    ny: u32,
    nx: u32,
    dy: u32,
    dx: u32,
}

fn phase(index: u32) -> Phase {
    let s = p.stride;
    let py = index / s;
    let px = index % s;
    let ky0 = (py + p.pad) % s;
    let kx0 = (px + p.pad) % s;
    return Phase(py, px, (p.h + s - 1u - py) / s, (p.w + s - 1u - px) / s,
                 ky0, kx0, (p.k + s - 1u - ky0) / s, (p.k + s - 1u - kx0) / s,
                 (py + p.pad - ky0) / s, (px + p.pad - kx0) / s);
}

// The GEMM of this direction (and phase): rows, columns, reduction
// length, and the lengths of the reduction index's two inner parts
// (Cursor's mid and inner).
struct Gemm {
    rows: u32,
    cols: u32,
    red: u32,
    mid_len: u32,
    inner_len: u32,
}

fn gemm(ph: Phase) -> Gemm {
#ifdef bwd_data
    return Gemm(p.c_in, ph.hp * ph.wp, p.c_out * ph.ny * ph.nx, ph.ny, ph.nx);
#else
#ifdef bwd_weight
    return Gemm(p.c_out, p.c_in * p.k * p.k, p.n * p.h_out * p.w_out, p.h_out, p.w_out);
#else
    return Gemm(p.c_out, p.h_out * p.w_out, p.c_in * p.k * p.k, p.k, p.k);
#endif
#endif
}

// What one invocation's column of the gathered operand needs, computed
// once: whether it exists, two offsets its reduction index adds to, and
// where its results go.
struct Column {
    ok: bool,
    // forward: top-left input pixel of the window; bwd_data: the phase's
    // gy pixel at tap (0, 0); bwd_weight: the tap's offset minus padding.
    y0: i32,
    x0: i32,
    // bwd_weight: the input channel.
    channel: u32,
    // The column's offset in a row of the result (bwd_data: its pixel).
    out: u32,
}

fn column(col: u32, g: Gemm, ph: Phase) -> Column {
#ifdef bwd_weight
    let tap = col % (p.k * p.k);
    return Column(col < g.cols, i32(tap / p.k) - i32(p.pad), i32(tap % p.k) - i32(p.pad), col / (p.k * p.k), col);
#else
#ifdef bwd_data
    // Columns past the phase's pixels must not divide by a width of 0.
    let j = col / max(ph.wp, 1u);
    let i = col % max(ph.wp, 1u);
    let out = (ph.py + p.stride * j) * p.w + ph.px + p.stride * i;
    return Column(col < g.cols, i32(j + ph.dy), i32(i + ph.dx), 0u, out);
#else
    let oy = col / p.w_out;
    let ox = col % p.w_out;
    return Column(col < g.cols, i32(oy * p.stride) - i32(p.pad), i32(ox * p.stride) - i32(p.pad), 0u, col);
#endif
#endif
}

// Staging walks each operand without dividing per element: the GPU's
// integer division by a runtime value costs tens of instructions, and
// staging, not the matrix instruction, bounds this kernel's speed.

// Where one invocation's run of the left operand starts and how far apart
// its values are: rows first, first + 4, ... at reduction index r (in
// range), as a storage index and a stride.
struct Walk {
    base: u32,
    step: u32,
}

fn left_walk(first: u32, r: u32, g: Gemm, ph: Phase) -> Walk {
#ifdef bwd_weight
    // gy[z, co = row, pixel] with r = (z, pixel).
    let plane = p.h_out * p.w_out;
    return Walk(((r / plane) * p.c_out + first) * plane + r % plane, 4u * plane);
#else
#ifdef bwd_data
    // w[co, ci = row, ky0 + s a, kx0 + s b] with r = (co, a, b).
    let taps = g.mid_len * g.inner_len;
    let t = r % taps;
    let ky = ph.ky0 + p.stride * (t / g.inner_len);
    let kx = ph.kx0 + p.stride * (t % g.inner_len);
    return Walk((((r / taps) * p.c_in + first) * p.k + ky) * p.k + kx, 4u * p.k * p.k);
#else
    return Walk(first * g.red + r, 4u * g.red);
#endif
#endif
}

// A reduction index of the gathered operand in parts, outer to inner:
// (ci, ky, kx) for the forward pass, (co, a, b) for bwd_data, (image, oy,
// ox) for bwd_weight.
struct Cursor {
    outer: u32,
    mid: u32,
    inner: u32,
}

fn cursor(r: u32, g: Gemm) -> Cursor {
    let plane = g.mid_len * g.inner_len;
    let o = r % plane;
    return Cursor(r / plane, o / g.inner_len, o % g.inner_len);
}

// (part, next part) with `part` brought below `len` by carrying into the
// next, at most twice: it grows by at most 2 and `len` may be 1.
fn carry(part: u32, next: u32, len: u32) -> vec2<u32> {
    var v = vec2<u32>(part, next);
    if (v.x >= len) {
        v = vec2<u32>(v.x - len, v.y + 1u);
        if (v.x >= len) {
            v = vec2<u32>(v.x - len, v.y + 1u);
        }
    }
    return v;
}

// The cursor two reduction indices on. A part may be 1 long (a 1x1
// window, a 1-pixel row).
fn advance2(c: Cursor, g: Gemm) -> Cursor {
    let inner = carry(c.inner + 2u, c.mid, g.inner_len);
    let mid = carry(inner.y, c.outer, g.mid_len);
    return Cursor(mid.y, mid.x, inner.x);
}

// The gathered operand at cursor q (in range) and column c of image
// `img`; zero outside the plane.
fn gathered_at(q: Cursor, c: Column, img: u32) -> f16 {
#ifdef bwd_weight
    // x[z, ci, oy*s + ky - pad, ox*s + kx - pad] with q = (z, oy, ox).
    let sy = i32(q.mid * p.stride) + c.y0;
    let sx = i32(q.inner * p.stride) + c.x0;
    let hit = true;
    let channel = q.outer * p.c_in + c.channel;
    let src_h = p.h;
    let src_w = p.w;
#else
#ifdef bwd_data
    // gy[z, co, j + dy - a, i + dx - b] with q = (co, a, b).
    let sy = c.y0 - i32(q.mid);
    let sx = c.x0 - i32(q.inner);
    let hit = true;
    let channel = img * p.c_out + q.outer;
    let src_h = p.h_out;
    let src_w = p.w_out;
#else
    // x[z, ci, oy*s + ky - pad, ox*s + kx - pad] with q = (ci, ky, kx).
    let sy = c.y0 + i32(q.mid);
    let sx = c.x0 + i32(q.inner);
    let hit = true;
    let channel = img * p.c_in + q.outer;
    let src_h = p.h;
    let src_w = p.w;
#endif
#endif
    if (hit && sy >= 0 && sy < i32(src_h) && sx >= 0 && sx < i32(src_w)) {
        return stage_act(gathered[(channel * src_h + u32(sy)) * src_w + u32(sx)]);
    }
    return f16(0.0);
}

@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let row0 = wg.y * TILE_M;
    let col0 = wg.x * TILE_N;
#ifdef bwd_weight
    let img = 0u;
    let split = wg.z;
    let ph = phase(0u);
    // gw's partial results, one per chunk.
    let out_plane = p.c_in * p.k * p.k;
    let slot = split;
#else
    let img = wg.z % p.n;
#ifdef bwd_data
    let phases = p.stride * p.stride;
    let out_plane = p.h * p.w;
#else
    let phases = 1u;
    let out_plane = p.h_out * p.w_out;
#endif
    let split = wg.z / p.n / phases;
    let ph = phase(wg.z / p.n % phases);
    // The partial result of this chunk and image.
    let slot = split * p.n + img;
#endif
    let g = gemm(ph);
    let k_begin = split * p.chunk;
    let k_end = min(k_begin + p.chunk, g.red);

    // Each invocation stages one column of the gathered slice (its rows
    // lid / 64 + 2i) and stores that column of the result.
    let col = col0 + lid % TILE_N;
    let c = column(col, g, ph);

    // The group of 32 and its (TILE_M / 2) x 32 block of the workgroup's
    // tile: tiles i = 0 .. FRAGS_M - 1 down, j = 0, 1 across.
    let group = lid / 32u;
    let lane = lid % 32u;
    let block_m = (group / 2u) * (TILE_M / 2u);
    let block_n = (group % 2u) * 32u;
#ifdef coop
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
    // acc[t * 8 + q]: tile t = 2 i + j, element lane + 32 q (row-major 16 x 16).
    var acc: array<f32, FRAGS_M * 16u>;
#endif

    for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
        // a_tile[m][kk] = left[row0 + m, k0 + kk], TILE_M / 4 per
        // invocation: e = lid + 128 i is m = lid / 32 + 4 i, kk = lid % 32.
        let a_r = k0 + lid % TILE_K;
        let a_first = row0 + lid / TILE_K;
        let walk = left_walk(a_first, a_r, g, ph);
        for (var i = 0u; i < TILE_M / 4u; i++) {
            var v = f16(0.0);
            if (a_first + 4u * i < g.rows && a_r < k_end) {
                v = stage_left(left[walk.base + i * walk.step]);
            }
            a_tile[(lid / TILE_K + 4u * i) * A_STRIDE + lid % TILE_K] = v;
        }
        // b_tile[kk][col] = gathered[k0 + kk, col] for kk = lid / 64 + 2 i.
        var q = cursor(k0 + lid / TILE_N, g);
        for (var i = 0u; i < 16u; i++) {
            let kk = lid / TILE_N + 2u * i;
            var v = f16(0.0);
            if (c.ok && k0 + kk < k_end) {
                v = gathered_at(q, c, img);
            }
            b_tile[kk * B_STRIDE + lid % TILE_N] = v;
            q = advance2(q, g);
        }
        workgroupBarrier();
        for (var ks = 0u; ks < TILE_K; ks += 16u) {
#ifdef coop
            let a0 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[block_m * A_STRIDE + ks], A_STRIDE);
            let a1 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[(block_m + 16u) * A_STRIDE + ks], A_STRIDE);
            let b0 = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[ks * B_STRIDE + block_n], B_STRIDE);
            let b1 = coopLoadT<coop_mat16x16<f16, B>>(&b_tile[ks * B_STRIDE + block_n + 16u], B_STRIDE);
            c00 = coopMultiplyAdd(a0, b0, c00);
            c01 = coopMultiplyAdd(a0, b1, c01);
            c10 = coopMultiplyAdd(a1, b0, c10);
            c11 = coopMultiplyAdd(a1, b1, c11);
#ifdef tall
            let a2 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[(block_m + 32u) * A_STRIDE + ks], A_STRIDE);
            let a3 = coopLoadT<coop_mat16x16<f16, A>>(&a_tile[(block_m + 48u) * A_STRIDE + ks], A_STRIDE);
            c20 = coopMultiplyAdd(a2, b0, c20);
            c21 = coopMultiplyAdd(a2, b1, c21);
            c30 = coopMultiplyAdd(a3, b0, c30);
            c31 = coopMultiplyAdd(a3, b1, c31);
#endif
#else
            for (var t = 0u; t < FRAGS_M * 2u; t++) {
                let tm = block_m + (t / 2u) * 16u;
                let tn = block_n + (t % 2u) * 16u;
                for (var q = 0u; q < 8u; q++) {
                    let e = lane + 32u * q;
                    let a_row = (tm + e / 16u) * A_STRIDE + ks;
                    let b_col = ks * B_STRIDE + tn + e % 16u;
                    var s = acc[t * 8u + q];
                    for (var kk = 0u; kk < 16u; kk++) {
                        s += f32(a_tile[a_row + kk]) * f32(b_tile[b_col + kk * B_STRIDE]);
                    }
                    acc[t * 8u + q] = s;
                }
            }
#endif
        }
        workgroupBarrier();
    }

    // The accumulators through workgroup memory (a cooperative matrix's
    // elements cannot be addressed), then bias and bounds per element, 64
    // rows per pass: pass h holds tiles i = 2 h, 2 h + 1 of every group,
    // c_tile row r being row (r / 32) * TILE_M / 2 + 32 h + r % 32 of the
    // workgroup's block.
    for (var h = 0u; h < TILE_M / 64u; h++) {
        let c_row = (group / 2u) * 32u;
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
        coopStoreT(s00, &c_tile[c_row * C_STRIDE + block_n], C_STRIDE);
        coopStoreT(s01, &c_tile[c_row * C_STRIDE + block_n + 16u], C_STRIDE);
        coopStoreT(s10, &c_tile[(c_row + 16u) * C_STRIDE + block_n], C_STRIDE);
        coopStoreT(s11, &c_tile[(c_row + 16u) * C_STRIDE + block_n + 16u], C_STRIDE);
#else
        for (var t = 4u * h; t < 4u * h + 4u; t++) {
            let tm = c_row + ((t / 2u) % 2u) * 16u;
            let tn = block_n + (t % 2u) * 16u;
            for (var q = 0u; q < 8u; q++) {
                let e = lane + 32u * q;
                c_tile[(tm + e / 16u) * C_STRIDE + tn + e % 16u] = acc[t * 8u + q];
            }
        }
#endif
        workgroupBarrier();
        if (c.ok) {
            let base = slot * g.rows * out_plane;
            for (var i = 0u; i < 32u; i++) {
                let m = lid / TILE_N + 2u * i;
                let row = row0 + (m / 32u) * (TILE_M / 2u) + 32u * h + m % 32u;
                if (row < g.rows) {
                    var v = c_tile[m * C_STRIDE + lid % TILE_N];
                    if (p.has_bias != 0u && split == 0u) {
                        v += bias[row];
                    }
                    if (p.act != 0u) {
                        v = select(p.slope * v, v, v > 0.0);
                    }
                    dst[base + row * out_plane + c.out] = store_dst(v);
                }
            }
        }
        workgroupBarrier();
    }
}
