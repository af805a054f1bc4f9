//! Frequency selective reconstruction (Seiler, Jonscher, Schöberl & Kaup
//! 2015; the iteration count of Genser et al. 2017 and the spectral
//! weighting of Genser et al. 2018) as opencv-contrib's
//! `cv::xphoto::inpaint` computes it with `INPAINT_FSR_FAST` or
//! `INPAINT_FSR_BEST`: the strongest classical method on photos
//! (docs/measurements.md).
//!
//! The image is filled in YCrCb, each channel alone, block by block: a
//! block and the pixels around it (a 32×32 window; 64×64 for best) are
//! modelled as a sum of Fourier basis functions fitted to the known
//! pixels, weighted by ρ^distance from the window's centre, one basis
//! function (or a conjugate pair) at a time: the one that explains most
//! of the weighted residual. The model's values fill the block's holes,
//! and those pixels then count half as much as known ones in later
//! windows. Blocks are 16 pixels where the known pixels around them are
//! smooth (their standard deviation under a threshold), else split into
//! 8, then 4 (and 2 for best); the blocks with the fewest unfilled
//! neighbours go first. Results match OpenCV's (tests/classical.rs,
//! fixtures made with it).
//!
//! Where a side is not a multiple of 16, OpenCV never visits the last
//! partial blocks' holes and returns them as YCrCb (0, 0, 0), bright
//! green; here they are filled after the rest by the same extrapolation,
//! the smallest blocks flush with the image's edge.
use image::RgbImage;

use crate::raster::HoleMap;

/// The largest blocks' side.
const BLOCK_MAX: usize = 16;
/// A filled pixel's weight in later windows; a known pixel's is 1.
const FILLED_WEIGHT: f64 = 0.5;
/// Per block size (16, 8, 4, 2): how fast the window's weights decay per
/// pixel from its centre.
const RHO: [f64; 4] = [0.80, 0.70, 0.66, 0.64];
/// Per block size (16, 8, 4): a block whose known pixels' standard
/// deviation (of values / 255) is below this is filled whole, else split
/// in four (the smallest blocks are always filled).
const LUMA_SMOOTH: [f64; 3] = [0.014, 0.030, 0.090];
const CHROMA_SMOOTH: [f64; 3] = [0.006, 0.010, 0.028];

/// OpenCV's two quality profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Quality {
    /// `INPAINT_FSR_FAST`: 32² windows, blocks down to 4 pixels, 20 to
    /// 100 basis functions.
    Fast,
    /// `INPAINT_FSR_BEST`: 64² windows, blocks down to 2 pixels, 50 to 400
    /// basis functions; about 20 times the work.
    Best,
}

/// Fills the holes of an 8-bit image as `cv::xphoto::inpaint(src, known,
/// dst, INPAINT_FSR_FAST or _BEST)`; known pixels are returned unchanged
/// (OpenCV returns them through a YCrCb round trip, a unit off here and
/// there). The caller handles an image with no known pixel.
pub fn fill(image: &RgbImage, holes: &HoleMap, quality: Quality) -> RgbImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    assert_eq!(holes.holes.len(), w * h, "one flag per pixel");
    let known: Vec<bool> = holes.holes.iter().map(|&hole| !hole).collect();
    let mut planes = [vec![0.0; w * h], vec![0.0; w * h], vec![0.0; w * h]];
    for (i, p) in image.pixels().enumerate().filter(|&(i, _)| known[i]) {
        for (plane, v) in planes.iter_mut().zip(ycrcb(p.0)) {
            plane[i] = f64::from(v);
        }
    }
    let tables = Profile::new(quality);
    // The channels are independent: one thread each.
    let filled: Vec<Vec<f64>> = std::thread::scope(|s| {
        let workers: Vec<_> = planes
            .into_iter()
            .zip([LUMA_SMOOTH, CHROMA_SMOOTH, CHROMA_SMOOTH])
            .map(|(plane, smooth)| {
                let (known, tables) = (&known, &tables);
                s.spawn(move || Channel::new(plane, known, w, h).reconstruct(smooth, tables))
            })
            .collect();
        workers
            .into_iter()
            .map(|t| t.join().expect("an FSR channel thread panicked"))
            .collect()
    });
    let mut out = image.clone();
    for (i, p) in out.pixels_mut().enumerate().filter(|&(i, _)| !known[i]) {
        p.0 = rgb([0, 1, 2].map(|c| super::saturate_u8(filled[c][i])));
    }
    out
}

