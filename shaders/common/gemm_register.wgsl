// Register-blocked GEMM main loop for the batched Gram kernels:
// C[z][row][col] = sum_k A[z][row][k] * B[z][k][col], k in [k_begin, k_end)
// (a chunk of the reduction: lavapipe ends any invocation's loops after
// 65535 iterations in all, so long reductions are split by the caller).
// The importing kernel defines gemm_m(), gemm_n(), load_a(z, row, k),
// load_b(z, k, col) and store_c(slot, row, col, value); `slot` says where
// this chunk's result goes.
// Each invocation computes an 8x8 tile from memory (no workgroup memory:
// on CPU adapters register tiles are faster). Grid: x = column groups of 8,
// y = row groups of 8, z = batch, workgroup 8x8.
fn gemm_register(gid: vec3<u32>, z: u32, k_begin: u32, k_end: u32, slot: u32) {
    let m_total = gemm_m();
    let n_total = gemm_n();
    let row0 = gid.y * 8u;
    let col0 = gid.x * 8u;
    if (row0 >= m_total || col0 >= n_total) {
        return;
    }
    var acc: array<f32, 64>;
    for (var i = 0u; i < 64u; i++) {
        acc[i] = 0.0;
    }
    for (var k = k_begin; k < k_end; k++) {
        var a: array<f32, 8>;
        var b: array<f32, 8>;
        for (var i = 0u; i < 8u; i++) {
            a[i] = load_a(z, min(row0 + i, m_total - 1u), k);
            b[i] = load_b(z, k, min(col0 + i, n_total - 1u));
        }
        for (var i = 0u; i < 8u; i++) {
            for (var j = 0u; j < 8u; j++) {
                acc[i * 8u + j] = acc[i * 8u + j] + a[i] * b[j];
            }
        }
    }
    for (var i = 0u; i < 8u; i++) {
        for (var j = 0u; j < 8u; j++) {
            if (row0 + i < m_total && col0 + j < n_total) {
                store_c(slot, row0 + i, col0 + j, acc[i * 8u + j]);
            }
        }
    }
}
