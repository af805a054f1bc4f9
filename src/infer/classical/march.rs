//! The fast-marching machinery both of OpenCV's methods share, on OpenCV's
//! grid: the image framed by a one-pixel border, a flag per pixel, the
//! arrival time T (f32), and a queue that pops the smallest T first and,
//! among equal T, the earliest pushed (OpenCV's sorted list inserts a new
//! item after every item of equal T). Every detail that decides which
//! pixel is filled when, and from what, follows `cv::inpaint`.
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::raster::HoleMap;

/// Pixel flags, with OpenCV's values.
pub const KNOWN: u8 = 0;
pub const BAND: u8 = 1;
pub const INSIDE: u8 = 2;
/// Marks pixels reached by the outward march until their T is negated.
const CHANGE: u8 = 3;

/// A row-major field over the framed grid (`rows` = image height + 2).
pub struct Grid<T> {
    pub rows: usize,
    pub cols: usize,
    pub v: Vec<T>,
}

impl<T: Copy> Grid<T> {
    pub fn new(rows: usize, cols: usize, value: T) -> Self {
        Grid {
            rows,
            cols,
            v: vec![value; rows * cols],
        }
    }

    pub fn at(&self, i: usize, j: usize) -> T {
        self.v[i * self.cols + j]
    }

    pub fn set(&mut self, i: usize, j: usize, value: T) {
        self.v[i * self.cols + j] = value;
    }