/// OpenCV's 8-bit RGB → YCrCb (`COLOR_BGR2YCrCb`): ITU-R 601 in 14-bit
/// fixed point, rounded (identical to `cv::cvtColor` on all 2²⁴ colours).
fn ycrcb([r, g, b]: [u8; 3]) -> [u8; 3] {
    const HALF: i32 = 1 << 13;
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let y = (r * 4899 + g * 9617 + b * 1868 + HALF) >> 14;
    let cr = ((r - y) * 11682 + (128 << 14) + HALF) >> 14;
    let cb = ((b - y) * 9241 + (128 << 14) + HALF) >> 14;
    [y, cr, cb].map(|v| v.clamp(0, 255) as u8)
}

/// OpenCV's 8-bit YCrCb → RGB (`COLOR_YCrCb2BGR`), likewise exact.
fn rgb([y, cr, cb]: [u8; 3]) -> [u8; 3] {
    const HALF: i32 = 1 << 13;
    let (y, cr, cb) = (i32::from(y), i32::from(cr) - 128, i32::from(cb) - 128);
    let r = y + ((cr * 22987 + HALF) >> 14);
    let g = y + ((cb * -5636 + cr * -11698 + HALF) >> 14);
    let b = y + ((cb * 29049 + HALF) >> 14);
    [r, g, b].map(|v| v.clamp(0, 255) as u8)
}

/// One channel being filled: OpenCV's `sampled_img` (the known values, 0
/// in the holes), `reconstructed_img` and `sampling_mask` (1 known, 0.5
/// filled, 0 not yet).
struct Channel {
    width: usize,
    height: usize,
    original: Vec<f64>,
    values: Vec<f64>,
    weights: Vec<f64>,
}

/// A block and the window around it that its model is fitted to.
#[derive(Clone, Copy, Debug)]
struct Window {
    x0: usize,
    y0: usize,
    cols: usize,
    rows: usize,
    /// The block's offset in the window, and its size.
    left: usize,
    top: usize,
    block_cols: usize,
    block_rows: usize,
}

impl Channel {
    fn new(values: Vec<f64>, known: &[bool], width: usize, height: usize) -> Channel {
        Channel {
            width,
            height,
            original: values.clone(),
            values,
            weights: known.iter().map(|&k| f64::from(u8::from(k))).collect(),
        }
    }

    /// The block at (x, y) of `cols` × `rows` with up to `border` pixels
    /// around it, clipped to the image.
    fn window(&self, x: usize, y: usize, cols: usize, rows: usize, border: usize) -> Window {
        let left = x.min(border);
        let top = y.min(border);
        let right = self.width.saturating_sub(x + cols).min(border);
        let bottom = self.height.saturating_sub(y + rows).min(border);
        Window {
            x0: x - left,
            y0: y - top,
            cols: (x + cols + right).min(self.width) - (x - left),
            rows: (y + rows + bottom).min(self.height) - (y - top),
            left,
            top,
            block_cols: cols,
            block_rows: rows,
        }
    }

    /// The window's pixels of `plane`, row by row.
    fn cut(&self, plane: &[f64], win: &Window) -> Vec<f64> {
        let mut out = Vec::with_capacity(win.rows * win.cols);
        for r in win.y0..win.y0 + win.rows {
            out.extend_from_slice(&plane[r * self.width + win.x0..][..win.cols]);
        }
        out
    }

