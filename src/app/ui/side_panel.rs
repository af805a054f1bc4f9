//! Tools: open/save, method, brush and eraser, mask operations, compare.
use eframe::egui;
use std::path::PathBuf;

use super::dialogs::{Dialogs, Purpose};
use super::{MethodChoice, PConvApp};
use crate::app::document::Document;
use crate::app::mask_edit::Tool;
use crate::app::view::View;
use crate::infer::{Classical, Ensemble};

/// The panel's editable path fields.
pub struct Paths {
    image: String,
    model: String,
    mask: String,
    output: String,
    fitted: String,
}

impl Paths {
    pub fn new(doc: &Document, method: &MethodChoice) -> Self {
        let image = doc
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let model = match method {
            MethodChoice::Model(p) => p.display().to_string(),
            MethodChoice::Classical(_) | MethodChoice::Fit => String::new(),
        };
        Paths {
            image,
            model,
            mask: doc.beside("-mask.png").display().to_string(),
            output: doc.beside("-inpainted.png").display().to_string(),
            fitted: doc.beside("-fitted.safetensors").display().to_string(),
        }
    }
}

impl Paths {
    pub fn output_path(&self) -> PathBuf {
        PathBuf::from(self.output.trim())
    }
}

/// A button acting on the path in the text field beside it, and "…" for a
/// file dialog that fills the field and acts (`purpose`).
fn path_row(
    dialogs: &mut Dialogs,
    ui: &mut egui::Ui,
    value: &mut String,
    button: &str,
    purpose: Purpose,
) -> bool {
    ui.horizontal(|ui| {
        let clicked = ui.button(button).clicked();
        let browse = ui
            .add_enabled(!dialogs.is_open(), egui::Button::new("…"))
            .on_hover_text("choose in a file dialog")
            .clicked();
        if browse {
            let start = Some(PathBuf::from(value.trim())).filter(|p| !p.as_os_str().is_empty());
            dialogs.ask(purpose, start);
        }
        ui.add(egui::TextEdit::singleline(value).desired_width(f32::INFINITY));
        clicked
    })
    .inner
}

/// Acts on a path chosen in a file dialog as the button beside its field
/// would on the typed path.
pub fn chosen(app: &mut PConvApp, purpose: Purpose, path: PathBuf) {
    let text = path.display().to_string();
    match purpose {
        Purpose::OpenImage => {
            app.paths.image = text;
            app.open_image(&path);
        }
        Purpose::LoadModel => {
            app.paths.model = text;
            app.switch_method(MethodChoice::Model(path));
        }
        Purpose::LoadMask => {
            app.paths.mask = text;
            load_mask(app, &path);
        }
        Purpose::SaveMask => {
            app.paths.mask = text;
            save_mask(app, &path);
        }
        Purpose::SaveResult => {
            app.paths.output = text;
            app.save_result();
        }
        Purpose::SaveFitted => {
            app.paths.fitted = text;
            if let Some(fit) = &app.fit {
                fit.session.save(path);
            }
        }
    }
}

fn load_mask(app: &mut PConvApp, p: &std::path::Path) {
    match app.doc.load_mask(p, true) {
        Ok(()) => app.refresh(),
        Err(e) => app.message = Some(format!("error: {e}")),
    }
}

fn save_mask(app: &mut PConvApp, p: &std::path::Path) {
    app.message = Some(match app.doc.save_mask(p) {
        Ok(()) => format!("saved {}", p.display()),
        Err(e) => format!("error: {e}"),
    });
}

