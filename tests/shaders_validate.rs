//! Every kernel in `shaders/` parses and validates with naga (no GPU needed),
//! and every WGSL file on disk is registered as a kernel or a common module.
use pconv::kernels::catalog::{preprocess, validate, Defines, Kernel, Shader};

#[test]
fn every_kernel_validates() {
    let mut failures = Vec::new();
    for k in Kernel::all() {
        let wgsl = k.wgsl().expect("imports resolve");
        if let Err(e) = validate(&k.name(), &wgsl) {
            failures.push(e.to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_shader_file_is_registered() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut missing = Vec::new();
    for family in std::fs::read_dir(&root).unwrap() {
        let family = family.unwrap().path();
        let fam_name = family.file_name().unwrap().to_string_lossy().to_string();
        if fam_name == "common" {
            continue;
        }
        for f in std::fs::read_dir(&family).unwrap() {
            let rel = format!("{fam_name}/{}", f.unwrap().file_name().to_string_lossy());
            if !Shader::ALL.iter().any(|s| s.path() == rel) {
                missing.push(rel);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "shader files without a Shader entry: {missing:?}"
    );
}

#[test]
fn broken_shader_is_reported_with_its_name() {
    let err = validate("broken", "fn main() { let x: u32 = 1.5; }").unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
    let err = preprocess("k", "#import nonexistent\n", &[]).unwrap_err();
    assert!(err.to_string().contains("nonexistent"), "{err}");
    let err = preprocess("k", "#ifdef a\nx\n", &[]).unwrap_err();
    assert!(err.to_string().contains("#endif"), "{err}");
}

#[test]
fn conditionals_select_lines() {
    let src = "a\n#ifdef sub\nb\n#ifndef other\nc\n#endif\n#else\nd\n#endif\ne\n";
    assert_eq!(preprocess("k", src, &["sub"]).unwrap(), "a\nb\nc\ne\n");
    assert_eq!(
        preprocess("k", src, &["sub", "other"]).unwrap(),
        "a\nb\ne\n"
    );
    assert_eq!(preprocess("k", src, &[]).unwrap(), "a\nd\ne\n");
    // Imported modules take the kernel's defines (common/lanes.wgsl).
    let vec4 = preprocess("k", "#import lanes\n", &["vec4"]).unwrap();
    assert!(vec4.contains("alias V = vec4<f32>;") && !vec4.contains("alias V = f32;"));
    let scalar = preprocess("k", "#import lanes\n", &[]).unwrap();
    assert!(scalar.contains("alias V = f32;") && !scalar.contains("alias V = vec4<f32>;"));
    // f16 storage: `enable f16;` (from a module imported after a
    // declaration, once though two conditionals bring it) moved to the
    // front, where WGSL wants it.
    let half = preprocess(
        "k",
        "const A: u32 = 1u;\n#import lanes\n",
        &["half_in", "half_out"],
    )
    .unwrap();
    assert!(half.starts_with("enable f16;\nconst A"), "{half}");
    assert_eq!(half.matches("enable f16;").count(), 1);
    assert!(half.contains("alias VI = IN1;") && half.contains("alias IN1 = f16;"));
    assert!(!scalar.contains("enable"));
}

/// Every kernel translates to Metal (MSL 2.3: simdgroup operations), to
/// DirectX (HLSL shader model 6.0: wave operations; 6.2 for f16) and to
/// SPIR-V (Vulkan), the backends wgpu uses on macOS, Windows and the GPUs
/// no CI machine here has. Cooperative-matrix kernels skip DirectX, where
/// wgpu does not offer them.
#[test]
fn every_kernel_translates_to_metal_directx_and_spirv() {
    let mut failures = Vec::new();
    for k in Kernel::all() {
        let wgsl = k.wgsl().expect("imports resolve");
        let (module, info) =
            pconv::kernels::catalog::parse_and_validate(&k.name(), &wgsl).expect("validated above");
        let msl = naga::back::msl::Options {
            lang_version: (2, 3),
            ..Default::default()
        };
        if let Err(e) = naga::back::msl::write_string(
            &module,
            &info,
            &msl,
            &naga::back::msl::PipelineOptions::default(),
        ) {
            failures.push(format!("{} (MSL): {e}", k.name()));
        }
        // naga's defaults, and the options wgpu's Vulkan backend translates
        // with on a Vulkan 1.3 driver (bounds checks by clamping unless the
        // driver has robustBufferAccess2, bounded loops; naga's writer has
        // panicked on cooperative loads that the defaults translated).
        for (what, options) in [
            ("SPIR-V", naga::back::spv::Options::default()),
            (
                "SPIR-V as wgpu's Vulkan backend",
                wgpu_vulkan_spirv_options(),
            ),
        ] {
            let written = std::panic::catch_unwind(|| {
                naga::back::spv::write_vec(&module, &info, &options, None)
            });
            match written {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => failures.push(format!("{} ({what}): {e}", k.name())),
                Err(_) => failures.push(format!("{} ({what}): naga panicked", k.name())),
            }
        }
        if wgsl.contains("enable wgpu_cooperative_matrix;") {
            continue;
        }
        let hlsl = naga::back::hlsl::Options {
            shader_model: if wgsl.contains("enable f16;") {
                naga::back::hlsl::ShaderModel::V6_2
            } else {
                naga::back::hlsl::ShaderModel::V6_0
            },
            ..Default::default()
        };
        let mut out = String::new();
        let written = naga::back::hlsl::Writer::new(
            &mut out,
            &hlsl,
            &naga::back::hlsl::PipelineOptions::default(),
        )
        .write(&module, &info, None);
        if let Err(e) = written {
            failures.push(format!("{} (HLSL): {e}", k.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every kernel's SPIR-V (as wgpu's Vulkan backend writes it) passes
/// SPIRV-Tools' validator for Vulkan 1.3, which checks what naga does not:
/// the Vulkan environment's rules, cooperative-matrix loads and stores
/// among them. Runs where `spirv-val` is found (PCONV_SPIRV_VAL, else on
/// the PATH; SPIRV-Tools 2023.4 or newer knows cooperative matrices): CI
/// has none, so a session runs it before a GPU window
/// (tools/device/README.md); PCONV_REQUIRE_SPIRV_VAL=1 makes its absence a
/// failure.
#[test]
fn every_kernel_passes_spirv_val() {
    let tool = std::env::var("PCONV_SPIRV_VAL").unwrap_or_else(|_| "spirv-val".into());
    // "SPIRV-Tools v2026.4 ..." -> (2026, 4); cooperative matrices from 2023.4.
    let version = std::process::Command::new(&tool)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let v = text
                .split_once("SPIRV-Tools v")?
                .1
                .split_whitespace()
                .next()?;
            let (year, minor) = v.split_once('.')?;
            Some((year.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
        });
    if version.is_none_or(|v| v < (2023, 4)) {
        let why = match version {
            Some((y, m)) => format!("{tool} is SPIRV-Tools v{y}.{m}, older than v2023.4"),
            None => format!("no {tool}"),
        };
        assert!(
            std::env::var("PCONV_REQUIRE_SPIRV_VAL").as_deref() != Ok("1"),
            "PCONV_REQUIRE_SPIRV_VAL=1 but {why}"
        );
        eprintln!("skipping: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("pconv-spirv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for k in Kernel::all() {
        let wgsl = k.wgsl().expect("imports resolve");
        let (module, info) =
            pconv::kernels::catalog::parse_and_validate(&k.name(), &wgsl).expect("validated");
        let words = naga::back::spv::write_vec(&module, &info, &wgpu_vulkan_spirv_options(), None)
            .expect("translated (every_kernel_translates_to_metal_directx_and_spirv)");
        let words = without_private_layouts(&words);
        let path = dir.join(format!("{}.spv", k.name()));
        std::fs::write(&path, bytemuck::cast_slice::<u32, u8>(&words)).unwrap();
        let out = std::process::Command::new(&tool)
            .args(["--target-env", "vulkan1.3"])
            .arg(&path)
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{}: {}{}",
                k.name(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `words` without the ArrayStride and Offset decorations of types that
/// no host-shared storage class (storage, uniform, push constants) reaches:
/// naga 30 lays out workgroup and function arrays and structs too, which
/// SPIRV-Tools 2026 rejects (VUID-StandaloneSpirv-None-10684) and drivers
/// ignore, and the validator stops at a module's first error, which would
/// hide the rest.
fn without_private_layouts(words: &[u32]) -> Vec<u32> {
    const TYPE_ARRAY: u32 = 28;
    const TYPE_RUNTIME_ARRAY: u32 = 29;
    const TYPE_STRUCT: u32 = 30;
    const TYPE_POINTER: u32 = 32;
    const DECORATE: u32 = 71;
    const MEMBER_DECORATE: u32 = 72;
    const ARRAY_STRIDE: u32 = 6;
    const OFFSET: u32 = 35;
    // Uniform, PushConstant, StorageBuffer, PhysicalStorageBuffer.
    const SHARED: [u32; 4] = [2, 9, 12, 5349];
    let mut instructions = Vec::new();
    let mut at = 5;
    while at < words.len() {
        let len = (words[at] >> 16) as usize;
        instructions.push(&words[at..at + len]);
        at += len;
    }
    let opcode = |i: &[u32]| i[0] & 0xffff;
    let mut shared: Vec<u32> = instructions
        .iter()
        .filter(|i| opcode(i) == TYPE_POINTER && SHARED.contains(&i[2]))
        .map(|i| i[3])
        .collect();
    // Types inside shared ones, to a fixed point.
    loop {
        let before = shared.len();
        for i in &instructions {
            if i.len() > 2 && shared.contains(&i[1]) {
                let inner: &[u32] = match opcode(i) {
                    TYPE_ARRAY | TYPE_RUNTIME_ARRAY => &i[2..3],
                    TYPE_STRUCT => &i[2..],
                    _ => &[],
                };
                for &t in inner {
                    if !shared.contains(&t) {
                        shared.push(t);
                    }
                }
            }
        }
        if shared.len() == before {
            break;
        }
    }
    let private_layout = |i: &[u32]| match opcode(i) {
        DECORATE => [ARRAY_STRIDE, OFFSET].contains(&i[2]) && !shared.contains(&i[1]),
        MEMBER_DECORATE => i[3] == OFFSET && !shared.contains(&i[1]),
        _ => false,
    };
    let mut out = words[..5].to_vec();
    for i in instructions.iter().filter(|i| !private_layout(i)) {
        out.extend_from_slice(i);
    }
    out
}

/// SPIR-V options as wgpu-hal 30's Vulkan adapter sets them for a Vulkan
/// 1.3 device without robustBufferAccess2 (the stricter case: buffer
/// indices clamped too; image loads are not, as Vulkan 1.3 requires
/// robustImageAccess), with runtime checks on (pconv's modules are not
/// created as trusted).
fn wgpu_vulkan_spirv_options() -> naga::back::spv::Options<'static> {
    use naga::proc::{BoundsCheckPolicies, BoundsCheckPolicy};
    naga::back::spv::Options {
        lang_version: (1, 6),
        bounds_check_policies: BoundsCheckPolicies {
            index: BoundsCheckPolicy::Restrict,
            buffer: BoundsCheckPolicy::Restrict,
            image_load: BoundsCheckPolicy::Unchecked,
            binding_array: BoundsCheckPolicy::Unchecked,
        },
        zero_initialize_workgroup_memory:
            naga::back::spv::ZeroInitializeWorkgroupMemoryMode::Polyfill,
        force_loop_bounding: true,
        ray_query_initialization_tracking: true,
        use_storage_input_output_16: true,
        ..Default::default()
    }
}

/// The named uniform blocks of `kernels::params` list the fields of their
/// shaders' `struct Params` in the same order and with the same scalar
/// types, so a block built by name lands where the kernel reads it.
#[test]
fn named_uniform_blocks_match_their_shaders() {
    for (files, fields) in pconv::kernels::params::ALL {
        for file in *files {
            let k = Shader::ALL
                .iter()
                .find(|s| s.path() == *file)
                .unwrap_or_else(|| panic!("{file} is no kernel's file"))
                .kernel();
            let module = naga::front::wgsl::parse_str(&k.wgsl().unwrap()).unwrap();
            let members: Vec<(String, &str)> = module
                .types
                .iter()
                .find_map(|(_, t)| match &t.inner {
                    naga::TypeInner::Struct { members, .. }
                        if t.name.as_deref() == Some("Params") =>
                    {
                        Some(
                            members
                                .iter()
                                .map(|m| {
                                    let ty = match module.types[m.ty].inner {
                                        naga::TypeInner::Scalar(naga::Scalar::U32) => "u32",
                                        naga::TypeInner::Scalar(naga::Scalar::F32) => "f32",
                                        _ => "other",
                                    };
                                    (m.name.clone().unwrap_or_default(), ty)
                                })
                                .collect(),
                        )
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{file} has no struct Params"));
            let want: Vec<(String, &str)> =
                fields.iter().map(|(n, t)| (n.to_string(), *t)).collect();
            assert_eq!(members, want, "{file}");
        }
    }
}

/// A file's variants are built from its declared axes: each variant's WGSL
/// differs from every other's (no define a file ignores), names list the
/// defines in a fixed order, and a define set a file does not declare is
/// refused rather than silently built.
#[test]
fn variants_come_from_declared_axes() {
    for &shader in Shader::ALL {
        let variants = shader.variants();
        let sources: Vec<String> = variants
            .iter()
            .map(|&d| shader.with(d).wgsl().unwrap())
            .collect();
        for i in 0..sources.len() {
            for j in 0..i {
                assert_ne!(
                    sources[i],
                    sources[j],
                    "{} and {} build the same WGSL",
                    shader.with(variants[i]).name(),
                    shader.with(variants[j]).name()
                );
            }
        }
    }
    let k5_flat = Shader::Conv2dFwdS2.with(Defines::FLAT.with(Defines::K5));
    assert_eq!(k5_flat.name(), "conv2d_fwd_s2+k5+flat");
    assert!(k5_flat
        .with(Defines::SUBGROUP)
        .has(Defines::K5.with(Defines::SUBGROUP)));
    // Texel operands without subgroups are not a variant of the conv kernels.
    let undeclared = Shader::Conv2dFwd.with(Defines::TEXELS);
    assert!(undeclared
        .wgsl()
        .unwrap_err()
        .to_string()
        .contains("no such variant"));
    assert!(Shader::Adam.with(Defines::VEC4).is_optimiser());
}

/// A naga 30.0.2 bug, kept as its minimal case: the SPIR-V writer panics on
/// a cooperative-matrix load whose stride is a uniform load written in
/// place; bound by `let` first it translates (what pconv's kernels do).
/// When this fails, naga has fixed it and the workaround's comments in
/// shaders/probe/coop_mma16.wgsl and conv/conv3x3_mma.wgsl can go.
#[test]
fn naga_needs_a_let_for_a_uniform_cooperative_stride() {
    let kernel = |stride: &str, prelude: &str| {
        format!(
            "enable f16;\nenable wgpu_cooperative_matrix;\n\
             struct Params {{ stride: u32, }}\n\
             @group(0) @binding(0) var<uniform> p: Params;\n\
             @group(0) @binding(1) var<storage, read> a: array<f16>;\n\
             @group(0) @binding(2) var<storage, read_write> d: array<f32>;\n\
             @compute @workgroup_size(32)\nfn main() {{\n{prelude}\
             let ma = coopLoadT<coop_mat16x16<f16, A>>(&a[0], {stride});\n\
             let mb = coopLoadT<coop_mat16x16<f16, B>>(&a[0], {stride});\n\
             var mc = coopLoadT<coop_mat16x16<f32, C>>(&d[0], {stride});\n\
             mc = coopMultiplyAdd(ma, mb, mc);\n\
             coopStoreT(mc, &d[0], {stride});\n}}\n"
        )
    };
    // With naga's default options and with wgpu's Vulkan backend's.
    for options in [
        naga::back::spv::Options::default(),
        wgpu_vulkan_spirv_options(),
    ] {
        let spirv = |wgsl: String| {
            let (module, info) = pconv::kernels::catalog::parse_and_validate("coop stride", &wgsl)
                .expect("valid WGSL");
            let options = options.clone();
            std::panic::catch_unwind(move || {
                naga::back::spv::write_vec(&module, &info, &options, None).is_ok()
            })
        };
        assert!(matches!(
            spirv(kernel("s", "let s = p.stride;\n")),
            Ok(true)
        ));
        assert!(
            spirv(kernel("p.stride", "")).is_err(),
            "naga now translates an inline uniform stride: drop the workaround"
        );
    }
}