    /// Whether block (bx, by) of side `size` has a pixel not yet filled,
    /// and whether it has any known or filled pixel.
    fn block_state(&self, bx: usize, by: usize, size: usize) -> (bool, bool) {
        let (mut open, mut any) = (false, false);
        for r in by * size..((by + 1) * size).min(self.height) {
            for &wt in
                &self.weights[r * self.width + bx * size..][..size.min(self.width - bx * size)]
            {
                open |= wt == 0.0;
                any |= wt != 0.0;
            }
        }
        (open, any)
    }

    /// The channel with every hole filled.
    fn reconstruct(mut self, smooth: [f64; 3], tables: &Profile) -> Vec<f64> {
        let (w, h) = (self.width, self.height);
        // The blocks of 16 with a hole, then those split at each size.
        let mut todo: Vec<(usize, usize)> = Vec::new();
        for by in 0..h.div_ceil(BLOCK_MAX) {
            for bx in 0..w.div_ceil(BLOCK_MAX) {
                if self.block_state(bx, by, BLOCK_MAX).0 {
                    todo.push((bx, by));
                }
            }
        }
        let mut size = BLOCK_MAX;
        let mut level = 0;
        let mut border = (tables.fft - size) / 2;
        let mut later: Vec<(usize, usize)> = Vec::new();
        while size >= tables.block_min {
            // OpenCV's grid drops the last partial block of each row and
            // column (see `fill_leftovers`).
            let (cols, rows) = (w / size, h / size);
            let mut deviation = vec![0.0; cols * rows];
            let mut selected = vec![size == tables.block_min; cols * rows];
            if size > tables.block_min {
                if size < BLOCK_MAX {
                    todo = std::mem::take(&mut later);
                }
                border = (tables.fft - size) / 2;
                later.clear();
                for &(bx, by) in todo.iter().filter(|&&(bx, by)| bx < cols && by < rows) {
                    // OpenCV reads the values as given (0 in the holes)
                    // under the current weights here, filled pixels
                    // included.
                    let win = self.window(bx * size, by * size, size, size, border);
                    let sd = std_dev(
                        &self.cut(&self.original, &win),
                        &self.cut(&self.weights, &win),
                    );
                    deviation[by * cols + bx] = sd;
                    if sd < smooth[level] {
                        selected[by * cols + bx] = true;
                    } else {
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                            later.push((2 * bx + dx, 2 * by + dy));
                        }
                    }
                }
            }
            let grid = Grid { cols, rows };
            let mut unfilled = self.unfilled_neighbours(&grid, size);
            // The blocks with the fewest unfilled neighbours first, those of
            // a round not touching each other.
            loop {
                let round = grid.next_round(&mut unfilled, &selected);
                if round.is_empty() {
                    break;
                }
                for (bx, by) in round {
                    let win = self.window(bx * size, by * size, size, size, border);
                    let sd = deviation[by * cols + bx];
                    self.extrapolate_into(&win, level, sd, tables, false);
                    unfilled[by * cols + bx] = -1;
                    for n in grid.neighbours(bx, by) {
                        unfilled[n] -= 1;
                    }
                }
            }
            size /= 2;
            level += 1;
            border = (tables.fft - size) / 2;
            if later.is_empty() {
                break;
            }
        }
        self.fill_leftovers(tables);
        self.values
    }

    /// OpenCV's `nen_array`: per block of the grid with a pixel not yet
    /// filled, how many of its 8 neighbours have one too, plus 5 at a
    /// corner of the grid and 3 along an edge (as if the blocks outside
    /// were unfilled); -1 for a block with nothing to fill. When every
    /// block counts 8, those with no known pixel at all count 9.
    fn unfilled_neighbours(&self, grid: &Grid, size: usize) -> Vec<i32> {
        let (cols, rows) = (grid.cols, grid.rows);
        let state: Vec<(bool, bool)> = (0..rows)
            .flat_map(|by| (0..cols).map(move |bx| (bx, by)))
            .map(|(bx, by)| self.block_state(bx, by, size))
            .collect();
        let mut count = vec![0i32; cols * rows];
        for by in 0..rows {
            for bx in 0..cols {
                if state[by * cols + bx].0 {
                    for n in grid.neighbours(bx, by) {
                        count[n] += 1;
                    }
                }
            }
        }
        let (last_x, last_y) = (cols.wrapping_sub(1), rows.wrapping_sub(1));
        for by in 0..rows {
            for bx in 0..cols {
                let k = by * cols + bx;
                if !state[k].0 {
                    count[k] = -1;
                    continue;
                }
                // OpenCV's conditions one by one: a one-block-wide grid
                // matches two corners.
                let corners = [(0, 0), (0, last_x), (last_y, 0), (last_y, last_x)];
                let bonus_corner = corners.iter().filter(|&&c| c == (by, bx)).count() as i32 * 5;
                let inner_x = bx != 0 && bx != last_x;
                let inner_y = by != 0 && by != last_y;
                let edges = [
                    by == 0 && inner_x,
                    by == last_y && inner_x,
                    inner_y && bx == 0,
                    inner_y && bx == last_x,
                ];
                count[k] += bonus_corner + edges.iter().filter(|&&e| e).count() as i32 * 3;
            }
        }
        if count.iter().min() == Some(&8) {
            for (c, _) in count.iter_mut().zip(&state).filter(|(_, s)| !s.1) {
                *c += 1;
            }
        }
        count
    }

    /// Fits the model to the window and writes it over the block's pixels
    /// that are not known (with `only_unfilled`, over those not yet
    /// filled), which then count as filled. A window without a known or
    /// filled pixel is left for later.
    fn extrapolate_into(
        &mut self,
        win: &Window,
        level: usize,
        deviation: f64,
        tables: &Profile,
        only_unfilled: bool,
    ) {
        let values = self.cut(&self.values, win);
        let weights = self.cut(&self.weights, win);
        let Some(model) = extrapolate(&values, &weights, win, level, deviation, tables) else {
            return;
        };
        for r in 0..win.block_rows {
            for c in 0..win.block_cols {
                let at = (win.top + r) * win.cols + win.left + c;
                let model = model[r * win.block_cols + c];
                let i = (win.y0 + win.top + r) * self.width + win.x0 + win.left + c;
                // OpenCV keeps the pixels whose weight rounds to a nonzero
                // byte: the known ones (0.5 rounds to even, 0).
                let keep = if only_unfilled {
                    weights[at] != 0.0
                } else {
                    weights[at] > FILLED_WEIGHT
                };
                if !keep {
                    self.values[i] = model;
                }
                if self.weights[i] == 0.0 {
                    self.weights[i] = FILLED_WEIGHT;
                }
            }
        }
    }

    /// Fills the holes OpenCV's grid leaves (the last partial blocks of
    /// each row and column, or a whole image under 16 pixels on a side):
    /// the smallest blocks over those rows and columns, the last one flush
    /// with the image's edge, in raster order, again while any is left.
    fn fill_leftovers(&mut self, tables: &Profile) {
        let (w, h) = (self.width, self.height);
        let starts = |n: usize| -> Vec<(usize, usize)> {
            let size = tables.block_min.min(n);
            let mut s: Vec<usize> = (0..=n - size).step_by(size).collect();
            if !n.is_multiple_of(size) {
                s.push(n - size);
            }
            s.into_iter().map(|p| (p, size)).collect()
        };
        let border = (tables.fft - tables.block_min) / 2;
        let level = (BLOCK_MAX / tables.block_min).trailing_zeros() as usize;
        loop {
            let open_before = self.weights.iter().filter(|&&wt| wt == 0.0).count();
            if open_before == 0 {
                return;
            }
            for &(y, rows) in &starts(h) {
                for &(x, cols) in &starts(w) {
                    let open =
                        (y..y + rows).any(|r| self.weights[r * w + x..][..cols].contains(&0.0));
                    if open {
                        let win = self.window(x, y, cols, rows, border);
                        self.extrapolate_into(&win, level, 0.0, tables, true);
                    }
                }
            }
            if self.weights.iter().filter(|&&wt| wt == 0.0).count() == open_before {
                // Nothing known near enough to anything left: cannot
                // happen with a known pixel in the image (every block's
                // window then reaches a known or filled one eventually),
                // but never loop.
                return;
            }
        }
    }
}

