//! The PConv-UNet in evaluation mode on the GPU: one forward graph per
//! padded image size, built on first use and kept for the next images.
use super::cache::SizeCache;
use super::display::{CompositeSources, GpuComposite};
use super::ensemble::Ensemble;
use crate::error::Result;
use crate::gpu::{Executor, GpuContext};
use crate::graph::{Graph, TensorId};
use crate::model::{Checkpoint, Mode, UNet};
use crate::raster::planes::{padded_known_mask, Planes};
use crate::raster::HoleMap;

/// Forward graphs kept for different sizes (each holds its GPU buffers).
const CACHED_SIZES: usize = 3;

struct Forward {
    net: UNet,
    image: TensorId,
    mask: TensorId,
    output: TensorId,
    exec: Executor,
}

pub struct PConvModel {
    ctx: GpuContext,
    checkpoint: Checkpoint,
    forwards: SizeCache<Forward>,
    ensemble: Ensemble,
    /// The longest side the network runs at on this device, once an image
    /// was found too large for it (a tensor past the binding limit, or
    /// memory); larger images run downscaled.
    max_side: Option<usize>,
    progress: Option<super::ProgressFn>,
    /// The depth over which the fill goes from biharmonic at a hole's
    /// edge to the network (`edge_blend`); 0: the network alone.
    blend_depth: usize,
    /// What the network's fill is blended with there.
    blend_band: super::edge_blend::EdgeBand,
    /// The longest side the network works at (`net_side`); None: the
    /// image's own size.
    net_side: Option<usize>,
}

/// The longest side a model works at by default: the largest scale of
/// image it was trained on, `train.size` times the upper bound of its
/// `train.crop_scale` (1 without one), so the holes it fills are near the
/// sizes of those it learned; None for a checkpoint without `train.size`
/// (or with training metadata it cannot read: inference does not depend
/// on it).
/// The face model (128² faces) works at 128. Measured against running it
/// at the image's size (docs/measurements.md): the held-out faces
/// upscaled to 256², 32.38 against 31.37 dB; photos, where at full size
/// it paints hair and eyes into large holes, 25.16 against 24.98 (80
/// scenes at 256²), 22.08 against 21.88 (CUrban100 at 256²), 20.60
/// against 19.81 (CUrban100 at about 1024 px), and on three 3000×2000
/// photos with objects removed 25.7, 18.0 and 23.3 dB over the holes
/// against 17.8, 17.0 and 10.9 (the network at up to 1024 px). The
/// held-out faces at 128² are unchanged.
pub fn default_net_side(checkpoint: &Checkpoint) -> Option<usize> {
    let run = crate::train::run_config::RunMetadata::read(&checkpoint.extra).ok()?;
    let scale = match run.crop {
        Some(crate::data::images::Crop::Scale { max, .. }) => max,
        _ => 1.0,
    };
    run.size
        .filter(|&s| s > 0)
        .map(|s| (s as f64 * scale).round() as usize)
}

impl PConvModel {
    /// A model in evaluation mode: one pass (no ensemble), no edge blend,
    /// the network at most at `default_net_side` of the checkpoint.
    pub fn new(ctx: &GpuContext, checkpoint: Checkpoint) -> Self {
        PConvModel {
            ctx: ctx.clone(),
            net_side: default_net_side(&checkpoint),
            checkpoint,
            forwards: SizeCache::new(CACHED_SIZES),
            ensemble: Ensemble::SINGLE,
            max_side: None,
            progress: None,
            blend_depth: 0,
            blend_band: Default::default(),
        }
    }

    /// The longest side the network works at: larger images (or crops)
    /// are downscaled for it from their known pixels, and its fill is
    /// upscaled back (the edge blend runs at full size); None: the image's
    /// own size.
    pub fn set_net_side(&mut self, side: Option<usize>) {
        self.net_side = side;
    }

    pub fn net_side(&self) -> Option<usize> {
        self.net_side
    }

    /// Blends the network's fill with biharmonic over `depth` pixels
    /// from each hole's edge (see `edge_blend`); 0 (a new model's): the
    /// network alone.
    pub fn set_blend_depth(&mut self, depth: usize) {
        self.blend_depth = depth;
    }

    /// What the network's fill is blended with near the edges.
    pub fn set_blend_band(&mut self, band: super::edge_blend::EdgeBand) {
        self.blend_band = band;
    }

    pub fn blend_band(&self) -> super::edge_blend::EdgeBand {
        self.blend_band
    }

    /// 0: `predict` is the network's output (so the GPU's composite of it
    /// is the result).
    pub fn blend_depth(&self) -> usize {
        self.blend_depth
    }

    /// How many flips/rotations of the image `predict` averages (one
    /// forward pass each); a new model runs the image alone.
    pub fn set_ensemble(&mut self, ensemble: Ensemble) {
        self.ensemble = ensemble;
    }

    /// Told (pass, passes) after each forward pass of `predict`.
    pub fn set_progress(&mut self, progress: Option<super::ProgressFn>) {
        self.progress = progress;
    }

