//! The egui/eframe window: a side panel of tools, the canvas, a status bar.
//! It runs on the same wgpu device as the compute engine (eframe creates it
//! with pconv's adapter choice, limits and features).
mod canvas;
pub mod dashboard;
mod dialogs;
mod loss_plot;
mod side_panel;
mod status_bar;

use eframe::egui;
use std::path::PathBuf;
use std::sync::Arc;

use super::document::Document;
use super::fitting::{FitEvent, FitSession};
use super::mask_edit::Tool;
use super::settings::Settings;
use super::view::View;
use super::worker::Inpainter;
use crate::gpu::{context, GpuContext};
use crate::infer::classical::DEFAULT_RADIUS;
use crate::infer::edge_blend::EdgeBand;
use crate::infer::{Classical, Ensemble, Method};

/// How holes are filled in the window.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MethodChoice {
    /// A PConv-UNet checkpoint (the bundled face model by default).
    Model(PathBuf),
    /// Telea, Navier–Stokes or biharmonic (no model).
    Classical(Classical),
    /// "Fit this image": a small network trained on the open image.
    Fit,
}

/// What `pconv app` was asked to open.
pub struct LaunchOptions {
    pub image: PathBuf,
    /// The method named on the command line (None: the one remembered from
    /// the last run, else `default_method`).
    pub method: Option<MethodChoice>,
    pub default_method: MethodChoice,
    /// The bundled model, offered in the model field when none was loaded.
    pub default_model: Option<PathBuf>,
    pub mask: Option<PathBuf>,
    /// Run the engine on the window's device even on a CPU adapter, where
    /// it is off by default (see `run`).
    pub share_device: bool,
}

/// Loads a method for the inpainting worker on the app's device (None for
/// "fit this image", which runs on its own thread); a model averages
/// `ensemble` transforms of the image and blends its fill with the
/// settings' classical fill over their depth from the holes' edges.
pub fn load_method(
    choice: &MethodChoice,
    gpu: &GpuContext,
    ensemble: Ensemble,
    settings: &Settings,
) -> crate::Result<Option<Method>> {
    match choice {
        MethodChoice::Classical(method) => Ok(Some(Method::Classical {
            method: *method,
            radius: DEFAULT_RADIUS,
        })),
        MethodChoice::Model(p) => {
            let ck = crate::model::Checkpoint::read(p)?.for_inference();
            let mut model = crate::infer::PConvModel::new(gpu, ck);
            model.set_ensemble(ensemble);
            model.set_blend_depth(settings.edge_blend);
            model.set_blend_band(settings.edge_band);
            Ok(Some(Method::PConv(Box::new(model))))
        }
        MethodChoice::Fit => Ok(None),
    }
}

/// The running "fit this image" and what it reported.
pub struct Fit {
    pub session: FitSession,
    /// (step, loss terms) of every step.
    pub history: Vec<(u64, crate::loss::LossTerms<f32>)>,
    /// Steps behind the result shown.
    pub shown_step: u64,
    pub started: std::time::Instant,
}

/// The window shows a photo as one texture, so its sides must fit the
/// device's texture limit.
fn check_displayable(doc: &Document, gpu: &GpuContext) -> crate::Result<()> {
    let max = gpu.limits().max_texture_dimension_2d as usize;
    let (w, h) = doc.size();
    if w.max(h) > max {
        let name = doc.path.as_ref().map(|p| p.display().to_string());
        return Err(crate::Error::Invalid(format!(
            "{}: {w}x{h} is larger than this GPU's largest texture ({max}x{max}); use `pconv inpaint` for it",
            name.unwrap_or_default()
        )));
    }
    Ok(())
}

/// The tool and view state of this run (what is kept between runs is in
/// `Settings`).
pub struct Tools {
    pub tool: Tool,
    /// Where the split line sits (0 = all result, 1 = all original); None
    /// shows the result alone.
    pub split: Option<f32>,
}

pub struct PConvApp {
    gpu: GpuContext,
    doc: Document,
    inpainter: Inpainter,
    method: MethodChoice,
    /// The model's self-ensemble: one pass (live) unless the side panel's
    /// "average with the mirror image" is on.
    ensemble: Ensemble,
    fit: Option<Fit>,
    tools: Tools,
    /// Brush size, overlay, grow/extend/feather amounts, last folder and
    /// model: edited by the panels, kept between runs.
    settings: Settings,
    view: Option<View>,
    canvas: canvas::Textures,
    /// Text fields of the side panel.
    paths: side_panel::Paths,
    dialogs: dialogs::Dialogs,
    last_seconds: Option<f64>,
    message: Option<String>,
    /// Ctrl+S arrived before the inpainting for the current mask finished:
    /// save as soon as it does.
    save_pending: bool,
    /// Keeps another photo, or closing the window, from dropping unsaved
    /// holes at the first try.
    unsaved_guard: crate::app::folder::UnsavedGuard,
}

