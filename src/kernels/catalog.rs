//! The WGSL kernels, embedded at build time: one `Shader` per file, the
//! `Defines` each file reads with `#ifdef`, and the tiny preprocessor that
//! resolves `#import name` lines against `shaders/common/name.wgsl`. A
//! `Kernel` is a file built with a set of defines; which sets a file is
//! built with is data (its variant axes), not one enum row per variant.
use crate::error::{Error, Result};

/// The compile-time switches kernels read with `#ifdef` (a small bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Defines(u16);

impl Defines {
    pub const NONE: Defines = Defines(0);
    /// 5x5 filters in the stride-2 row kernels (else 3x3).
    pub const K5: Defines = Defines(1);
    /// One lane per (channel group, tile): launches for small maps.
    pub const FLAT: Defines = Defines(1 << 1);
    /// Subgroup operations (weights shared by broadcast, reductions).
    pub const SUBGROUP: Defines = Defines(1 << 2);
    /// Operands read from texel arrays (CPU adapters' fast loads).
    pub const TEXELS: Defines = Defines(1 << 3);
    /// Four values per invocation.
    pub const VEC4: Defines = Defines(1 << 4);
    /// One invocation per channel walks the whole plane (tiny batches).
    pub const SERIAL: Defines = Defines(1 << 5);
    /// Workgroup-tiled GEMM.
    pub const TILED: Defines = Defines(1 << 6);
    /// Cooperative-matrix (tensor-core) multiply-add instead of its
    /// plain-arithmetic twin.
    pub const COOP: Defines = Defines(1 << 7);
    /// The input gradient instead of the forward convolution.
    pub const BWD_DATA: Defines = Defines(1 << 8);
    /// The weight gradient instead of the forward convolution.
    pub const BWD_WEIGHT: Defines = Defines(1 << 9);
    /// Gradients scaled by a dynamic loss scale (mixed-precision training).
    pub const LOSS_SCALED: Defines = Defines(1 << 10);
    /// Operands staged in workgroup memory first.
    pub const STAGED: Defines = Defines(1 << 11);
    /// Mixed-precision tiles of 128 result rows instead of 64.
    pub const TALL: Defines = Defines(1 << 12);
    /// The activation (or activation-gradient) operands the kernel reads
    /// are stored as f16 (mixed precision's storage; `graph::storage`).
    pub const HALF_IN: Defines = Defines(1 << 13);
    /// The activation the kernel writes is stored as f16.
    pub const HALF_OUT: Defines = Defines(1 << 14);

    /// The `#ifdef` names, in bit order (the order `Kernel::name` lists them).
    const NAMES: [&'static str; 15] = [
        "k5",
        "flat",
        "subgroup",
        "texels",
        "vec4",
        "serial",
        "tiled",
        "coop",
        "bwd_data",
        "bwd_weight",
        "loss_scaled",
        "staged",
        "tall",
        "half_in",
        "half_out",
    ];

    /// Both sets.
    pub const fn with(self, other: Defines) -> Defines {
        Defines(self.0 | other.0)
    }

    /// `other` added where `on`.
    pub const fn with_if(self, other: Defines, on: bool) -> Defines {
        if on {
            self.with(other)
        } else {
            self
        }
    }

    /// Whether every define of `other` is in this set.
    pub const fn contains(self, other: Defines) -> bool {
        self.0 & other.0 == other.0
    }

    /// The `#ifdef` names of this set.
    pub fn names(self) -> Vec<&'static str> {
        (0..Self::NAMES.len())
            .filter(|bit| self.0 & (1 << bit) != 0)
            .map(|bit| Self::NAMES[bit])
            .collect()
    }
}

