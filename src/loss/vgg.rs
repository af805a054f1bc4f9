use crate::error::Result;
use crate::graph::{Graph, TensorId};

/// How an RGB image in [0, 1] is normalised before conv1_1 (the weights'
/// `preprocess` metadata).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preprocess {
    /// (x − ImageNet mean) / std: torchvision / timm weights.
    Torch,
    /// 255·x − [123.68, 116.779, 103.939]: Oxford/Caffe weights.
    Caffe,
}

impl Preprocess {
    /// Per-channel (scale, shift) with x' = x·scale + shift.
    pub fn affine(self) -> ([f32; 3], [f32; 3]) {
        match self {
            Preprocess::Torch => {
                let mean = [0.485f64, 0.456, 0.406];
                let std = [0.229f64, 0.224, 0.225];
                (
                    [0, 1, 2].map(|c| (1.0 / std[c]) as f32),
                    [0, 1, 2].map(|c| (-mean[c] / std[c]) as f32),
                )
            }
            Preprocess::Caffe => ([255.0; 3], [-123.68, -116.779, -103.939]),
        }
    }
}

/// Channel counts of the three VGG blocks (64, 128, 256 for VGG-16; tests
/// use narrower ones).
#[derive(Clone, Copy, Debug)]
pub struct VggConfig {
    pub channels: [usize; 3],
}

impl VggConfig {
    pub const VGG16: VggConfig = VggConfig {
        channels: [64, 128, 256],
    };

    /// (C_in, C_out) of conv1_1 … conv3_3 (torchvision features.{0,2,5,7,10,12,14}).
    pub fn convs(&self) -> [(usize, usize); 7] {
        let [a, b, c] = self.channels;
        [(3, a), (a, a), (a, b), (b, b), (b, c), (c, c), (c, c)]
    }
}

/// torchvision indices of conv1_1 … conv3_3 in `features`.
pub const VGG_CONV_INDICES: [usize; 7] = [0, 2, 5, 7, 10, 12, 14];

/// Frozen VGG-16 feature extractor declared on a graph.
#[derive(Clone, Debug)]
pub struct Vgg {
    pub config: VggConfig,
    pub preprocess: Preprocess,
    /// (weight, bias) of conv1_1 … conv3_3, named `features.{i}.weight/bias`.
    pub convs: Vec<(TensorId, TensorId)>,
}

impl Vgg {
    pub fn declare(g: &mut Graph, config: VggConfig, preprocess: Preprocess) -> Self {
        let convs = config
            .convs()
            .iter()
            .zip(VGG_CONV_INDICES)
            .map(|(&(ci, co), idx)| {
                (
                    g.param(&format!("features.{idx}.weight"), &[co, ci, 3, 3], false),
                    g.param(&format!("features.{idx}.bias"), &[co], false),
                )
            })
            .collect();
        Vgg {
            config,
            preprocess,
            convs,
        }
    }

    /// The smallest image side the features take: three 2x2 poolings each
    /// need at least two rows and columns.
    pub const MIN_SIDE: usize = 8;

    /// [pool1, pool2, pool3] of an image batch [N,3,H,W] in [0, 1].
    pub fn features(&self, g: &mut Graph, image: TensorId) -> Result<[TensorId; 3]> {
        let (scale, shift) = self.preprocess.affine();
        let mut h = g.channel_affine(image, scale, shift)?;
        let mut pools = Vec::with_capacity(3);
        let mut conv = self.convs.iter();
        for block_convs in [2, 2, 3] {
            for _ in 0..block_convs {
                let &(w, b) = conv.next().expect("seven convs");
                h = g.conv2d(h, w, Some(b), 1, 1)?;
                h = g.relu(h)?;
            }
            h = g.max_pool2(h)?;
            pools.push(h);
        }
        Ok([pools[0], pools[1], pools[2]])
    }
}

/// The bundled ImageNet VGG-16 weights (conv1_1 … conv3_3, CC BY 4.0).
pub const DEFAULT_VGG_WEIGHTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/vgg16-conv1_1-conv3_3.safetensors"
);

static BUNDLED_VGG_BYTES: &[u8] = include_bytes!("../../assets/vgg16-conv1_1-conv3_3.safetensors");

/// VGG-16 weights read from a safetensors file (torchvision names).
#[derive(Clone, Debug)]
pub struct VggWeights {
    pub preprocess: Preprocess,
    /// (weight, bias) of conv1_1 … conv3_3.
    pub convs: Vec<(
        crate::io::safetensors::Tensor,
        crate::io::safetensors::Tensor,
    )>,
}

impl VggWeights {
    /// Reads `features.{0,2,5,7,10,12,14}.{weight,bias}` and the
    /// `preprocess` metadata ("torch" when absent); other tensors are ignored.
    pub fn read(path: &std::path::Path, config: VggConfig) -> Result<Self> {
        Self::from_file(
            path,
            &crate::io::safetensors::SafeTensors::read(path)?,
            config,
        )
    }

    /// The bundled VGG-16 weights, built into the binary so that it runs
    /// from anywhere.
    pub fn bundled() -> Result<Self> {
        let path = std::path::Path::new(DEFAULT_VGG_WEIGHTS);
        let file = crate::io::safetensors::SafeTensors::parse(path, BUNDLED_VGG_BYTES)?;
        Self::from_file(path, &file, VggConfig::VGG16)
    }

    /// `path` when given, else the bundled weights.
    pub fn read_or_bundled(path: Option<&std::path::Path>) -> Result<Self> {
        match path {
            Some(p) => Self::read(p, VggConfig::VGG16),
            None => Self::bundled(),
        }
    }

    fn from_file(
        path: &std::path::Path,
        file: &crate::io::safetensors::SafeTensors,
        config: VggConfig,
    ) -> Result<Self> {
        let preprocess = match file.metadata.get("preprocess").map(String::as_str) {
            None | Some("torch") => Preprocess::Torch,
            Some("caffe") => Preprocess::Caffe,
            Some(other) => {
                return Err(crate::error::Error::Invalid(format!(
                    "{}: unknown VGG preprocess {other:?} (expected \"torch\" or \"caffe\")",
                    path.display()
                )))
            }
        };
        let mut convs = Vec::new();
        for (&(ci, co), idx) in config.convs().iter().zip(VGG_CONV_INDICES) {
            let w = file.expect(path, &format!("features.{idx}.weight"), &[co, ci, 3, 3])?;
            let b = file.expect(path, &format!("features.{idx}.bias"), &[co])?;
            convs.push((w.clone(), b.clone()));
        }
        Ok(VggWeights { preprocess, convs })
    }

    /// (tensor, values) pairs to upload for a VGG declared on a graph.
    pub fn values_for<'a>(&'a self, vgg: &Vgg) -> Vec<(TensorId, &'a [f32])> {
        vgg.convs
            .iter()
            .zip(&self.convs)
            .flat_map(|(&(w, b), (wv, bv))| [(w, wv.data.as_slice()), (b, bv.data.as_slice())])
            .collect()
    }
}