impl PConvApp {
    /// `renderer` is the window's, given when `gpu` is its device: results
    /// then stay there as textures.
    fn new(
        gpu: GpuContext,
        renderer: Option<egui_wgpu::RenderState>,
        doc: Document,
        opts: LaunchOptions,
        settings: Settings,
    ) -> crate::Result<Self> {
        check_displayable(&doc, &gpu)?;
        let start = settings.start_method(opts.method.clone(), opts.default_method.clone());
        let model_field = settings.model_field(&start, opts.default_model.as_deref());
        let ensemble = if settings.average_flips {
            Ensemble::MIRROR
        } else {
            Ensemble::SINGLE
        };
        let telea = Method::Classical {
            method: Classical::Telea,
            radius: DEFAULT_RADIUS,
        };
        let textures = renderer.is_some();
        // A remembered model that no longer loads is not worth refusing to
        // start over: the default method runs, and the status says why.
        let (start, loaded, message) = match load_method(&start, &gpu, ensemble, &settings) {
            Ok(m) => (start, m, None),
            Err(e) if opts.method.is_none() => {
                let fallback = opts.default_method.clone();
                let m = load_method(&fallback, &gpu, ensemble, &settings)?;
                (
                    fallback,
                    m,
                    Some(format!("the last model did not load: {e}")),
                )
            }
            Err(e) => return Err(e),
        };
        let inpainter = Inpainter::start(loaded.unwrap_or(telea), textures);
        let paths = side_panel::Paths::new(&doc, model_field.as_deref());
        let mut app = PConvApp {
            gpu,
            doc,
            inpainter,
            method: MethodChoice::Classical(Classical::Telea),
            ensemble,
            fit: None,
            tools: Tools {
                tool: Tool::Brush,
                split: None,
            },
            settings,
            view: None,
            canvas: canvas::Textures::new(renderer),
            paths,
            dialogs: dialogs::Dialogs::default(),
            last_seconds: None,
            message,
            save_pending: false,
            unsaved_guard: Default::default(),
        };
        if start == MethodChoice::Fit {
            app.start_fit();
        } else {
            app.method = start;
            if app.doc.editor.mask().holes.iter().any(|&h| h) {
                app.refresh();
            }
        }
        Ok(app)
    }

    /// Re-runs the inpainting for the current mask (a running fit retargets).
    fn refresh(&mut self) {
        if self.doc.result_is_current() {
            return;
        }
        match &self.fit {
            Some(f) => f.session.set_target(self.doc.request()),
            None => self.inpainter.request(self.request()),
        }
    }

    /// The inpainting job for the current mask, with the window's feather.
    fn request(&self) -> super::worker::Request {
        let mut r = self.doc.request();
        r.feather = self.settings.feather;
        r
    }

    /// Recomputes the result for the same mask (the feather changed).
    pub(super) fn rerun(&mut self) {
        self.doc.result = None;
        self.refresh();
    }

    /// Mid-stroke: reruns the inpainting when the last run is done and at
    /// least `DRAWING_INTERVAL` old (a running fit refreshes on its own).
    fn refresh_while_drawing(&mut self) {
        let due = self.fit.is_none()
            && !self.doc.result_is_current()
            && self.inpainter.idle_for(super::worker::DRAWING_INTERVAL);
        if due {
            self.inpainter.request(self.request());
        }
    }

    /// Starts fitting a fresh network to the open image.
    fn start_fit(&mut self) {
        let session = FitSession::start(
            self.gpu.clone(),
            self.doc.request(),
            crate::infer::fit::FitOptions::for_adapter(self.gpu.is_cpu()),
            self.canvas.draws_device_textures(),
        );
        self.fit = Some(Fit {
            session,
            history: Vec::new(),
            shown_step: 0,
            started: std::time::Instant::now(),
        });
        self.method = MethodChoice::Fit;
        self.doc.result = None;
    }

