//! `pconv eval`: the paper's table (L1, PSNR, SSIM per hole-ratio bin) and
//! the six loss terms per image.
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::args::{usize_in, MAX_SIDE};
use super::method::{self, MethodArg};
use super::progress::{self, Progress};
use pconv::infer::eval::{bins, evaluate_pair, files_of, pair, table, to_json};
use pconv::infer::eval_losses::LossEvaluator;
use pconv::loss::{LossTerms, VggWeights};

#[derive(clap::Args)]
pub struct EvalArgs {
    #[arg(long, visible_alias = "checkpoint", help = method::MODEL_HELP)]
    model: Option<String>,
    /// An image or a folder of images (ground truth).
    #[arg(long, visible_alias = "image")]
    images: PathBuf,
    /// A mask or a folder of masks (white = hole): each image takes the mask
    /// of the same file stem if there is one, else the sorted masks in turn;
    /// masks are resized (nearest) to their image.
    #[arg(long, visible_alias = "mask")]
    masks: PathBuf,
    /// Center-crop each image to a square and resize it to SIZE x SIZE.
    #[arg(long, value_parser = usize_in(1, MAX_SIDE))]
    size: Option<usize>,
    /// VGG-16 weights for the loss terms [default: the bundled ones].
    #[arg(long)]
    vgg: Option<PathBuf>,
    /// Also compute the six training loss terms and their total per image
    /// (VGG-16 features on the GPU; most of eval's time): printed as means,
    /// and per image in --json.
    #[arg(long, conflicts_with = "no_losses")]
    losses: bool,
    /// The default (metrics only; the classical methods then need no GPU);
    /// kept for scripts written when the loss terms were on by default.
    #[arg(long, hide = true)]
    no_losses: bool,
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
    /// Also write every image's metrics and losses, and the bins, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let mut images = files_of(&a.images)?;
    // A mask folder inside the image folder: its masks are not images.
    if a.masks.is_dir() && pconv::io::files::is_below(&a.masks, &a.images) {
        if pconv::io::files::same_file(&a.masks, &a.images) {
            bail!(
                "--masks {} is the --images folder: every mask would be evaluated as an image too",
                a.masks.display()
            );
        }
        eprintln!(
            "note: {} (--masks) is inside {} (--images): its masks are not evaluated as images",
            a.masks.display(),
            a.images.display()
        );
        images.retain(|f| !pconv::io::files::is_below(f, &a.masks));
    }
    let masks = files_of(&a.masks)?;
    let pairs = pair(&images, &masks);
    let mut gpu = None;
    let mut open = || -> Result<pconv::gpu::GpuContext> {
        if gpu.is_none() {
            gpu = Some(method::open_gpu()?);
        }
        Ok(gpu.clone().expect("opened"))
    };
    let options = method::Options {
        ensemble: a.ensemble,
        radius: a.radius,
        edge_blend: a.edge_blend,
        edge_band: a.edge_band,
        net_side: a.net_side,
    };
    let mut m = method::load(a.method, a.model.as_deref(), options, &mut open)?;
    let mut losses = if !a.losses {
        None
    } else {
        let vgg =
            VggWeights::read_or_bundled(a.vgg.as_deref()).context("reading the VGG weights")?;
        Some(LossEvaluator::new(&open()?, vgg))
    };
    let mut results = Vec::new();
    let mut failed = 0;
    let mut first_failure = None;
    let started = std::time::Instant::now();
    let mut bar =
        progress::on_terminal().then(|| Progress::counting("image", 0, pairs.len() as u64));
    for (i, (img, mask)) in pairs.iter().enumerate() {
        if let Some(b) = &mut bar {
            b.update(
                i as u64,
                &img.file_name().unwrap_or_default().to_string_lossy(),
            );
        }
        match evaluate_pair(&mut m, losses.as_mut(), img, mask, a.size) {
            Ok(r) => results.push(r),
            Err(e) => {
                let text = format!("{}: {e}", img.display());
                match &mut bar {
                    Some(b) => b.message(&text),
                    None => eprintln!("{text}"),
                }
                first_failure.get_or_insert(text);
                failed += 1;
            }
        }
        if bar.is_none() && (i + 1) % 50 == 0 {
            eprintln!(
                "{} / {} images ({:.1} s)",
                i + 1,
                pairs.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(b) = &mut bar {
        b.update(pairs.len() as u64, "");
        b.finish();
    }
    if results.is_empty() {
        bail!(
            "no image could be evaluated (the first failure: {})",
            first_failure.unwrap_or_else(|| "no pairs".into())
        );
    }
    let b = bins(&results);
    println!("method: {}", m.label());
    print!("{}", table(&b));
    let with_losses: Vec<[f64; 7]> = results
        .iter()
        .filter_map(|r| r.losses.map(|l| l.to_array()))
        .collect();
    if !with_losses.is_empty() {
        let n = with_losses.len() as f64;
        let means = LossTerms::from_fn(|i| with_losses.iter().map(|l| l[i]).sum::<f64>() / n);
        println!(
            "loss terms, mean of {} images: {}",
            with_losses.len(),
            means.describe()
        );
    }
    if let Some(path) = &a.json {
        let mut json = to_json(&results, &b);
        json["method"] = serde_json::Value::from(m.label());
        let text = serde_json::to_string_pretty(&json)?;
        pconv::io::files::write_report(path, text.as_bytes())?;
    }
    if failed > 0 {
        bail!("{failed} of {} pairs failed (see above)", pairs.len());
    }
    Ok(())
}
