// Workgroup-memory tiled GEMM main loop for the Gram kernels on GPUs:
// C[z][row][col] = sum_k A[z][row][k] * B[z][k][col], k in [k_begin, k_end).
// Same contract as gemm_register (the importing kernel defines gemm_m(),
// gemm_n(), load_a, load_b, store_c), plus B_ALONG_K: whether B's memory is
// contiguous along k (true) or along col (false), which decides how the
// 256 lanes load a tile so that neighbouring lanes read neighbouring floats.
// A 16x16 workgroup computes a 64x64 block of C, 4x4 per lane, staging
// 16-deep slices of A and B in workgroup memory (on lavapipe the register
// kernel is faster; on a GPU this one loads each operand once per block).
// Grid: x = column blocks of 64, y = row blocks of 64, z as the caller's.
const GT_TILE: u32 = 64u;
const GT_K: u32 = 16u;

var<workgroup> gt_a: array<f32, 1024>;
var<workgroup> gt_b: array<f32, 1024>;

fn gemm_tiled(wg: vec3<u32>, lid: vec3<u32>, z: u32, k_begin: u32, k_end: u32, slot: u32) {
    let m_total = gemm_m();
    let n_total = gemm_n();
    let row0 = wg.y * GT_TILE;
    let col0 = wg.x * GT_TILE;
    let lane = lid.y * 16u + lid.x;
    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) {
        acc[i] = 0.0;
    }
    for (var k0 = k_begin; k0 < k_end; k0 += GT_K) {
        for (var i = 0u; i < 4u; i++) {
            let e = lane + 256u * i;
            // A is contiguous along k in every caller: k fastest.
            let ak = e % GT_K;
            let ar = e / GT_K;
            var va = 0.0;
            if (k0 + ak < k_end && row0 + ar < m_total) {
                va = load_a(z, row0 + ar, k0 + ak);
            }
            gt_a[ak * GT_TILE + ar] = va;
            var bk = e / GT_TILE;
            var bc = e % GT_TILE;
            if (B_ALONG_K) {
                bk = e % GT_K;
                bc = e / GT_K;
            }
            var vb = 0.0;
            if (k0 + bk < k_end && col0 + bc < n_total) {
                vb = load_b(z, k0 + bk, col0 + bc);
            }
            gt_b[bk * GT_TILE + bc] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < GT_K; kk++) {
            let a = vec4<f32>(gt_a[kk * GT_TILE + lid.y * 4u], gt_a[kk * GT_TILE + lid.y * 4u + 1u],
                              gt_a[kk * GT_TILE + lid.y * 4u + 2u], gt_a[kk * GT_TILE + lid.y * 4u + 3u]);
            let b = vec4<f32>(gt_b[kk * GT_TILE + lid.x * 4u], gt_b[kk * GT_TILE + lid.x * 4u + 1u],
                              gt_b[kk * GT_TILE + lid.x * 4u + 2u], gt_b[kk * GT_TILE + lid.x * 4u + 3u]);
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] = acc[i * 4u + j] + a[i] * b[j];
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            let row = row0 + lid.y * 4u + i;
            let col = col0 + lid.x * 4u + j;
            if (row < m_total && col < n_total) {
                store_c(slot, row, col, acc[i * 4u + j]);
            }
        }
    }
}
