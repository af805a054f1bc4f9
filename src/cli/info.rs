//! `pconv info`: the adapters and the chosen one's limits.
use anyhow::{Context, Result};

use pconv::gpu::{context, GpuContext};

pub fn run() -> Result<()> {
    let adapters = context::list_adapters();
    println!("adapters (best first):");
    for a in &adapters {
        let i = a.get_info();
        println!("  {} [{:?}, {:?}]", i.name, i.backend, i.device_type);
    }
    let ctx = GpuContext::new().context("opening the GPU")?;
    let l = ctx.limits();
    println!("using: {}", ctx.summary);
    println!("limits:");
    for (name, value) in [
        (
            "max_storage_buffer_binding_size",
            l.max_storage_buffer_binding_size,
        ),
        ("max_buffer_size", l.max_buffer_size),
        (
            "max_storage_buffers_per_stage",
            l.max_storage_buffers_per_shader_stage as u64,
        ),
        (
            "max_compute_workgroup_storage",
            l.max_compute_workgroup_storage_size as u64,
        ),
        (
            "max_compute_invocations_per_wg",
            l.max_compute_invocations_per_workgroup as u64,
        ),
        (
            "max_workgroups_per_dimension",
            l.max_compute_workgroups_per_dimension as u64,
        ),
    ] {
        println!("  {name:<32} {value}");
    }
    let features: Vec<String> = ctx
        .device
        .features()
        .iter_names()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    println!("features ({}):", features.len());
    for line in features.chunks(4) {
        println!("  {}", line.join(", "));
    }
    print_precision(&ctx.adapter);
    println!(
        "  in use                            {} (--precision f32|mixed){}",
        ctx.precision(),
        match ctx.traits().mixed {
            pconv::kernels::MixedKernels::Twin => ": f16 tiles in plain arithmetic",
            pconv::kernels::MixedKernels::Coop => ": f16 cooperative matrices (self-test passed)",
            pconv::kernels::MixedKernels::Off => "",
        }
    );
    if ctx.traits().mixed != pconv::kernels::MixedKernels::Off {
        println!(
            "  activations stored as             {}",
            if ctx.traits().half_storage {
                "f16 (PCONV_F32_STORAGE=1: f32)"
            } else {
                "f32 (PCONV_F32_STORAGE=1)"
            }
        );
        let t = ctx.traits();
        let on = |b: bool| if b { "on" } else { "off" };
        println!(
            "  candidate kernels                 3x3 stride 1 {} (PCONV_MMA_DIRECT=1), \
             128-row blocks {} (PCONV_MMA_TALL=1)",
            on(t.mixed_direct),
            on(t.mixed_tall)
        );
    }
    if let Some(why) = ctx.coop_refused() {
        println!("  cooperative matrices refused      self-test failed: {why}");
    }
    if ctx.is_cpu() {
        println!(
            "\nnote: this adapter runs on the CPU (no GPU driver was found or chosen). Everything \
             works, far slower than on a GPU: on a 2-core machine the bundled face model fills a \
             512x512 photo in about 3 s per pass (6 s with the default --ensemble 2), the classical \
             methods in well under a second; training runs at about 0.5 images/s. With a GPU, \
             install its Vulkan, Metal or DX12 driver, or pick it with PCONV_ADAPTER=<name>."
        );
    }
    Ok(())
}

/// What mixed precision would need from this adapter: f16 in shaders and
/// cooperative-matrix (tensor-core) shapes.
fn print_precision(adapter: &wgpu::Adapter) {
    let f16 = adapter.features().contains(wgpu::Features::SHADER_F16);
    println!("precision:");
    println!(
        "  f16 in shaders (shader-f16)       {}",
        if f16 { "yes" } else { "no" }
    );
    let shapes = adapter.cooperative_matrix_properties();
    if shapes.is_empty() {
        println!("  cooperative matrices              none");
    }
    for p in shapes {
        println!(
            "  cooperative matrix                {}x{}x{} {:?} x {:?} -> {:?}",
            p.m_size, p.n_size, p.k_size, p.ab_type, p.ab_type, p.cr_type
        );
    }
}
