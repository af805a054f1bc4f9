//! Inpainting off the UI thread: the window keeps drawing while the GPU (or
//! Telea on the CPU) works. Requests carry the mask's revision; while one
//! runs, newer requests replace older waiting ones, so a burst of strokes
//! costs one extra run, not one per stroke.
use std::borrow::Cow;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;

use crate::infer::display::GpuComposite;
use crate::infer::{large, Ensemble, Method};
use crate::raster::HoleMap;
use crate::raster::Planes;

/// Above this side, inpainting works on a crop around the holes (see
/// `infer::large`), as `pconv inpaint` does by default.
pub const MAX_SIDE: usize = 1024;

pub struct Request {
    /// Which document asked (a result for a photo closed since is dropped).
    pub document: u64,
    pub revision: u64,
    pub image: Arc<RgbImage>,
    pub holes: HoleMap,
    /// Pixels over which the fill blends into the known ones (0: none).
    pub feather: usize,
}

/// An inpainted composite: a texture on the window's device when the
/// engine shares it (drawn as is, read back only to be saved), else an
/// image (Telea, photos inpainted by crops, an engine on its own device).
#[derive(Clone)]
pub enum Composite {
    Image(Arc<RgbImage>),
    Texture(Arc<GpuComposite>),
}

impl Composite {
    /// The pixels (a texture is read back: for saving, not for showing).
    pub fn image(&self) -> crate::Result<Cow<'_, RgbImage>> {
        match self {
            Composite::Image(img) => Ok(Cow::Borrowed(img)),
            Composite::Texture(t) => t.read().map(Cow::Owned),
        }
    }
}

/// Fills `holes` of `image` with `method`. With `textures`, a PConv model
/// leaves the composite on its device as a texture.
pub fn fill(
    method: &mut Method,
    image: &RgbImage,
    holes: &HoleMap,
    textures: bool,
) -> crate::Result<Composite> {
    fill_feathered(method, image, holes, textures, 0)
}

/// `fill` with the composite's edge feathered over `feather` pixels (a
/// feathered composite is made on the CPU, as an image).
pub fn fill_feathered(
    method: &mut Method,
    image: &RgbImage,
    holes: &HoleMap,
    textures: bool,
    feather: usize,
) -> crate::Result<Composite> {
    let side = image.width().max(image.height()) as usize;
    match method {
        // The texture path is the network's one forward pass at full size;
        // an ensemble averages, the blend with biharmonic runs, and an
        // image past the net side is downscaled, on the CPU.
        Method::PConv(model)
            if textures
                && side <= MAX_SIDE
                && model.net_side().is_none_or(|s| side <= s)
                && feather == 0
                && model.ensemble() == Ensemble::SINGLE
                && model.blend_depth() == 0 =>
        {
            match model.composite_texture(&Planes::from_rgb(image), holes) {
                Ok(shown) => return Ok(Composite::Texture(Arc::new(shown))),
                // Past the device's limits at full size: the image path
                // runs the network downscaled.
                Err(e) if e.is_too_large() => {}
                Err(e) => return Err(e),
            }
        }
        _ => {}
    }
    large::inpaint_feathered(method, image, holes, MAX_SIDE, feather)
        .map(|i| Composite::Image(Arc::new(i)))
}

pub struct Finished {
    pub document: u64,
    pub revision: u64,
    /// The composite, or why it failed.
    pub result: Result<Composite, String>,
    pub seconds: f64,
    /// The method that produced it ("pconv", "telea").
    pub method: &'static str,
}

enum Job {
    Run(Request),
    SetMethod(Method),
}

/// A finished run and how many requests it answered (itself and the older
/// ones it replaced).
struct Report {
    finished: Finished,
    answered: usize,
}

/// While a stroke goes on, the inpainting reruns at most this often (and
/// only once the last run is done), so the fill follows the brush.
pub const DRAWING_INTERVAL: std::time::Duration = std::time::Duration::from_millis(150);

/// The worker thread and its mailbox.
pub struct Inpainter {
    jobs: Sender<Job>,
    done: Receiver<Report>,
    in_flight: usize,
    last_request: Option<Instant>,
}

impl Inpainter {
    /// With `textures`, results of a PConv model stay on its device (the
    /// window's) as textures.
    pub fn start(method: Method, textures: bool) -> Self {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel();
        std::thread::Builder::new()
            .name("pconv-inpaint".into())
            .spawn(move || serve(method, textures, job_rx, done_tx))
            .expect("spawning the inpainting thread");
        Inpainter {
            jobs,
            done,
            in_flight: 0,
            last_request: None,
        }
    }

    pub fn request(&mut self, req: Request) {
        if self.jobs.send(Job::Run(req)).is_ok() {
            self.in_flight += 1;
            self.last_request = Some(Instant::now());
        }
    }

    /// True when nothing is in flight and the last request is at least
    /// `interval` old: the moment for a throttled update while drawing.
    pub fn idle_for(&self, interval: std::time::Duration) -> bool {
        !self.busy() && self.last_request.is_none_or(|t| t.elapsed() >= interval)
    }

    /// Requests from now on use `method`.
    pub fn set_method(&mut self, method: Method) {
        let _ = self.jobs.send(Job::SetMethod(method));
    }

    /// True while requests are queued or running.
    pub fn busy(&self) -> bool {
        self.in_flight > 0
    }

    /// The newest result that arrived since the last call, if any.
    pub fn poll(&mut self) -> Option<Finished> {
        let mut newest = None;
        while let Ok(r) = self.done.try_recv() {
            self.in_flight = self.in_flight.saturating_sub(r.answered);
            newest = Some(r.finished);
        }
        newest
    }

    /// Blocks until every request has been answered; returns the newest
    /// result (scripted runs and tests).
    pub fn wait(&mut self) -> Option<Finished> {
        let mut newest = None;
        while self.in_flight > 0 {
            let Ok(r) = self.done.recv() else { break };
            self.in_flight = self.in_flight.saturating_sub(r.answered);
            newest = Some(r.finished);
        }
        newest
    }
}

fn serve(mut method: Method, textures: bool, jobs: Receiver<Job>, done: Sender<Report>) {
    while let Ok(job) = jobs.recv() {
        let mut latest = match job {
            Job::SetMethod(m) => {
                method = m;
                continue;
            }
            Job::Run(r) => r,
        };
        // Skip to the newest waiting request; apply method switches in order.
        let mut answered = 1;
        while let Ok(job) = jobs.try_recv() {
            match job {
                Job::SetMethod(m) => method = m,
                Job::Run(r) => {
                    latest = r;
                    answered += 1;
                }
            }
        }
        let started = Instant::now();
        let result = fill_feathered(
            &mut method,
            &latest.image,
            &latest.holes,
            textures,
            latest.feather,
        )
        .map_err(|e| e.to_string());
        let finished = Finished {
            document: latest.document,
            revision: latest.revision,
            result,
            seconds: started.elapsed().as_secs_f64(),
            method: method.name(),
        };
        if done.send(Report { finished, answered }).is_err() {
            return;
        }
    }
}
