//! Tools: open/save, method, brush and eraser, mask operations, compare.
use eframe::egui;
use std::path::PathBuf;

use super::dialogs::Purpose;
use super::{MethodChoice, PConvApp};
use crate::app::document::Document;
use crate::app::mask_edit::Tool;
use crate::app::settings;
use crate::app::view::View;
use crate::infer::edge_blend::EdgeBand;
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
    pub fn new(doc: &Document, model: Option<&std::path::Path>) -> Self {
        let image = doc
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let model = model.map(|p| p.display().to_string()).unwrap_or_default();
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

    pub fn model_path(&self) -> Option<PathBuf> {
        Some(PathBuf::from(self.model.trim())).filter(|p| !p.as_os_str().is_empty())
    }
}

/// A button acting on the path in the text field below it, "…" for a file
/// dialog that fills the field and acts (`purpose`), and the file's name
/// (the field is often too narrow to show it); returns the typed path when
/// the button was clicked.
fn path_row(
    app: &mut PConvApp,
    ui: &mut egui::Ui,
    field: fn(&mut Paths) -> &mut String,
    button: &str,
    purpose: Purpose,
) -> Option<PathBuf> {
    let value = field(&mut app.paths);
    let dialogs = &mut app.dialogs;
    let last_folder = app.settings.last_folder.as_deref();
    let clicked = ui
        .horizontal(|ui| {
            let clicked = ui.button(button).clicked();
            let browse = ui
                .add_enabled(!dialogs.is_open(), egui::Button::new("…"))
                .on_hover_text("choose in a file dialog")
                .clicked();
            if browse {
                let typed = Some(PathBuf::from(value.trim())).filter(|p| !p.as_os_str().is_empty());
                dialogs.ask(purpose, typed.or(last_folder.map(PathBuf::from)));
            }
            file_name(ui, value);
            clicked
        })
        .inner;
    ui.add(egui::TextEdit::singleline(value).desired_width(f32::INFINITY))
        .on_hover_text(value.as_str());
    clicked.then(|| PathBuf::from(value.trim()))
}

/// The last component of `path`, shortened to the room left, the whole
/// path on hover.
fn file_name(ui: &mut egui::Ui, path: &str) {
    let name = std::path::Path::new(path.trim())
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    ui.add(egui::Label::new(egui::RichText::new(name).strong()).truncate())
        .on_hover_text(path);
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
        Ok(()) => {
            app.settings.remember_folder_of(p);
            app.refresh()
        }
        Err(e) => app.message = Some(format!("error: {e}")),
    }
}

fn save_mask(app: &mut PConvApp, p: &std::path::Path) {
    app.message = Some(match app.doc.save_mask(p) {
        Ok(()) => {
            app.settings.remember_folder_of(p);
            format!("saved {}", p.display())
        }
        Err(e) => format!("error: {e}"),
    });
}

pub fn show(app: &mut PConvApp, ui: &mut egui::Ui) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading("pconv");
        ui.label("Image (or drop a file on the window)");
        if let Some(p) = path_row(app, ui, |p| &mut p.image, "Open", Purpose::OpenImage) {
            app.open_image(&p);
        }
        ui.horizontal(|ui| {
            let has_folder = app.doc.path.is_some();
            if ui
                .add_enabled(has_folder, egui::Button::new("< Previous"))
                .on_hover_text("the previous photo of this folder (Page Up)")
                .clicked()
            {
                app.step_photo(-1);
            }
            if ui
                .add_enabled(has_folder, egui::Button::new("Next >"))
                .on_hover_text("the next photo of this folder (Page Down)")
                .clicked()
            {
                app.step_photo(1);
            }
        });
        ui.separator();

        method_choice(app, ui);
        ui.separator();

        mask_tools(app, ui);
        ui.separator();

        view_controls(app, ui);
        ui.separator();

        ui.label("Result (Ctrl+S)");
        if path_row(app, ui, |p| &mut p.output, "Save", Purpose::SaveResult).is_some() {
            app.save_result();
        }
    });
}

