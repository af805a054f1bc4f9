//! "Fit this image" in the window: a thread trains a small network on the
//! open image (`infer::fit`) without pause, and every few seconds fills the
//! current mask with the network as it stands. Mask edits retarget the
//! running fit (the weights carry over); pause, resume and saving the fitted
//! checkpoint are commands to the thread.
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use super::worker::{fill, Finished, Request};
use crate::gpu::GpuContext;
use crate::infer::fit::{FitOptions, Fitter};
use crate::infer::{Method, PConvModel};
use crate::raster::Planes;

/// How often the result is refreshed while fitting, at most; a fill that
/// takes long (seconds on lavapipe at 512²) is repeated less often, so that
/// fitting keeps at least three quarters of the time.
pub const REFRESH: Duration = Duration::from_secs(2);

enum Command {
    Target(Request),
    Pause(bool),
    Save(PathBuf),
}

/// What the fitting thread reports.
pub enum FitEvent {
    /// A step's loss terms (`LossTerms::named` order).
    Step {
        step: u64,
        losses: crate::loss::LossTerms<f32>,
    },
    /// The fill of the target with the network after `step` steps.
    Result {
        step: u64,
        finished: Finished,
    },
    Saved(Result<PathBuf, String>),
    /// Fitting stopped (bad image, GPU error); a new target restarts it.
    Failed(String),
}

pub struct FitSession {
    commands: Sender<Command>,
    events: Receiver<FitEvent>,
    paused: bool,
}

impl FitSession {
    /// With `textures`, the fills stay on `gpu` (the window's device) as
    /// textures.
    pub fn start(gpu: GpuContext, target: Request, opts: FitOptions, textures: bool) -> Self {
        let (commands, command_rx) = channel();
        let (event_tx, events) = channel();
        let fitting = Fitting {
            gpu,
            opts,
            target,
            textures,
            fitter: None,
            fill: None,
            events: event_tx,
            last_fill: None,
            stale: true,
        };
        std::thread::Builder::new()
            .name("pconv-fit".into())
            .spawn(move || serve(fitting, command_rx))
            .expect("spawning the fitting thread");
        FitSession {
            commands,
            events,
            paused: false,
        }
    }

    /// Fit (and fill) this image and mask from now on.
    pub fn set_target(&self, req: Request) {
        let _ = self.commands.send(Command::Target(req));
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        let _ = self.commands.send(Command::Pause(paused));
    }

    /// Writes the fitted checkpoint (reported by `FitEvent::Saved`).
    pub fn save(&self, path: PathBuf) {
        let _ = self.commands.send(Command::Save(path));
    }

    /// Events since the last call, oldest first.
    pub fn poll(&self) -> Vec<FitEvent> {
        self.events.try_iter().collect()
    }

    /// Blocks for the next event (tests); None once the thread has ended.
    pub fn next_event(&self, timeout: Duration) -> Option<FitEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

/// The fitting thread's state besides the fitter.
struct Fitting {
    gpu: GpuContext,
    opts: FitOptions,
    target: Request,
    /// Fills stay on the device as textures.
    textures: bool,
    fitter: Option<Fitter>,
    fill: Option<Method>,
    events: Sender<FitEvent>,
    /// When the last fill ended and how long it took.
    last_fill: Option<(Instant, Duration)>,
    /// The fill shown is of an older target or older weights.
    stale: bool,
}

fn serve(mut s: Fitting, commands: Receiver<Command>) {
    let mut paused = false;
    let mut failed = false;
    loop {
        // While paused or failed, sleep on the mailbox; else only peek.
        let next = if paused || failed {
            commands.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            commands.try_recv()
        };
        match next {
            Ok(Command::Target(r)) => {
                s.target = r;
                s.stale = true;
                s.retarget();
                failed = false;
                if paused {
                    // Show the new mask filled by the weights as they are.
                    if let Err(e) = s.refill() {
                        let _ = s.events.send(FitEvent::Failed(e.to_string()));
                    }
                }
                continue;
            }
            Ok(Command::Pause(p)) => {
                paused = p;
                continue;
            }
            Ok(Command::Save(path)) => {
                s.save(path);
                continue;
            }
            Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => {}
        }
        if let Err(e) = s.advance() {
            failed = true;
            if s.events.send(FitEvent::Failed(e.to_string())).is_err() {
                return;
            }
        }
    }
}

impl Fitting {
    fn planes(&self) -> Planes {
        Planes::from_rgb(&self.target.image)
    }

    /// Points the fitter at the current target, keeping its weights when
    /// it can (the crops must fit the new image); else the next step starts
    /// a new fit.
    fn retarget(&mut self) {
        let planes = self.planes();
        if let Some(f) = &mut self.fitter {
            if f.set_image(&planes, &self.target.holes).is_err() {
                self.fitter = None;
            }
        }
    }

    /// One step, then a refreshed fill when it is due.
    fn advance(&mut self) -> crate::Result<()> {
        if self.fitter.is_none() {
            let planes = self.planes();
            self.fitter = Some(Fitter::new(
                &self.gpu,
                &planes,
                &self.target.holes,
                self.opts,
            )?);
            self.fill = None;
        }
        let fitter = self.fitter.as_mut().expect("made above");
        let step = fitter.step()?;
        let _ = self.events.send(FitEvent::Step {
            step: step.step,
            losses: step.losses,
        });
        let due = self
            .last_fill
            .is_none_or(|(t, took)| t.elapsed() >= REFRESH.max(3 * took));
        if due || (self.stale && step.step % 10 == 0) {
            self.refill()?;
        }
        Ok(())
    }

    /// Fills the target's holes with the network as it stands.
    fn refill(&mut self) -> crate::Result<()> {
        let Some(fitter) = &self.fitter else {
            return Ok(());
        };
        let started = Instant::now();
        let ck = fitter.checkpoint()?;
        let step = fitter.steps();
        match &mut self.fill {
            Some(Method::PConv(m)) => m.set_weights(ck)?,
            _ => self.fill = Some(Method::PConv(Box::new(PConvModel::new(&self.gpu, ck)))),
        }
        let method = self.fill.as_mut().expect("set above");
        let result = fill(
            method,
            &self.target.image,
            &self.target.holes,
            self.textures,
        )
        .map_err(|e| e.to_string());
        let finished = Finished {
            document: self.target.document,
            revision: self.target.revision,
            result,
            seconds: started.elapsed().as_secs_f64(),
            method: "fit",
        };
        self.last_fill = Some((Instant::now(), started.elapsed()));
        self.stale = false;
        let _ = self.events.send(FitEvent::Result { step, finished });
        Ok(())
    }

    fn save(&mut self, path: PathBuf) {
        let saved = match &self.fitter {
            None => Err("nothing fitted yet".to_string()),
            Some(f) => f
                .checkpoint()
                .and_then(|ck| ck.write(&path))
                .map(|()| path)
                .map_err(|e| e.to_string()),
        };
        let _ = self.events.send(FitEvent::Saved(saved));
    }
}
