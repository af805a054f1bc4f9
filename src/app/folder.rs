//! Stepping through the photos of a folder (Page Up / Page Down), and the
//! guard that keeps unsaved holes from being dropped by opening another
//! photo or closing the window.
use std::path::{Path, PathBuf};

use crate::io::files::has_extension;
use crate::raster::files::EXTENSIONS;

/// The suffixes of the files the app itself writes beside a photo
/// (`Document::beside`): results and masks, skipped when stepping.
pub const OWN_SUFFIXES: [&str; 2] = ["-inpainted", "-mask"];

/// The photos of `path`'s folder (its image files, not below it, without
/// the app's own results and masks), sorted by name.
pub fn photos_beside(path: &Path) -> Vec<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            has_extension(p, EXTENSIONS)
                && !OWN_SUFFIXES.iter().any(|s| stem.ends_with(s))
                // Regular files (links to them too), not pipes or folders.
                && p.is_file()
        })
        .collect();
    out.sort();
    out
}

/// The photo `step` places after `path` in its folder (before it for a
/// negative step); None past either end, or where `path` is not among
/// them (it is then the first for a step forward).
pub fn step_from(path: &Path, step: isize) -> Option<PathBuf> {
    let photos = photos_beside(path);
    let here = photos
        .iter()
        .position(|p| p.file_name() == path.file_name());
    let next = match here {
        Some(i) => i.checked_add_signed(step)?,
        None if step > 0 => 0,
        None => return None,
    };
    photos.get(next).cloned()
}

/// Opening another photo or closing the window drops the document: where
/// it holds unsaved work, the first request is refused (the caller warns)
/// and the same request again goes ahead.
#[derive(Default)]
pub struct UnsavedGuard {
    warned: Option<String>,
}

impl UnsavedGuard {
    /// Whether `action` (opening a given path, closing) may go ahead now,
    /// given whether the document holds unsaved work.
    pub fn allow(&mut self, unsaved: bool, action: &str) -> bool {
        if !unsaved || self.warned.as_deref() == Some(action) {
            self.warned = None;
            return true;
        }
        self.warned = Some(action.to_string());
        false
    }
}
