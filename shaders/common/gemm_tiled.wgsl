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
// Rows of the staged slices are 68 floats apart, not 64: where 16
// neighbouring lanes store the 16 k of one row (A, and B along k), a pitch
// of 64 would put all 16 in one memory bank.
const GT_PITCH: u32 = 68u;

var<workgroup> gt_a: array<f32, 1088>;
var<workgroup> gt_b: array<f32, 1088>;

// Lane (x, y) owns rows row0 + y + 16 i and columns col0 + x + 16 j (i, j <
// 4): neighbouring lanes read neighbouring words of workgroup memory and
// store neighbouring floats of C. Its 16 sums are four vec4 rows, never an
// indexed array: GPU compilers may keep an indexed array in local memory.
fn gemm_tiled(wg: vec3<u32>, lid: vec3<u32>, z: u32, k_begin: u32, k_end: u32, slot: u32) {
    let m_total = gemm_m();
    let n_total = gemm_n();
    let row0 = wg.y * GT_TILE;
    let col0 = wg.x * GT_TILE;
    let lane = lid.y * 16u + lid.x;
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
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
            gt_a[ak * GT_PITCH + ar] = va;
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
            gt_b[bk * GT_PITCH + bc] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < GT_K; kk++) {
            let ra = kk * GT_PITCH + lid.y;
            let rb = kk * GT_PITCH + lid.x;
            let a = vec4<f32>(gt_a[ra], gt_a[ra + 16u], gt_a[ra + 32u], gt_a[ra + 48u]);
            let b = vec4<f32>(gt_b[rb], gt_b[rb + 16u], gt_b[rb + 32u], gt_b[rb + 48u]);
            c0 = fma(vec4<f32>(a.x), b, c0);
            c1 = fma(vec4<f32>(a.y), b, c1);
            c2 = fma(vec4<f32>(a.z), b, c2);
            c3 = fma(vec4<f32>(a.w), b, c3);
        }
        workgroupBarrier();
    }
    let col = col0 + lid.x;
    gemm_tiled_store(slot, row0 + lid.y, col, m_total, n_total, c0);
    gemm_tiled_store(slot, row0 + lid.y + 16u, col, m_total, n_total, c1);
    gemm_tiled_store(slot, row0 + lid.y + 32u, col, m_total, n_total, c2);
    gemm_tiled_store(slot, row0 + lid.y + 48u, col, m_total, n_total, c3);
}

// Row `row`'s columns col, col + 16, col + 32, col + 48.
fn gemm_tiled_store(slot: u32, row: u32, col: u32, m_total: u32, n_total: u32, v: vec4<f32>) {
    if (row >= m_total) {
        return;
    }
    if (col < n_total) {
        store_c(slot, row, col, v.x);
    }
    if (col + 16u < n_total) {
        store_c(slot, row, col + 16u, v.y);
    }
    if (col + 32u < n_total) {
        store_c(slot, row, col + 32u, v.z);
    }
    if (col + 48u < n_total) {
        store_c(slot, row, col + 48u, v.w);
    }
}
