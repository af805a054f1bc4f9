// Dynamic loss scaling after a mixed-precision step, as PyTorch's
// GradScaler does it: where the step overflowed (a non-finite gradient; the
// Adam step skipped it) the scale halves (not below 1) and the clean-step
// count restarts; else after `growth_interval` clean steps in a row it
// doubles (not above 2^24). scaler = [loss scale, overflowed, clean steps,
// skipped steps]; the overflow mark is cleared for the next step, and the
// backward's seed (the loss's gradient) becomes the new scale. One
// invocation.
struct Params {
    growth_interval: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> scaler: array<f32>;
@group(0) @binding(2) var<storage, read_write> seed: array<f32>;

@compute @workgroup_size(1)
fn main() {
    var scale = scaler[0];
    if (scaler[1] != 0.0) {
        scale = max(scale * 0.5, 1.0);
        scaler[2] = 0.0;
        scaler[3] = scaler[3] + 1.0;
    } else {
        scaler[2] = scaler[2] + 1.0;
        if (scaler[2] >= f32(p.growth_interval)) {
            scale = min(scale * 2.0, 16777216.0);
            scaler[2] = 0.0;
        }
    }
    scaler[0] = scale;
    scaler[1] = 0.0;
    seed[0] = scale;
}
