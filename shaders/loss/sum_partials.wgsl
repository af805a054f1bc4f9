// out[0] = scale * sum of the partial sums, in a fixed order.
#import reduce

struct Params {
    count: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var i = lid; i < p.count; i += 256u) {
        acc = acc + partial[i];
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        out[0] = total * p.scale;
    }
}
