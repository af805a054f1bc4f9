//! `pconv inpaint`: one image or a folder of them.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::args::{int_in, usize_in};
use super::method::{self, MethodArg};
use super::progress::{self, Progress};
use pconv::data::images::{decode, EXTENSIONS};
use pconv::data::masks::HoleMap;
use pconv::infer::image::{fit_mask, save_atomic_with};
use pconv::infer::{large, Method};
use pconv::io::files::same_file;

#[derive(clap::Args)]
pub struct InpaintArgs {
    /// The model (safetensors checkpoint) [default: the bundled model].
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// An image, or a folder of images (PNG/JPEG/WebP/BMP/TIFF).
    #[arg(long, visible_alias = "images")]
    image: PathBuf,
    /// A mask (white = hole) for the image or for every image of a folder,
    /// or a folder of masks paired with the images by file name (stem).
    #[arg(long, visible_alias = "masks")]
    mask: PathBuf,
    /// The output file (its extension picks the format), or a folder when
    /// --image is a folder.
    #[arg(long, visible_alias = "out")]
    output: PathBuf,
    #[arg(long, value_enum, default_value = "pconv")]
    method: MethodArg,
    #[arg(long, help = method::ENSEMBLE_HELP)]
    ensemble: Option<usize>,
    #[arg(long, help = method::RADIUS_HELP, value_parser = usize_in(1, 100))]
    radius: Option<usize>,
    /// Training steps per image of --method fit.
    #[arg(long, default_value_t = method::DEFAULT_FIT_STEPS, value_parser = int_in(1, 1_000_000))]
    fit_steps: u64,
    /// Images whose longer side exceeds this are inpainted on a crop around
    /// the holes (their bounding box plus a margin of half its size, at
    /// least 32 px); a crop still larger is downscaled for the network and
    /// only the hole pixels take the upscaled result.
    #[arg(long, default_value_t = 1024, value_parser = usize_in(16, 65536))]
    max_side: usize,
    /// Resize a mask of another size to the image (nearest-neighbour)
    /// instead of refusing it.
    #[arg(long)]
    resize_mask: bool,
    /// JPEG quality of a .jpg output, 1 to 100 (JPEG changes the known
    /// pixels too; PNG keeps them exact).
    #[arg(long, default_value_t = 95, value_parser = usize_in(1, 100))]
    quality: usize,
}

/// The images directly in `dir` (regular files only), sorted.
fn images_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Refuses an output that is one of the inputs, however spelled.
fn refuse_overwrite(output: &Path, inputs: &[(&str, &Path)]) -> Result<()> {
    for (what, input) in inputs {
        if same_file(output, input) {
            bail!(
                "--output {} is the {what} {} (inputs are never overwritten; choose another path)",
                output.display(),
                input.display()
            );
        }
    }
    Ok(())
}

fn one(
    method: &mut Method,
    image: &Path,
    mask: &Path,
    output: &Path,
    a: &InpaintArgs,
) -> pconv::Result<()> {
    let img = decode(image)?.to_rgb8();
    let holes = HoleMap::read(mask)?;
    let holes = fit_mask(
        holes,
        img.width() as usize,
        img.height() as usize,
        a.resize_mask,
    )
    .map_err(|e| pconv::Error::Invalid(format!("{}: {e}", mask.display())))?;
    let out = large::inpaint(method, &img, &holes, a.max_side)?;
    save_atomic_with(
        &image::DynamicImage::ImageRgb8(out),
        output,
        a.quality as u8,
    )
}

fn load_method(a: &InpaintArgs) -> Result<Method> {
    let mut method = method::load(
        a.method,
        a.checkpoint.as_deref(),
        method::Options {
            ensemble: a.ensemble,
            radius: a.radius,
        },
        method::open_gpu,
    )?;
    if let Method::Fit(f) = &mut method {
        f.steps = a.fit_steps;
    }
    Ok(method)
}

pub fn run(a: InpaintArgs) -> Result<()> {
    for (flag, path) in [("--image", &a.image), ("--mask", &a.mask)] {
        if !path.exists() {
            bail!("{flag} {}: does not exist", path.display());
        }
    }
    if !a.image.is_dir() {
        refuse_overwrite(&a.output, &[("image", &a.image), ("mask", &a.mask)])?;
        if a.mask.is_dir() {
            bail!(
                "--mask {} is a folder but --image is one file",
                a.mask.display()
            );
        }
        let mut method = load_method(&a)?;
        let unit = if matches!(method, Method::Fit(_)) {
            "fit step"
        } else {
            "pass"
        };
        method.set_progress(progress::bar(unit));
        one(&mut method, &a.image, &a.mask, &a.output, &a)?;
        return Ok(());
    }
    let images = images_in(&a.image)?;
    if images.is_empty() {
        bail!("{}: no images found", a.image.display());
    }
    refuse_overwrite(
        &a.output,
        &[("image folder", &a.image), ("mask folder", &a.mask)],
    )?;
    let named_like_an_image = a
        .output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    if (a.output.exists() && !a.output.is_dir()) || (!a.output.exists() && named_like_an_image) {
        bail!(
            "--output {} names a file, but --image is a folder: --output must name a folder for the results",
            a.output.display()
        );
    }
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let masks = if a.mask.is_dir() {
        Some(images_in(&a.mask)?)
    } else {
        None
    };
    let mut method = load_method(&a)?;
    let (mut done, mut failed) = (0, 0);
    let mut bar = Progress::counting("image", 0, images.len() as u64);
    for (i, img) in images.iter().enumerate() {
        let name = img.file_name().unwrap_or_default().to_string_lossy();
        bar.update(i as u64, &name);
        let stem = img.file_stem().unwrap_or_default();
        let mask = match &masks {
            None => Some(a.mask.clone()),
            Some(ms) => ms.iter().find(|m| m.file_stem() == Some(stem)).cloned(),
        };
        let Some(mask) = mask else {
            bar.message(&format!(
                "{}: no mask named {}.*, skipped",
                img.display(),
                stem.to_string_lossy()
            ));
            failed += 1;
            continue;
        };
        let out = a.output.join(img.file_name().unwrap_or_default());
        match one(&mut method, img, &mask, &out, &a) {
            Ok(()) => {
                done += 1;
                if !progress::on_terminal() {
                    eprintln!("wrote {}", out.display());
                }
            }
            Err(e) => {
                bar.message(&format!("{}: {e}", img.display()));
                failed += 1;
            }
        }
    }
    bar.update(images.len() as u64, "");
    bar.finish();
    eprintln!(
        "inpainted {done} of {} images into {}",
        images.len(),
        a.output.display()
    );
    if failed > 0 {
        bail!("{failed} of {} images failed (see above)", images.len());
    }
    Ok(())
}
