//! What mixed precision can use on a device: f16 in shaders, and
//! cooperative-matrix (tensor-core) tiles of f16 x f16 -> f32, 16 x 16 x 16.

/// Mixed-precision capabilities of an opened device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MixedPrecision {
    /// f16 storage and arithmetic in shaders (`SHADER_F16`).
    pub f16: bool,
    /// 16 x 16 x 16 f16 x f16 -> f32 cooperative matrices on subgroups of
    /// exactly 32 invocations (the mixed-precision GEMM kernels' groups);
    /// `PCONV_NO_COOP` turns them off (their plain-arithmetic twins run).
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
