//! The launch vocabulary every kernel's lowering speaks: one dispatch
//! (kernel, uniform parameters, bindings, grid), the dispatches of a node,
//! what lowering knows of the device, and the limits kernels respect.
use super::Kernel;

/// Loop iterations one invocation may run, all loops together. lavapipe
/// (llvmpipe) silently ends a shader's loops after 65535 iterations in all,
/// so kernels with long per-invocation loops split their work to stay
/// below this (with margin); on GPUs the split also adds parallelism.
pub const LOOP_BUDGET: usize = 50_000;

/// What lowering needs to know about the device.
#[derive(Clone, Copy, Debug)]
pub struct DeviceTraits {
    /// Workgroups worth having in flight; split-K reductions aim for it.
    pub parallel_workgroups: u32,
    /// Subgroups of 8 to 64 lanes are available (subgroup kernel variants).
    pub subgroups_8_to_64: bool,
    /// GEMMs stage tiles in workgroup memory (GPUs); CPU adapters run the
    /// register-tile kernels, which are faster there.
    pub workgroup_gemm: bool,
    /// Subgroups are runs of this many consecutive invocations of a 1-D
    /// workgroup (lavapipe: 8), so "flat" convolutions whose tile count is a
    /// multiple of it still share weights by subgroupBroadcast; 0 where that
    /// layout is not known (GPU drivers do not promise it).
    pub flat_subgroup_size: u32,
    /// Rows of the texel arrays (textures `TEXELS_PER_ROW` wide) the conv
    /// row kernels (with subgroups) and the Gram kernels may read their
    /// operands from; 0 where they read buffers. CPU adapters use them:
    /// lavapipe fetches a texel some 8x faster than it loads a vec4 from a
    /// storage buffer.
    pub texel_rows: u32,
    /// Convolutions in mixed precision (f16 operands, f32 accumulation)
    /// and how, or f32 (`Off`).
    pub mixed: MixedKernels,
    /// The mixed kernels' 128-row blocks (`MmaTile::Tall`, and the 3x3
    /// kernel's 128-channel blocks) for results of 128 rows or more: a candidate that `bench --kernels` times beside
    /// the 64-row blocks; off until a GPU has measured it
    /// (`PCONV_MMA_TALL=1` turns it on for a whole run).
    pub mixed_tall: bool,
    /// 3x3 stride-1 convolutions on `conv3x3_mma.wgsl` and
    /// `conv3x3_mma_bwd_weight.wgsl` (the input staged once per block, not
    /// once per tap) where the map is at least 16 pixels wide: a candidate that
    /// `bench --kernels` times beside the implicit GEMM; off until a GPU
    /// has measured it (`PCONV_MMA_DIRECT=1` turns it on for a whole run).
    pub mixed_direct: bool,
    /// In mixed precision, activations and their gradients between kernels
    /// that have f16-storage variants are stored as f16 (`graph::storage`),
    /// as autocast keeps them: half the bytes for the memory-bound kernels.
    /// `PCONV_F32_STORAGE=1` keeps them f32, for comparison.
    pub half_storage: bool,
    /// An activation that is the only reader of a result runs in the
    /// kernel writing it (BatchNorm's normalisation; mixed precision's
    /// convolutions): `Recording::aliases`. `PCONV_NO_FUSION=1` runs them
    /// apart, for comparison.
    pub fuse_activations: bool,
}

/// Whether a node's kernels read (`input`) and write (`output`) its
/// activation tensors as f16 (`Op::half_io` names which tensors those are).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HalfStorage {
    pub input: bool,
    pub output: bool,
}

impl HalfStorage {
    pub const NONE: HalfStorage = HalfStorage {
        input: false,
        output: false,
    };
}

/// Which kernels run the convolutions' matrix tiles in mixed precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixedKernels {
    /// f32 kernels throughout.
    Off,
    /// f16 tiles multiplied in plain arithmetic (any device with f16).
    Twin,
    /// f16 cooperative matrices (tensor cores).
    Coop,
}

impl DeviceTraits {
    /// A GPU before its optional features are known.
    pub const GPU: DeviceTraits = DeviceTraits {
        parallel_workgroups: 1024,
        subgroups_8_to_64: false,
        workgroup_gemm: true,
        flat_subgroup_size: 0,
        texel_rows: 0,
        mixed: MixedKernels::Off,
        mixed_tall: false,
        mixed_direct: false,
        half_storage: false,
        fuse_activations: true,
    };