pub fn show(app: &mut PConvApp, ui: &mut egui::Ui) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading("pconv");
        ui.label("Image (or drop a file on the window)");
        if path_row(
            &mut app.dialogs,
            ui,
            &mut app.paths.image,
            "Open",
            Purpose::OpenImage,
        ) {
            let p = PathBuf::from(app.paths.image.trim());
            app.open_image(&p);
        }
        ui.separator();

        ui.label("Method");
        let is_model = matches!(app.method, MethodChoice::Model(_));
        ui.horizontal(|ui| {
            if ui.radio(is_model, "PConv model").clicked() && !is_model {
                let p = PathBuf::from(app.paths.model.trim());
                app.switch_method(MethodChoice::Model(p));
            }
            for (method, label) in [
                (Classical::Telea, "Telea"),
                (Classical::NavierStokes, "Navier–Stokes"),
            ] {
                let on = app.method == MethodChoice::Classical(method);
                if ui.radio(on, label).clicked() && !on {
                    app.switch_method(MethodChoice::Classical(method));
                }
            }
        });
        if path_row(
            &mut app.dialogs,
            ui,
            &mut app.paths.model,
            "Load",
            Purpose::LoadModel,
        ) {
            let p = PathBuf::from(app.paths.model.trim());
            app.switch_method(MethodChoice::Model(p));
        }
        let mut all = app.ensemble == Ensemble::ALL;
        if ui
            .add_enabled(
                is_model,
                egui::Checkbox::new(&mut all, "Average 8 flips/rotations"),
            )
            .on_hover_text("The model fills the photo in its 8 flips and 90° rotations and averages the fills: much less colour noise around the holes, 8 times the work")
            .changed()
        {
            app.set_ensemble(if all { Ensemble::ALL } else { Ensemble::SINGLE });
        }
        let fitting = app.method == MethodChoice::Fit;
        if ui
            .radio(fitting, "Fit this image")
            .on_hover_text("Train a small network on this photo alone (its known pixels under random masks), refreshing the result as it learns")
            .clicked()
            && !fitting
        {
            app.switch_method(MethodChoice::Fit);
        }
        fit_controls(app, ui);
        ui.separator();

        ui.label("Mask");
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut app.tools.tool, Tool::Brush, "Brush (B)");
            ui.selectable_value(&mut app.tools.tool, Tool::Eraser, "Eraser (E)");
            ui.selectable_value(&mut app.tools.tool, Tool::Rectangle, "Rectangle (R)");
            ui.selectable_value(&mut app.tools.tool, Tool::Lasso, "Lasso (L)");
        });
        ui.add(
            egui::Slider::new(&mut app.tools.radius, 1.0..=200.0)
                .logarithmic(true)
                .text("size [ ]"),
        );
        ui.add(egui::Slider::new(&mut app.tools.overlay_opacity, 0.0..=1.0).text("overlay"));
        ui.checkbox(&mut app.tools.overlay_on_result, "Mask over the result");
        if ui
            .add(egui::Slider::new(&mut app.tools.feather, 0..=32).text("feather px"))
            .on_hover_text("blend the fill into the photo this far around the holes")
            .changed()
        {
            app.rerun();
        }
        ui.horizontal(|ui| {
            let ready = app.doc.output().is_some() && app.doc.editor.mask().holes.iter().any(|&h| h);
            if ui
                .add_enabled(ready, egui::Button::new("Apply and continue"))
                .on_hover_text("the result becomes the photo; paint the next thing to remove")
                .clicked()
            {
                app.apply_result();
            }
            if ui
                .add_enabled(app.doc.can_unapply(), egui::Button::new("Undo apply/extend"))
                .clicked()
            {
                app.unapply_result();
            }
        });
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut app.tools.extend_by).range(1..=2048).suffix(" px"));
            if ui
                .button("Extend canvas")
                .on_hover_text("grow the photo on every side; the new border is filled like holes")
                .clicked()
            {
                app.extend_canvas();
            }
        });
        ui.horizontal(|ui| {
            let ed = &mut app.doc.editor;
            ui.add(egui::DragValue::new(&mut app.tools.grow_by).range(1..=100).suffix(" px"));
            let grow = ui.button("Grow").on_hover_text("holes spread by this many pixels");
            let shrink = ui.button("Shrink").on_hover_text("holes recede by this many pixels");
            if grow.clicked() {
                ed.grow(app.tools.grow_by);
            }
            if shrink.clicked() {
                ed.shrink(app.tools.grow_by);
            }
            if grow.clicked() || shrink.clicked() {
                app.refresh();
            }
        });
        ui.horizontal(|ui| {
            let ed = &mut app.doc.editor;
            let mut changed = false;
            if ui
                .add_enabled(ed.can_undo(), egui::Button::new("Undo"))
                .clicked()
            {
                changed |= ed.undo();
            }
            if ui
                .add_enabled(ed.can_redo(), egui::Button::new("Redo"))
                .clicked()
            {
                changed |= ed.redo();
            }
            if ui.button("Clear").clicked() {
                ed.clear();
                changed = true;
            }
            if ui.button("Invert").clicked() {
                ed.invert();
                changed = true;
            }
            if changed {
                app.refresh();
            }
        });
        ui.horizontal(|ui| {
            let p = PathBuf::from(app.paths.mask.trim());
            let start = Some(p.clone());
            let free = !app.dialogs.is_open();
            if ui.button("Load mask").clicked() {
                load_mask(app, &p);
            }
            if ui.add_enabled(free, egui::Button::new("…")).clicked() {
                app.dialogs.ask(Purpose::LoadMask, start.clone());
            }
            if ui.button("Save mask").clicked() {
                save_mask(app, &p);
            }
            if ui.add_enabled(free, egui::Button::new("…")).clicked() {
                app.dialogs.ask(Purpose::SaveMask, start);
            }
        });
        ui.add(egui::TextEdit::singleline(&mut app.paths.mask).desired_width(f32::INFINITY));
        ui.separator();

        ui.label("View");
        ui.horizontal(|ui| {
            if ui.button("Fit").clicked() {
                app.view = None;
            }
            if ui.button("1:1").clicked() {
                if let Some(v) = &mut app.view {
                    *v = View { zoom: 1.0, ..*v };
                }
            }
        });
        let mut split = app.tools.split.is_some();
        ui.checkbox(&mut split, "Split compare (hold Tab: original)");
        match (split, app.tools.split) {
            (true, None) => app.tools.split = Some(0.5),
            (false, Some(_)) => app.tools.split = None,
            _ => {}
        }
        if let Some(s) = &mut app.tools.split {
            ui.add(egui::Slider::new(s, 0.0..=1.0).text("split"));
        }
        ui.separator();

        ui.label("Result (Ctrl+S)");
        if path_row(
            &mut app.dialogs,
            ui,
            &mut app.paths.output,
            "Save",
            Purpose::SaveResult,
        ) {
            app.save_result();
        }
        if let Some(m) = &app.message {
            ui.separator();
            ui.label(m);
        }
    });
}

