// "Texel arrays": Rgba32Float textures TEXELS_PER_ROW texels wide used as
// flat arrays of vec4, element i at (i % TEXELS_PER_ROW, i / TEXELS_PER_ROW)
// (`TEXELS_PER_ROW` in src/graph/recording.rs). On lavapipe a texel fetch
// is straight-line code, about 8x cheaper than a storage-buffer vec4 load
// (a loop over the SIMD lanes with a bounds check per float), so the row
// kernels read their operands from such copies there.
const TEXELS_PER_ROW: u32 = 4096u;

fn texel_at(i: u32) -> vec2<u32> {
    return vec2<u32>(i % TEXELS_PER_ROW, i / TEXELS_PER_ROW);
}
