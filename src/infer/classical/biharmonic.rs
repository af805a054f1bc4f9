//! Biharmonic inpainting (Damelin & Hoang 2018; scikit-image's
//! `inpaint_biharmonic`): the unknown pixels are the smooth surface that
//! minimises Σ_q (L u)(q)² over the image, L the 4-neighbour graph
//! Laplacian (at the border, only in-image neighbours), with the known
//! pixels fixed. The normal equations L_Uᵀ L_U u_U = -L_Uᵀ L_K u_K have the
//! 13-point biharmonic stencil away from the border and, next to it, the
//! rows of scikit-image's truncated stencil (its results and these are
//! identical on every fixture), and are symmetric positive definite as
//! soon as one pixel is known: L z = 0 makes z constant, and a known zero
//! makes it 0. The system is solved exactly, by sparse Cholesky: its
//! condition grows as a hole's width to the fourth power, beyond what
//! plain iterative solvers reach in useful time.
use faer::linalg::solvers::Solve;
use faer::sparse::{SparseColMat, Triplet};
use faer::{Mat, Side};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::raster::Planes;

/// The most unknown pixels solved as one system. The factor's memory and
/// time grow faster than the count (a 768² square hole, 590k unknowns,
/// takes 6 s and 1.3 GB on 2 cores); this admits a whole 1024² image (the app's and
/// `inpaint`'s default size), past it a clear error instead of minutes
/// and gigabytes.
pub const MAX_UNKNOWNS: usize = 1_100_000;

/// The image's values with those where `unknown` is set replaced by the
/// biharmonic fill from the rest, each channel clamped to the range of its
/// known values as scikit-image clamps it (the surface overshoots a little
/// beside sharp edges). Unknown pixels no stencil couples (more than two
/// pixels apart, 4-neighbour steps) are separate systems, solved on all
/// cores. Errors where nothing is known or one system is past
/// `MAX_UNKNOWNS`.
pub fn fill(image: &Planes, unknown: &[bool]) -> Result<Planes> {
    let (w, h) = (image.width, image.height);
    let plane = w * h;
    assert_eq!(unknown.len(), plane, "one flag per pixel");
    let count = unknown.iter().filter(|&&u| u).count();
    if count == 0 {
        return Ok(image.clone());
    }
    if count == plane {
        return Err(Error::Invalid(
            "biharmonic inpainting needs at least one known pixel".into(),
        ));
    }
    let mut range = [(f32::INFINITY, f32::NEG_INFINITY); 3];
    for (c, (lo, hi)) in range.iter_mut().enumerate() {
        for (&v, _) in image.data[c * plane..(c + 1) * plane]
            .iter()
            .zip(unknown)
            .filter(|(_, &u)| !u)
        {
            (*lo, *hi) = (lo.min(v), hi.max(v));
        }
    }
    let mut regions = coupled_regions(w, h, unknown);
    if let Some(big) = regions.iter().find(|r| r.len() > MAX_UNKNOWNS) {
        return Err(Error::Invalid(format!(
            "a hole region of {} pixels is more than biharmonic inpainting solves at once ({MAX_UNKNOWNS}); inpaint at a smaller size (--max-side) or with another method",
            big.len()
        )));
    }
    // The largest first, so that the threads finish together.
    regions.sort_by_key(|r| std::cmp::Reverse(r.len()));
    let mut out = image.clone();
    for solved in solve_regions(image, unknown, &regions) {
        let (k, solved) = solved?;
        for (col, &a) in regions[k].iter().enumerate() {
            for (c, &(lo, hi)) in range.iter().enumerate() {
                out.data[c * plane + a] = (solved[(col, c)] as f32).clamp(lo, hi);
            }
        }
    }
    Ok(out)
}

