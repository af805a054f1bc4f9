//! The wgpu device pconv computes on: adapter choice, features, limits, and
//! the pipeline cache shared by every executor on the device.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::kernels::Kernel;

/// What `pconv info` prints and tests report.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        AdapterSummary {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver,
            driver_info: info.driver_info,
        }
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, driver {} {})",
            self.name, self.backend, self.device_type, self.driver, self.driver_info
        )
    }
}

/// Device, queue and compiled pipelines. Cheap to clone.
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: wgpu::Adapter,
    pub summary: AdapterSummary,
    precision: super::precision::Precision,
    /// The tile kernels of mixed precision, once chosen (`set_precision`),
    /// and why cooperative matrices were refused, if they were.
    mixed_kernels: Option<(crate::kernels::MixedKernels, Option<String>)>,
    pipelines: Arc<Mutex<HashMap<Kernel, wgpu::ComputePipeline>>>,
    errors: Arc<Mutex<Vec<String>>>,
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Real GPUs first, then software adapters; native APIs before GL.
fn rank(adapter: &wgpu::Adapter) -> (u8, u8) {
    let info = adapter.get_info();
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let api = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (kind, api)
}

/// Every adapter wgpu sees (respecting `WGPU_BACKEND`), best first.
pub fn list_adapters() -> Vec<wgpu::Adapter> {
    let inst = instance();
    let mut adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
    adapters.sort_by_key(rank);
    adapters
}

/// The adapter pconv uses: the best real GPU, else any adapter (lavapipe);
/// `PCONV_ADAPTER=<substring>` picks by name instead.
pub fn choose_adapter() -> Result<wgpu::Adapter> {
    pick_adapter(list_adapters())
}

/// `choose_adapter`'s rule over a given list (the desktop app's instance
/// enumerates its own adapters).
pub fn pick_adapter(adapters: Vec<wgpu::Adapter>) -> Result<wgpu::Adapter> {
    pick_adapter_for(adapters, 0)
}

/// `pick_adapter` for the `local`-th process on a machine (a rank of a
/// data-parallel job): the adapters of the best kind in turn, so ranks on a
/// node with 8 GPUs take one each; `PCONV_ADAPTER` still wins.
pub fn pick_adapter_for(mut adapters: Vec<wgpu::Adapter>, local: usize) -> Result<wgpu::Adapter> {
    adapters.sort_by_key(rank);
    if let Some(best) = adapters.first().map(rank) {
        let same = adapters.iter().filter(|a| rank(a) == best).count();
        if same > 1 {
            adapters.rotate_left(local % same);
        }
    }
    let wanted = std::env::var("PCONV_ADAPTER")
        .ok()
        .filter(|s| !s.is_empty());
    match wanted {
        Some(sub) => {
            let lower = sub.to_lowercase();
            adapters
                .into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&lower))
                .ok_or_else(|| Error::NoAdapter(format!(" whose name contains {sub:?}")))
        }
        None => adapters
            .into_iter()
            .next()
            .ok_or_else(|| Error::NoAdapter(String::new())),
    }
}

/// The device pconv asks for: the adapter's own limits (storage binding
/// size, workgroup memory) rather than WebGPU's defaults; subgroups,
/// timestamps and f16 where the adapter has them; and, when mixed
/// precision was asked for (`--precision mixed`), cooperative matrices (an
/// experimental wgpu feature) where the adapter offers the f16 shape the
/// mixed-precision kernels use. Only then: on Vulkan the feature also
/// switches every shader to the Vulkan memory model, which the f32 kernels'
/// measured speed does not cover.
pub fn device_descriptor(adapter: &wgpu::Adapter) -> wgpu::DeviceDescriptor<'static> {
    let wanted =
        wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SUBGROUP | wgpu::Features::SHADER_F16;
    let mut required_features = adapter.features() & wanted;
    let mut experimental_features = wgpu::ExperimentalFeatures::disabled();
    let mixed = super::precision::requested() == Ok(Some(super::precision::Precision::Mixed));
    if mixed && super::precision::has_coop_16x16_f16(adapter) {
        required_features |= wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX;
        // SAFETY: only the cooperative-matrix kernels use the feature, and
        // each is checked against its CPU twin on the card it runs on
        // (tools/device/check.sh) before the host picks it.
        experimental_features = unsafe { wgpu::ExperimentalFeatures::enabled() };
    }
    wgpu::DeviceDescriptor {
        label: Some("pconv"),
        required_features,
        required_limits: adapter.limits(),
        experimental_features,
        ..Default::default()
    }
}

