//! The image area: the result (or the original while Tab is held, or both
//! around a split line), the mask overlay, the brush outline; painting with
//! the left button, zoom with the wheel around the cursor, pan with the
//! middle button or Space + drag.
use eframe::egui;
use egui::{Color32, Pos2, Rect, Sense, Stroke, TextureOptions};

use super::PConvApp;
use crate::app::mask_edit::{Selection, Tool};
use crate::app::view::View;
use crate::app::worker::Composite;

/// Outlines of what a gesture will do: add holes, or restore pixels.
const ADDS_HOLES: Color32 = Color32::from_rgb(255, 90, 90);
const RESTORES: Color32 = Color32::from_rgb(120, 200, 255);

/// GPU textures of what is shown, re-uploaded only when their source changes.
pub struct Textures {
    /// The window's renderer, when the engine runs on the window's device:
    /// composites that are textures there are drawn as they are.
    renderer: Option<egui_wgpu::RenderState>,
    original: Option<egui::TextureHandle>,
    result: Option<(u64, ResultTexture)>,
    overlay: Option<(u64, f32, egui::TextureHandle)>,
}

/// The result as egui draws it.
enum ResultTexture {
    /// Uploaded from an image by egui.
    Uploaded(egui::TextureHandle),
    /// The engine's own texture, registered with the renderer (no copy).
    Native(egui::TextureId),
}

impl ResultTexture {
    fn id(&self) -> egui::TextureId {
        match self {
            ResultTexture::Uploaded(t) => t.id(),
            ResultTexture::Native(id) => *id,
        }
    }
}

fn color_image(img: &image::RgbImage) -> egui::ColorImage {
    egui::ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw())
}

impl Drop for Textures {
    fn drop(&mut self) {
        self.set_result(None);
    }
}

impl Textures {
    pub fn new(renderer: Option<egui_wgpu::RenderState>) -> Self {
        Textures {
            renderer,
            original: None,
            result: None,
            overlay: None,
        }
    }

    /// True when composites left on the engine's device are drawn as they are.
    pub fn draws_device_textures(&self) -> bool {
        self.renderer.is_some()
    }

    /// Forgets every texture (another photo was opened).
    pub fn reset(&mut self) {
        self.set_result(None);
        self.original = None;
        self.overlay = None;
    }

    /// Replaces the result texture, unregistering a native one no longer
    /// drawn.
    fn set_result(&mut self, new: Option<(u64, ResultTexture)>) {
        if let (Some((_, ResultTexture::Native(id))), Some(r)) = (&self.result, &self.renderer) {
            let kept = matches!(&new, Some((_, ResultTexture::Native(n))) if n == id);
            if !kept {
                r.renderer.write().free_texture(id);
            }
        }
        self.result = new;
    }

    /// The texture for a composite: on the renderer's device a composite
    /// that is a texture is registered as it is (reusing the id of the
    /// last one); anything else is uploaded.
    fn result_texture(&self, composite: &Composite, ctx: &egui::Context) -> ResultTexture {
        if let (Composite::Texture(t), Some(r)) = (composite, &self.renderer) {
            if t.lives_on(&r.device) {
                let view = t.texture().create_view(&Default::default());
                let filter = wgpu::FilterMode::Nearest;
                let mut renderer = r.renderer.write();
                return match &self.result {
                    Some((_, ResultTexture::Native(id))) => {
                        renderer
                            .update_egui_texture_from_wgpu_texture(&r.device, &view, filter, *id);
                        ResultTexture::Native(*id)
                    }
                    _ => ResultTexture::Native(
                        renderer.register_native_texture(&r.device, &view, filter),
                    ),
                };
            }
        }
        let image = match composite.image() {
            Ok(img) => color_image(&img),
            Err(_) => egui::ColorImage::filled([1, 1], Color32::RED),
        };
        ResultTexture::Uploaded(ctx.load_texture("result", image, TextureOptions::NEAREST))
    }