/// The variant axes files declare: each axis lists alternative define sets,
/// and a file is built with one choice from each of its axes.
mod axis {
    use super::Defines as D;
    /// Small-map launch or not.
    pub const FLAT: &[D] = &[D::NONE, D::FLAT];
    /// Portable, subgroup, or subgroup with texel-array operands.
    pub const LANES: &[D] = &[D::NONE, D::SUBGROUP, D::SUBGROUP.with(D::TEXELS)];
    pub const K5: &[D] = &[D::NONE, D::K5];
    pub const VEC4: &[D] = &[D::NONE, D::VEC4];
    pub const TEXELS: &[D] = &[D::NONE, D::TEXELS];
    pub const SERIAL: &[D] = &[D::NONE, D::SERIAL];
    /// The Gram matrix: direct, tiled GEMM, or texel operands; the first
    /// two reading f16 features too.
    pub const GRAM: &[D] = &[
        D::NONE,
        D::TILED,
        D::TEXELS,
        D::HALF_IN,
        D::TILED.with(D::HALF_IN),
    ];
    /// Its backward: as `GRAM`, texel operands read as vec4s, and the
    /// storage GEMMs with f16 features in and out (each side on its own).
    pub const GRAM_BWD: &[D] = &[
        D::NONE,
        D::TILED,
        D::TEXELS,
        D::TEXELS.with(D::VEC4),
        D::HALF_IN,
        D::HALF_OUT,
        D::HALF_IN.with(D::HALF_OUT),
        D::TILED.with(D::HALF_IN),
        D::TILED.with(D::HALF_OUT),
        D::TILED.with(D::HALF_IN).with(D::HALF_OUT),
    ];
    /// Activations read as f32 or f16 (kernels writing only f32 sums).
    pub const HALF_IN: &[D] = &[D::NONE, D::HALF_IN];
    /// Mixed-precision tiles: plain arithmetic or cooperative matrices.
    pub const MMA: &[D] = &[D::NONE, D::COOP];
    /// Operands read from storage, or staged in workgroup memory.
    pub const STAGED: &[D] = &[D::NONE, D::STAGED];
    /// Plain, or with a dynamic loss scale.
    pub const LOSS_SCALED: &[D] = &[D::NONE, D::LOSS_SCALED];
    /// Forward, the input gradient or the weight gradient.
    pub const DIRECTION: &[D] = &[D::NONE, D::BWD_DATA, D::BWD_WEIGHT];
    /// Mixed-precision blocks of 64 or 128 result rows.
    pub const MMA_ROWS: &[D] = &[D::NONE, D::TALL];
    /// Activations read and written as f32 or f16, each side on its own
    /// (an f16 island's first and last kernels convert).
    pub const HALF: &[D] = &[
        D::NONE,
        D::HALF_IN,
        D::HALF_OUT,
        D::HALF_IN.with(D::HALF_OUT),
    ];
    /// A result written as f32 or f16 (kernels that read f32 scratch).
    pub const HALF_OUT: &[D] = &[D::NONE, D::HALF_OUT];
}

macro_rules! shaders {
    ($($shader:ident => $path:literal [$($axis:ident),*]),* $(,)?) => {
        /// Every kernel file pconv runs, below `shaders/`; entry point `main`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Shader { $($shader),* }

        impl Shader {
            pub const ALL: &'static [Shader] = &[$(Shader::$shader),*];

            /// Path below `shaders/`, e.g. `conv/conv2d_fwd.wgsl`.
            pub fn path(self) -> &'static str {
                match self { $(Shader::$shader => $path),* }
            }

            fn source(self) -> &'static str {
                match self { $(Shader::$shader => include_str!(concat!("../../shaders/", $path))),* }
            }

            /// The variant axes this file is built along.
            fn axes(self) -> &'static [&'static [Defines]] {
                match self { $(Shader::$shader => &[$(axis::$axis),*]),* }
            }
        }
    };
}

