//! Runs a planned graph on wgpu. Everything is created once: buffers from
//! the plan, one uniform buffer holding every dispatch's parameters,
//! pipelines (cached per device) and bind groups. A run records all
//! dispatches into one compute pass of one command encoder and submits it
//! once; nothing waits on the GPU unless the caller reads a tensor back.
//! Hoisted dispatches (the plan's) form a prologue that joins the first run
//! after their inputs were written, and no other.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::graph::plan::{plan, Plan};
use crate::graph::recording::Recording;
use crate::graph::{Graph, TensorId, TensorKind};
use crate::kernels::Kernel;
use crate::kernels::{Binding, DeviceTraits, TEXELS_PER_ROW};

struct Step {
    kernel: Kernel,
    /// The node's first output and its shape, for profiles.
    label: String,
    /// Index of the graph node it belongs to.
    node: usize,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
}

impl Step {
    fn record(&self, pass: &mut wgpu::ComputePass) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }

    fn timed(&self, seconds: f64) -> DispatchTime {
        DispatchTime {
            kernel: self.kernel,
            label: self.label.clone(),
            node: self.node,
            workgroups: self.workgroups,
            seconds,
        }
    }
}

/// One dispatch of a profiled run.
#[derive(Clone, Debug)]
pub struct DispatchTime {
    pub kernel: Kernel,
    /// The node's first output tensor and its shape.
    pub label: String,
    /// Index of its graph node.
    pub node: usize,
    pub workgroups: [u32; 3],
    pub seconds: f64,
}

/// What `Executor::profile` measured.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The times are GPU timestamps (else host wall time per submit).
    pub gpu_timestamps: bool,
    /// Every dispatch of the run, in recording order.
    pub dispatches: Vec<DispatchTime>,
}

pub struct Executor {
    ctx: GpuContext,
    buffers: Vec<wgpu::Buffer>,
    /// The plan's texel arrays (held for the bind groups' sake).
    _texel_arrays: Vec<wgpu::Texture>,
    tensor_buffer: Vec<usize>,
    tensor_bytes: Vec<u64>,
    /// Tensors stored as f16 (mixed precision): they live only inside a
    /// run, so the host neither writes nor reads them.
    half: Vec<bool>,
    names: Vec<String>,
    steps: Vec<Step>,
    /// Hoisted dispatches, run when `prologue_due`.
    prologue: Vec<Step>,
    /// Per tensor: a hoisted dispatch reads it, so writing it makes the
    /// prologue due.
    prologue_reads: Vec<bool>,
    prologue_due: AtomicBool,
    plan: Plan,
    /// Read-back buffers of `run_with_scalars`, returned once read, so the
    /// training loop allocates nothing per step.
    scalar_staging: Arc<Mutex<Vec<wgpu::Buffer>>>,
    scalar_buffers_created: std::sync::atomic::AtomicUsize,
}

impl Executor {
    /// Plans, allocates and records `graph`; `keep` are the tensors the host
    /// will read back.
    pub fn new(ctx: &GpuContext, graph: &Graph, keep: &[TensorId]) -> Result<Self> {
        Self::with_traits(ctx, graph, keep, &ctx.traits())
    }

