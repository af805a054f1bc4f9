//! "Fit this image": internal learning of a small PConv-UNet on the one
//! image being inpainted, so no dataset or pretrained model is needed. Each
//! step takes random crops of the image, lays free-form masks over them and
//! trains with the training loss; the image's own holes are unknown truth,
//! which the loss ignores (`TrainStepConfig::ignore_unknown`). Where they
//! lie in a crop the ground truth holds Telea's fill, so the VGG losses see
//! a plausible context there rather than whatever the hole pixels held.
use super::Classical;
use crate::data::masks::free_form_mask;
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::loss::{LossTerms, VggConfig, VggWeights};
use crate::model::{Checkpoint, Mode, SplitMix64, UNetConfig};
use crate::raster::HoleMap;
use crate::raster::Planes;

use crate::train::session::TrainSession;
use crate::train::TrainStepConfig;

/// Telea's neighbourhood radius for the context fill of the unknown pixels.
const FILL_RADIUS: usize = 5;

/// Hole ratios of the masks laid over the crops.
const MASK_RATIOS: (f64, f64) = (0.05, 0.5);

#[derive(Clone, Copy, Debug)]
pub struct FitOptions {
    pub net: UNetConfig,
    /// Side of the square crops (reduced to fit the image).
    pub crop: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
}

impl FitOptions {
    /// Levels 4, width 0.25 (channels 16 … 128), a learning rate above the
    /// paper's (one image is learned quickly). On a GPU eight 64×64 crops
    /// per step; on a CPU adapter two 32×32 ones, which lavapipe steps
    /// through in about 2 s (VGG's features of the crops cost the most), so
    /// the result takes shape within a minute.
    pub fn for_adapter(cpu: bool) -> Self {
        let (crop, batch) = if cpu { (32, 2) } else { (64, 8) };
        FitOptions {
            net: UNetConfig {
                levels: 4,
                width: 0.25,
            },
            crop,
            batch,
            lr: 1e-3,
            seed: 0,
        }
    }
}

/// The loss terms of one fitting step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitStep {
    pub step: u64,
    pub losses: LossTerms<f32>,
}

impl FitStep {
    pub fn total(&self) -> f32 {
        self.losses.total
    }
}

pub struct Fitter {
    session: TrainSession,
    /// The image with its holes filled by Telea.
    target: Planes,
    holes: HoleMap,
    crop: usize,
    batch: usize,
    lr: f64,
    rng: SplitMix64,
    steps: u64,
}

impl Fitter {
    /// A fresh network (seeded Kaiming weights) for `image` with `holes`.
    pub fn new(
        ctx: &GpuContext,
        image: &Planes,
        holes: &HoleMap,
        opts: FitOptions,
    ) -> Result<Self> {
        let crop = crop_side(image, opts.net, opts.crop)?;
        // Bad input is refused before any GPU work.
        let target = fill_target(image, holes, crop)?;
        let vgg_weights = VggWeights::bundled()?;
        let session = TrainSession::compile(
            ctx,
            &TrainStepConfig {
                net: opts.net,
                vgg: VggConfig::VGG16,
                preprocess: vgg_weights.preprocess,
                batch: opts.batch.max(1),
                height: crop,
                width: crop,
                mode: Mode::Train,
                ignore_unknown: true,
                ema: None,
                accumulate: false,
                loss_scaling: ctx.precision() == crate::gpu::Precision::Mixed,
            },
            false,
        )?;
        session.upload_vgg(&vgg_weights)?;
        session.upload_initial_weights(opts.seed)?;
        Ok(Fitter {
            session,
            target,
            holes: holes.clone(),
            crop,
            batch: opts.batch.max(1),
            lr: opts.lr,
            rng: SplitMix64(opts.seed ^ 0x6669_7431),
            steps: 0,
        })
    }

