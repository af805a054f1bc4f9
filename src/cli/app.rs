//! `pconv app` (and `pconv` with no command): the desktop window.
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::method::{asset, bundled_model, MethodArg};
use pconv::app::ui::{self, LaunchOptions, MethodChoice};
use pconv::infer::Classical;

/// The photo the window opens on when none is given (public domain, see
/// assets/samples/README.md).
const SAMPLE: &str = "samples/astronaut-face.png";

#[derive(clap::Args, Default)]
pub struct AppArgs {
    /// The image to open [default: the bundled sample photo].
    image: Option<PathBuf>,
    #[arg(long, visible_alias = "checkpoint", help = super::method::MODEL_HELP)]
    model: Option<String>,
    /// A mask to start from (white = hole; resized to the image if needed).
    #[arg(long)]
    mask: Option<PathBuf>,
    /// How holes are filled [default: the last run's method, else pconv].
    #[arg(long, value_enum)]
    method: Option<MethodArg>,
    /// Run inpainting on the window's own device even on a software
    /// adapter (lavapipe), so results are drawn straight from GPU textures;
    /// the window then pauses while each inpainting runs. GPUs always share.
    #[arg(long)]
    share_device: bool,
}

pub fn launch_options(a: AppArgs) -> Result<LaunchOptions> {
    let image = match a.image.or_else(|| asset(SAMPLE)) {
        Some(p) => p,
        None => bail!("no image given and the sample assets/{SAMPLE} was not found"),
    };
    let bundled = bundled_model();
    // No model at all (an install without assets): Telea.
    let default_method = match &bundled {
        Some(p) => MethodChoice::Model(p.clone()),
        None => MethodChoice::Classical(Classical::Telea),
    };
    let model = a
        .model
        .as_deref()
        .map(pconv::model::bundled::resolve)
        .transpose()?;
    let method = match (a.method, model) {
        (None, None) => None,
        (Some(MethodArg::Telea), _) => Some(MethodChoice::Classical(Classical::Telea)),
        (Some(MethodArg::Ns), _) => Some(MethodChoice::Classical(Classical::NavierStokes)),
        (Some(MethodArg::Biharmonic), _) => Some(MethodChoice::Classical(Classical::Biharmonic)),
        (Some(MethodArg::Fsr), _) => Some(MethodChoice::Classical(Classical::Fsr)),
        (Some(MethodArg::FsrBest), _) => Some(MethodChoice::Classical(Classical::FsrBest)),
        (Some(MethodArg::Fit), _) => Some(MethodChoice::Fit),
        (Some(MethodArg::Pconv) | None, Some(p)) => Some(MethodChoice::Model(p)),
        (Some(MethodArg::Pconv), None) => Some(default_method.clone()),
    };
    Ok(LaunchOptions {
        image,
        method,
        default_method,
        default_model: bundled,
        mask: a.mask,
        share_device: a.share_device,
    })
}

pub fn run(a: AppArgs) -> Result<()> {
    ui::run(launch_options(a)?)
}
