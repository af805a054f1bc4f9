//! `pconv train` without `--headless`: the training dashboard. Training runs
//! on its own thread and wgpu device at full speed; the window shows the
//! loss curves per term, the latest sample grid, images/s and ETA, and sends
//! pause, "save checkpoint now" and stop through the trainer's `Observer`.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eframe::egui;
use egui::Color32;

use crate::gpu::GpuContext;
use crate::loss::LossTerms;
use crate::train::{Control, Observer, Outcome, RunInfo, StepMetrics, TrainOptions};

enum Event {
    Started(RunInfo),
    Step(StepMetrics),
    Sample(u64, image::RgbImage),
    Checkpoint(u64, PathBuf),
    Warning(String),
    Done(Result<Outcome, String>),
}

/// The buttons, as the training thread sees them.
struct Buttons {
    pause: AtomicBool,
    save_now: AtomicBool,
}

struct Relay {
    events: Sender<Event>,
    buttons: Arc<Buttons>,
    repaint: egui::Context,
}

impl Relay {
    fn send(&self, e: Event) {
        let _ = self.events.send(e);
        self.repaint.request_repaint();
    }
}

impl Observer for Relay {
    fn started(&mut self, run: &RunInfo) {
        self.send(Event::Started(run.clone()));
    }
    fn step(&mut self, m: &StepMetrics) {
        self.send(Event::Step(m.clone()));
    }
    fn sample(&mut self, step: u64, _path: &std::path::Path, grid: &image::RgbImage) {
        self.send(Event::Sample(step, grid.clone()));
    }
    fn checkpoint(&mut self, step: u64, path: &std::path::Path) {
        self.send(Event::Checkpoint(step, path.to_path_buf()));
    }
    fn warning(&mut self, text: &str) {
        self.send(Event::Warning(text.to_string()));
    }
    fn control(&mut self) -> Control {
        if self.buttons.save_now.swap(false, Ordering::SeqCst) {
            Control::SaveNow
        } else if self.buttons.pause.load(Ordering::SeqCst) {
            Control::Pause
        } else {
            Control::Continue
        }
    }
}

const TITLE: &str = "pconv training";

/// At most this many points per curve are drawn (older ones are thinned).
const MAX_POINTS: usize = 2000;

struct Dashboard {
    events: Receiver<Event>,
    buttons: Arc<Buttons>,
    stop: Arc<AtomicBool>,
    run: Option<RunInfo>,
    /// (step, loss terms) per step.
    history: Vec<(u64, LossTerms<f32>)>,
    images_per_s: f64,
    sample: Option<(u64, egui::TextureHandle)>,
    last_checkpoint: Option<(u64, PathBuf)>,
    warnings: Vec<String>,
    outcome: Option<Result<Outcome, String>>,
    /// Where `run` finds the outcome once the window has closed.
    handed_back: Arc<Mutex<Option<Result<Outcome, String>>>>,
    started: Instant,
    closing: bool,
}

fn spawn_training(
    opts: TrainOptions,
    stop: Arc<AtomicBool>,
    buttons: Arc<Buttons>,
    repaint: egui::Context,
) -> Receiver<Event> {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("pconv-train".into())
        .spawn(move || {
            let mut relay = Relay {
                events: tx.clone(),
                buttons,
                repaint: repaint.clone(),
            };
            let result = GpuContext::new()
                .and_then(|ctx| crate::train::train(&ctx, &opts, &mut relay, &stop))
                .map_err(|e| e.with_step_hint());
            let _ = tx.send(Event::Done(result));
            repaint.request_repaint();
        })
        .expect("spawning the training thread");
    rx
}

impl Dashboard {
    fn drain(&mut self, ctx: &egui::Context) {
        while let Ok(e) = self.events.try_recv() {
            match e {
                Event::Started(r) => self.run = Some(r),
                Event::Step(m) => {
                    self.history.push((m.step, m.losses.map(|l| l as f32)));
                    self.images_per_s = m.images_per_s;
                    if self.history.len() > 2 * MAX_POINTS {
                        // Keep every other point: the curve's shape stays.
                        let thinned = self.history.iter().step_by(2).copied().collect();
                        self.history = thinned;
                    }
                }
                Event::Sample(step, grid) => {
                    let img = egui::ColorImage::from_rgb(
                        [grid.width() as usize, grid.height() as usize],
                        grid.as_raw(),
                    );
                    let tex = ctx.load_texture("sample", img, egui::TextureOptions::LINEAR);
                    self.sample = Some((step, tex));
                }
                Event::Checkpoint(step, path) => self.last_checkpoint = Some((step, path)),
                Event::Warning(w) => self.warnings.push(w),
                Event::Done(r) => {
                    if let Ok(mut slot) = self.handed_back.lock() {
                        *slot = Some(r.clone());
                    }
                    // The title says how it ended (also for window managers
                    // and scripts that watch it).
                    let end = if r.is_ok() { "ended" } else { "error" };
                    ctx.send_viewport_cmd(egui::ViewportCommand::Title(format!("{TITLE}: {end}")));
                    self.outcome = Some(r);
                }
            }
        }
    }