    fn update(
        &mut self,
        app_doc: &crate::app::document::Document,
        opacity: f32,
        ctx: &egui::Context,
    ) {
        let options = TextureOptions::NEAREST;
        if self.original.is_none() {
            self.original =
                Some(ctx.load_texture("original", color_image(&app_doc.image), options));
        }
        match &app_doc.result {
            Some((_, composite)) => {
                let version = app_doc.results_accepted;
                if self.result.as_ref().map(|(v, _)| *v) != Some(version) {
                    let tex = self.result_texture(composite, ctx);
                    self.set_result(Some((version, tex)));
                }
            }
            None => self.set_result(None),
        }
        let rev = app_doc.editor.revision();
        let stale = self
            .overlay
            .as_ref()
            .is_none_or(|(r, o, _)| *r != rev || *o != opacity);
        if stale {
            let m = app_doc.editor.mask();
            let alpha = (opacity.clamp(0.0, 1.0) * 255.0) as u8;
            let mut rgba = vec![0u8; m.width * m.height * 4];
            for (px, &h) in rgba.chunks_exact_mut(4).zip(&m.holes) {
                if h {
                    px.copy_from_slice(&[255, 40, 40, alpha]);
                }
            }
            let img = egui::ColorImage::from_rgba_unmultiplied([m.width, m.height], &rgba);
            match &mut self.overlay {
                Some((r, o, tex)) => {
                    tex.set(img, options);
                    *r = rev;
                    *o = opacity;
                }
                None => self.overlay = Some((rev, opacity, ctx.load_texture("mask", img, options))),
            }
        }
    }
}

