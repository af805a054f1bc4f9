//! What mixed precision can use on a device: f16 in shaders, and
//! cooperative-matrix (tensor-core) tiles of f16 x f16 -> f32, 16 x 16 x 16.

/// Mixed-precision capabilities of an opened device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MixedPrecision {
    /// f16 storage and arithmetic in shaders (`SHADER_F16`).
    pub f16: bool,
    /// 16 x 16 x 16 f16 x f16 -> f32 cooperative matrices on subgroups of
    /// exactly 32 invocations (the mixed-precision GEMM kernels' groups),
    /// on a device opened with mixed precision requested
    /// (`context::device_descriptor`); `PCONV_NO_COOP` turns them off
    /// (their plain-arithmetic twins run).
    pub coop_16x16_f16: bool,
}

/// Whether the adapter offers the cooperative-matrix shape the kernels use.
pub fn has_coop_16x16_f16(adapter: &wgpu::Adapter) -> bool {
    use wgpu::CooperativeScalarType as T;
    adapter.features().contains(wgpu::Features::SHADER_F16)
        && adapter
            .features()
            .contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX)
        && adapter.cooperative_matrix_properties().iter().any(|p| {
            (p.m_size, p.n_size, p.k_size) == (16, 16, 16)
                && p.ab_type == T::F16
                && p.cr_type == T::F32
        })
}

impl MixedPrecision {
    /// What `device` (opened on `adapter`) offers.
    pub fn of(adapter: &wgpu::Adapter, device: &wgpu::Device) -> Self {
        let features = device.features();
        let info = adapter.get_info();
        let f16 = features.contains(wgpu::Features::SHADER_F16);
        MixedPrecision {
            f16,
            coop_16x16_f16: f16
                && features.contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX)
                && has_coop_16x16_f16(adapter)
                && info.subgroup_min_size == 32
                && info.subgroup_max_size == 32
                && std::env::var("PCONV_NO_COOP").is_err(),
        }
    }
}

/// The tile kernels mixed precision runs: cooperative matrices where the
/// device offers them and `self_test` finds them exact (an experimental
/// wgpu feature: a driver may build or run them wrongly), else the
/// plain-arithmetic twin; with the self-test's finding when it failed.
pub fn choose_kernels(
    coop_offered: bool,
    self_test: impl FnOnce() -> Result<(), String>,
) -> (crate::kernels::MixedKernels, Option<String>) {
    use crate::kernels::MixedKernels::{Coop, Twin};
    if !coop_offered {
        return (Twin, None);
    }
    match self_test() {
        Ok(()) => (Coop, None),
        Err(why) => (Twin, Some(why)),
    }
}

/// The arithmetic of the convolutions: f32 throughout, or mixed (f16
/// operands, f32 accumulation; activations stored as f16 between kernels
/// that have f16-storage variants, `graph::storage`; arithmetic inside
/// every other kernel stays f32).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// The default until the cooperative-matrix kernels have passed their
    /// tests on a real GPU (tools/device/check.sh).
    #[default]
    F32,
    Mixed,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "mixed" => Ok(Precision::Mixed),
            other => Err(format!("precision {other:?}: expected f32 or mixed")),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Mixed => "mixed",
        })
    }
}

/// The precision asked for by `--precision` (0: none).
static REQUESTED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Asks every device opened from now on for `p` (the `--precision` flag).
pub fn request(p: Precision) {
    let code = match p {
        Precision::F32 => 1,
        Precision::Mixed => 2,
    };
    REQUESTED.store(code, std::sync::atomic::Ordering::Relaxed);
}

/// The precision asked for: `--precision`, else `PCONV_PRECISION`, else
/// none (a bad `PCONV_PRECISION` is an error).
pub fn requested() -> Result<Option<Precision>, String> {
    match REQUESTED.load(std::sync::atomic::Ordering::Relaxed) {
        1 => Ok(Some(Precision::F32)),
        2 => Ok(Some(Precision::Mixed)),
        _ => match std::env::var("PCONV_PRECISION") {
            Ok(v) if !v.is_empty() => v
                .parse()
                .map(Some)
                .map_err(|e| format!("PCONV_PRECISION: {e}")),
            _ => Ok(None),
        },
    }
}
