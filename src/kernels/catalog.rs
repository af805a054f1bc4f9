//! The WGSL kernels, embedded at build time, and the tiny preprocessor that
//! resolves `#import name` lines against `shaders/common/name.wgsl`.
use crate::error::{Error, Result};

macro_rules! kernels {
    ($($variant:ident => $path:literal $([$($define:literal),*])?),* $(,)?) => {
        /// Every compute kernel pconv runs; one WGSL file each, entry point `main`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kernel { $($variant),* }

        impl Kernel {
            pub const ALL: &'static [Kernel] = &[$(Kernel::$variant),*];

            /// Path below `shaders/`, e.g. `conv/conv2d_fwd.wgsl`.
            pub fn path(self) -> &'static str {
                match self { $(Kernel::$variant => $path),* }
            }

            fn raw_source(self) -> &'static str {
                match self { $(Kernel::$variant => include_str!(concat!("../../shaders/", $path))),* }
            }

            /// Names defined for `#ifdef` when this kernel is built.
            pub fn defines(self) -> &'static [&'static str] {
                match self { $(Kernel::$variant => &[$($($define),*)?]),* }
            }
        }
    };
}

kernels! {
    Conv2dFwd => "conv/conv2d_fwd.wgsl",
    Conv2dFwdSubgroup => "conv/conv2d_fwd.wgsl" ["subgroup"],
    Conv2dFwdFlat => "conv/conv2d_fwd.wgsl" ["flat"],
    Conv2dFwdFlatSubgroup => "conv/conv2d_fwd.wgsl" ["flat", "subgroup"],
    Conv2dFwdTexels => "conv/conv2d_fwd.wgsl" ["subgroup", "texels"],
    Conv2dFwdFlatTexels => "conv/conv2d_fwd.wgsl" ["flat", "subgroup", "texels"],
    Conv2dFwd3x3 => "conv/conv2d_fwd_3x3.wgsl",
    Conv2dFwd3x3Subgroup => "conv/conv2d_fwd_3x3.wgsl" ["subgroup"],
    Conv2dFwd3x3Flat => "conv/conv2d_fwd_3x3.wgsl" ["flat"],
    Conv2dFwd3x3FlatSubgroup => "conv/conv2d_fwd_3x3.wgsl" ["flat", "subgroup"],
    Conv2dFwd3x3Texels => "conv/conv2d_fwd_3x3.wgsl" ["subgroup", "texels"],
    Conv2dFwd3x3FlatTexels => "conv/conv2d_fwd_3x3.wgsl" ["flat", "subgroup", "texels"],
    Conv2dFwdS2 => "conv/conv2d_fwd_s2.wgsl",
    Conv2dFwdS2Subgroup => "conv/conv2d_fwd_s2.wgsl" ["subgroup"],
    Conv2dFwdS2Flat => "conv/conv2d_fwd_s2.wgsl" ["flat"],
    Conv2dFwdS2FlatSubgroup => "conv/conv2d_fwd_s2.wgsl" ["flat", "subgroup"],
    Conv2dFwdS2Texels => "conv/conv2d_fwd_s2.wgsl" ["subgroup", "texels"],
    Conv2dFwdS2FlatTexels => "conv/conv2d_fwd_s2.wgsl" ["flat", "subgroup", "texels"],
    Conv2dFwdS2K5 => "conv/conv2d_fwd_s2.wgsl" ["k5"],
    Conv2dFwdS2K5Subgroup => "conv/conv2d_fwd_s2.wgsl" ["k5", "subgroup"],
    Conv2dFwdS2K5Flat => "conv/conv2d_fwd_s2.wgsl" ["k5", "flat"],
    Conv2dFwdS2K5FlatSubgroup => "conv/conv2d_fwd_s2.wgsl" ["k5", "flat", "subgroup"],
    Conv2dFwdS2K5Texels => "conv/conv2d_fwd_s2.wgsl" ["k5", "subgroup", "texels"],
    Conv2dFwdS2K5FlatTexels => "conv/conv2d_fwd_s2.wgsl" ["k5", "flat", "subgroup", "texels"],
    Conv2dBwdData => "conv/conv2d_bwd_data.wgsl",
    Conv2dBwdDataS2 => "conv/conv2d_bwd_data_s2.wgsl",
    Conv2dBwdDataS2Subgroup => "conv/conv2d_bwd_data_s2.wgsl" ["subgroup"],
    Conv2dBwdDataS2Flat => "conv/conv2d_bwd_data_s2.wgsl" ["flat"],
    Conv2dBwdDataS2FlatSubgroup => "conv/conv2d_bwd_data_s2.wgsl" ["flat", "subgroup"],
    Conv2dBwdDataS2K5 => "conv/conv2d_bwd_data_s2.wgsl" ["k5"],
    Conv2dBwdDataS2K5Subgroup => "conv/conv2d_bwd_data_s2.wgsl" ["k5", "subgroup"],
    Conv2dBwdDataS2K5Flat => "conv/conv2d_bwd_data_s2.wgsl" ["k5", "flat"],
    Conv2dBwdDataS2K5FlatSubgroup => "conv/conv2d_bwd_data_s2.wgsl" ["k5", "flat", "subgroup"],
    Conv2dBwdDataS2Texels => "conv/conv2d_bwd_data_s2.wgsl" ["subgroup", "texels"],
    Conv2dBwdDataS2FlatTexels => "conv/conv2d_bwd_data_s2.wgsl" ["flat", "subgroup", "texels"],
    Conv2dBwdDataS2K5Texels => "conv/conv2d_bwd_data_s2.wgsl" ["k5", "subgroup", "texels"],
    Conv2dBwdDataS2K5FlatTexels => "conv/conv2d_bwd_data_s2.wgsl" ["k5", "flat", "subgroup", "texels"],
    Conv2dBwdWeight => "conv/conv2d_bwd_weight.wgsl",
    Conv2dBwdWeightSubgroup => "conv/conv2d_bwd_weight.wgsl" ["subgroup"],
    Conv2dBwdWeightTexels => "conv/conv2d_bwd_weight.wgsl" ["subgroup", "texels"],
    Conv2dBwdWeight3x3 => "conv/conv2d_bwd_weight_3x3.wgsl",
    Conv2dBwdWeight3x3Subgroup => "conv/conv2d_bwd_weight_3x3.wgsl" ["subgroup"],
    Conv2dBwdWeight3x3Texels => "conv/conv2d_bwd_weight_3x3.wgsl" ["subgroup", "texels"],
    Conv2dBwdWeightS2 => "conv/conv2d_bwd_weight_s2.wgsl",
    Conv2dBwdWeightS2Subgroup => "conv/conv2d_bwd_weight_s2.wgsl" ["subgroup"],
    Conv2dBwdWeightS2Texels => "conv/conv2d_bwd_weight_s2.wgsl" ["subgroup", "texels"],
    Conv2dBwdWeightS2K5 => "conv/conv2d_bwd_weight_s2.wgsl" ["k5"],
    Conv2dBwdWeightS2K5Subgroup => "conv/conv2d_bwd_weight_s2.wgsl" ["k5", "subgroup"],
    Conv2dBwdWeightS2K5Texels => "conv/conv2d_bwd_weight_s2.wgsl" ["k5", "subgroup", "texels"],
    SumSplits => "conv/sum_splits.wgsl",
    Pad2d => "conv/pad2d.wgsl",
    Pad2dVec4 => "conv/pad2d.wgsl" ["vec4"],
    Pad2dTexels => "conv/pad2d.wgsl" ["texels"],
    Pad2dTexelsVec4 => "conv/pad2d.wgsl" ["texels", "vec4"],
    WeightTexels => "conv/weight_texels.wgsl",
    WeightFlip => "conv/weight_flip.wgsl",
    PConvMask => "conv/pconv_mask.wgsl",
    ChannelScale => "nn/channel_scale.wgsl",
    ChannelScaleVec4 => "nn/channel_scale.wgsl" ["vec4"],
    PConvEpilogue => "nn/pconv_epilogue.wgsl",
    PConvEpilogueVec4 => "nn/pconv_epilogue.wgsl" ["vec4"],
    ChannelSum => "nn/channel_sum.wgsl",
    BatchnormStats => "nn/batchnorm_stats.wgsl",
    BatchnormStatsSerial => "nn/batchnorm_stats.wgsl" ["serial"],
    BatchnormApply => "nn/batchnorm_apply.wgsl",
    BatchnormApplyVec4 => "nn/batchnorm_apply.wgsl" ["vec4"],
    BatchnormBwdReduce => "nn/batchnorm_bwd_reduce.wgsl",
    BatchnormBwdReduceSerial => "nn/batchnorm_bwd_reduce.wgsl" ["serial"],
    BatchnormBwdData => "nn/batchnorm_bwd_data.wgsl",
    BatchnormBwdDataVec4 => "nn/batchnorm_bwd_data.wgsl" ["vec4"],
    Activation => "nn/activation.wgsl",
    ActivationVec4 => "nn/activation.wgsl" ["vec4"],
    ActivationBwd => "nn/activation_bwd.wgsl",
    ActivationBwdVec4 => "nn/activation_bwd.wgsl" ["vec4"],
    Upsample2x => "nn/upsample2x.wgsl",
    Upsample2xVec4 => "nn/upsample2x.wgsl" ["vec4"],
    Upsample2xBwd => "nn/upsample2x_bwd.wgsl",
    Upsample2xBwdVec4 => "nn/upsample2x_bwd.wgsl" ["vec4"],
    Concat => "nn/concat.wgsl",
    ConcatVec4 => "nn/concat.wgsl" ["vec4"],
    SliceChannels => "nn/slice_channels.wgsl",
    SliceChannelsVec4 => "nn/slice_channels.wgsl" ["vec4"],
    Maxpool2 => "nn/maxpool2.wgsl",
    Maxpool2Vec4 => "nn/maxpool2.wgsl" ["vec4"],
    Maxpool2Bwd => "nn/maxpool2_bwd.wgsl",
    Maxpool2BwdVec4 => "nn/maxpool2_bwd.wgsl" ["vec4"],
    Axpby => "nn/axpby.wgsl",
    AxpbyVec4 => "nn/axpby.wgsl" ["vec4"],
    ChannelAffine => "nn/channel_affine.wgsl",
    Composite => "loss/composite.wgsl",
    L1Partial => "loss/l1_partial.wgsl",
    L1PartialVec4 => "loss/l1_partial.wgsl" ["vec4"],
    L1Bwd => "loss/l1_bwd.wgsl",
    L1BwdVec4 => "loss/l1_bwd.wgsl" ["vec4"],
    SumPartials => "loss/sum_partials.wgsl",
    DilateHoles => "loss/dilate_holes.wgsl",
    TvPartial => "loss/tv_partial.wgsl",
    TvBwd => "loss/tv_bwd.wgsl",
    Gram => "loss/gram.wgsl",
    GramTiled => "loss/gram.wgsl" ["tiled"],
    GramBwd => "loss/gram_bwd.wgsl",
    GramBwdTiled => "loss/gram_bwd.wgsl" ["tiled"],
    GramTexels => "loss/gram.wgsl" ["texels"],
    GramBwdTexels => "loss/gram_bwd.wgsl" ["texels"],
    GramBwdTexelsVec4 => "loss/gram_bwd.wgsl" ["texels", "vec4"],
    GramBwdSym => "loss/gram_bwd_sym.wgsl",
    Adam => "optim/adam.wgsl",
    AdamVec4 => "optim/adam.wgsl" ["vec4"],
    Ema => "optim/ema.wgsl",
    EmaVec4 => "optim/ema.wgsl" ["vec4"],
    CompositeRgba8 => "infer/composite_rgba8.wgsl",
}