/// Each region's solution, tagged with its index, solved on as many
/// threads as the machine has (the regions are independent systems; a
/// stroke mask has dozens).
fn solve_regions(
    image: &Planes,
    unknown: &[bool],
    regions: &[Vec<usize>],
) -> Vec<Result<(usize, Mat<f64>)>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(regions.len());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(pixels) = regions.get(k) else {
                            return done;
                        };
                        done.push(solve_region(image, unknown, pixels).map(|m| (k, m)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a solver thread panicked"))
            .collect()
    })
}

/// The unknown pixels in groups that no stencil joins: each pixel's
/// 13-point stencil reaches the pixels at most two 4-neighbour steps away.
fn coupled_regions(w: usize, h: usize, unknown: &[bool]) -> Vec<Vec<usize>> {
    let mut seen = vec![false; w * h];
    let mut regions = Vec::new();
    for seed in 0..w * h {
        if !unknown[seed] || seen[seed] {
            continue;
        }
        seen[seed] = true;
        let mut region = vec![seed];
        let mut next = 0;
        while next < region.len() {
            let p = region[next];
            next += 1;
            let (x, y) = ((p % w) as i64, (p / w) as i64);
            for dy in -2i64..=2 {
                for dx in -2 + dy.abs()..=2 - dy.abs() {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let q = ny as usize * w + nx as usize;
                    if unknown[q] && !seen[q] {
                        seen[q] = true;
                        region.push(q);
                    }
                }
            }
        }
        // Raster order: a pixel's column is found by binary search.
        region.sort_unstable();
        regions.push(region);
    }
    regions
}

/// The biharmonic values of one coupled region's pixels (rows, in the
/// order of `pixels`, which is sorted; columns the three channels).
fn solve_region(image: &Planes, unknown: &[bool], pixels: &[usize]) -> Result<Mat<f64>> {
    let plane = image.width * image.height;
    let column = |b: usize| {
        pixels
            .binary_search(&b)
            .expect("coupled pixels share a region")
    };
    let n = pixels.len();
    let laplacian = Laplacian {
        w: image.width,
        h: image.height,
    };
    let mut entries = Vec::with_capacity(7 * n);
    let mut rhs = Mat::<f64>::zeros(n, 3);
    for (col, &a) in pixels.iter().enumerate() {
        // Column a of LᵀL: Σ over the rows q whose stencil holds a. Its
        // unknowns are all in this region (that is what couples them).
        let mut stencil: [(usize, f64); 13] = [(usize::MAX, 0.0); 13];
        let mut used = 0;
        laplacian.row_entries(a, |q, lqa| {
            laplacian.row_entries(q, |b, lqb| {
                let v = lqa * lqb;
                if unknown[b] {
                    if column(b) >= col {
                        match stencil[..used].iter_mut().find(|(p, _)| *p == b) {
                            Some(slot) => slot.1 += v,
                            None => {
                                stencil[used] = (b, v);
                                used += 1;
                            }
                        }
                    }
                } else {
                    for c in 0..3 {
                        rhs[(col, c)] -= v * f64::from(image.data[c * plane + b]);
                    }
                }
            });
        });
        for &(b, v) in &stencil[..used] {
            entries.push(Triplet::new(column(b), col, v));
        }
    }
    solve(n, &entries, rhs)
}

/// Solves the SPD system given by its lower triangle for three right-hand
/// sides.
fn solve(n: usize, lower: &[Triplet<usize, usize, f64>], mut rhs: Mat<f64>) -> Result<Mat<f64>> {
    let failed = |e: &dyn std::fmt::Display| {
        Error::Invalid(format!("biharmonic inpainting: the solver failed ({e})"))
    };
    let a = SparseColMat::<usize, f64>::try_new_from_triplets(n, n, lower)
        .map_err(|e| failed(&format!("{e:?}")))?;
    let llt = a.sp_cholesky(Side::Lower).map_err(|e| failed(&e))?;
    llt.solve_in_place(rhs.as_mut());
    Ok(rhs)
}

/// The 4-neighbour graph Laplacian of a w×h image: row q holds the count
/// of q's in-image neighbours at q and -1 at each of them.
struct Laplacian {
    w: usize,
    h: usize,
}

