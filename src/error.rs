//! Library errors: every failure a user can cause or meet is one of these,
//! with a message that says what to do; nothing in the library panics on bad
//! input.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(
        "no GPU adapter found{0} (on Linux without a GPU: apt-get install mesa-vulkan-drivers)"
    )]
    NoAdapter(String),
    #[error("could not open the GPU device: {0}")]
    Device(String),
    #[error("shader {name}: {message}")]
    Shader { name: String, message: String },
    #[error("shape error in {op}: {message}")]
    Shape { op: &'static str, message: String },
    #[error(
        "tensor {name} needs {bytes} bytes, more than the device binds at once ({limit} bytes)"
    )]
    TooLarge {
        name: String,
        bytes: u64,
        limit: u64,
    },
    #[error("GPU out of memory while {0}")]
    OutOfMemory(String),
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error("{0}")]
    Invalid(String),
    /// Training diverged (a loss or weight is NaN or infinite).
    #[error("{0}")]
    NonFinite(String),
}

impl Error {
    /// Whether the work was too large for the device (a tensor past the
    /// binding limit, or memory exhausted): a smaller size may fit.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Error::TooLarge { .. } | Error::OutOfMemory(_))
    }

    /// The message, with the flags that make a training step smaller where
    /// the step was too large (for `train` and `bench`, which have them).
    pub fn with_step_hint(&self) -> String {
        if self.is_too_large() {
            format!("{self}; use a smaller --batch or --size")
        } else {
            self.to_string()
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