/// The block grid of one size.
struct Grid {
    cols: usize,
    rows: usize,
}

impl Grid {
    /// The indices of block (bx, by)'s up to 8 neighbours in the grid.
    fn neighbours(&self, bx: usize, by: usize) -> impl Iterator<Item = usize> + '_ {
        (-1i64..=1)
            .flat_map(|dy| (-1i64..=1).map(move |dx| (dx, dy)))
            .filter(|&d| d != (0, 0))
            .filter_map(move |(dx, dy)| {
                let (x, y) = (bx as i64 + dx, by as i64 + dy);
                (x >= 0 && y >= 0 && (x as usize) < self.cols && (y as usize) < self.rows)
                    .then(|| y as usize * self.cols + x as usize)
            })
    }

    /// OpenCV's choice of the blocks processed next: in raster order, the
    /// selected blocks with the smallest count, skipping the neighbours
    /// of those already taken; a block not selected at this size whose
    /// count equals the smallest so far is dropped (-1), as OpenCV does.
    fn next_round(&self, count: &mut [i32], selected: &[bool]) -> Vec<(usize, usize)> {
        let mut free = vec![true; count.len()];
        let mut least = 99;
        let mut round = Vec::new();
        for by in 0..self.rows {
            for bx in 0..self.cols {
                let k = by * self.cols + bx;
                let c = count[k];
                if c >= 0 && c < least && selected[k] {
                    round.clear();
                    least = c;
                    free.fill(true);
                }
                if c == least && free[k] {
                    if selected[k] {
                        round.push((bx, by));
                        for n in self.neighbours(bx, by) {
                            free[n] = false;
                        }
                    } else {
                        count[k] = -1;
                    }
                }
            }
        }
        round
    }
}

