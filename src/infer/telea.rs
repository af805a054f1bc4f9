//! Telea (2004), "An Image Inpainting Technique Based on the Fast Marching
//! Method": the classical baseline. The hole is filled from its boundary
//! inwards in order of distance T (fast marching on the eikonal equation);
//! each pixel is a weighted average of the first-order extrapolations
//! I(q) + ∇I(q)·(p − q) of the known pixels q within `radius`, weighted by
//! direction (along ∇T), distance and level-set proximity.
//!
//! Written here rather than taken from crates.io: the one maintained crate
//! (`inpaint` 0.1) is EUPL-1.2 (copyleft) and brings ndarray and glam.
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::image::Planes;
use crate::data::masks::HoleMap;

/// OpenCV's and most users' default neighbourhood radius.
pub const DEFAULT_RADIUS: usize = 5;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flag {
    Known,
    Band,
    Inside,
}

#[derive(PartialEq)]
struct Item(f64, usize);

impl Eq for Item {}

impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on T, ties by index for determinism.
        other
            .0
            .total_cmp(&self.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

struct Field {
    w: usize,
    h: usize,
    flag: Vec<Flag>,
    t: Vec<f64>,
}

impl Field {
    fn at(&self, x: i64, y: i64) -> Option<usize> {
        (x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h)
            .then(|| y as usize * self.w + x as usize)
    }

    /// One-sided eikonal solution from two neighbours (Telea's `solve`).
    fn solve(&self, a: Option<usize>, b: Option<usize>) -> f64 {
        let settled = |i: Option<usize>| i.filter(|&i| self.flag[i] != Flag::Inside);
        match (settled(a), settled(b)) {
            (Some(a), Some(b)) => {
                let (ta, tb) = (self.t[a], self.t[b]);
                let d = 2.0 - (ta - tb) * (ta - tb);
                if d > 0.0 {
                    let r = d.sqrt();
                    let s = (ta + tb - r) / 2.0;
                    if s >= ta && s >= tb {
                        return s;
                    }
                    let s = s + r;
                    if s >= ta && s >= tb {
                        return s;
                    }
                }
                1.0 + ta.min(tb)
            }
            (Some(a), None) => 1.0 + self.t[a],
            (None, Some(b)) => 1.0 + self.t[b],
            (None, None) => f64::INFINITY,
        }
    }

    fn arrival(&self, x: i64, y: i64) -> f64 {
        let (l, r, u, d) = (
            self.at(x - 1, y),
            self.at(x + 1, y),
            self.at(x, y - 1),
            self.at(x, y + 1),
        );
        self.solve(l, u)
            .min(self.solve(r, u))
            .min(self.solve(l, d))
            .min(self.solve(r, d))
    }

    /// Central (or one-sided) difference of `v` over settled pixels.
    fn gradient(&self, x: i64, y: i64, v: impl Fn(usize) -> f64) -> (f64, f64) {
        let d = |a: Option<usize>, c: usize, b: Option<usize>, ok: &dyn Fn(usize) -> bool| match (
            a.filter(|&i| ok(i)),
            b.filter(|&i| ok(i)),
        ) {
            (Some(a), Some(b)) => (v(b) - v(a)) / 2.0,
            (None, Some(b)) => v(b) - v(c),
            (Some(a), None) => v(c) - v(a),
            (None, None) => 0.0,
        };
        let c = y as usize * self.w + x as usize;
        let ok = |i: usize| self.flag[i] != Flag::Inside;
        (
            d(self.at(x - 1, y), c, self.at(x + 1, y), &ok),
            d(self.at(x, y - 1), c, self.at(x, y + 1), &ok),
        )
    }
}

/// Fills the holes of `image` (other pixels are returned unchanged). An
/// image with no known pixel at all becomes mid-grey.
pub fn telea(image: &Planes, holes: &HoleMap, radius: usize) -> Planes {
    let (w, h) = (image.width, image.height);
    let mut out = image.clone();
    let mut f = Field {
        w,
        h,
        flag: holes
            .holes
            .iter()
            .map(|&hole| if hole { Flag::Inside } else { Flag::Known })
            .collect(),
        t: vec![0.0; w * h],
    };
    if f.flag.iter().all(|&fl| fl == Flag::Inside) {
        out.data.fill(0.5);
        return out;
    }
    for i in 0..w * h {
        if f.flag[i] == Flag::Inside {
            f.t[i] = f64::INFINITY;
        }
    }
    // The band: known pixels touching a hole, at T = 0.
    let mut heap = BinaryHeap::new();
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let i = y as usize * w + x as usize;
            if f.flag[i] != Flag::Known {
                continue;
            }
            let touches = [(-1, 0), (1, 0), (0, -1), (0, 1)].iter().any(|(dx, dy)| {
                f.at(x + dx, y + dy)
                    .is_some_and(|j| f.flag[j] == Flag::Inside)
            });
            if touches {
                f.flag[i] = Flag::Band;
                heap.push(Item(0.0, i));
            }
        }
    }
    let plane = w * h;
    let r = radius.max(1) as i64;
    while let Some(Item(_, i)) = heap.pop() {
        if f.flag[i] == Flag::Known {
            continue;
        }
        f.flag[i] = Flag::Known;
        let (x, y) = ((i % w) as i64, (i / w) as i64);
        for (dx, dy) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
            let Some(j) = f.at(x + dx, y + dy) else {
                continue;
            };
            if f.flag[j] != Flag::Inside {
                continue;
            }
            let (px, py) = (x + dx, y + dy);
            f.t[j] = f.arrival(px, py);
            // Inpaint j from the known pixels within the radius.
            let (gtx, gty) = f.gradient(px, py, |k| f.t[k]);
            let mut acc = [0.0f64; 3];
            let mut norm = 0.0f64;
            for qy in (py - r).max(0)..=(py + r).min(h as i64 - 1) {
                for qx in (px - r).max(0)..=(px + r).min(w as i64 - 1) {
                    let q = qy as usize * w + qx as usize;
                    if f.flag[q] != Flag::Known {
                        continue;
                    }
                    let (rx, ry) = ((px - qx) as f64, (py - qy) as f64);
                    let len2 = rx * rx + ry * ry;
                    if len2 > (r * r) as f64 {
                        continue;
                    }
                    let len = len2.sqrt();
                    let dir = ((rx * gtx + ry * gty) / len).abs().max(1e-6);
                    let dst = 1.0 / len2;
                    let lev = 1.0 / (1.0 + (f.t[q] - f.t[j]).abs());
                    let wgt = dir * dst * lev;
                    for (c, slot) in acc.iter_mut().enumerate() {
                        let v = |k: usize| out.data[c * plane + k] as f64;
                        let (gx, gy) = f.gradient(qx, qy, v);
                        *slot += wgt * (v(q) + gx * rx + gy * ry);
                    }
                    norm += wgt;
                }
            }
            if norm > 0.0 {
                for (c, a) in acc.iter().enumerate() {
                    out.data[c * plane + j] = (a / norm).clamp(0.0, 1.0) as f32;
                }
            }
            f.flag[j] = Flag::Band;
            heap.push(Item(f.t[j], j));
        }
    }
    out
}
