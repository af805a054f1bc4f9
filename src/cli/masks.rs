//! `pconv masks`: the training mask generator written out as PNGs.
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::args::{ratio, size_pair, usize_in};
use pconv::data::masks::MaskSource;
use pconv::raster::files::save_atomic;

#[derive(clap::Args)]
pub struct MasksArgs {
    #[arg(long, value_parser = usize_in(1, 1_000_000))]
    count: usize,
    /// S or WxH.
    #[arg(long, value_parser = size_pair(16384))]
    size: (usize, usize),
    #[arg(long, visible_alias = "out")]
    output: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 0.01, value_parser = ratio)]
    min_ratio: f64,
    #[arg(long, default_value_t = 0.6, value_parser = ratio)]
    max_ratio: f64,
}

pub fn run(a: MasksArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&a.min_ratio) || !(a.min_ratio..=1.0).contains(&a.max_ratio) {
        bail!("need 0 <= --min-ratio <= --max-ratio <= 1");
    }
    pconv::io::files::output_folder(&a.output)?;
    // Nothing is overwritten: masks from an earlier run (another seed,
    // size or ratio) or the user's own files keep their bytes.
    let name = |i: usize| a.output.join(format!("{i:05}.png"));
    let taken: Vec<usize> = (0..a.count)
        .filter(|&i| std::fs::symlink_metadata(name(i)).is_ok())
        .collect();
    if let Some(&first) = taken.first() {
        bail!(
            "{} already exists ({} of the {} files to write do): masks go into an empty or new \
             folder, and nothing there is overwritten",
            name(first).display(),
            taken.len(),
            a.count
        );
    }
    let src = MaskSource::Generated {
        min_ratio: a.min_ratio,
        max_ratio: a.max_ratio,
    };
    let (w, h) = a.size;
    let mut histogram = [0usize; 10];
    for i in 0..a.count {
        let m = src.mask_sized(w, h, a.seed, i as u64)?;
        let r = m.ratio();
        // Bins (lo, hi] like the paper's; 0 % goes to the first.
        histogram[((r * 10.0).ceil() as usize).clamp(1, 10) - 1] += 1;
        save_atomic(&image::DynamicImage::ImageLuma8(m.to_image()), &name(i))?;
    }
    println!(
        "{} masks of {w}x{h} in {} (white = hole); hole ratios:",
        a.count,
        a.output.display()
    );
    let most = histogram.iter().copied().max().unwrap_or(1).max(1);
    for (b, &n) in histogram.iter().enumerate() {
        println!(
            "  ({:>3}, {:>3}] % {n:>6} {}",
            b * 10,
            b * 10 + 10,
            "#".repeat((n * 40).div_ceil(most))
        );
    }
    Ok(())
}
