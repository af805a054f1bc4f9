//! The image's placement in the viewport: zoom around the cursor, pan, fit.
//! Coordinates: screen points relative to the viewport's top-left corner,
//! image pixels from the image's top-left corner.

pub const MIN_ZOOM: f32 = 1.0 / 64.0;
pub const MAX_ZOOM: f32 = 64.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    /// Screen points per image pixel.
    pub zoom: f32,
    /// Where the image's top-left corner is on screen.
    pub offset: (f32, f32),
}

impl Default for View {
    fn default() -> Self {
        View {
            zoom: 1.0,
            offset: (0.0, 0.0),
        }
    }
}

impl View {
    /// The whole image, as large as fits, centred.
    pub fn fit(image: (f32, f32), viewport: (f32, f32)) -> Self {
        let zoom = (viewport.0 / image.0.max(1.0))
            .min(viewport.1 / image.1.max(1.0))
            .clamp(MIN_ZOOM, MAX_ZOOM);
        View {
            zoom,
            offset: (
                (viewport.0 - image.0 * zoom) / 2.0,
                (viewport.1 - image.1 * zoom) / 2.0,
            ),
        }
    }

    pub fn screen_to_image(&self, p: (f32, f32)) -> (f32, f32) {
        (
            (p.0 - self.offset.0) / self.zoom,
            (p.1 - self.offset.1) / self.zoom,
        )
    }

    pub fn image_to_screen(&self, p: (f32, f32)) -> (f32, f32) {
        (
            p.0 * self.zoom + self.offset.0,
            p.1 * self.zoom + self.offset.1,
        )
    }

    /// Zooms by `factor` keeping the image point under `cursor` in place.
    pub fn zoom_at(&mut self, cursor: (f32, f32), factor: f32) {
        let anchor = self.screen_to_image(cursor);
        self.zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        self.offset = (
            cursor.0 - anchor.0 * self.zoom,
            cursor.1 - anchor.1 * self.zoom,
        );
    }

    pub fn pan(&mut self, delta: (f32, f32)) {
        self.offset.0 += delta.0;
        self.offset.1 += delta.1;
    }
}