    /// The frame (first and last rows and columns) set to `value`.
    fn set_border(&mut self, value: T) {
        for j in 0..self.cols {
            self.set(0, j, value);
            self.set(self.rows - 1, j, value);
        }
        for i in 0..self.rows {
            self.set(i, 0, value);
            self.set(i, self.cols - 1, value);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
struct Key(f32, u64);

impl Eq for Key {}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Smallest T first; ties in the order pushed.
#[derive(Default)]
pub struct Queue {
    heap: BinaryHeap<Reverse<(Key, usize, usize)>>,
    pushed: u64,
}

impl Queue {
    pub fn push(&mut self, i: usize, j: usize, t: f32) {
        self.heap.push(Reverse((Key(t, self.pushed), i, j)));
        self.pushed += 1;
    }

    pub fn pop(&mut self) -> Option<(usize, usize)> {
        self.heap.pop().map(|Reverse((_, i, j))| (i, j))
    }

    /// Every pixel of `cells`, row by row, at T = 0.
    fn push_all(&mut self, cells: &Grid<bool>) {
        for i in 0..cells.rows {
            for j in 0..cells.cols {
                if cells.at(i, j) {
                    self.push(i, j, 0.0);
                }
            }
        }
    }
}

/// The arrival time at a pixel from two of its neighbours (OpenCV's
/// `FastMarching_solve`, in double, rounded to f32).
fn solve(flags: &Grid<u8>, t: &Grid<f32>, a: (usize, usize), b: (usize, usize)) -> f32 {
    let (ta, tb) = (t.at(a.0, a.1) as f64, t.at(b.0, b.1) as f64);
    let known = |p: (usize, usize)| flags.at(p.0, p.1) != INSIDE;
    let sol = match (known(a), known(b)) {
        (true, true) if (ta - tb).abs() >= 1.0 => 1.0 + ta.min(tb),
        (true, true) => (ta + tb + (2.0 - (ta - tb) * (ta - tb)).sqrt()) * 0.5,
        (true, false) => 1.0 + ta,
        (false, true) => 1.0 + tb,
        (false, false) => 1.0 + ta.min(tb),
    };
    sol as f32
}

/// The smallest arrival time over the four pairs of neighbours.
fn arrival(flags: &Grid<u8>, t: &Grid<f32>, i: usize, j: usize) -> f32 {
    let s = |a, b| solve(flags, t, a, b);
    let x = s((i - 1, j), (i, j - 1)).min(s((i + 1, j), (i, j - 1)));
    let y = s((i - 1, j), (i, j + 1)).min(s((i + 1, j), (i, j + 1)));
    x.min(y)
}

/// The 4-neighbours of (i, j) in OpenCV's order: up, left, down, right.
fn neighbours(i: usize, j: usize) -> [(usize, usize); 4] {
    [(i - 1, j), (i, j - 1), (i + 1, j), (i, j + 1)]
}

/// Whether any 4-neighbour of (i, j) is a hole (a dilation with a 3x3
/// cross).
fn next_to_hole(mask: &Grid<u8>, i: usize, j: usize) -> bool {
    let at = |k: usize, l: usize| k < mask.rows && l < mask.cols && mask.at(k, l) == INSIDE;
    at(i + 1, j) || at(i, j + 1) || (i > 0 && at(i - 1, j)) || (j > 0 && at(i, j - 1))
}

/// Whether each pixel has a hole within Chebyshev distance `r` (a
/// dilation with a (2r+1)² square), by running counts along rows then
/// columns: linear in the pixels for any radius (OpenCV's goes to 100).
fn near_holes(mask: &Grid<u8>, r: usize) -> Grid<bool> {
    // Counts of holes in each pixel's window of 2r+1 along one axis.
    fn window(line: &[u32], r: usize) -> Vec<u32> {
        let mut prefix = vec![0u32; line.len() + 1];
        for (i, v) in line.iter().enumerate() {
            prefix[i + 1] = prefix[i] + v;
        }
        (0..line.len())
            .map(|i| prefix[(i + r + 1).min(line.len())] - prefix[i.saturating_sub(r)])
            .collect()
    }
    let (rows, cols) = (mask.rows, mask.cols);
    let mut rowwise = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        let line: Vec<u32> = (0..cols)
            .map(|j| u32::from(mask.at(i, j) == INSIDE))
            .collect();
        rowwise.extend(window(&line, r));
    }
    let mut out = Grid::new(rows, cols, false);
    for j in 0..cols {
        let line: Vec<u32> = (0..rows).map(|i| rowwise[i * cols + j]).collect();
        for (i, n) in window(&line, r).into_iter().enumerate() {
            out.set(i, j, n > 0);
        }
    }
    out
}

/// The pixels a fill at framed (i, j) reads, in OpenCV's order (row by
/// row): off the frame, not inside a hole, and within `range` (Euclidean).
pub fn known_within(
    flags: &Grid<u8>,
    i: usize,
    j: usize,
    range: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let r = range as i64;
    let (i, j) = (i as i64, j as i64);
    let (rows, cols) = (flags.rows as i64, flags.cols as i64);
    (i - r..=i + r)
        .flat_map(move |k| (j - r..=j + r).map(move |l| (k, l)))
        .filter(move |&(k, l)| {
            k > 0
                && l > 0
                && k < rows - 1
                && l < cols - 1
                && (k - i).pow(2) + (l - j).pow(2) <= r * r
                && flags.at(k as usize, l as usize) != INSIDE
        })
        .map(|(k, l)| (k as usize, l as usize))
}

/// The state the inward march starts from: the hole flags on the framed
/// grid, T (0 on the band, 1e6 elsewhere) and the band in the queue.
pub struct March {
    pub flags: Grid<u8>,
    pub t: Grid<f32>,
    queue: Queue,
    band: Grid<bool>,
}

impl March {
    pub fn new(holes: &HoleMap) -> Self {
        let (rows, cols) = (holes.height + 2, holes.width + 2);
        let mut flags = Grid::new(rows, cols, KNOWN);
        for y in 0..holes.height {
            for x in 0..holes.width {
                if holes.holes[y * holes.width + x] {
                    flags.set(y + 1, x + 1, INSIDE);
                }
            }
        }
        // The band: known pixels next to a hole (a 3x3 cross), off the frame.
        let mut band = Grid::new(rows, cols, false);
        for i in 0..rows {
            for j in 0..cols {
                band.set(i, j, flags.at(i, j) != INSIDE && next_to_hole(&flags, i, j));
            }
        }
        band.set_border(false);
        let mut t = Grid::new(rows, cols, 1.0e6f32);
        for (tv, &b) in t.v.iter_mut().zip(&band.v) {
            if b {
                *tv = 0.0;
            }
        }
        let mut queue = Queue::default();
        queue.push_all(&band);
        March {
            flags,
            t,
            queue,
            band,
        }
    }

    /// Telea's extra step: T outside the holes, within `range` of them
    /// (a square dilation), marched outward from the band and negated, so
    /// the level-set weight compares distances on both sides of the edge.
    pub fn distances_outside(&mut self, range: usize) {
        let (rows, cols) = (self.flags.rows, self.flags.cols);
        let mut out = Grid::new(rows, cols, KNOWN);
        let near = near_holes(&self.flags, range);
        for i in 0..rows {
            for j in 0..cols {
                if self.flags.at(i, j) != INSIDE && !self.band.at(i, j) && near.at(i, j) {
                    out.set(i, j, INSIDE);
                }
            }
        }
        out.set_border(KNOWN);
        let mut queue = Queue::default();
        queue.push_all(&self.band);
        while let Some((ii, jj)) = queue.pop() {
            out.set(ii, jj, CHANGE);
            for (i, j) in neighbours(ii, jj) {
                if i == 0 || j == 0 || i >= rows || j >= cols || out.at(i, j) != INSIDE {
                    continue;
                }
                let dist = arrival(&out, &self.t, i, j);
                self.t.set(i, j, dist);
                out.set(i, j, BAND);
                queue.push(i, j, dist);
            }
        }
        for (f, t) in out.v.iter().zip(self.t.v.iter_mut()) {
            if *f == CHANGE {
                *t = -*t;
            }
        }
    }

    /// Fills the holes in order of arrival: `fill(i, j, flags, t)` is
    /// called for each hole pixel (framed coordinates) once its T is
    /// known, with every pixel filled before it no longer INSIDE.
    pub fn run(mut self, mut fill: impl FnMut(usize, usize, &Grid<u8>, &Grid<f32>)) {
        let (rows, cols) = (self.flags.rows, self.flags.cols);
        while let Some((ii, jj)) = self.queue.pop() {
            self.flags.set(ii, jj, KNOWN);
            for (i, j) in neighbours(ii, jj) {
                if i == 0 || j == 0 || i >= rows || j >= cols || self.flags.at(i, j) != INSIDE {
                    continue;
                }
                let dist = arrival(&self.flags, &self.t, i, j);
                self.t.set(i, j, dist);
                fill(i, j, &self.flags, &self.t);
                self.flags.set(i, j, BAND);
                self.queue.push(i, j, dist);
            }
        }
    }
}