    fn status(&self) -> String {
        let Some(r) = &self.run else {
            // An error before the first step (no images, a bad checkpoint).
            return match &self.outcome {
                Some(Err(e)) => format!("error: {e}"),
                _ => "starting (loading images, building the training step)…".into(),
            };
        };
        let step = self.history.last().map_or(r.first_step, |(s, _)| *s);
        let left = r.last_step.saturating_sub(step);
        let per_step = if self.images_per_s > 0.0 {
            r.batch as f64 / self.images_per_s
        } else {
            0.0
        };
        let eta = left as f64 * per_step;
        let state = match (&self.outcome, self.buttons.pause.load(Ordering::SeqCst)) {
            (Some(Ok(Outcome::Finished { .. })), _) => "finished".to_string(),
            (Some(Ok(Outcome::Interrupted { .. })), _) => "stopped".to_string(),
            (Some(Err(e)), _) => format!("error: {e}"),
            (None, true) => "paused".to_string(),
            (None, false) if self.stop.load(Ordering::SeqCst) => "stopping…".to_string(),
            (None, false) => "training".to_string(),
        };
        format!(
            "step {step} / {} | {:.2} images/s | ETA {:.0} min | {state} | {:.0} s elapsed",
            r.last_step,
            self.images_per_s,
            eta / 60.0,
            self.started.elapsed().as_secs_f64()
        )
    }
}

impl eframe::App for Dashboard {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.drain(&ctx);
        // Closing the window while training: stop, save, then close.
        if ctx.input(|i| i.viewport().close_requested()) && self.outcome.is_none() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.stop.store(true, Ordering::SeqCst);
            self.buttons.pause.store(false, Ordering::SeqCst);
            self.closing = true;
        }
        // A signal (SIGTERM, Ctrl-C in the terminal) sets the stop flag
        // without an event: look for it a few times a second, and close
        // once the trainer has saved.
        if self.stop.load(Ordering::SeqCst) {
            self.closing = true;
        }
        ctx.request_repaint_after(std::time::Duration::from_millis(200));
        if self.closing && self.outcome.is_some() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(r) = &self.run {
                ui.label(format!(
                    "L{} width {} ({:?}), {}x{} batch {}, lr {:e}, seed {}, {} images -> {}",
                    r.net.levels,
                    r.net.width,
                    r.mode,
                    r.size,
                    r.size,
                    r.batch,
                    r.lr,
                    r.seed,
                    r.images,
                    r.out.display()
                ));
            }
            let status = self.status();
            if matches!(self.outcome, Some(Err(_))) {
                ui.colored_label(Color32::from_rgb(255, 110, 100), status);
            } else {
                ui.label(status);
            }
            ui.horizontal(|ui| {
                let running = self.outcome.is_none();
                let paused = self.buttons.pause.load(Ordering::SeqCst);
                if ui
                    .add_enabled(
                        running,
                        egui::Button::new(if paused { "Resume" } else { "Pause" }),
                    )
                    .clicked()
                {
                    self.buttons.pause.store(!paused, Ordering::SeqCst);
                }
                if ui
                    .add_enabled(running, egui::Button::new("Save checkpoint now"))
                    .clicked()
                {
                    self.buttons.save_now.store(true, Ordering::SeqCst);
                }
                if ui.add_enabled(running, egui::Button::new("Stop")).clicked() {
                    self.stop.store(true, Ordering::SeqCst);
                    self.buttons.pause.store(false, Ordering::SeqCst);
                }
                if let Some((s, p)) = &self.last_checkpoint {
                    ui.label(format!("checkpoint at step {s}: {}", p.display()));
                }
            });
            if let Some((_, v)) = self.history.last() {
                ui.label(v.describe());
            }
            super::loss_plot::show(ui, "training losses", &self.history, 260.0);
            if let Some((step, tex)) = &self.sample {
                ui.label(format!(
                    "sample at step {step}: masked input | output | composite | ground truth"
                ));
                let avail = ui.available_size();
                let ts = tex.size_vec2();
                let scale = (avail.x / ts.x).min(avail.y / ts.y).clamp(0.1, 4.0);
                ui.image((tex.id(), ts * scale));
            }
            for w in &self.warnings {
                ui.colored_label(Color32::YELLOW, w);
            }
        });
    }
}

/// Opens the dashboard and trains; returns once the window is closed, with
/// the run's outcome if it ended. `Err` means the window could not open
/// (then nothing was trained).
pub fn run(
    opts: TrainOptions,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Option<Result<Outcome, String>>> {
    let outcome = Arc::new(Mutex::new(None));
    let handed_back = outcome.clone();
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(TITLE)
            .with_inner_size([900.0, 760.0]),
        ..Default::default()
    };
    eframe::run_native(
        TITLE,
        native,
        Box::new(move |cc| {
            let buttons = Arc::new(Buttons {
                pause: AtomicBool::new(false),
                save_now: AtomicBool::new(false),
            });
            let events = spawn_training(opts, stop.clone(), buttons.clone(), cc.egui_ctx.clone());
            Ok(Box::new(Dashboard {
                events,
                buttons,
                stop,
                run: None,
                history: Vec::new(),
                images_per_s: 0.0,
                sample: None,
                last_checkpoint: None,
                warnings: Vec::new(),
                outcome: None,
                handed_back,
                started: Instant::now(),
                closing: false,
            }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the training window could not be opened: {e}"))?;
    let result = outcome.lock().ok().and_then(|mut o| o.take());
    Ok(result)
}
