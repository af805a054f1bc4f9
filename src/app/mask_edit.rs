//! The mask a user paints: brush (adds holes) and eraser (removes them)
//! strokes with round caps, rectangle, lasso and magic-wand selections
//! (add holes, or take them away: `Selection`),
//! grow and shrink by N pixels, clear, invert, load, and undo/redo of every
//! edit. Kept apart from the UI so it can be tested without a window.
use image::RgbImage;

use crate::raster::HoleMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// Paints holes (white in the mask file).
    Brush,
    /// Restores known pixels.
    Eraser,
    /// Drags a rectangle whose pixels become holes.
    Rectangle,
    /// Draws a closed outline (a polygon) whose inside becomes holes.
    Lasso,
    /// A click selects the connected pixels of the clicked one's colour
    /// (`select_similar`), as image editors' magic wand / fuzzy select.
    Wand,
}

impl Tool {
    /// Whether the tool selects a shape rather than painting a stroke.
    pub fn is_shape(self) -> bool {
        matches!(self, Tool::Rectangle | Tool::Lasso)
    }
}

/// What a gesture does with the pixels it selects: the rectangle, lasso
/// and wand add them to the holes or take them away (Ctrl or Alt held, as
/// image editors subtract from a selection); a brush stroke that takes
/// away is the eraser's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    #[default]
    Add,
    Subtract,
}

impl Selection {
    /// A pixel's hole value after a gesture that did or did not select it.
    fn apply(self, hole: bool, selected: bool) -> bool {
        match self {
            Selection::Add => hole || selected,
            Selection::Subtract => hole && !selected,
        }
    }
}

/// A rectangle (its two corners) or lasso (its points) being drawn, and
/// whether it adds or takes away.
type Shape = (Tool, Vec<(f32, f32)>, Selection);

/// One undoable edit: the pixels it changed and their previous values.
#[derive(Clone, Debug, Default)]
struct Edit {
    changed: Vec<(u32, bool)>,
}

pub struct MaskEditor {
    mask: HoleMap,
    undo: Vec<Edit>,
    redo: Vec<Edit>,
    stroke: Option<(Tool, f32, Edit, (f32, f32))>,
    /// A rectangle or lasso being drawn.
    shape: Option<Shape>,
    /// Bumped on every change, so a view can tell when to re-run inpainting.
    revision: u64,
}

/// Undo history is capped so hours of painting stay bounded in memory.
const MAX_UNDO: usize = 200;

impl MaskEditor {
    pub fn new(width: usize, height: usize) -> Self {
        Self::from_mask(HoleMap {
            width,
            height,
            holes: vec![false; width * height],
        })
    }

    pub fn from_mask(mask: HoleMap) -> Self {
        MaskEditor {
            mask,
            undo: Vec::new(),
            redo: Vec::new(),
            stroke: None,
            shape: None,
            revision: 0,
        }
    }

    pub fn mask(&self) -> &HoleMap {
        &self.mask
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn is_stroking(&self) -> bool {
        self.stroke.is_some()
    }

    fn set(&mut self, i: usize, hole: bool, edit: &mut Edit) {
        if self.mask.holes[i] != hole {
            edit.changed.push((i as u32, self.mask.holes[i]));
            self.mask.holes[i] = hole;
        }
    }

    /// Paints a disc of `radius` (image pixels) centred at (x, y).
    fn dab(&mut self, x: f32, y: f32, radius: f32, hole: bool, edit: &mut Edit) {
        let (w, h) = (self.mask.width as i64, self.mask.height as i64);
        let r = radius.max(0.5);
        let (x0, x1) = ((x - r).floor() as i64, (x + r).ceil() as i64);
        let (y0, y1) = ((y - r).floor() as i64, (y + r).ceil() as i64);
        for py in y0.max(0)..y1.min(h) {
            for px in x0.max(0)..x1.min(w) {
                let (dx, dy) = (px as f32 + 0.5 - x, py as f32 + 0.5 - y);
                if dx * dx + dy * dy <= r * r {
                    self.set((py * w + px) as usize, hole, edit);
                }
            }
        }
    }

    /// Paints the segment from `a` to `b` as dabs at most half a radius apart.
    fn segment(&mut self, a: (f32, f32), b: (f32, f32), radius: f32, hole: bool, edit: &mut Edit) {
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = (len / (radius.max(0.5) * 0.5)).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            self.dab(
                a.0 + (b.0 - a.0) * t,
                a.1 + (b.1 - a.1) * t,
                radius,
                hole,
                edit,
            );
        }
    }

