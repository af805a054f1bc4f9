//! The eight flips and 90° rotations of a pixel grid (the dihedral group
//! of the square), shared by the mask augmentation of training and the
//! self-ensemble of inference, so both mean the same transform by `k`.

/// Size of a `width` x `height` grid after transform `k` (0..8): odd `k`
/// rotate, so width and height swap.
pub fn size(k: u64, width: usize, height: usize) -> (usize, usize) {
    if k & 1 == 1 {
        (height, width)
    } else {
        (width, height)
    }
}

/// For every pixel of the transformed grid, in row-major order, the
/// row-major index of the pixel of the original grid it shows.
///
/// Bit 0 of `k` rotates by 90° (transpose, then flip), bit 1 flips left to
/// right, bit 2 flips top to bottom.
pub fn source_indices(k: u64, width: usize, height: usize) -> Vec<usize> {
    let (nw, nh) = size(k, width, height);
    let mut out = Vec::with_capacity(width * height);
    for y in 0..nh {
        for x in 0..nw {
            let (mut sx, mut sy) = if k & 1 == 1 { (y, nw - 1 - x) } else { (x, y) };
            if k & 2 != 0 {
                sx = width - 1 - sx;
            }
            if k & 4 != 0 {
                sy = height - 1 - sy;
            }
            out.push(sy * width + sx);
        }
    }
    out
}
