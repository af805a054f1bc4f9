//! The six loss terms and the total for one image at its own size (what
//! `pconv eval` reports next to the metrics), computed on the GPU with the
//! same graph ops as training.
use super::cache::SizeCache;
use crate::error::Result;
use crate::gpu::{Executor, GpuContext};
use crate::graph::{Graph, TensorId};
use crate::loss::{inpainting_loss, LossTerms, Vgg, VggConfig, VggWeights};
use crate::raster::planes::{padded_known_mask, Planes};
use crate::raster::HoleMap;

const CACHED_SIZES: usize = 3;

struct LossGraph {
    output: TensorId,
    image: TensorId,
    mask: TensorId,
    terms: Vec<TensorId>,
    exec: Executor,
}

pub struct LossEvaluator {
    ctx: GpuContext,
    vgg: VggWeights,
    graphs: SizeCache<LossGraph>,
}

impl LossEvaluator {
    pub fn new(ctx: &GpuContext, vgg: VggWeights) -> Self {
        LossEvaluator {
            ctx: ctx.clone(),
            vgg,
            graphs: SizeCache::new(CACHED_SIZES),
        }
    }

    fn graph_for(&mut self, width: usize, height: usize) -> Result<&LossGraph> {
        let (ctx, vgg_weights) = (&self.ctx, &self.vgg);
        self.graphs.get_or_make((width, height), || {
            let mut g = Graph::new();
            let output = g.input("output", &[1, 3, height, width]);
            let image = g.input("image", &[1, 3, height, width]);
            let mask = g.input("mask", &[1, 1, height, width]);
            let vgg = Vgg::declare(&mut g, VggConfig::VGG16, vgg_weights.preprocess);
            let losses = inpainting_loss(&mut g, &vgg, output, image, mask)?;
            let terms: Vec<TensorId> = losses.to_array().to_vec();
            let exec = Executor::new(ctx, &g, &terms)?;
            for (t, v) in vgg_weights.values_for(&vgg) {
                exec.write(t, v)?;
            }
            Ok(LossGraph {
                output,
                image,
                mask,
                terms,
                exec,
            })
        })
    }

    /// The loss terms of the prediction `output` of `image` with `holes`.
    /// for the prediction `output` of `image` with `holes`.
    pub fn losses(
        &mut self,
        output: &Planes,
        image: &Planes,
        holes: &HoleMap,
    ) -> Result<LossTerms<f64>> {
        if image.width.min(image.height) < Vgg::MIN_SIDE {
            return Err(crate::Error::Invalid(format!(
                "the image is {}x{}, but the VGG loss terms need at least {m}x{m} pixels (run without --losses)",
                image.width,
                image.height,
                m = Vgg::MIN_SIDE
            )));
        }
        let g = self.graph_for(image.width, image.height)?;
        g.exec.write(g.output, &output.data)?;
        g.exec.write(g.image, &image.data)?;
        g.exec
            .write(g.mask, &padded_known_mask(holes, image.width, image.height))?;
        let values = g.exec.run_with_scalars(&g.terms).wait()?;
        LossTerms::from_slice(&values)
            .map(|l| l.map(f64::from))
            .ok_or_else(|| crate::Error::Invalid("too few loss terms read back".into()))
    }
}
