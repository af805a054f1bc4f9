//! `pconv models`: the bundled models, what each is for, and whether this
//! install has its file.
use anyhow::Result;

use pconv::model::bundled::{default_model, BUNDLED};

pub fn run() -> Result<()> {
    for m in BUNDLED {
        let default = if m.name == default_model().name {
            " (default)"
        } else {
            ""
        };
        let status = match (m.file, m.path()) {
            (_, Some(p)) => p.display().to_string(),
            (Some(f), None) => format!("assets/{f}: missing from this install"),
            (None, None) => "not shipped yet".into(),
        };
        println!("{}{default}\n  {}\n  {status}", m.name, m.what);
    }
    println!("\nuse: pconv inpaint|eval|app --model NAME or --model FILE (a checkpoint)");
    Ok(())
}
