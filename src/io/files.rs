//! Reading user-named paths safely: only regular files are opened (a FIFO
//! or a device would block or never end), folder walks visit each real
//! folder once (symlink loops), sizes that come from a file are checked
//! against the machine's memory before anything is allocated, two
//! spellings of one path are recognised as the same file, and files are
//! written whole or not at all, never over a pipe or a device.
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{}: {what}", path.display()))
}

/// The path's metadata if it names a regular file (symlinks followed);
/// otherwise an error that says what it is instead.
pub fn regular_file(path: &Path) -> Result<std::fs::Metadata> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => bad(path, "does not exist"),
        _ => bad(path, e),
    })?;
    if meta.is_file() {
        return Ok(meta);
    }
    Err(not_a_file(path, &meta, "read"))
}

/// What a path that is not a regular file is instead, and that it is not
/// `done` ("read", "replaced").
fn not_a_file(path: &Path, meta: &std::fs::Metadata, done: &str) -> Error {
    if meta.is_dir() {
        bad(path, "is a folder, not a file")
    } else {
        bad(
            path,
            format!("is not a regular file (a pipe, socket or device), so it is not {done}"),
        )
    }
}

/// The whole of a regular file, refused before reading when it is larger
/// than `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let len = regular_file(path)?.len();
    if len > limit {
        return Err(bad(
            path,
            format!(
                "{} MB, more than the {} MB this machine can spare for it",
                len / 1_000_000,
                limit / 1_000_000
            ),
        ));
    }
    std::fs::read(path).map_err(|e| bad(path, e))
}

/// A regular text file, as `read_regular`.
pub fn read_text(path: &Path, limit: u64) -> Result<String> {
    String::from_utf8(read_regular(path, limit)?).map_err(|_| bad(path, "is not UTF-8 text"))
}

/// Bytes one decoded input may take: half the memory available now (Linux:
/// `MemAvailable`), else 4 GiB where the system does not say. Decoding
/// more would risk an allocation abort instead of an error.
pub fn memory_budget() -> u64 {
    const FALLBACK: u64 = 4 << 30;
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb.saturating_mul(1024));
    available.map_or(FALLBACK, |b| b / 2)
}

/// Whether `path`'s extension, in lower case, is one of `extensions`.
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
}

/// Every regular file below `dir` (recursive, symlinks followed) whose
/// extension is one of `extensions` (lower case), sorted. Each real folder
/// is visited once and each real file listed once, however many links lead
/// to it, so links back to a parent neither loop nor repeat files. Pipes,
/// sockets and devices are left out.
pub fn walk_files(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let root = std::fs::canonicalize(dir).map_err(|e| bad(dir, e))?;
    if !root.is_dir() {
        return Err(bad(dir, "is not a folder"));
    }
    let mut seen_dirs = HashSet::from([root]);
    let mut seen_files = HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| bad(&d, e))?;
        for entry in entries.flatten() {
            let p = entry.path();
            // Broken links and unreadable entries are not images.
            let (Ok(meta), Ok(real)) = (std::fs::metadata(&p), std::fs::canonicalize(&p)) else {
                continue;
            };
            if meta.is_dir() {
                if seen_dirs.insert(real) {
                    stack.push(p);
                }
            } else if meta.is_file() && has_extension(&p, extensions) && seen_files.insert(real) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `path` with every existing part resolved (symlinks, `..`, relative
/// spelling); a last component that does not exist yet is kept as written.
pub fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            resolved(parent).join(name)
        }
        _ => path.to_path_buf(),
    }
}

/// Whether two paths name the same file or folder, however spelled (also
/// through hard links where the system tells).
pub fn same_file(a: &Path, b: &Path) -> bool {
    if resolved(a) == resolved(b) {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    false
}

/// Where a write that renames a new file into place must put it: `path`
/// when it does not exist or is a regular file, the file a symbolic link
/// points to (so the link stays a link). A folder, pipe, socket or device
/// is refused: renaming over it would replace it (as root, even
/// `/dev/null`), and nothing is written.
pub fn replaceable(path: &Path) -> Result<PathBuf> {
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(e) => return Err(bad(path, e)),
        Ok(m) => m,
    };
    let target = if meta.file_type().is_symlink() {
        std::fs::canonicalize(path).map_err(|_| {
            let to = std::fs::read_link(path).unwrap_or_default();
            bad(
                path,
                format!(
                    "is a symbolic link to {}, which does not exist",
                    to.display()
                ),
            )
        })?
    } else {
        path.to_path_buf()
    };
    let meta = std::fs::metadata(&target).map_err(|e| bad(path, e))?;
    if meta.is_file() {
        Ok(target)
    } else {
        Err(not_a_file(path, &meta, "replaced"))
    }
}

/// Writes `bytes` to `path` whole or not at all: into `.NAME.tmp` beside
/// it, flushed to disk, then renamed into place (through a symbolic
/// link, to the file it names). On failure (a full disk) `path` is
/// untouched and the temporary file removed; a folder, pipe or device at
/// `path` is refused (`replaceable`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let target = replaceable(path)?;
    let name = target
        .file_name()
        .ok_or_else(|| bad(path, "is not a file path"))?;
    let tmp = target.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        bad(path, format!("could not write: {e}"))
    })
}

/// Makes `path` an existing folder for outputs (its parents too); a file,
/// pipe or device already there is an error that says what it is (not
/// the system's "File exists" for a path below it).
pub fn output_folder(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(m) if m.is_file() => return Err(bad(path, "is a file, not a folder")),
        Ok(_) => {
            return Err(bad(
                path,
                "is not a folder (a pipe, socket or device), so nothing is written there",
            ))
        }
        Err(_) => {}
    }
    std::fs::create_dir_all(path)
        .map_err(|e| bad(path, format!("could not create the folder: {e}")))
}

/// Writes a report (`--json`) to `path`: a regular file, a new one or a
/// link to one atomically (`write_atomic`); a pipe or terminal
/// (`/dev/stdout`, a FIFO another program reads) as a stream. A pipe that
/// no process reads is an error: opening it to write would wait forever.
pub fn write_report(path: &Path, bytes: &[u8]) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(bad(path, "is a folder, not a file")),
        Ok(m) if !m.is_file() => write_stream(path, bytes),
        _ => write_atomic(path, bytes),
    }
}

#[cfg(unix)]
fn write_stream(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    // Non-blocking, the open of a FIFO with no reader fails (ENXIO) at
    // once; then the writes block as usual, so a slow reader gets it all.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => bad(
                path,
                "is a pipe (or socket) that no process is reading, so nothing is written",
            ),
            _ => bad(path, format!("could not write: {e}")),
        })?;
    // SAFETY: fcntl on a descriptor this function owns, with flags it read.
    unsafe {
        let fd = f.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    f.write_all(bytes)
        .map_err(|e| bad(path, format!("could not write: {e}")))
}

#[cfg(not(unix))]
fn write_stream(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| bad(path, format!("could not write: {e}")))
}

/// Whether `path` lies in `folder` or below it, however either is spelled.
pub fn is_below(path: &Path, folder: &Path) -> bool {
    resolved(path).starts_with(resolved(folder))
}