/// The four methods as one radio group, then the options of the chosen one.
fn method_choice(app: &mut PConvApp, ui: &mut egui::Ui) {
    ui.label("Method");
    let is_model = matches!(app.method, MethodChoice::Model(_));
    if ui
        .radio(is_model, "PConv model")
        .on_hover_text("a network trained on many photos (the bundled one: faces)")
        .clicked()
        && !is_model
    {
        match app.paths.model_path() {
            Some(p) => app.switch_method(MethodChoice::Model(p)),
            None => app.message = Some("type or choose a model file first".into()),
        }
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
    ui.horizontal(|ui| {
        for (method, label, hover) in [
            (
                Classical::Telea,
                "Telea",
                "fast marching from the hole's edge (OpenCV's INPAINT_TELEA)",
            ),
            (
                Classical::NavierStokes,
                "Navier–Stokes",
                "isophotes continued into the hole (OpenCV's INPAINT_NS)",
            ),
            (
                Classical::Biharmonic,
                "Biharmonic",
                "the smoothest surface through the known pixels (scikit-image's inpaint_biharmonic)",
            ),
            (
                Classical::Fsr,
                "FSR",
                "frequency selective reconstruction: blocks modelled from Fourier basis functions (opencv-contrib's INPAINT_FSR_FAST); the best classical method on photos, and the slowest",
            ),
        ] {
            let on = app.method == MethodChoice::Classical(method);
            if ui.radio(on, label).on_hover_text(hover).clicked() && !on {
                app.switch_method(MethodChoice::Classical(method));
            }
        }
    });
    if is_model || app.fit.is_some() {
        ui.indent("method options", |ui| {
            if is_model {
                model_options(app, ui);
            }
            fit_controls(app, ui);
        });
    }
}

/// The model file and the self-ensemble.
fn model_options(app: &mut PConvApp, ui: &mut egui::Ui) {
    bundled_models(app, ui);
    if let Some(p) = path_row(app, ui, |p| &mut p.model, "Load", Purpose::LoadModel) {
        app.switch_method(MethodChoice::Model(p));
    }
    let mut mirror = app.ensemble != Ensemble::SINGLE;
    if ui
            .checkbox(&mut mirror, "Average with the mirror image")
            .on_hover_text("The model also fills the photo's mirror image and averages the two fills: less colour noise around the holes, twice the work")
            .changed()
        {
            app.set_ensemble(if mirror { Ensemble::MIRROR } else { Ensemble::SINGLE });
        }
    ui.horizontal(|ui| {
        ui.label("Edge fill:").on_hover_text(
            "The classical fill near the holes' edges, which hands over to the network's deeper in",
        );
        for (band, hover) in [
            (EdgeBand::Faces, "70 % biharmonic (the smoothest surface), 30 % frequency selective reconstruction, 16 px deep: best on faces"),
            (EdgeBand::Photos, "85 % frequency selective reconstruction, 15 % biharmonic, 32 px deep: best on photos"),
        ] {
            let on = app.settings.edge_band == band;
            if ui
                .selectable_label(on, band.name())
                .on_hover_text(hover)
                .clicked()
                && !on
            {
                app.set_edge_band(band);
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label("Edge blend:")
            .on_hover_text("Near a hole's edge the fill is the classical one's, handing over to the network's at this depth: higher scores better (PSNR, SSIM), lower keeps more of the network's texture");
        for depth in settings::EDGE_BLENDS {
            let label = if depth == 0 { "off".to_string() } else { format!("{depth} px") };
            let on = app.settings.edge_blend == depth;
            if ui.selectable_label(on, label).clicked() && !on {
                app.set_edge_blend(depth);
            }
        }
    });
}

/// The bundled models by name (`pconv models`): one click loads one; a
/// model this install lacks, or one not trained yet, is shown disabled
/// with the reason.
fn bundled_models(app: &mut PConvApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.label("Bundled:");
        for m in crate::model::bundled::BUNDLED {
            let path = m.path();
            let on = matches!((&app.method, &path), (MethodChoice::Model(q), Some(p)) if q == p);
            let button = ui
                .add_enabled(path.is_some(), egui::Button::selectable(on, m.name))
                .on_hover_text(m.what)
                .on_disabled_hover_text(m.what);
            if let (true, false, Some(p)) = (button.clicked(), on, path) {
                app.paths.model = p.display().to_string();
                app.switch_method(MethodChoice::Model(p));
            }
        }
    });
}

/// Brush, eraser, rectangle, lasso and magic wand; overlay, feather; apply, extend,
/// grow/shrink, undo; loading and saving the mask.
fn mask_tools(app: &mut PConvApp, ui: &mut egui::Ui) {
    ui.label("Mask");
    egui::Grid::new("mask tools").num_columns(2).show(ui, |ui| {
        let tool = &mut app.tools.tool;
        ui.selectable_value(tool, Tool::Brush, "Brush (B)");
        ui.selectable_value(tool, Tool::Eraser, "Eraser (E)");
        ui.end_row();
        ui.selectable_value(tool, Tool::Rectangle, "Rectangle (R)");
        ui.selectable_value(tool, Tool::Lasso, "Lasso (L)");
        ui.end_row();
        ui.selectable_value(tool, Tool::Wand, "Magic wand (W)")
            .on_hover_text("click: the connected pixels of the clicked colour become holes; Grow then covers their soft edge");
        ui.end_row();
    });
    if app.tools.tool == Tool::Wand {
        ui.add(
            egui::Slider::new(&mut app.settings.wand_tolerance, settings::WAND_TOLERANCE)
                .text("tolerance"),
        )
        .on_hover_text("how far, in levels per channel, a colour may be from the clicked one");
    } else {
        ui.add(
            egui::Slider::new(&mut app.settings.radius, settings::RADIUS)
                .logarithmic(true)
                .text("size [ ]"),
        );
    }
    ui.add(egui::Slider::new(&mut app.settings.overlay_opacity, 0.0..=1.0).text("overlay"));
    ui.checkbox(&mut app.settings.overlay_on_result, "Mask over the result");
    if ui
        .add(egui::Slider::new(&mut app.settings.feather, settings::FEATHER).text("feather px"))
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
            .add_enabled(
                app.doc.can_unapply(),
                egui::Button::new("Undo apply/extend"),
            )
            .clicked()
        {
            app.unapply_result();
        }
    });
    ui.horizontal(|ui| {
        ui.add(
            egui::DragValue::new(&mut app.settings.extend_by)
                .range(settings::EXTEND_BY)
                .suffix(" px"),
        );
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
        ui.add(
            egui::DragValue::new(&mut app.settings.grow_by)
                .range(settings::GROW_BY)
                .suffix(" px"),
        );
        let grow = ui
            .button("Grow")
            .on_hover_text("holes spread by this many pixels");
        let shrink = ui
            .button("Shrink")
            .on_hover_text("holes recede by this many pixels");
        if grow.clicked() {
            ed.grow(app.settings.grow_by);
        }
        if shrink.clicked() {
            ed.shrink(app.settings.grow_by);
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
}

/// Fit, 1:1 and the split compare.
fn view_controls(app: &mut PConvApp, ui: &mut egui::Ui) {
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
            l.total, l.hole, l.valid
        ));
    }
    super::loss_plot::show(ui, "fit losses", &fit.history, 180.0);
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
    if let Some(p) = path_row(
        app,
        ui,
        |p| &mut p.fitted,
        "Save model",
        Purpose::SaveFitted,
    ) {
        if let Some(fit) = &app.fit {
            fit.session.save(p);
        }
    }
}