    /// Continues on a changed mask (or image) with the weights learned so
    /// far; the crops must still fit.
    pub fn set_image(&mut self, image: &Planes, holes: &HoleMap) -> Result<()> {
        self.target = fill_target(image, holes, self.crop)?;
        self.holes = holes.clone();
        Ok(())
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    pub fn crop(&self) -> usize {
        self.crop
    }

    /// One optimiser step on a fresh batch of crops; waits for its losses.
    pub fn step(&mut self) -> Result<FitStep> {
        let (c, n) = (self.crop, self.batch);
        let (w, h) = (self.target.width, self.target.height);
        let mut images = vec![0.0f32; n * 3 * c * c];
        let mut masks = vec![0.0f32; n * c * c];
        let mut unknown = vec![0.0f32; n * c * c];
        for b in 0..n {
            let x0 = (self.rng.uniform() * (w - c + 1) as f64) as usize;
            let y0 = (self.rng.uniform() * (h - c + 1) as f64) as usize;
            let laid = free_form_mask(c, c, MASK_RATIOS.0, MASK_RATIOS.1, &mut self.rng);
            for y in 0..c {
                for x in 0..c {
                    let at = (y0 + y) * w + x0 + x;
                    let i = (b * c + y) * c + x;
                    let user_hole = self.holes.holes[at];
                    unknown[i] = if user_hole { 1.0 } else { 0.0 };
                    masks[i] = if user_hole || laid.holes[y * c + x] {
                        0.0
                    } else {
                        1.0
                    };
                    for ch in 0..3 {
                        images[((b * 3 + ch) * c + y) * c + x] =
                            self.target.data[(ch * h + y0 + y) * w + x0 + x];
                    }
                }
            }
        }
        let unknown_id = self
            .session
            .step
            .unknown
            .expect("a fitting step has the unknown input");
        self.session.write_batch(&images, &masks)?;
        self.session.exec.write(unknown_id, &unknown)?;
        let values = self.session.submit(self.lr, self.steps + 1)?.wait()?;
        self.steps += 1;
        let losses = LossTerms::from_slice(&values)
            .ok_or_else(|| Error::Invalid("the step read back too few loss terms".into()))?;
        if !losses.is_finite() {
            return Err(Error::Invalid(format!(
                "fitting diverged at step {} (loss {})",
                self.steps, losses.total
            )));
        }
        Ok(FitStep {
            step: self.steps,
            losses,
        })
    }

    /// The fitted network as a checkpoint (with its Adam state).
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        self.session
            .step
            .download_checkpoint(&self.session.exec, self.steps)
    }
}

/// The image to fit, its holes filled by Telea, after checking that it can
/// be fitted with `crop`×`crop` crops.
fn fill_target(image: &Planes, holes: &HoleMap, crop: usize) -> Result<Planes> {
    if (holes.width, holes.height) != (image.width, image.height) {
        return Err(Error::Invalid(format!(
            "the mask is {}x{}, the image {}x{}",
            holes.width, holes.height, image.width, image.height
        )));
    }
    if image.width < crop || image.height < crop {
        return Err(Error::Invalid(format!(
            "the image ({}x{}) is smaller than the fitted network's {crop}x{crop} crops",
            image.width, image.height
        )));
    }
    if holes.holes.iter().all(|&h| h) {
        return Err(Error::Invalid(
            "every pixel is a hole: nothing known to learn from".into(),
        ));
    }
    // OpenCV's Telea reads a few pixels under the holes next to the image
    // border; the fit must not learn from them, so they are cleared first.
    let mut known = image.clone();
    let plane = image.width * image.height;
    for (i, _) in holes.holes.iter().enumerate().filter(|(_, &h)| h) {
        for c in 0..3 {
            known.data[c * plane + i] = 0.0;
        }
    }
    Classical::Telea.predict(&known, holes, FILL_RADIUS)
}

/// The crop side: `wanted` reduced to the image and to a multiple of the
/// network's 2^levels.
fn crop_side(image: &Planes, net: UNetConfig, wanted: usize) -> Result<usize> {
    let m = net.multiple();
    let side = wanted.min(image.width).min(image.height) / m * m;
    if side == 0 {
        return Err(Error::Invalid(format!(
            "the image ({}x{}) is smaller than {m}x{m}, the least a {}-level network can fit",
            image.width, image.height, net.levels
        )));
    }
    Ok(side)
}
