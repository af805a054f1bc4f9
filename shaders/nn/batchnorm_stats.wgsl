// BatchNorm statistics, one workgroup per channel (with `serial`, for
// small maps, one invocation per channel: no barriers).
// train != 0: mean and biased variance of the batch (two passes for
//   accuracy); running_mean/var updated with the unbiased variance (PyTorch).
// train == 0: the running statistics are used as they are.
// Writes mean[c] and invstd[c] = 1 / sqrt(var + eps) for batchnorm_apply.
#ifndef serial
#import reduce
#endif

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    train: u32,
    eps: f32,
    momentum: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> invstd: array<f32>;

// Element e of channel ch, e over (image, position).
fn x_at(ch: u32, e: u32) -> f32 {
    return x[((e / p.hw) * p.c + ch) * p.hw + e % p.hw];
}

fn use_running(ch: u32) {
    mean[ch] = running_mean[ch];
    invstd[ch] = 1.0 / sqrt(running_var[ch] + p.eps);
}

fn store_stats(ch: u32, mu: f32, var_biased: f32, count: u32) {
    mean[ch] = mu;
    invstd[ch] = 1.0 / sqrt(var_biased + p.eps);
    let var_unbiased = var_biased * f32(count) / f32(max(count, 2u) - 1u);
    running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * mu;
    running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * var_unbiased;
}

#ifdef serial
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ch = gid.x;
    if (ch >= p.c) {
        return;
    }
    if (p.train == 0u) {
        use_running(ch);
        return;
    }
    let count = p.n * p.hw;
    var acc = 0.0;
    for (var e = 0u; e < count; e++) {
        acc = acc + x_at(ch, e);
    }
    let mu = acc / f32(count);
    var acc2 = 0.0;
    for (var e = 0u; e < count; e++) {
        let d = x_at(ch, e) - mu;
        acc2 = acc2 + d * d;
    }
    store_stats(ch, mu, acc2 / f32(count), count);
}
#else
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ch = wg.x;
    if (p.train == 0u) {
        if (lid == 0u) {
            use_running(ch);
        }
        return;
    }
    let count = p.n * p.hw;
    var acc = 0.0;
    for (var e = lid; e < count; e += 256u) {
        acc = acc + x_at(ch, e);
    }
    let mu = workgroup_sum(lid, acc) / f32(count);
    var acc2 = 0.0;
    for (var e = lid; e < count; e += 256u) {
        let d = x_at(ch, e) - mu;
        acc2 = acc2 + d * d;
    }
    let var_biased = workgroup_sum(lid, acc2) / f32(count);
    if (lid == 0u) {
        store_stats(ch, mu, var_biased, count);
    }
}
#endif