    fn poll_fit(&mut self) {
        let Some(fit) = &mut self.fit else { return };
        for event in fit.session.poll() {
            match event {
                FitEvent::Step { step, losses } => fit.history.push((step, losses)),
                FitEvent::Result { step, finished } => {
                    fit.shown_step = step;
                    self.last_seconds = Some(finished.seconds);
                    if let Err(e) = self.doc.accept(&finished) {
                        self.message = Some(format!("inpainting failed: {e}"));
                    }
                }
                FitEvent::Saved(Ok(p)) => self.message = Some(format!("saved {}", p.display())),
                FitEvent::Saved(Err(e)) | FitEvent::Failed(e) => {
                    self.message = Some(format!("fitting: {e}"))
                }
            }
        }
    }

    /// "Apply and continue" (see `Document::apply`).
    pub(super) fn apply_result(&mut self) {
        match self.doc.apply() {
            Ok(()) => self.after_new_photo("applied: the result is the photo now"),
            Err(e) => self.message = Some(format!("error: {e}")),
        }
    }

    /// "Extend canvas" (see `Document::extend`).
    pub(super) fn extend_canvas(&mut self) {
        let n = self.settings.extend_by;
        if let Err(e) = self.doc.extend(crate::infer::extend::Margins::uniform(n)) {
            self.message = Some(format!("error: {e}"));
            return;
        }
        if let Err(e) = check_displayable(&self.doc, &self.gpu) {
            self.doc.unapply();
            self.message = Some(format!("error: {e}"));
            return;
        }
        self.after_new_photo(&format!("canvas extended by {n} px a side"));
        self.view = None;
        self.refresh();
    }

    pub(super) fn unapply_result(&mut self) {
        if self.doc.unapply() {
            self.view = None;
            self.after_new_photo("back to the photo before the last apply or extend");
            self.refresh();
        }
    }

    fn after_new_photo(&mut self, message: &str) {
        if self.fit.is_some() {
            self.start_fit();
        }
        self.canvas.reset();
        self.message = Some(message.into());
    }

    /// Opens a photo in place of the current one; where that would drop
    /// unsaved holes, the first try only warns (the same again opens it).
    fn open_image(&mut self, path: &std::path::Path) {
        let open = format!("open {}", path.display());
        if !self.unsaved_guard.allow(self.doc.has_unsaved_work(), &open) {
            let name = path.file_name().unwrap_or(path.as_os_str());
            self.message = Some(format!(
                "unsaved holes: open {} again to drop them, or save first (Ctrl+S)",
                name.to_string_lossy()
            ));
            return;
        }
        match Document::open(path).and_then(|d| check_displayable(&d, &self.gpu).map(|_| d)) {
            Ok(doc) => {
                self.doc = doc;
                if self.fit.is_some() {
                    // A new image is a new fit.
                    self.start_fit();
                }
                self.view = None;
                self.canvas.reset();
                let model = self.paths.model_path();
                self.paths = side_panel::Paths::new(&self.doc, model.as_deref());
                self.settings.remember_folder_of(path);
                self.message = Some(format!("opened {}", path.display()));
            }
            Err(e) => self.message = Some(format!("error: {e}")),
        }
    }

