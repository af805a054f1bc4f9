//! The inpainted composite as a GPU texture, for a window that draws with
//! the engine's own device: the network's output is composited and
//! quantised into an RGBA8 texture by a kernel (`infer/composite_rgba8`)
//! and never comes back to the CPU to be shown. Only saving reads it back.
use image::RgbImage;

use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::kernels::Shader;

/// The format egui-wgpu draws native textures in (gamma-encoded bytes).
pub const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// An inpainted composite held on the GPU.
pub struct GpuComposite {
    ctx: GpuContext,
    texture: wgpu::Texture,
}

/// The padded network tensors a composite is made from.
pub struct CompositeSources<'a> {
    /// The input image, 3 planes of `padded_width` x `padded_height`.
    pub image: wgpu::BindingResource<'a>,
    /// The known mask, 1 = known.
    pub known: wgpu::BindingResource<'a>,
    /// The network's output, like `image`.
    pub prediction: wgpu::BindingResource<'a>,
    pub padded_width: usize,
    pub padded_height: usize,
}

impl GpuComposite {
    /// Records the composite of `src` cropped to `width` x `height` into
    /// `encoder`; the texture is ready once that encoder's submit completes.
    pub fn record(
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        src: CompositeSources<'_>,
        width: usize,
        height: usize,
    ) -> Result<Self> {
        if width > src.padded_width || height > src.padded_height || width * height == 0 {
            return Err(Error::Invalid(format!(
                "a {width}x{height} composite from {}x{} tensors",
                src.padded_width, src.padded_height
            )));
        }
        let device = &ctx.device;
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("pconv.composite"),
            size: wgpu::Extent3d {
                width: width as u32,
                height: height as u32,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: FORMAT,
            usage: wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let params: [u32; 4] = [
            width as u32,
            height as u32,
            src.padded_width as u32,
            (src.padded_width * src.padded_height) as u32,
        ];
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pconv.composite.params"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue
            .write_buffer(&uniform, 0, bytemuck::cast_slice(&params));
        let pipeline = ctx.pipeline(Shader::CompositeRgba8.kernel())?;
        let view = texture.create_view(&Default::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("pconv.composite"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: src.image,
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: src.known,
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: src.prediction,
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
            ],
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("pconv.composite"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups((width as u32).div_ceil(16), (height as u32).div_ceil(16), 1);
        drop(pass);
        Ok(GpuComposite {
            ctx: ctx.clone(),
            texture,
        })
    }

    pub fn texture(&self) -> &wgpu::Texture {
        &self.texture
    }

    /// True when `device` can draw this texture.
    pub fn lives_on(&self, device: &wgpu::Device) -> bool {
        self.ctx.device == *device
    }

    pub fn size(&self) -> (usize, usize) {
        (
            self.texture.width() as usize,
            self.texture.height() as usize,
        )
    }

    /// Copies the composite back (blocking: for saving, not for showing).
    pub fn read(&self) -> Result<RgbImage> {
        let (w, h) = self.size();
        // Texture-to-buffer copies need rows aligned to 256 bytes.
        let row = (w * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize);
        let device = &self.ctx.device;
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pconv.composite.readback"),
            size: (row * h) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_buffer(
            self.texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &staging,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row as u32),
                    rows_per_image: Some(h as u32),
                },
            },
            self.texture.size(),
        );
        let bytes = self
            .ctx
            .submit_and_read(encoder, &staging, "the shown composite")?;
        let mut rgb = Vec::with_capacity(w * h * 3);
        for line in bytes.chunks_exact(row) {
            for px in line[..w * 4].chunks_exact(4) {
                rgb.extend_from_slice(&px[..3]);
            }
        }
        RgbImage::from_raw(w as u32, h as u32, rgb)
            .ok_or_else(|| Error::Gpu("the composite read back has the wrong size".into()))
    }
}
