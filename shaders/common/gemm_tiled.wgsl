// Tiled GEMM main loop shared by the implicit-GEMM kernels (conv forward,
// backward-data, backward-weight, Gram matrices).
//
// C[z][row][col] = sum_k A[z][row][k] * B[z][k][col], for k in
// [gemm_k_begin(z), gemm_k_end(z)). The importing kernel defines
//   gemm_m(), gemm_n(), gemm_k_begin(z), gemm_k_end(z),
//   load_a(z, row, k), load_b(z, k, col), store_c(z, row, col, value)
// so the operands can be gathered (im2col) on the fly and never stored.
//
// A workgroup computes a 64x64 tile of C with 256 invocations, each holding a
// 4x4 register tile; K advances in steps of 16 through workgroup memory.
const GEMM_BM: u32 = 64u;
const GEMM_BN: u32 = 64u;
const GEMM_BK: u32 = 16u;
const GEMM_THREADS: u32 = 256u;

var<workgroup> gemm_tile_a: array<f32, 1024>; // [k][m], GEMM_BK * GEMM_BM
var<workgroup> gemm_tile_b: array<f32, 1024>; // [k][n], GEMM_BK * GEMM_BN

fn gemm_tiled(wg: vec3<u32>, lid: u32) {
    let m_total = gemm_m();
    let n_total = gemm_n();
    let z = wg.z;
    let k_begin = gemm_k_begin(z);
    let k_end = gemm_k_end(z);
    let row0 = wg.y * GEMM_BM;
    let col0 = wg.x * GEMM_BN;
    // Each invocation owns rows ty + 16 i and columns tx + 16 j, so that
    // neighbouring invocations store neighbouring columns.
    let ty = lid / 16u;
    let tx = lid % 16u;
    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) {
        acc[i] = 0.0;
    }
    for (var k0 = k_begin; k0 < k_end; k0 += GEMM_BK) {
        for (var i = 0u; i < 4u; i++) {
            let e = lid + i * GEMM_THREADS;
            // A is read along k (rows of A are contiguous in k for every kernel).
            let am = e / GEMM_BK;
            let ak = e % GEMM_BK;
            var va = 0.0;
            if (row0 + am < m_total && k0 + ak < k_end) {
                va = load_a(z, row0 + am, k0 + ak);
            }
            gemm_tile_a[ak * GEMM_BM + am] = va;
            // B is read along n (output pixels are contiguous in memory).
            let bk = e / GEMM_BN;
            let bn = e % GEMM_BN;
            var vb = 0.0;
            if (col0 + bn < n_total && k0 + bk < k_end) {
                vb = load_b(z, k0 + bk, col0 + bn);
            }
            gemm_tile_b[bk * GEMM_BN + bn] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < GEMM_BK; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                a[i] = gemm_tile_a[kk * GEMM_BM + ty + 16u * i];
                b[i] = gemm_tile_b[kk * GEMM_BN + tx + 16u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] = acc[i * 4u + j] + a[i] * b[j];
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + ty + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + tx + 16u * j;
            if (row < m_total && col < n_total) {
                store_c(z, row, col, acc[i * 4u + j]);
            }
        }
    }
}
