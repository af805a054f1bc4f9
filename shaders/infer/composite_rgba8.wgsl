// The composite shown in the window, written straight into an RGBA8 texture:
// known pixels from the input image, hole pixels from the network's output,
// cropped from the padded size the network ran at. Values are quantised as
// the CPU's `to_u8` does (floor(255 x + 0.5)), so the texture holds exactly
// the bytes a saved PNG would.
struct Params {
    width: u32,
    height: u32,
    padded_width: u32,
    // Pixels per channel plane of the padded tensors.
    plane: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<f32>;
// 1 = known, 0 = hole (the network's mask input).
@group(0) @binding(2) var<storage, read> known: array<f32>;
@group(0) @binding(3) var<storage, read> prediction: array<f32>;
@group(0) @binding(4) var shown: texture_storage_2d<rgba8unorm, write>;

fn quantised(x: f32) -> f32 {
    return floor(255.0 * clamp(x, 0.0, 1.0) + 0.5) / 255.0;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.height) {
        return;
    }
    let i = id.y * p.padded_width + id.x;
    let keep = known[i] > 0.5;
    var rgb = vec3<f32>(0.0);
    for (var c = 0u; c < 3u; c++) {
        let j = c * p.plane + i;
        rgb[c] = quantised(select(prediction[j], image[j], keep));
    }
    textureStore(shown, vec2<i32>(id.xy), vec4<f32>(rgb, 1.0));
}
