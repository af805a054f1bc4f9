//! pconv's own files (`assets/`: the bundled model, VGG weights, sample
//! photos): next to the executable, else in the source tree.
use std::path::{Path, PathBuf};

/// The `assets` folders that exist, the one beside the executable first.
pub fn roots() -> Vec<PathBuf> {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("assets")));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    beside_exe
        .into_iter()
        .chain([source])
        .filter(|p| p.is_dir())
        .collect()
}

/// The file `rel` below the first assets folder that has it.
pub fn find(rel: &str) -> Option<PathBuf> {
    roots()
        .into_iter()
        .map(|r| r.join(rel))
        .find(|p| p.exists())
}

/// Whether `path` lies inside one of pconv's assets folders (however
/// spelled); a user's own folder that happens to be named `assets` does not.
pub fn contains(path: &Path) -> bool {
    let Ok(path) = std::fs::canonicalize(path) else {
        return false;
    };
    roots()
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .any(|r| path.starts_with(r))
}