impl GpuContext {
    /// Opens the chosen adapter (see `device_descriptor`).
    pub fn new() -> Result<Self> {
        Self::for_local_process(0)
    }

    /// Opens the adapter of the `local`-th process on this machine (see
    /// `pick_adapter_for`).
    pub fn for_local_process(local: usize) -> Result<Self> {
        let adapter = pick_adapter_for(list_adapters(), local)?;
        let (device, queue) =
            pollster::block_on(adapter.request_device(&device_descriptor(&adapter)))
                .map_err(|e| Error::Device(e.to_string()))?;
        let mut ctx = Self::from_parts(adapter, device, queue);
        if let Some(p) = super::precision::requested().map_err(Error::Invalid)? {
            ctx.set_precision(p)?;
        }
        Ok(ctx)
    }

    /// Wraps a device made elsewhere (e.g. by the desktop app).
    pub fn from_parts(adapter: wgpu::Adapter, device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        // Validation errors outside an error scope are recorded, not panicked on;
        // `take_errors` reports them.
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        // A lost device (driver reset, GPU removed, out of memory on some
        // drivers) is reported the same way instead of hanging or panicking.
        let lost = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            if reason != wgpu::DeviceLostReason::Destroyed {
                if let Ok(mut v) = lost.lock() {
                    v.push(format!("the GPU device was lost ({reason:?}): {message}"));
                }
            }
        });
        let mut ctx = GpuContext {
            summary: AdapterSummary::of(&adapter),
            precision: Default::default(),
            mixed_kernels: None,
            device,
            queue,
            adapter,
            pipelines: Arc::new(Mutex::new(HashMap::new())),
            errors,
        };
        // A device opened elsewhere (the app's) takes the requested
        // precision where it can, else stays f32.
        if let Ok(Some(p)) = super::precision::requested() {
            if let Err(e) = ctx.set_precision(p) {
                log::warn!("{e}");
            }
        }
        ctx
    }

    /// The convolutions' arithmetic on this device.
    pub fn precision(&self) -> super::precision::Precision {
        self.precision
    }

    /// Chooses the convolutions' arithmetic; mixed needs f16 in shaders
    /// (with cooperative matrices it uses tensor cores, without them their
    /// plain-arithmetic twin, slower than f32).
    pub fn set_precision(&mut self, p: super::precision::Precision) -> Result<()> {
        if p == super::precision::Precision::Mixed && !self.mixed_precision().f16 {
            return Err(Error::Invalid(format!(
                "--precision mixed needs f16 in shaders, which {} does not offer; use --precision f32",
                self.summary.name
            )));
        }
        if p == super::precision::Precision::Mixed && self.mixed_kernels.is_none() {
            let chosen =
                super::precision::choose_kernels(self.mixed_precision().coop_16x16_f16, || {
                    crate::ops::conv::mixed::self_test(self, crate::kernels::MixedKernels::Coop)
                });
            if let Some(why) = &chosen.1 {
                eprintln!(
                    "warning: {}'s cooperative matrices failed pconv's self-test ({why}); mixed \
                     precision runs its plain-arithmetic kernels, slower than --precision f32",
                    self.summary.name
                );
            }
            self.mixed_kernels = Some(chosen);
        }
        self.precision = p;
        Ok(())
    }

    /// Why this device's cooperative matrices are not used although it
    /// offers them: their self-test's finding (after `--precision mixed`).
    pub fn coop_refused(&self) -> Option<&str> {
        self.mixed_kernels
            .as_ref()
            .and_then(|(_, why)| why.as_deref())
    }

    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    /// What mixed precision can use here.
    pub fn mixed_precision(&self) -> super::MixedPrecision {
        super::MixedPrecision::of(&self.adapter, &self.device)
    }

    /// True for software adapters (lavapipe): kernels pick launch shapes for
    /// a few CPU cores instead of thousands of GPU lanes.
    pub fn is_cpu(&self) -> bool {
        self.adapter.get_info().device_type == wgpu::DeviceType::Cpu
    }

    /// What lowering needs to know about this device.
    pub fn traits(&self) -> crate::kernels::DeviceTraits {
        use crate::kernels::DeviceTraits;
        let info = self.adapter.get_info();
        let mut t = if self.is_cpu() {
            DeviceTraits::CPU_ADAPTER
        } else {
            DeviceTraits::GPU
        };
        t.subgroups_8_to_64 = self.device.features().contains(wgpu::Features::SUBGROUP)
            && info.subgroup_min_size >= 8
            && info.subgroup_max_size <= 64
            && std::env::var("PCONV_NO_SUBGROUPS").is_err();
        if t.subgroups_8_to_64 && self.is_cpu() && info.subgroup_min_size == info.subgroup_max_size
        {
            t.flat_subgroup_size = info.subgroup_max_size;
        }
        if self.precision == super::precision::Precision::Mixed {
            t.mixed = self
                .mixed_kernels
                .as_ref()
                .map_or(crate::kernels::MixedKernels::Twin, |(k, _)| *k);
        }
        // Read whatever the precision: the self-test, which runs before
        // mixed precision is set, must build the blocks the run will use.
        t.mixed_tall = std::env::var("PCONV_MMA_TALL").is_ok_and(|v| v == "1");
        t.mixed_direct = std::env::var("PCONV_MMA_DIRECT").is_ok_and(|v| v == "1");
        t.fuse_activations = !std::env::var("PCONV_NO_FUSION").is_ok_and(|v| v == "1");
        t.half_storage = t.mixed != crate::kernels::MixedKernels::Off
            && !std::env::var("PCONV_F32_STORAGE").is_ok_and(|v| v == "1");
        // PCONV_NO_TEXELS runs the buffer kernels instead, for comparison.
        if self.is_cpu() && std::env::var("PCONV_NO_TEXELS").is_err() {
            t.texel_rows = self.device.limits().max_texture_dimension_2d;
        }
        t
    }

    /// Submits `encoder`, which fills the mappable `staging`, waits for it
    /// and copies `staging` out (blocking: reading back, never per step;
    /// `what` names it in errors).
    pub fn submit_and_read(
        &self,
        encoder: wgpu::CommandEncoder,
        staging: &wgpu::Buffer,
        what: &str,
    ) -> Result<Vec<u8>> {
        let submission = self.queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.wait_for(submission)?;
        rx.recv()
            .map_err(|e| Error::Gpu(e.to_string()))?
            .map_err(|e| Error::Gpu(format!("mapping {what}: {e}")))?;
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| Error::Gpu(e.to_string()))?;
        let out = view.to_vec();
        drop(view);
        staging.unmap();
        Ok(out)
    }

    /// Blocks until `submission` has run; reports the errors the device
    /// raised meanwhile.
    pub fn wait_for(&self, submission: wgpu::SubmissionIndex) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: None,
            })
            .map_err(|e| Error::Gpu(e.to_string()))?;
        let errors = self.take_errors();
        if !errors.is_empty() {
            return Err(Error::Gpu(errors.join("; ")));
        }
        Ok(())
    }

    /// Errors the device raised outside any error scope since the last call.
    pub fn take_errors(&self) -> Vec<String> {
        self.errors
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    /// The compiled pipeline of a kernel, built once per device.
    pub fn pipeline(&self, kernel: Kernel) -> Result<wgpu::ComputePipeline> {
        let mut cache = self
            .pipelines
            .lock()
            .map_err(|_| Error::Gpu("pipeline cache poisoned".into()))?;
        if let Some(p) = cache.get(&kernel) {
            return Ok(p.clone());
        }
        let source = kernel.wgsl()?;
        let label = kernel.name();
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(&label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Shader {
                name: label.clone(),
                message: e.to_string(),
            });
        }
        cache.insert(kernel, pipeline.clone());
        Ok(pipeline)
    }
}
