//! The Navier–Stokes-inspired pixel (Bertalmío et al. 2001) as OpenCV's
//! `INPAINT_NS` computes it: a weighted average of the known pixels within
//! the radius, weighted by 1 / (|r|⁴ + 1) and by how well the offset r lines
//! up with the isophote (the image gradient turned by 90°) at the known
//! pixel; f32 arithmetic where OpenCV uses float.
use super::march::{known_within, Grid, INSIDE};
use super::{saturate_u8, shifted, Pixels};

pub(super) fn fill(out: &mut Pixels, i: usize, j: usize, flags: &Grid<u8>, range: usize) {
    let known = |a: usize, b: usize| flags.at(a, b) != INSIDE;
    let mut ia = [0f32; 3];
    let mut s = [1.0e-20f32; 3];
    let (rows, cols) = (flags.rows, flags.cols);
    for (ku, lu) in known_within(flags, i, j, range) {
        let (k, l) = (ku as i64, lu as i64);
        let (di, dj) = (k - i as i64, l - j as i64);
        let (km, kp) = shifted(ku, rows);
        let (lm, lp) = shifted(lu, cols);
        let (rx, ry) = (dj as f32, di as f32);
        let len2 = rx * rx + ry * ry;
        let dst = 1.0 / (len2 * len2 + 1.0);
        for c in 0..3 {
            let v = |row: i64, col: i64| out.at(row, col, c);
            // Differences across rows, then across columns.
            let g_rows = match (known(ku + 1, lu), known(ku - 1, lu)) {
                (true, true) => {
                    ((v(kp + 1, lm) - v(kp, lm)).abs() + (v(kp, lm) - v(km - 1, lm)).abs()) as f32
                }
                (true, false) => (v(kp + 1, lm) - v(kp, lm)).abs() as f32 * 2.0,
                (false, true) => (v(kp, lm) - v(km - 1, lm)).abs() as f32 * 2.0,
                (false, false) => 0.0,
            };
            let g_cols = match (known(ku, lu + 1), known(ku, lu - 1)) {
                (true, true) => {
                    ((v(km, lp + 1) - v(km, lm)).abs() + (v(km, lm) - v(km, lm - 1)).abs()) as f32
                }
                (true, false) => (v(km, lp + 1) - v(km, lm)).abs() as f32 * 2.0,
                (false, true) => (v(km, lm) - v(km, lm - 1)).abs() as f32 * 2.0,
                (false, false) => 0.0,
            };
            // The isophote, as OpenCV writes it: (−g_rows, g_cols).
            let (gx, gy) = (-g_rows, g_cols);
            let dot = rx * gx + ry * gy;
            let dir = if dot.abs() <= 0.01 {
                0.000_001
            } else {
                let lens = len2 * (gx * gx + gy * gy);
                (dot / lens.sqrt()).abs()
            };
            let w = dst * dir;
            ia[c] += w * v(k - 1, l - 1) as f32;
            s[c] += w;
        }
    }
    for c in 0..3 {
        out.set(i - 1, j - 1, c, saturate_u8(ia[c] as f64 / s[c] as f64));
    }
}