/// The standard deviation of the window's values where its weight is not
/// 0, over 255 and within [0, 1], as OpenCV's `meanStdDev` computes it;
/// NaN without such a pixel.
fn std_dev(values: &[f64], weights: &[f64]) -> f64 {
    let (mut n, mut s, mut sq) = (0usize, 0.0, 0.0);
    for (&v, _) in values.iter().zip(weights).filter(|(_, &wt)| wt != 0.0) {
        n += 1;
        s += v;
        sq += v * v;
    }
    if n == 0 {
        return f64::NAN;
    }
    let mean = s / n as f64;
    ((sq / n as f64 - mean * mean).max(0.0).sqrt() / 255.0).clamp(0.0, 1.0)
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Complex {
    re: f64,
    im: f64,
}

impl Complex {
    fn conj(self) -> Complex {
        Complex {
            re: self.re,
            im: -self.im,
        }
    }

    fn mul(self, o: Complex) -> Complex {
        Complex {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }

    fn scale(self, k: f64) -> Complex {
        Complex {
            re: self.re * k,
            im: self.im * k,
        }
    }

    fn abs(self) -> f64 {
        (self.re * self.re + self.im * self.im).sqrt()
    }
}

/// A quality profile's parameters and what every block's transform
/// shares.
struct Profile {
    /// The side of the transform window (a power of two: twiddle indices
    /// wrap with a mask), and the columns of a real window's spectrum
    /// that are not mirror images of others.
    fft: usize,
    half: usize,
    block_min: usize,
    /// The number of basis functions per block is
    /// `iterations_per_deviation` times the known pixels' standard
    /// deviation (of values / 255), within these bounds.
    min_iterations: i64,
    max_iterations: i64,
    iterations_per_deviation: f64,
    /// The share of the residual's projection each chosen basis function
    /// takes (the basis is not orthogonal under the window's weights).
    orthogonality_correction: f64,
    /// e^{-2πi j / fft} for j in 0..fft.
    twiddle: Vec<Complex>,
    /// OpenCV's `frequency_weighting` over the half spectrum: low
    /// frequencies are preferred, 1 - |(k, l)| √2 / fft with k, l folded
    /// (never negative).
    frequency: Vec<f64>,
    frequency_squared: Vec<f64>,
    /// Per block size, ρ^d at each offset (dy, dx) + 0.5 from a window's
    /// centre, |dy|, |dx| ≤ fft.
    decay: [Vec<f64>; 4],
}

impl Profile {
    fn new(quality: Quality) -> Profile {
        let (
            fft,
            block_min,
            min_iterations,
            max_iterations,
            iterations_per_deviation,
            orthogonality_correction,
        ) = match quality {
            Quality::Fast => (32, 4, 20, 100, 1000.0, 0.5),
            Quality::Best => (64, 2, 50, 400, 2000.0, 0.2),
        };
        let half = fft / 2 + 1;
        let twiddle = (0..fft)
            .map(|j| {
                let a = 2.0 * std::f64::consts::PI * j as f64 / fft as f64;
                Complex {
                    re: a.cos(),
                    im: -a.sin(),
                }
            })
            .collect();
        let mut frequency = vec![0.0; fft * half];
        let n = fft as f64;
        for y in 0..fft {
            for x in 0..half {
                let y2 = n / 2.0 - (y as f64 - n / 2.0).abs();
                let x2 = n / 2.0 - (x as f64 - n / 2.0).abs();
                frequency[y * half + x] = 1.0 - (x2 * x2 + y2 * y2).sqrt() * 2f64.sqrt() / n;
            }
        }
        let decay = RHO.map(|rho| {
            let side = 2 * fft + 1;
            (0..side * side)
                .map(|i| {
                    let dy = (i / side) as f64 - fft as f64 + 0.5;
                    let dx = (i % side) as f64 - fft as f64 + 0.5;
                    rho.powf((dy.powi(2) + dx.powi(2)).sqrt())
                })
                .collect()
        });
        Profile {
            fft,
            half,
            block_min,
            min_iterations,
            max_iterations,
            iterations_per_deviation,
            orthogonality_correction,
            twiddle,
            frequency_squared: frequency.iter().map(|f| f * f).collect(),
            frequency,
            decay,
        }
    }

    fn decay(&self, level: usize, dy: i64, dx: i64) -> f64 {
        let n = self.fft as i64;
        self.decay[level][((dy + n) * (2 * n + 1) + dx + n) as usize]
    }

    /// The 2-D DFTs (forward, unscaled) of two real n × n arrays that
    /// are zero outside `rows`: all of `a`'s, the first `nh` columns of
    /// `b`'s. Each row of the two is one complex transform (a + ib, split
    /// by symmetry), and `a`'s other columns mirror its first ones.
    fn dft_pair(
        &self,
        a: &[f64],
        b: &[f64],
        rows: std::ops::Range<usize>,
    ) -> (Vec<Complex>, Vec<Complex>) {
        let (n, nh) = (self.fft, self.half);
        let mut along_a = vec![Complex::default(); n * nh];
        let mut along_b = vec![Complex::default(); n * nh];
        let mut line = vec![Complex::default(); n];
        for u in rows {
            for (z, (&x, &y)) in line
                .iter_mut()
                .zip(a[u * n..][..n].iter().zip(&b[u * n..][..n]))
            {
                *z = Complex { re: x, im: y };
            }
            self.transform(&mut line);
            for k in 0..nh {
                let (z, m) = (line[k], line[(n - k) % n].conj());
                along_a[u * nh + k] = Complex {
                    re: (z.re + m.re) / 2.0,
                    im: (z.im + m.im) / 2.0,
                };
                // (z - m) / 2i
                along_b[u * nh + k] = Complex {
                    re: (z.im - m.im) / 2.0,
                    im: (m.re - z.re) / 2.0,
                };
            }
        }
        let columns = |along: &[Complex], out: &mut [Complex], out_cols: usize| {
            let mut line = vec![Complex::default(); n];
            for l in 0..nh {
                for (k, c) in line.iter_mut().enumerate() {
                    *c = along[k * nh + l];
                }
                self.transform(&mut line);
                for (k, c) in line.iter().enumerate() {
                    out[k * out_cols + l] = *c;
                }
            }
        };
        let mut full_a = vec![Complex::default(); n * n];
        columns(&along_a, &mut full_a, n);
        for k in 0..n {
            for l in nh..n {
                full_a[k * n + l] = full_a[((n - k) % n) * n + n - l].conj();
            }
        }
        let mut half_b = vec![Complex::default(); n * nh];
        columns(&along_b, &mut half_b, nh);
        (full_a, half_b)
    }

    /// In place, forward, unscaled: radix-2 decimation in time.
    fn transform(&self, a: &mut [Complex]) {
        let n = self.fft;
        let bits = n.trailing_zeros();
        for i in 0..n {
            let j = i.reverse_bits() >> (usize::BITS - bits);
            if i < j {
                a.swap(i, j);
            }
        }
        let mut len = 2;
        while len <= n {
            let step = n / len;
            for start in (0..n).step_by(len) {
                for k in 0..len / 2 {
                    let t = a[start + k + len / 2].mul(self.twiddle[k * step]);
                    let e = a[start + k];
                    a[start + k] = Complex {
                        re: e.re + t.re,
                        im: e.im + t.im,
                    };
                    a[start + k + len / 2] = Complex {
                        re: e.re - t.re,
                        im: e.im - t.im,
                    };
                }
            }
            len *= 2;
        }
    }
}

/// OpenCV's `icvExtrapolateBlock`: the model of the window (values and
/// weights row by row) fitted with the decay of block size `level`, at
/// the block's pixels, or None where no weight is nonzero. `deviation` 0:
/// computed from the window.
fn extrapolate(
    values: &[f64],
    weights: &[f64],
    win: &Window,
    level: usize,
    deviation: f64,
    tables: &Profile,
) -> Option<Vec<f64>> {
    let (n, nh) = (tables.fft, tables.half);
    let (rows, cols) = (win.rows, win.cols);
    let oy = (n - rows) / 2;
    let ox = (n - cols) / 2;
    let mut w = vec![0.0; n * n];
    let mut fw = vec![0.0; n * n];
    for r in 0..rows {
        for c in 0..cols {
            let (u, v) = (oy + r, ox + c);
            // Distances from the window's centre (its middle pixel's
            // corner, as OpenCV rounds it).
            let decay = tables.decay(
                level,
                r as i64 - (rows / 2) as i64,
                c as i64 - (cols / 2) as i64,
            );
            w[u * n + v] = weights[r * cols + c] * decay;
            fw[u * n + v] = values[r * cols + c] * w[u * n + v];
        }
    }
    let (spectrum_w, mut residual) = tables.dft_pair(&w, &fw, oy..oy + rows);
    let total = spectrum_w[0].re;
    if total == 0.0 {
        return None;
    }
    let deviation = if deviation == 0.0 {
        std_dev(values, weights)
    } else {
        deviation
    };
    let iterations = (tables.iterations_per_deviation * deviation).round_ties_even();
    // OpenCV's cvRound of NaN is the smallest int: the minimum.
    let iterations = if iterations.is_nan() {
        tables.min_iterations
    } else {
        (iterations as i64).clamp(tables.min_iterations, tables.max_iterations)
    };
    // The weights' spectrum tiled 2 × 2 (OpenCV's `W_padded`): the
    // spectrum shifted by (u, v) is, at (r, c), the tile's
    // (r + n - u, c + n - v), a row at a time.
    let mut tiled = vec![Complex::default(); 4 * n * n];
    for (r, row) in tiled.chunks_exact_mut(2 * n).enumerate() {
        for (c, x) in row.iter_mut().enumerate() {
            *x = spectrum_w[(r % n) * n + c % n];
        }
    }
    let shifted_row = |r: usize, u: usize, v: usize| &tiled[(r + n - u) * 2 * n + n - v..][..nh];
    let mut model = vec![Complex::default(); n * n];
    let mut chosen: Vec<(usize, usize)> = Vec::new();
    let mut done = 0;
    let mut squared = vec![0.0; n * nh];
    while done < iterations {
        // OpenCV's projection |Rw| · weighting, computed exactly only
        // where its square (no root) comes within 0.002 of the largest:
        // every entry within 0.001 of the maximum is among those.
        for ((q, r), f) in squared
            .iter_mut()
            .zip(&residual)
            .zip(&tables.frequency_squared)
        {
            *q = (r.re * r.re + r.im * r.im) * f;
        }
        let largest = squared.iter().copied().fold(0.0, f64::max).sqrt();
        let floor = (largest - 0.002).max(0.0).powi(2);
        let projection = |i: usize| residual[i].abs() * tables.frequency[i];
        let max = (0..n * nh)
            .filter(|&i| squared[i] >= floor)
            .map(projection)
            .fold(f64::NEG_INFINITY, f64::max);
        // The first within 0.001 of the largest, as OpenCV picks it.
        let at = (0..n * nh)
            .find(|&i| squared[i] >= floor && (projection(i) - max).abs() < 0.001)
            .unwrap_or(0);
        let (mut u, v) = (at / nh, at % nh);
        let half = n / 2;
        // The lower half of the first and middle columns mirror the upper.
        if (v == 0 || v == half) && u > half {
            let was = u;
            u = n - u;
            residual[u * nh + v] = residual[was * nh + v].conj();
        }
        let mirror = if (1..half).contains(&u) && (v == 0 || v == half) {
            Some((n - u, v))
        } else if (u == 0 || u == half) && (1..half).contains(&v) {
            Some((u, n - v))
        } else if u != 0 && u != half && (1..half).contains(&v) {
            Some((n - u, n - v))
        } else {
            None
        };
        let r = residual[u * nh + v].scale(tables.orthogonality_correction);
        let coefficient = Complex {
            re: r.re / total,
            im: r.im / total,
        };
        let g = &mut model[u * n + v];
        *g = Complex {
            re: g.re + (n * n) as f64 * coefficient.re,
            im: g.im + (n * n) as f64 * coefficient.im,
        };
        chosen.push((u, v));
        if let Some((um, vm)) = mirror {
            model[um * n + vm] = model[u * n + v].conj();
            chosen.push((um, vm));
            let conj = coefficient.conj();
            for (r, row) in residual.chunks_exact_mut(nh).enumerate() {
                let (s1, s2) = (shifted_row(r, u, v), shifted_row(r, um, vm));
                for ((x, &w1), &w2) in row.iter_mut().zip(s1).zip(s2) {
                    let (a, b) = (coefficient.mul(w1), conj.mul(w2));
                    x.re -= a.re + b.re;
                    x.im -= a.im + b.im;
                }
            }
            done += 1;
        } else {
            for (r, row) in residual.chunks_exact_mut(nh).enumerate() {
                for (x, &w1) in row.iter_mut().zip(shifted_row(r, u, v)) {
                    let a = coefficient.mul(w1);
                    x.re -= a.re;
                    x.im -= a.im;
                }
            }
        }
        done += 1;
    }
    // The inverse DFT's real part over the block, from the chosen
    // coefficients only.
    chosen.sort_unstable();
    chosen.dedup();
    let (top, left) = (oy + win.top, ox + win.left);
    let (rows, cols) = (win.block_rows, win.block_cols);
    let mut by_row = vec![Complex::default(); rows * n];
    for &(k, l) in &chosen {
        let g = model[k * n + l];
        for r in 0..rows {
            let t = tables.twiddle[(k * (top + r)) & (n - 1)].conj();
            let p = g.mul(t);
            let x = &mut by_row[r * n + l];
            x.re += p.re;
            x.im += p.im;
        }
    }
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let mut s = 0.0;
            for l in 0..n {
                let t = tables.twiddle[(l * (left + c)) & (n - 1)].conj();
                let x = by_row[r * n + l];
                s += x.re * t.re - x.im * t.im;
            }
            out[r * cols + c] = s / (n * n) as f64;
        }
    }
    Some(out)
}
