//! One dispatch on buffers of its own, outside any graph: for kernels whose
//! operands the graph does not hold (the f16 mixed-precision kernels in
//! their tests against the CPU twins, the tensor-core throughput probe of
//! `bench --peak`).
use std::time::Instant;

use super::GpuContext;
use crate::error::{Error, Result};
use crate::kernels::{Binding, Dispatch};

/// A dispatch bound to buffers made from byte slices: `Input(i)` is
/// `inputs[i]`, `Output(0)` a buffer of `output_bytes`.
pub struct DirectRun {
    ctx: GpuContext,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    output: wgpu::Buffer,
    output_bytes: u64,
    workgroups: [u32; 3],
}

/// A storage buffer holding `bytes`, padded to whole 4-byte words (f16
/// arrays of odd length).
fn storage_with(ctx: &GpuContext, bytes: &[u8], label: &str) -> wgpu::Buffer {
    let size = (bytes.len().max(4) as u64).div_ceil(4) * 4;
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let mut padded = bytes.to_vec();
    padded.resize(size as usize, 0);
    ctx.queue.write_buffer(&buffer, 0, &padded);
    buffer
}

impl DirectRun {
    pub fn new(
        ctx: &GpuContext,
        dispatch: &Dispatch,
        inputs: &[&[u8]],
        output_bytes: u64,
    ) -> Result<Self> {
        let pipeline = ctx.pipeline(dispatch.kernel)?;
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut params: Vec<u8> = bytemuck::cast_slice(&dispatch.params).to_vec();
        params.resize(params.len().max(16).div_ceil(16) * 16, 0);
        let uniform = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("direct.params"),
            size: params.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&uniform, 0, &params);
        let output = storage_with(ctx, &vec![0; output_bytes as usize], "direct.output");
        let unused = storage_with(ctx, &[0; 16], "direct.unused");
        let mut buffers = Vec::new();
        for b in &dispatch.bindings {
            buffers.push(match *b {
                Binding::Input(i) => {
                    let bytes = inputs.get(i).ok_or_else(|| {
                        Error::Invalid(format!("{} reads input {i}", dispatch.kernel.name()))
                    })?;
                    Some(storage_with(ctx, bytes, "direct.input"))
                }
                Binding::Output(0) => None,
                Binding::Unused => Some(unused.clone()),
                other => {
                    return Err(Error::Invalid(format!(
                        "a direct run binds inputs and one output, not {other:?}"
                    )))
                }
            });
        }
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_ref().unwrap_or(&output).as_entire_binding(),
            });
        }
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("direct"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "binding {}: {e}",
                dispatch.kernel.name()
            )));
        }
        Ok(DirectRun {
            ctx: ctx.clone(),
            pipeline,
            bind_group,
            output,
            output_bytes,
            workgroups: dispatch.workgroups,
        })
    }

    /// Runs the dispatch `times` times in one pass and submit, waits, and
    /// returns the wall-clock seconds from submit to completion.
    pub fn run(&self, times: usize) -> Result<f64> {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("direct.run"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("direct"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.bind_group, &[]);
            let [x, y, z] = self.workgroups;
            for _ in 0..times {
                pass.dispatch_workgroups(x, y, z);
            }
        }
        let t0 = Instant::now();
        let submission = self.ctx.queue.submit([encoder.finish()]);
        self.ctx.wait_for(submission)?;
        let seconds = t0.elapsed().as_secs_f64();
        match self.ctx.take_errors().first() {
            Some(e) => Err(Error::Gpu(e.clone())),
            None => Ok(seconds),
        }
    }

    /// The output buffer's bytes.
    pub fn read(&self) -> Result<Vec<u8>> {
        let staging = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("direct.staging"),
            size: self.output.size(),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("direct.read"),
            });
        encoder.copy_buffer_to_buffer(&self.output, 0, &staging, 0, self.output.size());
        let mut bytes = self
            .ctx
            .submit_and_read(encoder, &staging, "a direct run's output")?;
        bytes.truncate(self.output_bytes as usize);
        Ok(bytes)
    }
}
