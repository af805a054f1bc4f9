//! What the app remembers between runs, kept by eframe in a RON file in the
//! user's data folder (on Linux `$XDG_DATA_HOME/pconv/app.ron`) beside the
//! window's size: the brush and view settings, the method, the last model
//! and the last folder. A choice made on the command line wins over a
//! remembered one; a remembered model whose file is gone is forgotten; a
//! file edited by hand is clamped to what the panel offers.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ui::MethodChoice;

/// The storage key of [`Settings`].
pub const KEY: &str = "pconv-settings";

/// Brush radius range of the panel's slider and the `[`/`]` keys.
pub const RADIUS: std::ops::RangeInclusive<f32> = 1.0..=500.0;
pub const GROW_BY: std::ops::RangeInclusive<usize> = 1..=100;
pub const EXTEND_BY: std::ops::RangeInclusive<usize> = 1..=2048;
pub const FEATHER: std::ops::RangeInclusive<usize> = 0..=32;
/// The magic wand's tolerance in levels per channel (0: the clicked colour
/// alone).
pub const WAND_TOLERANCE: std::ops::RangeInclusive<u8> = 0..=128;
/// The depths of the model's edge blend the panel offers (0: off).
pub const EDGE_BLENDS: [usize; 4] = [0, 8, 16, 32];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Brush radius in image pixels.
    pub radius: f32,
    pub overlay_opacity: f32,
    pub overlay_on_result: bool,
    pub grow_by: usize,
    pub extend_by: usize,
    pub feather: usize,
    /// How far, in levels per channel, a pixel's colour may be from the
    /// clicked one's for the magic wand to select it.
    pub wand_tolerance: u8,
    /// The model's self-ensemble of the image and its mirror image.
    pub average_flips: bool,
    /// How deep, in pixels, the model's fill is blended with a classical
    /// fill at the holes' edges (`--edge-blend`; 0: the network alone).
    pub edge_blend: usize,
    /// Which classical fill (`--edge-band`).
    pub edge_band: crate::infer::edge_blend::EdgeBand,
    /// The method in use when the app closed.
    pub method: Option<MethodChoice>,
    /// The model last loaded (also while a classical method is in use).
    pub model: Option<PathBuf>,
    /// Where the file dialogs start.
    pub last_folder: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            radius: 12.0,
            overlay_opacity: 0.5,
            overlay_on_result: false,
            grow_by: 4,
            extend_by: 32,
            feather: 0,
            wand_tolerance: 24,
            average_flips: false,
            edge_blend: crate::infer::edge_blend::DEFAULT_BLEND_DEPTH,
            edge_band: Default::default(),
            method: None,
            model: None,
            last_folder: None,
        }
    }
}

impl Settings {
    /// Every value within the range the panel offers (a NaN takes the
    /// default), models that no longer exist forgotten, and a last folder
    /// that is no longer a folder dropped.
    pub fn sanitized(self) -> Settings {
        let d = Settings::default();
        let clamp_f = |v: f32, r: std::ops::RangeInclusive<f32>, default: f32| {
            if v.is_finite() {
                v.clamp(*r.start(), *r.end())
            } else {
                default
            }
        };
        let clamp_u = |v: usize, r: std::ops::RangeInclusive<usize>| v.clamp(*r.start(), *r.end());
        let exists = |p: &Path| p.is_file();
        Settings {
            radius: clamp_f(self.radius, RADIUS, d.radius),
            overlay_opacity: clamp_f(self.overlay_opacity, 0.0..=1.0, d.overlay_opacity),
            overlay_on_result: self.overlay_on_result,
            grow_by: clamp_u(self.grow_by, GROW_BY),
            extend_by: clamp_u(self.extend_by, EXTEND_BY),
            feather: clamp_u(self.feather, FEATHER),
            wand_tolerance: self
                .wand_tolerance
                .clamp(*WAND_TOLERANCE.start(), *WAND_TOLERANCE.end()),
            average_flips: self.average_flips,
            // One of the panel's choices: the nearest.
            edge_blend: *EDGE_BLENDS
                .iter()
                .min_by_key(|&&d| d.abs_diff(self.edge_blend))
                .expect("choices"),
            edge_band: self.edge_band,
            method: self.method.filter(|m| match m {
                MethodChoice::Model(p) => exists(p),
                MethodChoice::Classical(_) | MethodChoice::Fit => true,
            }),
            model: self.model.filter(|p| exists(p)),
            last_folder: self.last_folder.filter(|p| p.is_dir()),
        }
    }

    /// The method to start with: the command line's when one was given,
    /// else the remembered one, else `default`.
    pub fn start_method(&self, given: Option<MethodChoice>, default: MethodChoice) -> MethodChoice {
        given.or_else(|| self.method.clone()).unwrap_or(default)
    }

    /// The model to show in the model field: the one in use, else the one
    /// last loaded, else `default`.
    pub fn model_field(&self, method: &MethodChoice, default: Option<&Path>) -> Option<PathBuf> {
        match method {
            MethodChoice::Model(p) => Some(p.clone()),
            _ => self
                .model
                .clone()
                .or_else(|| default.map(Path::to_path_buf)),
        }
    }

    /// Remembers the folder of a file the user opened or saved.
    pub fn remember_folder_of(&mut self, file: &Path) {
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.last_folder = Some(std::fs::canonicalize(parent).unwrap_or(parent.into()));
        }
    }
}