    pub fn ensemble(&self) -> Ensemble {
        self.ensemble
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// New weights (a network still being fitted): uploaded into the graphs
    /// already built when the configuration is the same, else those are
    /// dropped.
    pub fn set_weights(&mut self, checkpoint: Checkpoint) -> Result<()> {
        if checkpoint.config == self.checkpoint.config {
            for f in self.forwards.values() {
                f.net.upload(&f.exec, &checkpoint)?;
            }
        } else {
            self.forwards = SizeCache::new(CACHED_SIZES);
        }
        self.checkpoint = checkpoint;
        Ok(())
    }

    /// Dispatches and planned GPU bytes of the last forward run.
    pub fn last_run_stats(&self) -> Option<(usize, u64)> {
        self.forwards
            .front()
            .map(|f| (f.exec.dispatch_count(), f.exec.plan().planned_bytes()))
    }

    /// Time per dispatch of the last forward graph run (`Executor::profile`).
    pub fn profile_last_run(&self) -> Option<Result<crate::gpu::executor::Profile>> {
        self.forwards.front().map(|f| f.exec.profile())
    }

    /// The padded size the network runs at for a `width` x `height` image.
    pub fn padded_size(&self, width: usize, height: usize) -> (usize, usize) {
        let m = self.checkpoint.config.multiple();
        (
            width.max(1).next_multiple_of(m),
            height.max(1).next_multiple_of(m),
        )
    }

    fn forward_for(&mut self, width: usize, height: usize) -> Result<&Forward> {
        let (ctx, checkpoint) = (&self.ctx, &self.checkpoint);
        self.forwards.get_or_make((width, height), || {
            let mut g = Graph::new();
            let image = g.input("image", &[1, 3, height, width]);
            let mask = g.input("mask", &[1, 1, height, width]);
            let net = UNet::declare(&mut g, checkpoint.config, Mode::Eval)?;
            let output = net.forward(&mut g, image, mask, Mode::Eval)?;
            // The inputs are kept too: the window's composite reads them.
            let exec = Executor::new(ctx, &g, &[output, image, mask])?;
            net.upload(&exec, checkpoint)?;
            Ok(Forward {
                net,
                image,
                mask,
                output,
                exec,
            })
        })
    }

    /// Uploads an image (padded at the bottom and right with hole pixels)
    /// and its holes into the graph for its padded size.
    fn load(&mut self, image: &Planes, holes: &HoleMap) -> Result<&Forward> {
        let (pw, ph) = self.padded_size(image.width, image.height);
        let input = image.padded(pw, ph);
        let mask = padded_known_mask(holes, pw, ph);
        let f = self.forward_for(pw, ph)?;
        // X = I ⊙ M happens inside the network; hole pixels may hold anything.
        f.exec.write(f.image, &input.data)?;
        f.exec.write(f.mask, &mask)?;
        Ok(f)
    }

    /// The network output I_out for an image and its holes, averaged over
    /// the model's ensemble of flips/rotations.
    pub fn predict(&mut self, image: &Planes, holes: &HoleMap) -> Result<Planes> {
        let ensemble = self.ensemble;
        let (mut done, total) = (0, ensemble.size() as u64);
        let mut fill = ensemble.predict(image, holes, |image, holes| {
            let fill = self.predict_fitting(image, holes);
            done += 1;
            if let Some(p) = &mut self.progress {
                p(done, total);
            }
            fill
        })?;
        super::edge_blend::blend(image, holes, &mut fill, self.blend_depth, self.blend_band)?;
        Ok(fill)
    }

    /// One forward pass at the image's size if the device can run it and
    /// it is within the net side, else on the image downscaled to fit
    /// (by 3/4 per try past the device's limits); the prediction comes
    /// back at the image's size either way. Any image size therefore
    /// works on any adapter, at a lower resolution where the adapter's
    /// limits demand it.
    fn predict_fitting(&mut self, image: &Planes, holes: &HoleMap) -> Result<Planes> {
        let side = image.width.max(image.height);
        loop {
            let limit = self
                .max_side
                .unwrap_or(usize::MAX)
                .min(self.net_side.unwrap_or(usize::MAX));
            let result = if side <= limit {
                self.predict_once(image, holes)
            } else {
                let s = limit as f64 / side as f64;
                let (w, h) = (
                    ((image.width as f64 * s).round() as usize).max(1),
                    ((image.height as f64 * s).round() as usize).max(1),
                );
                let (small, small_holes) = image.shrunk_from_known(holes, w, h);
                self.predict_once(&small, &small_holes)
                    .map(|p| p.resized(image.width, image.height))
            };
            match result {
                Err(e) if e.is_too_large() => {
                    let next = side.min(limit) * 3 / 4;
                    if next < self.checkpoint.config.multiple() {
                        return Err(e);
                    }
                    eprintln!(
                        "note: {e}; the network runs at most {next} px on a side on this device (larger images are downscaled for it, known pixels are kept)"
                    );
                    self.max_side = Some(next);
                }
                other => return other,
            }
        }
    }

    /// One forward pass: the image padded, run, and cropped back.
    fn predict_once(&mut self, image: &Planes, holes: &HoleMap) -> Result<Planes> {
        let (pw, ph) = self.padded_size(image.width, image.height);
        let f = self.load(image, holes)?;
        f.exec.run();
        let out = f.exec.read(f.output)?;
        Ok(Planes {
            width: pw,
            height: ph,
            data: out,
        }
        .cropped(image.width, image.height))
    }

    /// The composite (known pixels kept, holes filled) as a texture on this
    /// model's device, in one submit with the network; returns once the GPU
    /// has finished it. No pixel comes back to the CPU. One forward pass
    /// at the image's own size, whatever the ensemble and net side: this
    /// is the window's live result where neither applies.
    pub fn composite_texture(&mut self, image: &Planes, holes: &HoleMap) -> Result<GpuComposite> {
        let (pw, ph) = self.padded_size(image.width, image.height);
        let ctx = self.ctx.clone();
        let f = self.load(image, holes)?;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        f.exec.encode(&mut encoder);
        let sources = CompositeSources {
            image: f.exec.binding(f.image),
            known: f.exec.binding(f.mask),
            prediction: f.exec.binding(f.output),
            padded_width: pw,
            padded_height: ph,
        };
        let shown = GpuComposite::record(&ctx, &mut encoder, sources, image.width, image.height)?;
        ctx.wait_for(ctx.queue.submit([encoder.finish()]))?;
        Ok(shown)
    }
}
