// Workgroup reduction over 256 invocations in two levels: 16 invocations
// add 16 values each, then one adds their 16 sums. Four barriers rather
// than a tree's ten: on lavapipe a barrier switches between all of the
// workgroup's SIMD batches, which made small reductions cost more than
// their data.
var<workgroup> reduce_scratch: array<f32, 256>;

// Every invocation of the workgroup must call this; all get the sum.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
    reduce_scratch[lid] = value;
    workgroupBarrier();
    if (lid < 16u) {
        // Invocation lid alone reads the slots lid + 16 j, so it may
        // overwrite slot lid.
        var s = 0.0;
        for (var j = 0u; j < 16u; j++) {
            s = s + reduce_scratch[lid + 16u * j];
        }
        reduce_scratch[lid] = s;
    }
    workgroupBarrier();
    if (lid == 0u) {
        var s = 0.0;
        for (var j = 0u; j < 16u; j++) {
            s = s + reduce_scratch[j];
        }
        reduce_scratch[0] = s;
    }
    workgroupBarrier();
    let total = reduce_scratch[0];
    workgroupBarrier();
    return total;
}