    /// Closing the window (Ctrl+Q, its close button) over unsaved holes is
    /// cancelled once, with a warning; closing again goes ahead.
    fn guard_close(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested())
            && !self
                .unsaved_guard
                .allow(self.doc.has_unsaved_work(), "close")
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.message =
                Some("unsaved holes: close again to drop them, or save first (Ctrl+S)".into());
        }
    }

    /// Opens the next (1) or previous (-1) photo of the open one's folder.
    pub(super) fn step_photo(&mut self, step: isize) {
        let Some(here) = self.doc.path.clone() else {
            self.message = Some("this photo has no folder to step through".into());
            return;
        };
        match crate::app::folder::step_from(&here, step) {
            Some(p) => self.open_image(&p),
            None => {
                let end = if step > 0 { "last" } else { "first" };
                self.message = Some(format!("the {end} photo of its folder"));
            }
        }
    }

    /// The depth of the model's edge blend (reloads the model when it is
    /// the method in use).
    fn set_edge_blend(&mut self, depth: usize) {
        self.settings.edge_blend = depth;
        if let MethodChoice::Model(p) = &self.method {
            self.switch_method(MethodChoice::Model(p.clone()));
        }
    }

    /// The classical fill of the model's edge blend, at the depth it was
    /// measured best at (reloads the model when it is the method in use).
    fn set_edge_band(&mut self, band: EdgeBand) {
        self.settings.edge_band = band;
        self.set_edge_blend(band.default_depth());
    }

    /// Turns the model's self-ensemble on or off (reloads the model when it
    /// is the method in use).
    fn set_ensemble(&mut self, ensemble: Ensemble) {
        self.ensemble = ensemble;
        self.settings.average_flips = ensemble != Ensemble::SINGLE;
        if let MethodChoice::Model(p) = &self.method {
            self.switch_method(MethodChoice::Model(p.clone()));
        }
    }

    fn switch_method(&mut self, choice: MethodChoice) {
        match load_method(&choice, &self.gpu, self.ensemble, &self.settings) {
            Ok(Some(m)) => {
                if let MethodChoice::Model(p) = &choice {
                    self.settings.model = Some(p.clone());
                    self.settings.remember_folder_of(p);
                }
                self.fit = None;
                self.inpainter.set_method(m);
                self.method = choice;
                self.doc.result = None;
                self.refresh();
            }
            Ok(None) => self.start_fit(),
            Err(e) => self.message = Some(format!("error: {e}")),
        }
    }

    /// Saves the result to the output field's path, now or once the
    /// inpainting for the current mask is done.
    fn save_result(&mut self) {
        if self.doc.output().is_none() {
            self.save_pending = true;
            self.refresh();
            return;
        }
        self.save_pending = false;
        let p = self.paths.output_path();
        self.message = Some(match self.doc.save_result(&p) {
            Ok(note) => {
                self.settings.remember_folder_of(&p);
                match note {
                    Some(note) => format!("saved {} ({note})", p.display()),
                    None => format!("saved {}", p.display()),
                }
            }
            Err(e) => format!("error: {e}"),
        });
    }

    fn shortcuts(&mut self, ui: &egui::Ui) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        // Each key event is matched with the modifiers held when it
        // happened: after a stalled frame (an inpainting on a shared
        // software device) Ctrl down, S and Ctrl up arrive in one frame,
        // and the frame's final modifier state would miss the chord.
        let shortcut = |modifiers, key| {
            ui.ctx()
                .input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(modifiers, key)))
        };
        let cmd = Modifiers::COMMAND;
        if shortcut(cmd, Key::S) {
            self.save_result();
        }
        if shortcut(cmd, Key::O) {
            let start = self.settings.last_folder.clone().or(self.doc.path.clone());
            self.dialogs.ask(dialogs::Purpose::OpenImage, start);
        }
        if shortcut(cmd, Key::Q) {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        // The more specific chord first: Ctrl+Z alone would match it too.
        let redo = shortcut(cmd | Modifiers::SHIFT, Key::Z) || shortcut(cmd, Key::Y);
        let undo = shortcut(cmd, Key::Z);
        if undo && self.doc.editor.undo() {
            self.refresh();
        }
        if redo && self.doc.editor.redo() {
            self.refresh();
        }
        // Single keys are text while a text field has focus.
        if !ui.ctx().egui_wants_keyboard_input() {
            let none = Modifiers::NONE;
            if shortcut(none, Key::OpenBracket) {
                let r = &mut self.settings.radius;
                *r = (*r / 1.25).max(*super::settings::RADIUS.start());
            }
            if shortcut(none, Key::CloseBracket) {
                let r = &mut self.settings.radius;
                *r = (*r * 1.25).min(*super::settings::RADIUS.end());
            }
            if shortcut(none, Key::B) {
                self.tools.tool = Tool::Brush;
            }
            if shortcut(none, Key::E) {
                self.tools.tool = Tool::Eraser;
            }
            if shortcut(none, Key::R) {
                self.tools.tool = Tool::Rectangle;
            }
            if shortcut(none, Key::L) {
                self.tools.tool = Tool::Lasso;
            }
            if shortcut(none, Key::W) {
                self.tools.tool = Tool::Wand;
            }
            if shortcut(none, Key::PageDown) {
                self.step_photo(1);
            }
            if shortcut(none, Key::PageUp) {
                self.step_photo(-1);
            }
        }
        let dropped = ui.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()));
        if let Some(p) = dropped {
            self.open_image(&p);
        }
    }
}

