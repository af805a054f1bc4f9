//! A run's output folder: its file names, the lock that keeps a second
//! process out of it, and the run id that keeps another run's `--resume`
//! from mixing into it.
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Paths of a run's output folder.
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn latest(&self) -> PathBuf {
        self.root.join("latest.safetensors")
    }
    pub fn numbered(&self, step: u64) -> PathBuf {
        self.root
            .join("checkpoints")
            .join(format!("step-{step:07}.safetensors"))
    }
    pub fn sample(&self, step: u64) -> PathBuf {
        self.root
            .join("samples")
            .join(format!("step-{step:07}.png"))
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(".lock")
    }
    /// The id of the run this folder holds.
    pub fn run_id_file(&self) -> PathBuf {
        self.root.join("run-id")
    }

    /// Whether anything of a run is here: its id, a checkpoint or metrics.
    pub fn holds_a_run(&self) -> bool {
        let nonempty = |p: PathBuf| std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
        let has_files = |p: PathBuf| std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_some());
        self.run_id_file().exists()
            || self.latest().exists()
            || nonempty(self.metrics())
            || has_files(self.root.join("checkpoints"))
    }

    /// The id of the run held here: the id file, else (folders of older
    /// versions) the latest checkpoint's metadata.
    pub fn run_id(&self) -> Option<String> {
        let from_file = std::fs::read_to_string(self.run_id_file())
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        from_file.or_else(|| {
            crate::io::safetensors::SafeTensors::read(&self.latest())
                .ok()
                .and_then(|f| f.metadata.get(RUN_ID_KEY).cloned())
        })
    }

    /// Records `id` as the run held here (atomically).
    pub fn set_run_id(&self, id: &str) -> Result<()> {
        crate::io::files::write_atomic(&self.run_id_file(), format!("{id}\n").as_bytes())
    }
}

/// The checkpoint metadata key of the run id.
pub const RUN_ID_KEY: &str = "train.run";

/// A new run id: the time and the process, hashed (unique enough to tell
/// two runs apart; nothing depends on its value).
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32);
    // SplitMix64's finaliser.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    format!("{:016x}", x ^ (x >> 31))
}

/// An exclusive advisory lock on a run folder, held while the process
/// trains; the operating system releases it when the process ends, however
/// it ends. The file names the holder's process id.
pub struct RunLock {
    file: std::fs::File,
}

impl RunLock {
    /// Takes the folder's lock, or says which process holds it. A lock
    /// file left by a process that was killed is taken over with a note
    /// (through `note`).
    pub fn take(dir: &RunDir, note: &mut dyn FnMut(&str)) -> Result<Self> {
        let path = dir.lock_file();
        let io = |e: std::io::Error| Error::Invalid(format!("{}: {e}", path.display()));
        crate::io::files::output_folder(&dir.root)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim().to_string();
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Invalid(format!(
                    "{} is in use by another pconv training (process {}); wait for it to end or choose another --out",
                    dir.root.display(),
                    if holder.is_empty() { "unknown" } else { &holder }
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                note(&format!(
                    "{} cannot be locked ({e}); make sure no other run writes into it",
                    dir.root.display()
                ));
            }
        }
        if !holder.is_empty() {
            note(&format!(
                "taking over {}: process {holder}, which left it, is gone",
                path.display()
            ));
        }
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| write!(file, "{}", std::process::id()))
            .and_then(|_| file.flush())
            .map_err(io)?;
        Ok(RunLock { file })
    }
}

impl Drop for RunLock {
    /// An empty lock file means the last holder ended cleanly.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// Which run a training into `dir` is, or why it may not write there.
/// `resumed` is the resumed checkpoint's path and run id (None when a new
/// run starts). A new run needs a folder with no run in it; a resumed one
/// needs the folder empty or holding the same run.
pub fn claim(dir: &RunDir, resumed: Option<(&Path, Option<String>)>) -> Result<String> {
    let here = dir.run_id();
    let Some((checkpoint, theirs)) = resumed else {
        if dir.holds_a_run() {
            let how = if dir.latest().exists() {
                format!("continue it with --resume {}", dir.latest().display())
            } else {
                "it saved no checkpoint: delete the folder to start again".into()
            };
            return Err(Error::Invalid(format!(
                "{} already holds a run; {how}, or choose another --out",
                dir.root.display()
            )));
        }
        return Ok(new_run_id());
    };
    if !dir.holds_a_run() {
        return Ok(theirs.unwrap_or_else(new_run_id));
    }
    let inside =
        crate::io::files::resolved(checkpoint).starts_with(crate::io::files::resolved(&dir.root));
    match (here, theirs) {
        (Some(a), Some(b)) if a == b => Ok(a),
        (Some(a), Some(b)) => Err(Error::Invalid(format!(
            "{} holds run {a}, but {} is from run {b}; resuming it there would overwrite that run's checkpoints and mix the metrics (choose another --out)",
            dir.root.display(),
            checkpoint.display()
        ))),
        // Runs of older versions carry no id: only the folder's own
        // checkpoints resume into it.
        (here, theirs) if inside => Ok(here.or(theirs).unwrap_or_else(new_run_id)),
        _ => Err(Error::Invalid(format!(
            "{} holds another run than {} (or one that cannot be told apart); choose another --out",
            dir.root.display(),
            checkpoint.display()
        ))),
    }
}