shaders! {
    Conv2dFwd => "conv/conv2d_fwd.wgsl" [FLAT, LANES],
    Conv2dFwd3x3 => "conv/conv2d_fwd_3x3.wgsl" [FLAT, LANES],
    Conv2dFwdS2 => "conv/conv2d_fwd_s2.wgsl" [K5, FLAT, LANES],
    Conv2dMma => "conv/conv2d_mma.wgsl" [MMA, DIRECTION, MMA_ROWS, HALF],
    Conv3x3Mma => "conv/conv3x3_mma.wgsl" [MMA, MMA_ROWS, HALF],
    Conv3x3MmaBwdWeight => "conv/conv3x3_mma_bwd_weight.wgsl" [MMA, HALF_IN],
    Conv2dBwdData => "conv/conv2d_bwd_data.wgsl" [],
    Conv2dBwdDataS2 => "conv/conv2d_bwd_data_s2.wgsl" [K5, FLAT, LANES],
    Conv2dBwdWeight => "conv/conv2d_bwd_weight.wgsl" [LANES],
    Conv2dBwdWeight3x3 => "conv/conv2d_bwd_weight_3x3.wgsl" [LANES],
    Conv2dBwdWeightS2 => "conv/conv2d_bwd_weight_s2.wgsl" [K5, LANES],
    SumSplits => "conv/sum_splits.wgsl" [HALF_OUT],
    Pad2d => "conv/pad2d.wgsl" [TEXELS, VEC4],
    WeightTexels => "conv/weight_texels.wgsl" [],
    WeightFlip => "conv/weight_flip.wgsl" [],
    WeightTaps => "conv/weight_taps.wgsl" [],
    PConvMask => "conv/pconv_mask.wgsl" [],
    ChannelScale => "nn/channel_scale.wgsl" [VEC4, HALF],
    PConvEpilogue => "nn/pconv_epilogue.wgsl" [VEC4, HALF],
    ChannelSum => "nn/channel_sum.wgsl" [],
    BatchnormStats => "nn/batchnorm_stats.wgsl" [SERIAL],
    BatchnormApply => "nn/batchnorm_apply.wgsl" [VEC4, HALF_OUT],
    BatchnormBwdReduce => "nn/batchnorm_bwd_reduce.wgsl" [SERIAL],
    BatchnormBwdData => "nn/batchnorm_bwd_data.wgsl" [VEC4, HALF_OUT],
    Activation => "nn/activation.wgsl" [VEC4, HALF],
    ActivationBwd => "nn/activation_bwd.wgsl" [VEC4, HALF],
    Upsample2x => "nn/upsample2x.wgsl" [VEC4, HALF],
    Upsample2xBwd => "nn/upsample2x_bwd.wgsl" [VEC4, HALF],
    Concat => "nn/concat.wgsl" [VEC4, HALF],
    SliceChannels => "nn/slice_channels.wgsl" [VEC4, HALF],
    Maxpool2 => "nn/maxpool2.wgsl" [VEC4, HALF],
    Maxpool2Bwd => "nn/maxpool2_bwd.wgsl" [VEC4, HALF],
    Axpby => "nn/axpby.wgsl" [VEC4, HALF],
    ChannelAffine => "nn/channel_affine.wgsl" [HALF],
    Composite => "loss/composite.wgsl" [],
    L1Partial => "loss/l1_partial.wgsl" [VEC4, HALF_IN],
    L1Bwd => "loss/l1_bwd.wgsl" [VEC4, HALF],
    SumPartials => "loss/sum_partials.wgsl" [],
    DilateHoles => "loss/dilate_holes.wgsl" [],
    TvPartial => "loss/tv_partial.wgsl" [],
    TvBwd => "loss/tv_bwd.wgsl" [],
    Gram => "loss/gram.wgsl" [GRAM],
    GramBwd => "loss/gram_bwd.wgsl" [GRAM_BWD],
    GramBwdSym => "loss/gram_bwd_sym.wgsl" [],
    Adam => "optim/adam.wgsl" [VEC4, LOSS_SCALED],
    Ema => "optim/ema.wgsl" [VEC4],
    Accumulate => "optim/accumulate.wgsl" [VEC4, LOSS_SCALED],
    LossScale => "optim/loss_scale.wgsl" [],
    CompositeRgba8 => "infer/composite_rgba8.wgsl" [],
    CoopProbe => "probe/coop_mma16.wgsl" [STAGED],
    CoopPeak => "probe/coop_peak.wgsl" [STAGED],
}

impl Shader {
    /// Every define set this file is built with: one choice per axis.
    pub fn variants(self) -> Vec<Defines> {
        self.axes().iter().fold(vec![Defines::NONE], |sets, axis| {
            sets.iter()
                .flat_map(|set| axis.iter().map(move |choice| set.with(*choice)))
                .collect()
        })
    }
}