    /// Like `new` with the kernel choices of `traits` (tests use it to run
    /// the portable fallbacks beside the tuned variants).
    pub fn with_traits(
        ctx: &GpuContext,
        graph: &Graph,
        keep: &[TensorId],
        traits: &DeviceTraits,
    ) -> Result<Self> {
        let recording = Recording::of(graph, traits, keep);
        let plan = plan(graph, &recording, keep);
        let limits = ctx.limits();
        let bind_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        for t in &graph.tensors {
            if t.bytes() > bind_limit {
                return Err(Error::TooLarge {
                    name: t.name.clone(),
                    bytes: t.bytes(),
                    limit: bind_limit,
                });
            }
        }
        let device = &ctx.device;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        let mut buffers: Vec<wgpu::Buffer> = plan
            .buffer_bytes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("pconv.buffer{i}")),
                    size: size.div_ceil(4) * 4,
                    usage,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let texel_arrays: Vec<wgpu::Texture> = plan
            .texel_array_texels
            .iter()
            .enumerate()
            .map(|(i, &texels)| {
                device.create_texture(&wgpu::TextureDescriptor {
                    label: Some(&format!("pconv.texels{i}")),
                    size: wgpu::Extent3d {
                        width: TEXELS_PER_ROW as u32,
                        height: texels.div_ceil(TEXELS_PER_ROW as u64) as u32,
                        depth_or_array_layers: 1,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format: wgpu::TextureFormat::Rgba32Float,
                    usage: wgpu::TextureUsages::TEXTURE_BINDING
                        | wgpu::TextureUsages::STORAGE_BINDING,
                    view_formats: &[],
                })
            })
            .collect();
        let texel_views: Vec<wgpu::TextureView> = texel_arrays
            .iter()
            .map(|t| t.create_view(&Default::default()))
            .collect();
        let unused = buffers.len();
        buffers.push(device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pconv.unused"),
            size: 16,
            usage,
            mapped_at_creation: false,
        }));
        // Every dispatch's parameters in one uniform buffer, at aligned offsets.
        let align = limits.min_uniform_buffer_offset_alignment as usize;
        let mut uniform_data: Vec<u8> = Vec::new();
        let mut offsets = Vec::new();
        for lowered in &recording.nodes {
            for d in &lowered.dispatches {
                offsets.push(uniform_data.len());
                let mut bytes: Vec<u8> = bytemuck::cast_slice(&d.params).to_vec();
                bytes.resize(bytes.len().max(16).div_ceil(16) * 16, 0);
                let end = uniform_data.len() + bytes.len();
                uniform_data.extend(bytes);
                uniform_data.resize(end.div_ceil(align) * align, 0);
            }
        }
        uniform_data.resize(uniform_data.len().max(16), 0);
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pconv.params"),
            size: uniform_data.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(Error::OutOfMemory(format!(
                "allocating {} bytes of buffers: {e}",
                plan.planned_bytes()
            )));
        }
        ctx.queue.write_buffer(&uniform, 0, &uniform_data);

        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut steps = Vec::new();
        let mut prologue = Vec::new();
        let mut prologue_reads = vec![false; graph.tensors.len()];
        let mut offset_iter = offsets.into_iter();
        for (node_index, (node, lowered)) in graph.nodes.iter().zip(&recording.nodes).enumerate() {
            for (j, d) in lowered.dispatches.iter().enumerate() {
                let hoisted = plan.hoisted[node_index][j];
                let pipeline = ctx.pipeline(d.kernel)?;
                let layout = pipeline.get_bind_group_layout(0);
                let offset = offset_iter.next().unwrap_or(0) as u64;
                let param_size = (d.params.len().max(4) * 4).div_ceil(16) * 16;
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &uniform,
                        offset,
                        size: wgpu::BufferSize::new(param_size as u64),
                    }),
                }];
                for (i, b) in d.bindings.iter().enumerate() {
                    let buf = match *b {
                        Binding::Input(k) => {
                            prologue_reads[node.inputs[k].index()] |= hoisted;
                            plan.tensor_buffer[node.inputs[k].index()]
                        }
                        Binding::Output(k) => plan.tensor_buffer[node.outputs[k].index()],
                        Binding::Scratch(k) => plan.scratch_buffers[node_index][k],
                        Binding::ScratchTexels(k) => {
                            let array = plan.scratch_texel_arrays[node_index][k];
                            entries.push(wgpu::BindGroupEntry {
                                binding: i as u32 + 1,
                                resource: wgpu::BindingResource::TextureView(&texel_views[array]),
                            });
                            continue;
                        }
                        Binding::Unused => unused,
                    };
                    entries.push(wgpu::BindGroupEntry {
                        binding: i as u32 + 1,
                        resource: buffers[buf].as_entire_binding(),
                    });
                }
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(&d.kernel.name()),
                    layout: &layout,
                    entries: &entries,
                });
                let out = node.outputs.first().map(|&t| {
                    let info = graph.info(t);
                    format!("{} {:?}", info.name, info.shape)
                });
                let step = Step {
                    kernel: d.kernel,
                    label: out.unwrap_or_default(),
                    node: node_index,
                    pipeline,
                    bind_group,
                    workgroups: d.workgroups,
                };
                if hoisted {
                    prologue.push(step);
                } else {
                    steps.push(step);
                }
            }
        }
        if let Some(e) = pollster::block_on(validation.pop()) {
            return Err(Error::Gpu(format!("recording the graph: {e}")));
        }
        let exec = Executor {
            ctx: ctx.clone(),
            buffers,
            _texel_arrays: texel_arrays,
            tensor_buffer: plan.tensor_buffer.clone(),
            tensor_bytes: graph.tensors.iter().map(|t| t.bytes()).collect(),
            half: recording
                .storage
                .tensors
                .iter()
                .map(|&s| s == crate::graph::storage::Storage::F16)
                .collect(),
            names: graph.tensors.iter().map(|t| t.name.clone()).collect(),
            steps,
            prologue,
            prologue_reads,
            prologue_due: AtomicBool::new(true),
            plan,
            scalar_staging: Arc::new(Mutex::new(Vec::new())),
            scalar_buffers_created: Default::default(),
        };
        for (i, t) in graph.tensors.iter().enumerate() {
            if let TensorKind::Const(v) = &t.kind {
                exec.write(TensorId(i as u32), v)?;
            }
        }
        Ok(exec)
    }

    /// An error for a tensor stored as f16 (not the host's to read or write).
    fn check_f32(&self, t: TensorId) -> Result<()> {
        if self.half[t.index()] {
            return Err(Error::Invalid(format!(
                "tensor {} is stored as f16 inside a mixed-precision run; \
                 name it among the tensors to keep to read it",
                self.names[t.index()]
            )));
        }
        Ok(())
    }

    fn buffer(&self, t: TensorId) -> &wgpu::Buffer {
        &self.buffers[self.tensor_buffer[t.index()]]
    }

    /// A tensor's storage, for kernels run beside the graph (the window's
    /// composite). Kept tensors (`keep`) hold their values after a run.
    pub fn binding(&self, t: TensorId) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.buffer(t),
            offset: 0,
            size: std::num::NonZeroU64::new(self.tensor_bytes[t.index()]),
        })
    }

    /// Uploads a tensor's values (queued before the next submit).
    pub fn write(&self, t: TensorId, data: &[f32]) -> Result<()> {
        self.check_f32(t)?;
        let want = self.tensor_bytes[t.index()] / 4;
        if data.len() as u64 != want {
            return Err(Error::Invalid(format!(
                "tensor {} holds {want} values, got {}",
                self.names[t.index()],
                data.len()
            )));
        }
        self.ctx
            .queue
            .write_buffer(self.buffer(t), 0, bytemuck::cast_slice(data));
        if self.prologue_reads[t.index()] {
            self.prologue_due.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Records every dispatch into one pass and submits once.
    pub fn run(&self) -> wgpu::SubmissionIndex {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("pconv.run"),
            });
        self.encode(&mut encoder);
        self.ctx.queue.submit([encoder.finish()])
    }

    /// Like `run`, and copies the given scalar tensors (losses) into a
    /// mappable buffer in the same submit; they arrive without blocking.
    pub fn run_with_scalars(&self, scalars: &[TensorId]) -> PendingScalars {
        self.run_nodes_with_scalars(0..usize::MAX, scalars)
    }

    /// Like `run_with_scalars` with only the dispatches of the graph nodes
    /// in `nodes`: a step the host splits into parts (the gradients of each
    /// micro-batch, then the update). Parts run in node order compute what
    /// one run would: the buffer plan follows node order either way.
    pub fn run_nodes_with_scalars(
        &self,
        nodes: std::ops::Range<usize>,
        scalars: &[TensorId],
    ) -> PendingScalars {
        let device = &self.ctx.device;
        // Small tensors (the loss terms, the loss scaler), read whole.
        let bytes: Vec<u64> = scalars
            .iter()
            .map(|t| self.tensor_bytes[t.index()])
            .collect();
        let size = bytes.iter().sum::<u64>().max(4);
        let reused = self.scalar_staging.lock().ok().and_then(|mut pool| {
            let i = pool.iter().position(|b| b.size() == size)?;
            Some(pool.swap_remove(i))
        });
        let staging = reused.unwrap_or_else(|| {
            self.scalar_buffers_created
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pconv.scalars"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("pconv.run"),
        });
        self.encode_nodes(&mut encoder, nodes);
        let mut offset = 0;
        for (&t, &n) in scalars.iter().zip(&bytes) {
            encoder.copy_buffer_to_buffer(self.buffer(t), 0, &staging, offset, n);
            offset += n;
        }
        let submission = self.ctx.queue.submit([encoder.finish()]);
        let state = Arc::new(Mutex::new(None));
        let sink = state.clone();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            if let Ok(mut s) = sink.lock() {
                *s = Some(r.map_err(|e| e.to_string()));
            }
        });
        PendingScalars {
            device: device.clone(),
            submission,
            staging,
            state,
            len: (offset / 4) as usize,
            pool: self.scalar_staging.clone(),
        }
    }

    /// Records the dispatches into a caller's encoder (one compute pass),
    /// after the prologue where it is due; the caller submits it.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        self.encode_nodes(encoder, 0..usize::MAX);
    }

    /// `encode` for the dispatches of the nodes in `nodes` (the prologue,
    /// where due, runs before any part).
    fn encode_nodes(&self, encoder: &mut wgpu::CommandEncoder, nodes: std::ops::Range<usize>) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("pconv.graph"),
            timestamp_writes: None,
        });
        let due = self.prologue_due.swap(false, Ordering::AcqRel);
        let prologue = if due { &self.prologue[..] } else { &[] };
        let part = self.steps.iter().filter(|s| nodes.contains(&s.node));
        for s in prologue.iter().chain(part) {
            s.record(&mut pass);
        }
    }

    /// Time of every dispatch, in order. With `TIMESTAMP_QUERY` each dispatch
    /// gets its own compute pass bracketed by GPU timestamps, all in one
    /// submit, so the times are the GPU's own; without it each dispatch is
    /// submitted and waited for alone, which adds the submit latency to
    /// every entry. CPU adapters are timed that way too: lavapipe's
    /// timestamps misplace the time of dispatches around texture barriers
    /// (an L5 step of 2.1 s summed to 0.6 s). For profiling only.
    pub fn profile(&self) -> Result<Profile> {
        // Profiles show the runs that repeat: a due prologue runs first.
        if self.prologue_due.load(Ordering::Acquire) {
            self.run();
        }
        if self
            .ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
            && !self.ctx.is_cpu()
        {
            return self.profile_timestamps();
        }
        let mut dispatches = Vec::with_capacity(self.steps.len());
        for s in &self.steps {
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                s.record(&mut pass);
            }
            let t0 = std::time::Instant::now();
            self.ctx.queue.submit([encoder.finish()]);
            self.wait()?;
            dispatches.push(s.timed(t0.elapsed().as_secs_f64()));
        }
        Ok(Profile {
            gpu_timestamps: false,
            dispatches,
        })
    }

    fn profile_timestamps(&self) -> Result<Profile> {
        let device = &self.ctx.device;
        let period_s = self.ctx.queue.get_timestamp_period() as f64 * 1e-9;
        let per_set = (wgpu::QUERY_SET_MAX_QUERIES / 2) as usize;
        let mut dispatches = Vec::with_capacity(self.steps.len());
        for chunk in self.steps.chunks(per_set) {
            let queries = 2 * chunk.len() as u32;
            let set = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pconv.profile"),
                ty: wgpu::QueryType::Timestamp,
                count: queries,
            });
            let bytes = queries as u64 * wgpu::QUERY_SIZE as u64;
            let resolve = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pconv.profile.resolve"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let staging = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pconv.profile.staging"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut encoder = device.create_command_encoder(&Default::default());
            for (i, s) in chunk.iter().enumerate() {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                        query_set: &set,
                        beginning_of_pass_write_index: Some(2 * i as u32),
                        end_of_pass_write_index: Some(2 * i as u32 + 1),
                    }),
                });
                s.record(&mut pass);
            }
            encoder.resolve_query_set(&set, 0..queries, &resolve, 0);
            encoder.copy_buffer_to_buffer(&resolve, 0, &staging, 0, bytes);
            let bytes = self
                .ctx
                .submit_and_read(encoder, &staging, "the profile timestamps")?;
            let ticks = bytemuck::pod_collect_to_vec::<u8, u64>(&bytes);
            for (s, t) in chunk.iter().zip(ticks.chunks_exact(2)) {
                dispatches.push(s.timed(t[1].saturating_sub(t[0]) as f64 * period_s));
            }
        }
        Ok(Profile {
            gpu_timestamps: true,
            dispatches,
        })
    }

    /// Blocks until all submitted work is done.
    pub fn wait(&self) -> Result<()> {
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Gpu(e.to_string()))
    }

    /// Copies a tensor back to the host (blocking; not for the hot loop).
    pub fn read(&self, t: TensorId) -> Result<Vec<f32>> {
        self.read_all(&[t])
    }

    /// The values of `tensors`, concatenated, in one copy and one wait (a
    /// read per tensor would wait once per tensor: the gradient exchange
    /// reads every parameter's gradient each step).
    pub fn read_all(&self, tensors: &[TensorId]) -> Result<Vec<f32>> {
        for &t in tensors {
            self.check_f32(t)?;
        }
        let total: u64 = tensors.iter().map(|t| self.tensor_bytes[t.index()]).sum();
        if total == 0 {
            return Ok(Vec::new());
        }
        let staging = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pconv.readback"),
            size: total,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        let mut at = 0;
        for &t in tensors {
            let bytes = self.tensor_bytes[t.index()];
            encoder.copy_buffer_to_buffer(self.buffer(t), 0, &staging, at, bytes);
            at += bytes;
        }
        let what = match tensors {
            [t] => self.names[t.index()].clone(),
            _ => format!("{} tensors", tensors.len()),
        };
        let bytes = self.ctx.submit_and_read(encoder, &staging, &what)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Read-back buffers `run_with_scalars` has allocated so far.
    pub fn scalar_buffers_created(&self) -> usize {
        self.scalar_buffers_created
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Dispatches of a run, hoisted ones not counted.
    pub fn dispatch_count(&self) -> usize {
        self.steps.len()
    }

    /// Hoisted dispatches, run once after their inputs are written.
    pub fn prologue_count(&self) -> usize {
        self.prologue.len()
    }
}

/// Scalars of a submitted run on their way back to the host.
pub struct PendingScalars {
    device: wgpu::Device,
    submission: wgpu::SubmissionIndex,
    staging: wgpu::Buffer,
    state: Arc<Mutex<Option<std::result::Result<(), String>>>>,
    len: usize,
    pool: Arc<Mutex<Vec<wgpu::Buffer>>>,
}

impl PendingScalars {
    fn take(&self) -> Result<Option<Vec<f32>>> {
        let done = self
            .state
            .lock()
            .map_err(|_| Error::Gpu("scalar read-back poisoned".into()))?
            .clone();
        match done {
            None => Ok(None),
            Some(Err(e)) => Err(Error::Gpu(format!("reading scalars back: {e}"))),
            Some(Ok(())) => {
                let view = self
                    .staging
                    .get_mapped_range(..)
                    .map_err(|e| Error::Gpu(e.to_string()))?;
                let values = bytemuck::cast_slice::<u8, f32>(&view)[..self.len].to_vec();
                drop(view);
                self.staging.unmap();
                // Unmapped again: the next run may reuse it.
                if let Ok(mut pool) = self.pool.lock() {
                    pool.push(self.staging.clone());
                }
                Ok(Some(values))
            }
        }
    }

    /// The values if the GPU has finished, without waiting.
    pub fn try_get(&self) -> Result<Option<Vec<f32>>> {
        self.device
            .poll(wgpu::PollType::Poll)
            .map_err(|e| Error::Gpu(e.to_string()))?;
        self.take()
    }

    /// Waits for the values: for this submission only, so later submits
    /// keep the GPU busy meanwhile.
    pub fn wait(self) -> Result<Vec<f32>> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(self.submission.clone()),
                timeout: None,
            })
            .map_err(|e| Error::Gpu(e.to_string()))?;
        if let Some(v) = self.take()? {
            return Ok(v);
        }
        // The map callback can land on a later poll than the one that saw
        // the submission finish, or be running on another thread that polls
        // the same device (tests share one; the app's threads do too): wait
        // for everything, then give that thread a moment before giving up.
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(v) = self.take()? {
                return Ok(v);
            }
            if std::time::Instant::now() > deadline {
                return Err(Error::Gpu(
                    "scalars not mapped after the GPU finished".into(),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
            self.device
                .poll(wgpu::PollType::Poll)
                .map_err(|e| Error::Gpu(e.to_string()))?;
        }
    }
}