    /// Starts a stroke at (x, y) in image coordinates.
    pub fn begin_stroke(&mut self, tool: Tool, radius: f32, x: f32, y: f32) {
        self.end_stroke();
        let mut edit = Edit::default();
        self.dab(x, y, radius, tool == Tool::Brush, &mut edit);
        if !edit.changed.is_empty() {
            self.revision += 1;
        }
        self.stroke = Some((tool, radius, edit, (x, y)));
    }

    /// Continues the stroke to (x, y).
    pub fn stroke_to(&mut self, x: f32, y: f32) {
        let Some((tool, radius, mut edit, last)) = self.stroke.take() else {
            return;
        };
        let before = edit.changed.len();
        self.segment(last, (x, y), radius, tool == Tool::Brush, &mut edit);
        if edit.changed.len() != before {
            self.revision += 1;
        }
        self.stroke = Some((tool, radius, edit, (x, y)));
    }

    /// Ends the stroke: it becomes one undo step.
    pub fn end_stroke(&mut self) {
        if let Some((_, _, edit, _)) = self.stroke.take() {
            self.push(edit);
        }
    }

    fn push(&mut self, edit: Edit) {
        if edit.changed.is_empty() {
            return;
        }
        self.undo.push(edit);
        if self.undo.len() > MAX_UNDO {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    /// Replaces the whole mask as one undoable edit; how many pixels changed.
    fn replace_all(&mut self, holes: impl Fn(usize, bool) -> bool) -> usize {
        self.end_stroke();
        let mut edit = Edit::default();
        for i in 0..self.mask.holes.len() {
            let v = holes(i, self.mask.holes[i]);
            self.set(i, v, &mut edit);
        }
        let changed = edit.changed.len();
        if changed > 0 {
            self.revision += 1;
        }
        self.push(edit);
        changed
    }

    pub fn clear(&mut self) {
        self.replace_all(|_, _| false);
    }

    pub fn invert(&mut self) {
        self.replace_all(|_, h| !h);
    }

    /// Loads a mask (resized nearest to this image when its size differs).
    pub fn load(&mut self, mask: &HoleMap) {
        let m = mask.resize_nearest(self.mask.width, self.mask.height);
        self.replace_all(|i, _| m.holes[i]);
    }

    /// The button went down at (x, y), image coordinates: the brush and
    /// eraser start a stroke (a dab; the brush erases to subtract), the
    /// rectangle and lasso a shape; the wand needs the image
    /// (`select_similar`) and does nothing here.
    pub fn press(&mut self, tool: Tool, radius: f32, x: f32, y: f32, selection: Selection) {
        if tool == Tool::Wand {
            return;
        }
        if tool.is_shape() {
            self.begin_shape(tool, x, y, selection);
        } else if selection == Selection::Subtract {
            self.begin_stroke(Tool::Eraser, radius, x, y);
        } else {
            self.begin_stroke(tool, radius, x, y);
        }
    }

    /// The pointer moved to (x, y) with the button down.
    pub fn drag_to(&mut self, x: f32, y: f32) {
        self.stroke_to(x, y);
        self.shape_to(x, y);
    }

    /// The button went up at (x, y): the stroke or shape reaches there and
    /// ends (one undo step). False when none was under way.
    pub fn release(&mut self, x: f32, y: f32) -> bool {
        if !self.is_pressed() {
            return false;
        }
        self.drag_to(x, y);
        self.end_stroke();
        self.end_shape();
        true
    }

    /// A stroke or a shape is under way.
    pub fn is_pressed(&self) -> bool {
        self.is_stroking() || self.is_shaping()
    }

    /// Starts a rectangle or lasso at (x, y), image coordinates, that adds
    /// or takes away holes.
    pub fn begin_shape(&mut self, tool: Tool, x: f32, y: f32, selection: Selection) {
        self.end_stroke();
        self.shape = Some((tool, vec![(x, y)], selection));
    }

    /// Moves the rectangle's far corner, or extends the lasso, to (x, y).
    pub fn shape_to(&mut self, x: f32, y: f32) {
        let Some((tool, points, _)) = &mut self.shape else {
            return;
        };
        match tool {
            Tool::Rectangle => {
                points.truncate(1);
                points.push((x, y));
            }
            _ => {
                let &(lx, ly) = points.last().expect("begun with a point");
                if (x - lx).abs() + (y - ly).abs() >= 1.0 {
                    points.push((x, y));
                }
            }
        }
    }

    pub fn is_shaping(&self) -> bool {
        self.shape.is_some()
    }

    /// Whether the shape being drawn adds or takes away; None without one.
    pub fn shape_selection(&self) -> Option<Selection> {
        self.shape.as_ref().map(|(_, _, selection)| *selection)
    }

    /// The shape being drawn, as a closed outline in image coordinates.
    pub fn shape_outline(&self) -> Vec<(f32, f32)> {
        match &self.shape {
            Some((Tool::Rectangle, p, _)) if p.len() == 2 => {
                let ((x0, y0), (x1, y1)) = (p[0], p[1]);
                vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            }
            Some((_, p, _)) => p.clone(),
            None => Vec::new(),
        }
    }

    /// Ends the shape: the pixels whose centres lie inside become holes
    /// (or known, to subtract), as one undo step (a lasso of under three
    /// points selects nothing).
    pub fn end_shape(&mut self) {
        let outline = self.shape_outline();
        let Some((_, _, selection)) = self.shape.take() else {
            return;
        };
        if outline.len() < 3 {
            return;
        }
        let w = self.mask.width;
        self.replace_all(|i, hole| {
            let (x, y) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
            selection.apply(hole, inside(&outline, x, y))
        });
    }

    /// The magic wand: the pixels connected to (x, y) (8-neighbours)
    /// whose every channel is within `tolerance` levels of its pixel's
    /// colour become holes, added to those there are (or become known, to
    /// subtract): one undo step. The number of pixels changed; none for a
    /// point outside the image. The colour
    /// is compared with the clicked pixel's, not each neighbour's, so a
    /// soft gradient cannot lead it across the whole photo.
    pub fn select_similar(
        &mut self,
        image: &RgbImage,
        x: f32,
        y: f32,
        tolerance: u8,
        selection: Selection,
    ) -> usize {
        let (w, h) = (self.mask.width, self.mask.height);
        let same_size = (image.width() as usize, image.height() as usize) == (w, h);
        // NaN fails the comparisons too.
        let inside = x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h;
        if !(same_size && inside) {
            return 0;
        }
        self.end_stroke();
        let seed = *image.get_pixel(x as u32, y as u32);
        let similar = |i: usize| {
            let p = image.get_pixel((i % w) as u32, (i / w) as u32);
            (0..3).all(|c| p[c].abs_diff(seed[c]) <= tolerance)
        };
        let start = (y as usize) * w + x as usize;
        let mut selected = vec![false; w * h];
        selected[start] = true;
        let mut todo = vec![start];
        while let Some(i) = todo.pop() {
            let (px, py) = ((i % w) as i64, (i / w) as i64);
            for (dx, dy) in [
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let (nx, ny) = (px + dx, py + dy);
                if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                    continue;
                }
                let n = ny as usize * w + nx as usize;
                if !selected[n] && similar(n) {
                    selected[n] = true;
                    todo.push(n);
                }
            }
        }
        self.replace_all(|i, hole| selection.apply(hole, selected[i]))
    }

    /// Every pixel within `n` pixels (Euclidean, centre to centre) of a
    /// hole becomes one: one undo step.
    pub fn grow(&mut self, n: usize) {
        let near = self.mask.squared_distances(true);
        let limit = (n * n) as u64;
        self.replace_all(|i, _| near[i] <= limit);
    }

    /// Holes within `n` pixels of a known pixel become known: one undo step.
    pub fn shrink(&mut self, n: usize) {
        let near = self.mask.squared_distances(false);
        let limit = (n * n) as u64;
        self.replace_all(|i, hole| hole && near[i] > limit);
    }

    /// Reverts `edit`, returning the edit that reapplies it.
    fn apply_reverse(&mut self, edit: Edit) -> Edit {
        let mut back = Edit::default();
        for &(i, old) in edit.changed.iter().rev() {
            back.changed.push((i, self.mask.holes[i as usize]));
            self.mask.holes[i as usize] = old;
        }
        self.revision += 1;
        back
    }

    pub fn undo(&mut self) -> bool {
        self.end_stroke();
        match self.undo.pop() {
            Some(e) => {
                let back = self.apply_reverse(e);
                self.redo.push(back);
                true
            }
            None => false,
        }
    }

    pub fn redo(&mut self) -> bool {
        self.end_stroke();
        match self.redo.pop() {
            Some(e) => {
                let back = self.apply_reverse(e);
                self.undo.push(back);
                true
            }
            None => false,
        }
    }
}

/// Even-odd test of (x, y) against a closed polygon.
fn inside(polygon: &[(f32, f32)], x: f32, y: f32) -> bool {
    let mut odd = false;
    let mut j = polygon.len() - 1;
    for (i, &(xi, yi)) in polygon.iter().enumerate() {
        let (xj, yj) = polygon[j];
        if (yi > y) != (yj > y) && x < xi + (y - yi) * (xj - xi) / (yj - yi) {
            odd = !odd;
        }
        j = i;
    }
    odd
}
