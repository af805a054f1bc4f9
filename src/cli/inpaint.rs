//! `pconv inpaint`: one image or a folder of them.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::args::{int_in, size_pair, usize_in};
use super::method::{self, MethodArg};
use super::progress::{self, Progress};
use pconv::infer::extend::Margins;
use pconv::infer::{large, Method};
use pconv::io::files::same_file;
use pconv::raster::colour::Profiled;
use pconv::raster::files::{decode_with_metadata, EXTENSIONS};
use pconv::raster::planes::fit_mask;
use pconv::raster::{photo, HoleMap, MaskRule};

#[derive(clap::Args)]
pub struct InpaintArgs {
    #[arg(long, visible_alias = "checkpoint", help = method::MODEL_HELP)]
    model: Option<String>,
    /// An image, or a folder of images (PNG/JPEG/WebP/BMP/TIFF).
    #[arg(long, visible_alias = "images", required_unless_present = "files_from")]
    image: Option<PathBuf>,
    /// Instead of --image: the images listed in FILE, one path per line
    /// (`-`: standard input; blank lines and lines starting with # are
    /// skipped), into the --output folder, as a folder would be.
    #[arg(long, conflicts_with = "image")]
    files_from: Option<PathBuf>,
    /// A mask (white = hole) for the image or for every image of a folder,
    /// or a folder of masks paired with the images by file name (stem).
    /// Optional with --extend/--extend-to (then only the new border is
    /// filled).
    #[arg(long, visible_alias = "masks", required_unless_present_any = ["extend", "extend_to"])]
    mask: Option<PathBuf>,
    /// Outpainting: grow the canvas by N pixels on every side, or by
    /// LEFT,TOP,RIGHT,BOTTOM, and fill the new pixels as holes.
    #[arg(long, value_parser = parse_margins, conflicts_with = "extend_to")]
    extend: Option<Margins>,
    /// Outpainting: center the image on a WxH canvas and fill the rest.
    #[arg(long, value_parser = size_pair(65536))]
    extend_to: Option<(usize, usize)>,
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
    #[arg(long, alias = "thin-holes", help = method::EDGE_BLEND_HELP, value_parser = usize_in(0, 1000))]
    edge_blend: Option<usize>,
    #[arg(long, value_enum, help = method::EDGE_BAND_HELP)]
    edge_band: Option<method::EdgeBandArg>,
    #[arg(long, help = method::NET_SIDE_HELP, value_parser = usize_in(0, 65536))]
    net_side: Option<usize>,
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
    /// Blend the network's output into the known pixels within this many
    /// pixels of a hole, for a softer seam (0: known pixels keep their
    /// bytes; a classical fill equals the photo there, so it is unchanged).
    #[arg(long, default_value_t = 0, value_parser = usize_in(0, 64))]
    feather: usize,
    /// The mask's transparent pixels are the holes (as image editors
    /// export a selection) [default: its white pixels, or its transparent
    /// ones when it has no white].
    #[arg(long)]
    mask_alpha: bool,
    /// With a folder: inpaint only shard I (from 0) of --shard-count N, the
    /// images at positions I, I+N, I+2N, ... of the sorted list, so N
    /// workers in any order cover every image once [default: from
    /// SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when set].
    #[arg(long, value_parser = usize_in(0, 1_000_000))]
    shard_index: Option<usize>,
    /// The number of shards [default: SLURM_ARRAY_TASK_COUNT].
    #[arg(long, value_parser = usize_in(1, 1_000_000))]
    shard_count: Option<usize>,
    /// With a folder: leave images whose output already exists (outputs
    /// are written to a temporary file and renamed, so an existing one is
    /// complete): a rerun after a crash finishes the rest.
    #[arg(long)]
    skip_existing: bool,
    /// JPEG quality of a .jpg output, 1 to 100 (JPEG changes the known
    /// pixels too; PNG keeps them exact).
    #[arg(long, default_value_t = 95, value_parser = usize_in(1, 100))]
    quality: usize,
    /// Write no EXIF metadata (camera, date, place) with the results. By
    /// default each result keeps its photo's EXIF, upright and without the
    /// photo's thumbnail, and its colour profile (ICC), which this does not
    /// drop.
    #[arg(long)]
    no_exif: bool,
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

/// Which shard this process runs: (index, count), from the flags, else
/// from a scheduler's array-job variables (Slurm, Kubernetes indexed
/// jobs); None without either. `env` reads a variable.
pub fn shard(
    index: Option<usize>,
    count: Option<usize>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(usize, usize)>> {
    let num = |k: &str| -> Result<Option<usize>> {
        env(k)
            .map(|v| {
                v.trim()
                    .parse::<usize>()
                    .with_context(|| format!("{k}={v:?} is not a shard number"))
            })
            .transpose()
    };
    let (index, from_env) = match index {
        Some(i) => (Some(i), None),
        None => match (num("SLURM_ARRAY_TASK_ID")?, num("JOB_COMPLETION_INDEX")?) {
            // Slurm arrays may start above 0 (--array=1-3).
            (Some(id), _) => {
                let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                (id.checked_sub(min), Some("SLURM_ARRAY_TASK_ID"))
            }
            (None, Some(i)) => (Some(i), Some("JOB_COMPLETION_INDEX")),
            (None, None) => (None, None),
        },
    };
    let count = match count {
        Some(c) => Some(c),
        None if index.is_some() => num("SLURM_ARRAY_TASK_COUNT")?,
        None => None,
    };
    match (index, count) {
        (None, None) => Ok(None),
        (None, Some(_)) => bail!("--shard-count needs --shard-index (or SLURM_ARRAY_TASK_ID)"),
        (Some(i), None) => bail!(
            "shard {i} of how many? Set --shard-count{}",
            from_env
                .map(|v| format!(" ({v} is set)"))
                .unwrap_or_default()
        ),
        (Some(i), Some(n)) if n == 0 || i >= n => {
            bail!("shard index {i} is not below the shard count {n}")
        }
        (Some(i), Some(n)) => Ok(Some((i, n))),
    }
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

fn parse_margins(s: &str) -> std::result::Result<Margins, String> {
    Margins::parse(s).map_err(|e| e.to_string())
}

fn one(
    method: &mut Method,
    image: &Path,
    mask: Option<&Path>,
    output: &Path,
    a: &InpaintArgs,
) -> pconv::Result<()> {
    let (decoded, mut metadata) = decode_with_metadata(image)?;
    if a.no_exif {
        metadata.exif = None;
    }
    let (w, h) = (decoded.width() as usize, decoded.height() as usize);
    let rule = if a.mask_alpha {
        MaskRule::Alpha
    } else {
        MaskRule::Auto
    };
    let mut holes = match mask {
        Some(mask) => {
            let (holes, by_alpha) = HoleMap::read_by(mask, rule)?;
            if by_alpha && !a.mask_alpha {
                eprintln!(
                    "note: {}: its transparent pixels are the holes (its grey values mark none)",
                    mask.display()
                );
            }
            // A mask drawn on a phone photo's pixels as stored, unturned.
            let stored_sides = metadata.turned && (holes.width, holes.height) == (h, w);
            fit_mask(holes, w, h, a.resize_mask).map_err(|e| {
                let hint = if stored_sides {
                    "; the photo is turned upright by its EXIF orientation, and the mask \
                     looks drawn on it as stored: turn the mask a quarter to match it as \
                     viewers show it"
                } else {
                    ""
                };
                pconv::Error::Invalid(format!("{}: {e}{hint}", mask.display()))
            })?
        }
        None => HoleMap {
            width: w,
            height: h,
            holes: vec![false; w * h],
        },
    };
    // The methods fill f32 planes, in sRGB; the result goes back into the
    // photo's own profile and format (depth, grey or colour, transparency:
    // filled holes become opaque).
    let mut planes = photo::planes_of(&decoded);
    let profiled = Profiled::of(&metadata);
    if let Some(p) = &profiled {
        p.to_srgb(&mut planes)?;
    }
    let margins = match (a.extend, a.extend_to) {
        (Some(m), _) => Some(m),
        (None, Some((tw, th))) => Some(Margins::centering(w, h, tw, th)?),
        (None, None) => None,
    };
    let mut at = photo::Placement::default();
    if let Some(m) = margins {
        (planes, holes) = m.extend_planes(&planes, &holes);
        at = photo::Placement {
            left: m.left,
            top: m.top,
        };
    }
    let mut out = large::inpaint_planes(method, &planes, &holes, a.max_side, a.feather)?;
    if let Some(p) = &profiled {
        p.from_srgb(&mut planes)?;
        p.from_srgb(&mut out)?;
    }
    let out = photo::compose(&decoded, at, &planes, &out, &holes);
    if let Some(note) = photo::save(out, output, a.quality as u8, &metadata)? {
        eprintln!("note: {}: {note}", output.display());
    }
    Ok(())
}

fn load_method(a: &InpaintArgs) -> Result<Method> {
    let mut method = method::load(
        a.method,
        a.model.as_deref(),
        method::Options {
            ensemble: a.ensemble,
            radius: a.radius,
            edge_blend: a.edge_blend,
            edge_band: a.edge_band,
            net_side: a.net_side,
        },
        method::open_gpu,
    )?;
    if let Method::Fit(f) = &mut method {
        f.steps = a.fit_steps;
    }
    Ok(method)
}

/// The image paths listed in `list` (`-`: standard input).
fn listed_images(list: &Path) -> Result<Vec<PathBuf>> {
    let text = if list == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("reading the image list from standard input")?;
        s
    } else {
        pconv::io::files::read_text(list, pconv::io::files::memory_budget())?
    };
    let images: Vec<PathBuf> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect();
    let mut names = std::collections::HashSet::new();
    for p in &images {
        if !names.insert(p.file_name().unwrap_or_default()) {
            bail!(
                "{}: two listed images are named {} and their outputs would collide",
                list.display(),
                p.file_name().unwrap_or_default().to_string_lossy()
            );
        }
    }
    Ok(images)
}

pub fn run(a: InpaintArgs) -> Result<()> {
    for (flag, path) in [("--image", a.image.as_ref()), ("--mask", a.mask.as_ref())] {
        if let Some(path) = path.filter(|p| !p.exists()) {
            bail!("{flag} {}: does not exist", path.display());
        }
    }
    let mask = a.mask.as_deref();
    let listed = a.files_from.as_deref().map(listed_images).transpose()?;
    let image = a.image.clone().unwrap_or_default();
    if listed.is_none() && !image.is_dir() {
        let mut inputs = vec![("image", image.as_path())];
        inputs.extend(mask.map(|m| ("mask", m)));
        refuse_overwrite(&a.output, &inputs)?;
        if let Some(m) = mask.filter(|m| m.is_dir()) {
            bail!("--mask {} is a folder but --image is one file", m.display());
        }
        if a.shard_index.is_some() || a.shard_count.is_some() {
            bail!("--shard-index and --shard-count split a folder; --image is one file");
        }
        if a.skip_existing && a.output.is_file() {
            eprintln!("{} exists, skipped (--skip-existing)", a.output.display());
            return Ok(());
        }
        let mut method = load_method(&a)?;
        let unit = if matches!(method, Method::Fit(_)) {
            "fit step"
        } else {
            "pass"
        };
        method.set_progress(progress::bar(unit));
        one(&mut method, &image, mask, &a.output, &a)?;
        return Ok(());
    }
    let source = match &a.files_from {
        Some(list) => list.clone(),
        None => image.clone(),
    };
    let all = match listed {
        Some(v) => v,
        None => images_in(&image)?,
    };
    if all.is_empty() {
        bail!("{}: no images found", source.display());
    }
    let shard = shard(a.shard_index, a.shard_count, |k| std::env::var(k).ok())?;
    let (index, count) = shard.unwrap_or((0, 1));
    let images: Vec<PathBuf> = all.iter().skip(index).step_by(count).cloned().collect();
    if shard.is_some() {
        eprintln!(
            "shard {index} of {count}: {} of the {} images",
            images.len(),
            all.len()
        );
    }
    // The results go into --output by file name: never into a folder an
    // input comes from.
    let folders: Vec<&Path> = all
        .iter()
        .map(|p| {
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        })
        .collect();
    let mut inputs: Vec<(&str, &Path)> = folders.iter().map(|d| ("image folder", *d)).collect();
    inputs.dedup();
    inputs.extend(mask.map(|m| ("mask folder", m)));
    refuse_overwrite(&a.output, &inputs)?;
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
    pconv::io::files::output_folder(&a.output)?;
    let masks = match mask.filter(|m| m.is_dir()) {
        Some(dir) => Some(images_in(dir)?),
        None => None,
    };
    let mut method = load_method(&a)?;
    let (mut done, mut failed, mut skipped) = (0, 0, 0);
    let mut bar = Progress::counting("image", 0, images.len() as u64);
    for (i, img) in images.iter().enumerate() {
        let name = img.file_name().unwrap_or_default().to_string_lossy();
        bar.update(i as u64, &name);
        let stem = img.file_stem().unwrap_or_default();
        // One mask for every image, a mask per image, or none (outpainting).
        let mask = match &masks {
            None => Some(mask.map(Path::to_path_buf)),
            Some(ms) => ms
                .iter()
                .find(|m| m.file_stem() == Some(stem))
                .map(|m| Some(m.clone())),
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
        if a.skip_existing && out.is_file() {
            skipped += 1;
            continue;
        }
        match one(&mut method, img, mask.as_deref(), &out, &a) {
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
        "inpainted {done} of {} images into {}{}",
        images.len(),
        a.output.display(),
        if skipped > 0 {
            format!(" ({skipped} already there, skipped)")
        } else {
            String::new()
        }
    );
    if failed > 0 {
        bail!("{failed} of {} images failed (see above)", images.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::shard;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_shard_comes_from_the_flags_else_the_scheduler() {
        assert_eq!(shard(None, None, env(&[])).unwrap(), None);
        assert_eq!(shard(Some(2), Some(3), env(&[])).unwrap(), Some((2, 3)));
        // Slurm: the array may start at 1; the flags win.
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(shard(None, None, env(&slurm)).unwrap(), Some((2, 4)));
        assert_eq!(shard(Some(0), Some(2), env(&slurm)).unwrap(), Some((0, 2)));
        // Kubernetes gives the index; the count is the job's to say.
        let k8s = [("JOB_COMPLETION_INDEX", "5")];
        assert_eq!(shard(None, Some(8), env(&k8s)).unwrap(), Some((5, 8)));
        let err = shard(None, None, env(&k8s)).unwrap_err().to_string();
        assert!(
            err.contains("--shard-count") && err.contains("JOB_COMPLETION_INDEX"),
            "{err}"
        );
        for (i, n) in [(3, 3), (0, 0)] {
            let err = shard(Some(i), Some(n), env(&[])).unwrap_err().to_string();
            assert!(err.contains("not below"), "{err}");
        }
        assert!(shard(None, Some(2), env(&[])).is_err());
        let bad = [("SLURM_ARRAY_TASK_ID", "x")];
        assert!(shard(None, Some(2), env(&bad)).is_err());
    }
}