pub fn show(app: &mut PConvApp, ui: &mut egui::Ui) {
    let (response, painter) = ui.allocate_painter(ui.available_size(), Sense::click_and_drag());
    let rect = response.rect;
    let (w, h) = app.doc.size();
    let view = app
        .view
        .get_or_insert_with(|| View::fit((w as f32, h as f32), (rect.width(), rect.height())));
    let local = |p: Pos2| (p.x - rect.min.x, p.y - rect.min.y);

    // View: wheel zooms around the cursor; middle button or Space pans.
    let space = ui.input(|i| i.key_down(egui::Key::Space));
    if let Some(pos) = response.hover_pos() {
        let scroll = ui.input(|i| i.smooth_scroll_delta().y);
        if scroll != 0.0 {
            view.zoom_at(local(pos), (scroll / 200.0).exp());
        }
    }
    let panning = response.dragged_by(egui::PointerButton::Middle)
        || (space && response.dragged_by(egui::PointerButton::Primary));
    if panning {
        let d = response.drag_delta();
        view.pan((d.x, d.y));
    }

    // Painting with the primary button (the shape tools select instead),
    // from this frame's pointer events in order: a stalled frame (an
    // inpainting on a shared software device, a loaded machine) can hold a
    // whole drag, press to release, which egui's per-frame drag state would
    // report as a click or as nothing.
    let image = app.doc.image.clone();
    let tolerance = app.settings.wand_tolerance;
    let editor = &mut app.doc.editor;
    let to_image = |p: Pos2| view.screen_to_image(local(p));
    let on_canvas =
        |p: Pos2| rect.contains(p) && ui.ctx().layer_id_at(p) == Some(response.layer_id);
    let (tool, radius) = (app.tools.tool, app.settings.radius);
    let mut ended = false;
    for event in ui.input(|i| i.events.clone()) {
        match event {
            egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: true,
                modifiers,
            } if !space && !editor.is_pressed() && on_canvas(pos) => {
                let (x, y) = to_image(pos);
                // Ctrl (Cmd) or Alt takes away, as image editors subtract
                // from a selection (Alt alone is a window move on some
                // desktops).
                let selection = if modifiers.command || modifiers.alt {
                    Selection::Subtract
                } else {
                    Selection::Add
                };
                if tool == Tool::Wand {
                    ended |= editor.select_similar(&image, x, y, tolerance, selection) > 0;
                } else {
                    editor.press(tool, radius, x, y, selection);
                }
            }
            egui::Event::PointerMoved(pos) if editor.is_pressed() => {
                let (x, y) = to_image(pos);
                editor.drag_to(x, y);
            }
            egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: false,
                ..
            } => {
                let (x, y) = to_image(pos);
                ended |= editor.release(x, y);
            }
            _ => {}
        }
    }
    // Released where no event reached the window (outside it).
    if editor.is_pressed() && !ui.input(|i| i.pointer.primary_down()) {
        editor.end_stroke();
        editor.end_shape();
        ended = true;
    }
    let stroking = editor.is_stroking();
    let view = *view;
    if ended {
        app.refresh();
    } else if stroking {
        app.refresh_while_drawing();
    }

    app.canvas
        .update(&app.doc, app.settings.overlay_opacity, ui.ctx());
    let (x0, y0) = view.image_to_screen((0.0, 0.0));
    let (x1, y1) = view.image_to_screen((w as f32, h as f32));
    let image_rect = Rect::from_min_max(
        Pos2::new(rect.min.x + x0, rect.min.y + y0),
        Pos2::new(rect.min.x + x1, rect.min.y + y1),
    );
    let painter = painter.with_clip_rect(rect);
    painter.rect_filled(rect, 0.0, Color32::from_gray(24));
    let full_uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
    let original = app.canvas.original.as_ref().map(|t| t.id());
    let result = app.canvas.result.as_ref().map(|(_, t)| t.id());
    let compare = ui.input(|i| i.key_down(egui::Key::Tab));
    let shown = if compare {
        original
    } else {
        result.or(original)
    };
    if let Some(id) = shown {
        painter.image(id, image_rect, full_uv, Color32::WHITE);
    }
    // Split view: the original right of the line.
    if let (Some(s), Some(orig), false) = (app.tools.split, original, compare) {
        let xs = image_rect.min.x + s * image_rect.width();
        let right = Rect::from_min_max(Pos2::new(xs, image_rect.min.y), image_rect.max);
        let uv = Rect::from_min_max(Pos2::new(s, 0.0), Pos2::new(1.0, 1.0));
        painter.image(orig, right, uv, Color32::WHITE);
        painter.line_segment(
            [
                Pos2::new(xs, image_rect.min.y),
                Pos2::new(xs, image_rect.max.y),
            ],
            Stroke::new(2.0, Color32::YELLOW),
        );
    }
    // The mask over the image, except over a fresh result (it would hide
    // it): the next edit, or "mask over the result", shows it again.
    let fresh = app.doc.result_is_current() && result.is_some() && !app.doc.editor.is_stroking();
    if !compare && (!fresh || app.settings.overlay_on_result) {
        if let Some((_, _, tex)) = &app.canvas.overlay {
            painter.image(tex.id(), image_rect, full_uv, Color32::WHITE);
        }
    }
    // The selection being drawn.
    let outline = app.doc.editor.shape_outline();
    if outline.len() >= 2 {
        let screen: Vec<Pos2> = outline
            .iter()
            .map(|&(x, y)| {
                let (sx, sy) = view.image_to_screen((x, y));
                Pos2::new(rect.min.x + sx, rect.min.y + sy)
            })
            .collect();
        let color = match app.doc.editor.shape_selection() {
            Some(Selection::Subtract) => RESTORES,
            _ => ADDS_HOLES,
        };
        painter.add(egui::Shape::closed_line(screen, Stroke::new(1.5, color)));
    }
    // Brush outline, in the eraser's colour while Ctrl or Alt would make
    // the brush erase.
    let brush = !app.tools.tool.is_shape() && app.tools.tool != Tool::Wand;
    if let Some(pos) = response.hover_pos().filter(|_| brush) {
        let r = app.settings.radius * view.zoom;
        let subtract = ui.input(|i| i.modifiers.command || i.modifiers.alt);
        let color = if app.tools.tool == Tool::Eraser || subtract {
            RESTORES
        } else {
            ADDS_HOLES
        };
        painter.circle_stroke(pos, r.max(1.0), Stroke::new(1.5, color));
    }
    // First run: what to do.
    if !app.doc.editor.can_undo() && !app.doc.editor.mask().holes.iter().any(|&h| h) {
        let galley = painter.layout_no_wrap(
            "Paint over what to remove: brush (B), rectangle (R), lasso (L), magic wand (W); eraser (E) or Ctrl held to restore"
                .into(),
            egui::FontId::proportional(16.0),
            Color32::from_rgb(255, 230, 140),
        );
        let at = Pos2::new(rect.center().x - galley.size().x / 2.0, rect.min.y + 14.0);
        let backdrop = Rect::from_min_size(at, galley.size()).expand(6.0);
        painter.rect_filled(backdrop, 4.0, Color32::from_black_alpha(180));
        painter.galley(at, galley, Color32::WHITE);
    }
    if response.double_clicked_by(egui::PointerButton::Middle) {
        app.view = Some(View::fit(
            (w as f32, h as f32),
            (rect.width(), rect.height()),
        ));
    } else {
        app.view = Some(view);
    }
}