/// Shared modules that kernels `#import`.
const COMMON: &[(&str, &str)] = &[
    ("index", include_str!("../../shaders/common/index.wgsl")),
    ("reduce", include_str!("../../shaders/common/reduce.wgsl")),
    ("texels", include_str!("../../shaders/common/texels.wgsl")),
    ("lanes", include_str!("../../shaders/common/lanes.wgsl")),
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
    /// The optimiser's kernels (the Adam step and the weights' moving
    /// average, scalar or vec4).
    pub fn is_optimiser(self) -> bool {
        matches!(
            self,
            Kernel::Adam | Kernel::AdamVec4 | Kernel::Ema | Kernel::EmaVec4
        )
    }

    /// Label used for pipelines and in benchmark reports: the file stem,
    /// plus `+define` for variants.
    pub fn name(self) -> String {
        let path = self.path();
        let file = path.rsplit('/').next().unwrap_or(path);
        let mut name = file.strip_suffix(".wgsl").unwrap_or(file).to_string();
        for d in self.defines() {
            name.push('+');
            name.push_str(d);
        }
        name
    }

    /// The complete WGSL of this kernel, imports and conditionals resolved.
    pub fn wgsl(self) -> Result<String> {
        preprocess(&self.name(), self.raw_source(), self.defines())
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
    Ok(out)
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
    // Subgroup kernels are only chosen on adapters with the SUBGROUP feature.
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::SUBGROUP,
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
