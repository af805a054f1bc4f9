//! Telea's pixel, as OpenCV computes it: the average of the first-order
//! extrapolations from the known pixels within the radius, weighted by
//! direction (along ∇T), inverse cubed distance and level-set proximity,
//! plus OpenCV's normalised gradient term; f32 arithmetic where OpenCV
//! uses float.
use super::march::{known_within, Grid, INSIDE};
use super::{saturate_u8, shifted, Pixels};

/// The one-sided or centred difference of T at framed (i, j) along one
/// axis, over pixels not inside a hole.
fn grad_t(flags: &Grid<u8>, t: &Grid<f32>, i: usize, j: usize, di: usize, dj: usize) -> f32 {
    let known = |a: usize, b: usize| flags.at(a, b) != INSIDE;
    let (lo, hi) = ((i - di, j - dj), (i + di, j + dj));
    match (known(hi.0, hi.1), known(lo.0, lo.1)) {
        (true, true) => (t.at(hi.0, hi.1) - t.at(lo.0, lo.1)) * 0.5,
        (true, false) => t.at(hi.0, hi.1) - t.at(i, j),
        (false, true) => t.at(i, j) - t.at(lo.0, lo.1),
        (false, false) => 0.0,
    }
}

pub(super) fn fill(
    out: &mut Pixels,
    i: usize,
    j: usize,
    flags: &Grid<u8>,
    t: &Grid<f32>,
    range: usize,
) {
    let known = |a: usize, b: usize| flags.at(a, b) != INSIDE;
    let (gtx, gty) = (grad_t(flags, t, i, j, 0, 1), grad_t(flags, t, i, j, 1, 0));
    let mut ia = [0f32; 3];
    let mut jx = [0f32; 3];
    let mut jy = [0f32; 3];
    let mut s = [1.0e-20f32; 3];
    let (rows, cols) = (flags.rows, flags.cols);
    for (ku, lu) in known_within(flags, i, j, range) {
        let (k, l) = (ku as i64, lu as i64);
        let (di, dj) = (i as i64 - k, j as i64 - l);
        let (km, kp) = shifted(ku, rows);
        let (lm, lp) = shifted(lu, cols);
        let (rx, ry) = (dj as f32, di as f32);
        let len2 = rx * rx + ry * ry;
        let dst = (1.0 / (len2 as f64 * (len2 as f64).sqrt())) as f32;
        let dt = t.at(ku, lu) - t.at(i, j);
        let lev = (1.0 / (1.0 + dt.abs()) as f64) as f32;
        let mut dir = rx * gtx + ry * gty;
        if dir.abs() <= 0.01 {
            dir = 0.000_001;
        }
        let w = (dst * lev * dir).abs();
        for c in 0..3 {
            let v = |row: i64, col: i64| out.at(row, col, c);
            let gx = match (known(ku, lu + 1), known(ku, lu - 1)) {
                (true, true) => (v(km, lp + 1) - v(km, lm - 1)) as f32 * 2.0,
                (true, false) => (v(km, lp + 1) - v(km, lm)) as f32,
                (false, true) => (v(km, lp) - v(km, lm - 1)) as f32,
                (false, false) => 0.0,
            };
            let gy = match (known(ku + 1, lu), known(ku - 1, lu)) {
                (true, true) => (v(kp + 1, lm) - v(km - 1, lm)) as f32 * 2.0,
                (true, false) => (v(kp + 1, lm) - v(km, lm)) as f32,
                (false, true) => (v(kp, lm) - v(km - 1, lm)) as f32,
                (false, false) => 0.0,
            };
            ia[c] += w * v(k - 1, l - 1) as f32;
            jx[c] -= w * (gx * rx);
            jy[c] -= w * (gy * ry);
            s[c] += w;
        }
    }
    for c in 0..3 {
        let norm = (jx[c] * jx[c] + jy[c] * jy[c]).sqrt() + 1.0e-20;
        let sat = ia[c] / s[c] + (jx[c] + jy[c]) / norm;
        out.set(i - 1, j - 1, c, saturate_u8(sat as f64 + 0.5));
    }
}
