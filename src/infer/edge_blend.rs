//! The network's fill blended with a classical fill by depth: near a
//! hole's edge the known pixels a few pixels away say nearly everything,
//! and a classical fill from them beats a network fill there (of a 128²
//! face, or of a photo the face model was not made for); deep in a hole
//! the network wins. So each hole pixel d pixels from the nearest known
//! pixel (Euclidean, pixel centres) takes
//!   fill = band + min(1, (d - 1) / (depth - 1)) · (network - band),
//! band the classical fill (biharmonic inpainting and FSR, mixed; see
//! `EdgeBand`) of the hole pixels less than `depth` deep, made between
//! the known pixels outside and the network's fill deeper in (so its
//! work grows with the holes' edges, not their area, and it bends towards
//! what the network paints).
//! Pixels touching a known pixel (d = 1) take the classical fill alone:
//! there even a small share of the network's colour noise costs more
//! than it brings. The ramp leaves no seam where one gives way to the
//! other. Measured in docs/measurements.md.
use super::classical::{biharmonic, Classical};
use crate::error::{Error, Result};
use crate::raster::{HoleMap, Planes};

/// The depth, in pixels, over which the fill goes from the faces' band
/// to the network. Of 16, 24 and 32 with the face model (×2) and
/// biharmonic as the band, PSNR on the held-out faces (two pairings of
/// masks): 31.53 31.50, 31.50 31.42, 31.43 31.35.
pub const DEFAULT_BLEND_DEPTH: usize = 16;

/// The depth for the photos' band. With the face model (×2) on the 80
/// scenes (256²), FSR's band alone at 24, 32 and 48: 25.80, 25.84, 25.81
/// dB; CUrban100 at 32 and 48: 23.68 and 23.68.
pub const PHOTOS_BLEND_DEPTH: usize = 32;

/// The classical fill the network's is blended with near the holes'
/// edges: biharmonic inpainting and opencv-contrib's frequency selective
/// reconstruction (FSR) of the band, each made between the known pixels
/// and the network's fill deeper in, mixed in a measured proportion. The
/// two err differently (biharmonic bends smoothly, FSR continues texture
/// and edges), so a mix beats either alone (docs/measurements.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EdgeBand {
    /// 70 % biharmonic, 30 % FSR, 16 px deep. The face model on the 500
    /// held-out faces: 31.68 dB (biharmonic alone 31.54, FSR alone 30.88).
    #[default]
    Faces,
    /// 15 % biharmonic, 85 % FSR, 32 px deep. The face model on the 80
    /// scenes: 26.02 dB (FSR alone 25.84, biharmonic alone 25.18);
    /// CUrban100 23.71 (23.68, 22.10).
    Photos,
    /// Biharmonic alone, 16 px deep.
    Biharmonic,
    /// FSR alone, 32 px deep.
    Fsr,
}

impl EdgeBand {
    /// FSR's share of the band's fill; biharmonic's is the rest.
    pub fn fsr_share(self) -> f32 {
        match self {
            EdgeBand::Faces => 0.3,
            EdgeBand::Photos => 0.85,
            EdgeBand::Biharmonic => 0.0,
            EdgeBand::Fsr => 1.0,
        }
    }

    /// The depth it was measured best at.
    pub fn default_depth(self) -> usize {
        match self {
            EdgeBand::Faces | EdgeBand::Biharmonic => DEFAULT_BLEND_DEPTH,
            EdgeBand::Photos | EdgeBand::Fsr => PHOTOS_BLEND_DEPTH,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EdgeBand::Faces => "faces",
            EdgeBand::Photos => "photos",
            EdgeBand::Biharmonic => "biharmonic",
            EdgeBand::Fsr => "fsr",
        }
    }

    /// What it blends with: "biharmonic and FSR (30 %)".
    pub fn label(self) -> String {
        match self.fsr_share() {
            0.0 => "biharmonic".into(),
            1.0 => "FSR".into(),
            s => format!("biharmonic and FSR ({:.0} %)", 100.0 * s),
        }
    }
}

/// Blends `fill` (a prediction for every pixel of `image` with `holes`)
/// with the band's fill over the pixels less than `depth` deep; 0 leaves
/// it as it is.
pub fn blend(
    image: &Planes,
    holes: &HoleMap,
    fill: &mut Planes,
    depth: usize,
    with: EdgeBand,
) -> Result<()> {
    if depth == 0 || !holes.holes.contains(&true) {
        return Ok(());
    }
    let distance = holes.squared_distances(false);
    let plane = image.width * image.height;
    let deep = (depth * depth) as u64;
    let mut given = image.clone();
    let mut band = vec![false; plane];
    for (i, _) in holes.holes.iter().enumerate().filter(|(_, &h)| h) {
        band[i] = distance[i] < deep;
        for c in 0..3 {
            given.data[c * plane + i] = fill.data[c * plane + i];
        }
    }
    let share = with.fsr_share();
    let smooth = (share < 1.0)
        .then(|| biharmonic::fill(&given, &band))
        .transpose()
        .map_err(|e| Error::Invalid(format!("{e}, or --edge-blend 0 (the network alone)")))?;
    let fsr = (share > 0.0)
        .then(|| {
            let band = HoleMap {
                width: image.width,
                height: image.height,
                holes: band.clone(),
            };
            Classical::Fsr.predict(&given, &band, 0)
        })
        .transpose()?;
    let edge = match (smooth, fsr) {
        (Some(mut mixed), Some(fsr)) => {
            for (m, f) in mixed.data.iter_mut().zip(&fsr.data) {
                *m = (1.0 - share) * *m + share * f;
            }
            mixed
        }
        (Some(edge), None) | (None, Some(edge)) => edge,
        (None, None) => unreachable!("a share is within [0, 1]"),
    };
    for (i, _) in band.iter().enumerate().filter(|(_, &b)| b) {
        // depth ≥ 2 here: every hole pixel is at least 1 deep, and depth 1
        // leaves the band empty.
        let w = (((distance[i] as f64).sqrt() - 1.0) / (depth - 1) as f64) as f32;
        for c in 0..3 {
            let k = c * plane + i;
            fill.data[k] = edge.data[k] + w * (fill.data[k] - edge.data[k]);
        }
    }
    Ok(())
}
