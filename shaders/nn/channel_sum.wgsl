// out[c] = sum_{n, p} g[n, c, p] (* [s[n, p] != 0] when masked): bias
// gradients. One workgroup per channel.
#import reduce

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    masked: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ch = wg.x;
    var acc = 0.0;
    for (var e = lid; e < p.n * p.hw; e += 256u) {
        let img = e / p.hw;
        let pix = e % p.hw;
        var v = g[(img * p.c + ch) * p.hw + pix];
        if (p.masked != 0u && s[e] == 0.0) {
            v = 0.0;
        }
        acc = acc + v;
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        out[ch] = total;
    }
}
