// Workgroup tree reduction over 256 invocations.
var<workgroup> reduce_scratch: array<f32, 256>;

// Every invocation of the workgroup must call this; all get the sum.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
    reduce_scratch[lid] = value;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            reduce_scratch[lid] = reduce_scratch[lid] + reduce_scratch[lid + stride];
        }
        workgroupBarrier();
    }
    let total = reduce_scratch[0];
    workgroupBarrier();
    return total;
}
