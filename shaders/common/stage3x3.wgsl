// The input block the 3x3 stride-1 tensor-core kernels stage
// (conv3x3_mma, conv3x3_mma_bwd_weight; after `#import mma_io`): for 16
// channels from c0 and a block of BLOCK_ROWS rows of 16 pixels at (y0,
// x0), staged[kx][c][r][j] = x[z, c0 + c, y0 + r - 1, x0 + j + kx - 1]
// as f16 (6 rows: the block's and the window's two; zeros outside the
// image and from c_end). Each kx is a copy shifted by one pixel, because a
// cooperative load wants 16-byte-aligned rows: the tile of tap (ky, kx)
// for pixel row r is then the 16 x 16 matrix at staged_at(3 ky + kx, r),
// its rows a channel apart (pixels along them). The kernel declares `src`
// (ACT) and `p` with c_in, h and w.
const BLOCK_ROWS: u32 = 4u;
// Staged values per channel: 6 rows of 16, and 8 of padding, so that the
// 8 rows a tile load reads at a time (one channel apart, 208 bytes) start
// on 8 different 4-byte banks of 32 (96 values, 192 bytes apart, would
// start on 2).
const CHANNEL_STRIDE: u32 = 104u;
// Per kx: 16 channels.
const PER_KX: u32 = 1664u;

var<workgroup> staged: array<f16, 4992>;

fn staged_at(t: u32, r: u32) -> u32 {
    return (t % 3u) * PER_KX + (r + t / 3u) * 16u;
}

// The 128 invocations of a workgroup stage the block: invocation `lid`
// its column j = lid % 16 of the staged rows q = lid / 16 + 8 i (q = 96
// kx + 6 c + r), so neighbouring invocations read neighbouring pixels.
fn stage_input(lid: u32, img: u32, c0: u32, c_end: u32, y0: u32, x0: u32) {
    let j = lid % 16u;
    for (var i = 0u; i < 36u; i++) {
        let q = lid / 16u + 8u * i;
        let kx = q / 96u;
        let c = (q / 6u) % 16u;
        let r = q % 6u;
        let sy = i32(y0 + r) - 1;
        let sx = i32(x0 + j + kx) - 1;
        var v = f16(0.0);
        if (c0 + c < c_end && sy >= 0 && sy < i32(p.h) && sx >= 0 && sx < i32(p.w)) {
            v = stage_act(src[((img * p.c_in + c0 + c) * p.h + u32(sy)) * p.w + u32(sx)]);
        }
        staged[kx * PER_KX + c * CHANNEL_STRIDE + r * 16u + j] = v;
    }
}