/// Progress, loss curves, pause/resume and saving of "fit this image".
fn fit_controls(app: &mut PConvApp, ui: &mut egui::Ui) {
    let Some(fit) = &mut app.fit else { return };
    let steps = fit.history.last().map_or(0, |(s, _)| *s);
    let seconds = fit.started.elapsed().as_secs_f64();
    ui.label(format!(
        "step {steps} ({:.1} s/step), result from step {}",
        seconds / steps.max(1) as f64,
        fit.shown_step
    ));
    if let Some((_, l)) = fit.history.last() {
        ui.label(format!(
            "loss {:.3} (hole {:.4}, valid {:.4})",
            l[6], l[1], l[0]
        ));
    }
    let width = ui.available_width();
    super::dashboard::plot(ui, &fit.history, egui::vec2(width, 110.0));
    let restart = ui
        .horizontal(|ui| {
            let paused = fit.session.paused();
            if ui.button(if paused { "Resume" } else { "Pause" }).clicked() {
                fit.session.set_paused(!paused);
            }
            ui.button("Restart").clicked()
        })
        .inner;
    if restart {
        app.start_fit();
    }
    let Some(fit) = &app.fit else { return };
    if path_row(
        &mut app.dialogs,
        ui,
        &mut app.paths.fitted,
        "Save model",
        Purpose::SaveFitted,
    ) {
        fit.session.save(PathBuf::from(app.paths.fitted.trim()));
    }
}