/// A compute kernel: a file built with a set of defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    pub shader: Shader,
    pub defines: Defines,
}

impl Shader {
    /// This file with no defines.
    pub const fn kernel(self) -> Kernel {
        Kernel {
            shader: self,
            defines: Defines::NONE,
        }
    }

    /// This file with `defines`.
    pub const fn with(self, defines: Defines) -> Kernel {
        Kernel {
            shader: self,
            defines,
        }
    }
}

impl From<Shader> for Kernel {
    fn from(shader: Shader) -> Kernel {
        shader.kernel()
    }
}

/// Shared modules that kernels `#import`.
const COMMON: &[(&str, &str)] = &[
    ("index", include_str!("../../shaders/common/index.wgsl")),
    ("reduce", include_str!("../../shaders/common/reduce.wgsl")),
    ("texels", include_str!("../../shaders/common/texels.wgsl")),
    ("lanes", include_str!("../../shaders/common/lanes.wgsl")),
    ("half", include_str!("../../shaders/common/half.wgsl")),
    ("to_f16", include_str!("../../shaders/common/to_f16.wgsl")),
    ("mma_io", include_str!("../../shaders/common/mma_io.wgsl")),
    (
        "stage3x3",
        include_str!("../../shaders/common/stage3x3.wgsl"),
    ),
    (
        "gemm_register",
        include_str!("../../shaders/common/gemm_register.wgsl"),
    ),
    (
        "gemm_tiled",
        include_str!("../../shaders/common/gemm_tiled.wgsl"),
    ),
];

impl Kernel {
    /// Every kernel: each file with each of its variants.
    pub fn all() -> Vec<Kernel> {
        Shader::ALL
            .iter()
            .flat_map(|&s| s.variants().into_iter().map(move |d| s.with(d)))
            .collect()
    }

    /// The kernel of this `name` (as `Kernel::name` writes it).
    pub fn by_name(name: &str) -> Option<Kernel> {
        Kernel::all().into_iter().find(|k| k.name() == name)
    }

    /// This kernel with `defines` added.
    pub const fn with(self, defines: Defines) -> Kernel {
        self.shader.with(self.defines.with(defines))
    }

    /// This kernel reading and writing its activations as `half` says, as
    /// far as its file declares f16 variants (BatchNorm's statistics have
    /// none, its normalisation writes f16 but reads f32).
    pub fn with_half(self, half: super::HalfStorage) -> Kernel {
        let declared = |d: Defines| self.shader.variants().contains(&self.defines.with(d));
        self.with_if(Defines::HALF_IN, half.input && declared(Defines::HALF_IN))
            .with_if(
                Defines::HALF_OUT,
                half.output && declared(Defines::HALF_OUT),
            )
    }

    /// This kernel with `defines` added where `on`.
    pub const fn with_if(self, defines: Defines, on: bool) -> Kernel {
        self.shader.with(self.defines.with_if(defines, on))
    }

    /// Whether this kernel is built with every define of `defines`.
    pub const fn has(self, defines: Defines) -> bool {
        self.defines.contains(defines)
    }

    /// Path below `shaders/`.
    pub fn path(self) -> &'static str {
        self.shader.path()
    }

    /// The optimiser's kernels (the Adam step, the weights' moving
    /// average and gradient accumulation, scalar or vec4).
    pub fn is_optimiser(self) -> bool {
        matches!(
            self.shader,
            Shader::Adam | Shader::Ema | Shader::Accumulate | Shader::LossScale
        )
    }

    /// Label used for pipelines and in benchmark reports: the file stem,
    /// plus `+define` for each define.
    pub fn name(self) -> String {
        let path = self.path();
        let file = path.rsplit('/').next().unwrap_or(path);
        let mut name = file.strip_suffix(".wgsl").unwrap_or(file).to_string();
        for d in self.defines.names() {
            name.push('+');
            name.push_str(d);
        }
        name
    }

    /// The complete WGSL of this kernel, imports and conditionals resolved;
    /// an error for a define set its file does not declare.
    pub fn wgsl(self) -> Result<String> {
        if !self.shader.variants().contains(&self.defines) {
            return Err(Error::Shader {
                name: self.name(),
                message: format!("{} declares no such variant", self.path()),
            });
        }
        preprocess(&self.name(), self.shader.source(), &self.defines.names())
    }
}

