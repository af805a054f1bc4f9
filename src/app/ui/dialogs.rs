//! Native file dialogs (rfd, through the XDG desktop portal) on a thread of
//! their own, so the window keeps drawing while one is open. Without a
//! portal a dialog returns nothing at once; that is told apart from a
//! person cancelling (who cannot be that quick) and reported, and the path
//! fields beside each button and drag and drop still work.
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};

/// What the chosen path is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    OpenImage,
    LoadModel,
    LoadMask,
    SaveMask,
    SaveResult,
    SaveFitted,
}

impl Purpose {
    fn dialog(self, start: Option<PathBuf>) -> rfd::FileDialog {
        let images = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"];
        let mut d = rfd::FileDialog::new();
        if let Some(p) = start {
            if p.is_dir() {
                d = d.set_directory(&p);
            } else if let Some(dir) = p.parent().filter(|d| d.is_dir()) {
                d = d.set_directory(dir);
            }
            if let Some(name) = p.file_name() {
                d = d.set_file_name(name.to_string_lossy());
            }
        }
        match self {
            Purpose::OpenImage => d.set_title("Open an image").add_filter("images", &images),
            Purpose::LoadModel | Purpose::SaveFitted => d
                .set_title("PConv-UNet checkpoint")
                .add_filter("safetensors", &["safetensors"]),
            Purpose::LoadMask | Purpose::SaveMask => d
                .set_title("Mask (white = hole)")
                .add_filter("PNG", &["png"]),
            Purpose::SaveResult => d
                .set_title("Save the result")
                .add_filter("images", &["png", "jpg", "jpeg"]),
        }
    }

    fn saves(self) -> bool {
        matches!(
            self,
            Purpose::SaveMask | Purpose::SaveResult | Purpose::SaveFitted
        )
    }
}

/// A dialog that returns nothing sooner than this never showed.
const TOO_QUICK: std::time::Duration = std::time::Duration::from_millis(300);

/// The chosen path (None: cancelled or never shown), and how long the
/// dialog took.
type Answer = (Option<PathBuf>, std::time::Duration);

/// At most one dialog open at a time.
#[derive(Default)]
pub struct Dialogs {
    open: Option<(Purpose, Receiver<Answer>)>,
    failed: bool,
}

impl Dialogs {
    /// Opens a dialog unless one is already open; `start` preselects a
    /// folder and file name.
    pub fn ask(&mut self, purpose: Purpose, start: Option<PathBuf>) {
        if self.open.is_some() {
            return;
        }
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("pconv-dialog".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let d = purpose.dialog(start);
                let chosen = if purpose.saves() {
                    d.save_file()
                } else {
                    d.pick_file()
                };
                let _ = tx.send((chosen, started.elapsed()));
            });
        if spawned.is_ok() {
            self.open = Some((purpose, rx));
        }
    }

    /// Whether the last dialog could not open (no desktop portal), once.
    pub fn take_failure(&mut self) -> bool {
        std::mem::take(&mut self.failed)
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The path chosen in the dialog that just closed, if any.
    pub fn poll(&mut self) -> Option<(Purpose, PathBuf)> {
        let (purpose, rx) = self.open.as_ref()?;
        match rx.try_recv() {
            Ok((chosen, took)) => {
                let purpose = *purpose;
                self.open = None;
                self.failed = chosen.is_none() && took < TOO_QUICK;
                chosen.map(|p| (purpose, p))
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.open = None;
                None
            }
        }
    }
}