impl eframe::App for PConvApp {
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.method = Some(self.method.clone());
        eframe::set_value(storage, super::settings::KEY, &self.settings);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.guard_close(ui.ctx());
        self.poll_fit();
        if let Some((purpose, path)) = self.dialogs.poll() {
            side_panel::chosen(self, purpose, path);
        }
        if self.dialogs.take_failure() {
            self.message = Some(
                "the file dialog could not open (no XDG desktop portal running?): type the path \
                 in the field beside the button, or drop the file on the window"
                    .into(),
            );
        }
        if let Some(f) = self.inpainter.poll() {
            self.last_seconds = Some(f.seconds);
            if let Err(e) = self.doc.accept(&f) {
                self.message = Some(format!("inpainting failed: {e}"));
            }
        }
        self.shortcuts(ui);
        if self.save_pending && self.doc.output().is_some() {
            self.save_result();
        }
        egui::Panel::bottom("status").show(ui, |ui| status_bar::show(self, ui));
        egui::Panel::left("tools")
            .default_size(230.0)
            .show(ui, |ui| side_panel::show(self, ui));
        egui::CentralPanel::default().show(ui, |ui| canvas::show(self, ui));
        let fitting = self.fit.as_ref().is_some_and(|f| !f.session.paused());
        if self.inpainter.busy() || fitting || self.dialogs.is_open() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(30));
        }
    }
}

/// Why no window can open, where that is known before trying (Linux and
/// the BSDs: neither an X11 nor a Wayland display is set).
fn no_display() -> Option<&'static str> {
    let unix_desktop = cfg!(all(unix, not(target_os = "macos"), not(target_os = "ios")));
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    (unix_desktop && !set("DISPLAY") && !set("WAYLAND_DISPLAY") && !set("WAYLAND_SOCKET"))
        .then_some("neither DISPLAY (X11) nor WAYLAND_DISPLAY is set")
}

/// Opens the window and blocks until it is closed.
pub fn run(opts: LaunchOptions) -> anyhow::Result<()> {
    // Bad input is reported before any window opens.
    let mut doc = Document::open(&opts.image)?;
    if let Some(m) = &opts.mask {
        doc.load_mask(m, true)?;
    }
    if let Some(why) = no_display() {
        anyhow::bail!(
            "the desktop app needs a display, and {why}. Run it in a desktop session (X11 or \
             Wayland), or use the commands: pconv inpaint --image PHOTO --mask MASK --output OUT \
             (pconv --help lists them all)"
        );
    }
    let mut setup = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.native_adapter_selector = Some(Arc::new(|adapters, _surface| {
        context::pick_adapter(adapters.to_vec()).map_err(|e| e.to_string())
    }));
    setup.device_descriptor = Arc::new(context::device_descriptor);
    let mut native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("pconv")
            .with_inner_size([1100.0, 760.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    native.wgpu_options.wgpu_setup = egui_wgpu::WgpuSetup::CreateNew(setup);
    eframe::run_native(
        "pconv",
        native,
        Box::new(move |cc| {
            let rs = cc
                .wgpu_render_state
                .as_ref()
                .ok_or("eframe started without its wgpu renderer")?;
            // On a CPU adapter (lavapipe) one queue runs everything in order:
            // a 5-second inference would freeze the window's frames and drop
            // strokes. There the engine gets a device of its own (results
            // come back as images) unless asked to share; on a GPU it shares
            // the window's, and results stay there as textures.
            let cpu = rs.adapter.get_info().device_type == wgpu::DeviceType::Cpu;
            let (gpu, renderer) = if cpu && !opts.share_device {
                (GpuContext::new().map_err(|e| e.to_string())?, None)
            } else {
                let gpu =
                    GpuContext::from_parts(rs.adapter.clone(), rs.device.clone(), rs.queue.clone());
                (gpu, Some(rs.clone()))
            };
            eprintln!(
                "pconv: inpainting on {} ({}), {}",
                gpu.summary.name,
                gpu.summary.backend,
                if renderer.is_some() {
                    "the window's device: results are drawn from GPU textures"
                } else {
                    "a device of its own: results come back as images"
                }
            );
            let settings = cc
                .storage
                .and_then(|s| eframe::get_value::<Settings>(s, super::settings::KEY))
                .unwrap_or_default()
                .sanitized();
            let app =
                PConvApp::new(gpu, renderer, doc, opts, settings).map_err(|e| e.to_string())?;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| {
        // Without a Vulkan driver wgpu only says no surface could be made.
        if context::list_adapters().is_empty() {
            anyhow::anyhow!(
                "the window could not be opened: {}. Without a GPU, the command line fills \
                 photos on the CPU: pconv inpaint --method telea|ns|biharmonic|fsr ({e})",
                crate::Error::NoAdapter(String::new())
            )
        } else {
            anyhow::anyhow!("the window could not be opened: {e}")
        }
    })
}