impl Laplacian {
    /// Calls `f(column, value)` for the nonzeros of row `q` (the matrix is
    /// symmetric, so also of column `q`).
    fn row_entries(&self, q: usize, mut f: impl FnMut(usize, f64)) {
        let (x, y) = (q % self.w, q / self.w);
        let mut degree = 0.0;
        let mut neighbour = |p: usize| {
            degree += 1.0;
            f(p, -1.0);
        };
        if x > 0 {
            neighbour(q - 1);
        }
        if x + 1 < self.w {
            neighbour(q + 1);
        }
        if y > 0 {
            neighbour(q - self.w);
        }
        if y + 1 < self.h {
            neighbour(q + self.w);
        }
        f(q, degree);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planes(w: usize, h: usize, f: impl Fn(usize, usize, usize) -> f32) -> Planes {
        let mut data = Vec::with_capacity(3 * w * h);
        for c in 0..3 {
            for y in 0..h {
                for x in 0..w {
                    data.push(f(x, y, c));
                }
            }
        }
        Planes {
            width: w,
            height: h,
            data,
        }
    }

    /// A linear ramp has L u = 0 at every pixel off the border, so where
    /// every unknown is two or more pixels from it (its rows are all
    /// interior) the ramp is the exact minimiser, whatever lay under the
    /// holes.
    #[test]
    fn reproduces_a_linear_ramp_exactly() {
        let (w, h) = (23, 17);
        let ramp = |x: usize, y: usize, c: usize| {
            0.1 + 0.02 * x as f32 - 0.015 * y as f32 + 0.1 * c as f32
        };
        let truth = planes(w, h, ramp);
        let unknown: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                (2..w - 2).contains(&x) && (2..h - 2).contains(&y) && (x * 7 + y * 3) % 5 != 0
            })
            .collect();
        let mut garbled = truth.clone();
        for (i, _) in unknown.iter().enumerate().filter(|(_, &u)| u) {
            for c in 0..3 {
                garbled.data[c * w * h + i] = 0.9;
            }
        }
        let out = fill(&garbled, &unknown).unwrap();
        let worst = out
            .data
            .iter()
            .zip(&truth.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        // f32 storage of values near 0.5: a few ulps.
        assert!(worst < 1e-5, "off by {worst}");
    }

    /// A region past `MAX_UNKNOWNS` is refused before any solving, with a
    /// message that says what to do.
    #[test]
    fn refuses_a_region_too_large_to_solve() {
        let side = 1050;
        let img = planes(side, side, |_, _, _| 0.5);
        let mut unknown = vec![true; side * side];
        unknown[0] = false;
        let err = fill(&img, &unknown).unwrap_err().to_string();
        assert!(err.contains("--max-side"), "{err}");
    }

    /// Unknown pixels one known pixel apart share a stencil (it reaches
    /// two steps); two known pixels apart, or diagonal two and one, not.
    #[test]
    fn regions_are_what_the_stencil_couples() {
        let (w, h) = (9, 5);
        let mut unknown = vec![false; w * h];
        for i in [0, 2, 5, 2 * w + 6, 4 * w + 8] {
            unknown[i] = true;
        }
        // 0 and 2 couple; 5 is three from 2; (6, 2) is 1 + 2 from 5;
        // (8, 4) is 2 + 2 from (6, 2).
        let regions = coupled_regions(w, h, &unknown);
        assert_eq!(
            regions,
            vec![vec![0, 2], vec![5], vec![2 * w + 6], vec![4 * w + 8]]
        );
    }

    /// Nothing known is an error, nothing unknown the image itself.
    #[test]
    fn needs_a_known_pixel() {
        let img = planes(4, 3, |x, _, _| x as f32 / 4.0);
        assert!(fill(&img, &[true; 12]).is_err());
        assert_eq!(fill(&img, &[false; 12]).unwrap().data, img.data);
    }
}