/// Resolves the preprocessor lines: `#import name` is replaced by the common
/// module `name` (each module at most once); `#ifdef NAME`, `#ifndef NAME`,
/// `#else` and `#endif` keep or drop lines by the kernel's `defines`.
pub fn preprocess(name: &str, source: &str, defines: &[&str]) -> Result<String> {
    let err = |message: String| Error::Shader {
        name: name.into(),
        message,
    };
    let mut out = String::with_capacity(source.len() * 2);
    let mut imported: Vec<&str> = Vec::new();
    // One entry per open conditional: (this branch kept, the enclosing one kept).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let active = |stack: &[(bool, bool)]| stack.last().is_none_or(|&(own, outer)| own && outer);
    for line in source.lines() {
        let t = line.trim();
        if let Some(d) = t
            .strip_prefix("#ifdef ")
            .or_else(|| t.strip_prefix("#ifndef "))
        {
            let defined = defines.contains(&d.trim());
            let keep = if t.starts_with("#ifdef") {
                defined
            } else {
                !defined
            };
            let outer = active(&stack);
            stack.push((keep, outer));
        } else if t == "#else" {
            let top = stack
                .last_mut()
                .ok_or_else(|| err("#else without #ifdef".into()))?;
            top.0 = !top.0;
        } else if t == "#endif" {
            stack
                .pop()
                .ok_or_else(|| err("#endif without #ifdef".into()))?;
        } else if !active(&stack) {
            continue;
        } else if let Some(module) = t.strip_prefix("#import ") {
            let module = module.trim();
            let text = COMMON
                .iter()
                .find(|(m, _)| *m == module)
                .map(|(_, t)| *t)
                .ok_or_else(|| err(format!("unknown #import {module}")))?;
            if !imported.contains(&module) {
                imported.push(module);
                // Modules take the kernel's defines too.
                out.push_str(&preprocess(name, text, defines)?);
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !stack.is_empty() {
        return Err(err("#ifdef without #endif".into()));
    }
    Ok(hoist_enables(&out))
}

/// The `enable` directives moved to the front, each once: WGSL wants them
/// before any declaration, and a module imported after another's
/// declarations (`lanes` with f16 storage) may bring one.
fn hoist_enables(wgsl: &str) -> String {
    let mut enables: Vec<&str> = Vec::new();
    let mut body = String::with_capacity(wgsl.len());
    for line in wgsl.lines() {
        let t = line.trim();
        if t.starts_with("enable ") && t.ends_with(';') {
            if !enables.contains(&t) {
                enables.push(t);
            }
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    let mut out = enables.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out + &body
}

/// Parses and validates WGSL with naga, as wgpu would on any backend.
pub fn validate(name: &str, wgsl: &str) -> Result<()> {
    parse_and_validate(name, wgsl).map(|_| ())
}

/// The parsed module and naga's validation info (for translating it to
/// another backend's language).
pub fn parse_and_validate(
    name: &str,
    wgsl: &str,
) -> Result<(naga::Module, naga::valid::ModuleInfo)> {
    let module = naga::front::wgsl::parse_str(wgsl).map_err(|e| Error::Shader {
        name: name.into(),
        message: e.emit_to_string(wgsl),
    })?;
    // Subgroup, f16 and cooperative-matrix kernels are only chosen on
    // adapters with those features.
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::SUBGROUP
            | naga::valid::Capabilities::SHADER_FLOAT16
            | naga::valid::Capabilities::COOPERATIVE_MATRIX,
    );
    validator
        .subgroup_stages(naga::valid::ShaderStages::COMPUTE)
        .subgroup_operations(naga::valid::SubgroupOperationSet::all());
    let info = validator.validate(&module).map_err(|e| Error::Shader {
        name: name.into(),
        message: e.emit_to_string(wgsl),
    })?;
    Ok((module, info))
}