    /// A CPU adapter (lavapipe) before its optional features are known.
    pub const CPU_ADAPTER: DeviceTraits = DeviceTraits {
        parallel_workgroups: 16,
        subgroups_8_to_64: false,
        workgroup_gemm: false,
        flat_subgroup_size: 0,
        texel_rows: 0,
        mixed: MixedKernels::Off,
        mixed_tall: false,
        mixed_direct: false,
        half_storage: false,
        fuse_activations: true,
    };

    /// Whether `texels` vec4s fit one texel array of this device.
    pub fn texels_fit(&self, texels: usize) -> bool {
        texels <= self.texel_rows as usize * TEXELS_PER_ROW
    }
}

/// Width of the texel arrays (`TEXELS_PER_ROW` in shaders/common/texels.wgsl).
pub const TEXELS_PER_ROW: usize = 4096;

/// A binding of a dispatch, relative to its node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Input(usize),
    Output(usize),
    Scratch(usize),
    /// A scratch texel array of the node (`Lowered::scratch_texels`).
    ScratchTexels(usize),
    /// A placeholder for an optional operand the kernel will not read.
    Unused,
}

/// One kernel launch. `bindings[i]` is WGSL `@binding(i + 1)`; binding 0 is
/// the uniform `params`.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub kernel: Kernel,
    pub params: Vec<u32>,
    pub bindings: Vec<Binding>,
    pub workgroups: [u32; 3],
}

/// The dispatches of one node and the scratch buffers (bytes) and texel
/// arrays (vec4s) they share.
#[derive(Clone, Debug, Default)]
pub struct Lowered {
    pub dispatches: Vec<Dispatch>,
    pub scratch_bytes: Vec<u64>,
    pub scratch_texels: Vec<u64>,
    /// Dispatches that read only the node's inputs and write only scratch
    /// of their own, which only later dispatches of the node read (weights
    /// packed for a kernel). Where those inputs are weights no run changes,
    /// the plan hoists them: they run once after the weights are written.
    pub hoistable: Vec<usize>,
}

impl Lowered {
    pub fn one(d: Dispatch) -> Self {
        Lowered {
            dispatches: vec![d],
            ..Default::default()
        }
    }

    /// Every dispatch reading and writing its activations as `half` says,
    /// as far as its kernel's file declares f16 variants
    /// (`Kernel::with_half`).
    pub fn with_half(mut self, half: HalfStorage) -> Self {
        for d in &mut self.dispatches {
            d.kernel = d.kernel.with_half(half);
        }
        self
    }
}

pub const WG_SIZE: u32 = 256;
const MAX_GRID: u32 = 65535;

/// Grid for an element-wise kernel over `len` invocations (see
/// `shaders/common/index.wgsl`).
pub fn grid_1d(len: usize) -> [u32; 3] {
    let groups = (len as u64).div_ceil(WG_SIZE as u64).max(1);
    if groups <= MAX_GRID as u64 {
        [groups as u32, 1, 1]
    } else {
        [MAX_GRID, groups.div_ceil(MAX_GRID as u64) as u32, 1]
    }
}

/// Builds a uniform parameter block field by field (4 bytes each).
#[derive(Default)]
pub struct Params(pub Vec<u32>);

impl Params {
    pub fn new() -> Self {
        Params(Vec::new())
    }
    pub fn u(mut self, v: usize) -> Self {
        self.0.push(v as u32);
        self
    }
    pub fn f(mut self, v: f32) -> Self {
        self.0.push(v.to_bits());
        self
    }
    pub fn b(self, v: bool) -> Self {
        self.u(v as usize)
    }
    /// Pads to a 16-byte boundary, where WGSL places a following vec4.
    pub fn align16(mut self) -> Self {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
        self
    }
    pub fn done(self) -> Vec<u32> {
        self.0
    }
}

/// Declares a kernel's uniform block: a `#[repr(C)]` struct of u32 and
/// f32 fields in the order of the `struct Params` of its WGSL file (each
/// field 4 bytes, so the two layouts agree), with the field names and
/// types a test compares against the shader's (`tests/shaders_validate.rs`).
macro_rules! uniform {
    ($(#[$doc:meta])* $name:ident in $($file:literal),+ { $($field:ident: $ty:ident),* $(,)? }) => {
        $(#[$doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name {
            $(pub $field: $ty),*
        }

        impl $name {
            /// The WGSL files (below `shaders/`) whose `Params` this is.
            pub const SHADERS: &'static [&'static str] = &[$($file),+];
            /// (name, WGSL type) of each field, in order.
            pub const FIELDS: &'static [(&'static str, &'static str)] =
                &[$((stringify!($field), stringify!($ty))),*];

            /// The block as the uniform buffer holds it.
            pub fn words(&self) -> Vec<u32> {
                bytemuck::cast_slice(std::slice::from_ref(self)).to_vec()
            }
        }
    };
}
pub(crate) use uniform;
