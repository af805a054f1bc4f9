use super::init::{kaiming_normal, SplitMix64};
use crate::error::{Error, Result};
use crate::graph::{Graph, TensorId};

/// Levels and width multiplier of a PConv-UNet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UNetConfig {
    pub levels: usize,
    pub width: f64,
}

const BASE_CHANNELS: [usize; 4] = [64, 128, 256, 512];

impl UNetConfig {
    /// The configurations pconv builds: 1 to 12 levels, a width above 0
    /// and at most 16 (beyond, the checkpoint alone would not fit memory).
    pub fn check(&self) -> crate::Result<()> {
        if (1..=12).contains(&self.levels) && self.width > 0.0 && self.width <= 16.0 {
            return Ok(());
        }
        Err(crate::Error::Invalid(format!(
            "levels {} / width {}: levels must be 1 to 12 and the width above 0 and at most 16",
            self.levels, self.width
        )))
    }

    /// Channel count c scaled by the width: max(1, floor(c·w + 0.5)).
    pub fn scale(&self, c: usize) -> usize {
        ((c as f64 * self.width + 0.5).floor() as usize).max(1)
    }

    /// Output channels of enc1 … encL.
    pub fn channels(&self) -> Vec<usize> {
        (0..self.levels)
            .map(|i| self.scale(BASE_CHANNELS[i.min(3)]))
            .collect()
    }

    /// Kernel size of enc{i} (1-based): 7, 5, 5, then 3.
    pub fn enc_kernel(i: usize) -> usize {
        match i {
            1 => 7,
            2 | 3 => 5,
            _ => 3,
        }
    }

    /// Image sides must be multiples of this.
    pub fn multiple(&self) -> usize {
        1 << self.levels
    }
}

/// How BatchNorm runs: batch statistics everywhere (Train), the encoder's
/// frozen at running statistics (FineTune, paper §4.2), or running
/// statistics everywhere (Eval).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    FineTune,
    Eval,
}

#[derive(Clone, Debug)]
pub struct BnParams {
    pub gamma: TensorId,
    pub beta: TensorId,
    pub running_mean: TensorId,
    pub running_var: TensorId,
}

/// One partial-convolution layer's tensors.
#[derive(Clone, Debug)]
pub struct Layer {
    pub name: String,
    pub weight: TensorId,
    pub bias: Option<TensorId>,
    pub bn: Option<BnParams>,
}

/// The network's parameters on a graph; `enc[i-1]` is enc{i}, `dec[i-1]` dec{i}.
#[derive(Clone, Debug)]
pub struct UNet {
    pub config: UNetConfig,
    pub enc: Vec<Layer>,
    pub dec: Vec<Layer>,
}

fn declare_layer(
    g: &mut Graph,
    name: &str,
    shape: [usize; 4],
    bias: bool,
    bn: bool,
    bn_trainable: bool,
) -> Layer {
    let weight = g.param(&format!("{name}.weight"), &shape, true);
    let bias = bias.then(|| g.param(&format!("{name}.bias"), &[shape[0]], true));
    let bn = bn.then(|| BnParams {
        gamma: g.param(&format!("{name}.bn.weight"), &[shape[0]], bn_trainable),
        beta: g.param(&format!("{name}.bn.bias"), &[shape[0]], bn_trainable),
        running_mean: g.state(&format!("{name}.bn.running_mean"), &[shape[0]]),
        running_var: g.state(&format!("{name}.bn.running_var"), &[shape[0]]),
    });
    Layer {
        name: name.to_string(),
        weight,
        bias,
        bn,
    }
}

impl UNet {
    /// Declares every parameter; in `FineTune` mode the encoder's BatchNorm
    /// parameters are frozen (no gradient, no update).
    pub fn declare(g: &mut Graph, config: UNetConfig, mode: Mode) -> Result<Self> {
        if config.levels < 1 || config.width <= 0.0 {
            return Err(Error::Invalid(format!(
                "bad network configuration {config:?}"
            )));
        }
        let ch = config.channels();
        let mut enc = Vec::new();
        let mut c_in = 3;
        for i in 1..=config.levels {
            let k = UNetConfig::enc_kernel(i);
            let shape = [ch[i - 1], c_in, k, k];
            enc.push(declare_layer(
                g,
                &format!("enc{i}"),
                shape,
                false,
                i >= 2,
                mode == Mode::Train,
            ));
            c_in = ch[i - 1];
        }
        let mut dec = Vec::new();
        for i in 1..=config.levels {
            let c_h = ch[i - 1];
            let c_skip = if i >= 2 { ch[i - 2] } else { 3 };
            let shape = [c_skip, c_h + c_skip, 3, 3];
            dec.push(declare_layer(
                g,
                &format!("dec{i}"),
                shape,
                i == 1,
                i >= 2,
                true,
            ));
        }
        Ok(UNet { config, enc, dec })
    }

    /// Every parameter and running statistic with its checkpoint name.
    pub fn named_tensors(&self) -> Vec<(String, TensorId)> {
        let mut out = Vec::new();
        for l in self.enc.iter().chain(&self.dec) {
            out.push((format!("{}.weight", l.name), l.weight));
            if let Some(b) = l.bias {
                out.push((format!("{}.bias", l.name), b));
            }
            if let Some(bn) = &l.bn {
                out.push((format!("{}.bn.weight", l.name), bn.gamma));
                out.push((format!("{}.bn.bias", l.name), bn.beta));
                out.push((format!("{}.bn.running_mean", l.name), bn.running_mean));
                out.push((format!("{}.bn.running_var", l.name), bn.running_var));
            }
        }
        out
    }

    /// Writes a checkpoint's weights and BatchNorm statistics into an
    /// executor of a graph this network was declared on.
    pub fn upload(&self, exec: &crate::gpu::Executor, ck: &crate::model::Checkpoint) -> Result<()> {
        if ck.config != self.config {
            return Err(Error::Invalid(format!(
                "checkpoint is levels {} width {}, the network is levels {} width {}",
                ck.config.levels, ck.config.width, self.config.levels, self.config.width
            )));
        }
        for (name, t) in self.named_tensors() {
            let v = ck
                .tensors
                .get(&name)
                .ok_or_else(|| Error::Invalid(format!("the checkpoint lacks tensor {name}")))?;
            exec.write(t, &v.data)?;
        }
        Ok(())
    }

    /// Initial values: Kaiming-normal weights, zero biases, BatchNorm weight 1,
    /// bias 0, running mean 0 and variance 1.
    pub fn initial_values(&self, g: &Graph, seed: u64) -> Vec<(TensorId, Vec<f32>)> {
        let mut rng = SplitMix64(seed);
        let mut out = Vec::new();
        for l in self.enc.iter().chain(&self.dec) {
            out.push((l.weight, kaiming_normal(g.shape(l.weight), &mut rng)));
            if let Some(b) = l.bias {
                out.push((b, vec![0.0; g.info(b).numel()]));
            }
            if let Some(bn) = &l.bn {
                let c = g.info(bn.gamma).numel();
                out.push((bn.gamma, vec![1.0; c]));
                out.push((bn.beta, vec![0.0; c]));
                out.push((bn.running_mean, vec![0.0; c]));
                out.push((bn.running_var, vec![1.0; c]));
            }
        }
        out
    }

    /// I_out for an image [N,3,H,W] and its mask [N,1,H,W] (1 = known);
    /// H and W must be multiples of 2^levels.
    pub fn forward(
        &self,
        g: &mut Graph,
        image: TensorId,
        mask: TensorId,
        mode: Mode,
    ) -> Result<TensorId> {
        let s = g.shape(image).to_vec();
        let mult = self.config.multiple();
        if s.len() != 4 || s[1] != 3 || !s[2].is_multiple_of(mult) || !s[3].is_multiple_of(mult) {
            return Err(Error::Invalid(format!(
                "network input must be [N,3,H,W] with H and W multiples of {mult}, got {s:?}"
            )));
        }
        let ch = self.config.channels();
        // skips[i] = (level-i feature map already multiplied by its mask, mask, channels);
        // level 0 is the masked input X = I ⊙ M.
        let x = g.channel_scale(image, mask, false, None)?;
        let mut skips = vec![(x, mask, 3usize)];
        let mut m = mask;
        for i in 1..=self.config.levels {
            let layer = &self.enc[i - 1];
            let k = UNetConfig::enc_kernel(i);
            let c_in = skips[i - 1].2;
            let input = (skips[i - 1].0, (m, c_in), None);
            let (hm, m2) =
                self.masked_layer(g, layer, input, (2, k / 2), mode == Mode::Train, mode, 0.0)?;
            m = m2;
            skips.push((hm, m, ch[i - 1]));
        }
        // The decoder input of level L is encL's output (masked: upsampling
        // commutes with the mask multiply, so mask before the cheaper side).
        let mut hm = skips[self.config.levels].0;
        let mut c_h = ch[self.config.levels - 1];
        for i in (1..=self.config.levels).rev() {
            let layer = &self.dec[i - 1];
            let h_up = g.upsample2x(hm)?;
            let m_up = g.upsample2x(m)?;
            let (skip, m_skip, c_skip) = skips[i - 1];
            let cat = g.concat(h_up, skip)?;
            if i == 1 {
                let (out, _) = g.partial_conv(
                    cat,
                    (m_up, c_h),
                    Some((m_skip, c_skip)),
                    layer.weight,
                    layer.bias,
                    1,
                    1,
                )?;
                return Ok(out);
            }
            let input = (cat, (m_up, c_h), Some((m_skip, c_skip)));
            (hm, m) = self.masked_layer(g, layer, input, (1, 1), mode != Mode::Eval, mode, 0.2)?;
            c_h = c_skip;
        }
        Ok(hm)
    }

    /// One partial-convolution layer with its BatchNorm (batch statistics
    /// with `train_bn`) and leaky ReLU of `slope`, its output times the new
    /// mask (what the next layer and the skips take), and the new mask. In
    /// evaluation mode everything after the convolution is one pass.
    #[allow(clippy::too_many_arguments)]
    fn masked_layer(
        &self,
        g: &mut Graph,
        layer: &Layer,
        (xm, mask_a, mask_b): (TensorId, (TensorId, usize), Option<(TensorId, usize)>),
        (stride, pad): (usize, usize),
        train_bn: bool,
        mode: Mode,
        slope: f32,
    ) -> Result<(TensorId, TensorId)> {
        if mode == Mode::Eval {
            let raw = g.partial_conv_raw(xm, mask_a, mask_b, layer.weight, stride, pad)?;
            let bn = layer
                .bn
                .as_ref()
                .map(|bn| [bn.gamma, bn.beta, bn.running_mean, bn.running_var]);
            let hm = g.pconv_epilogue(raw, layer.bias, bn, slope)?;
            return Ok((hm, raw.2));
        }
        let (mut h, m) =
            g.partial_conv(xm, mask_a, mask_b, layer.weight, layer.bias, stride, pad)?;
        if let Some(bn) = &layer.bn {
            let running = (bn.running_mean, bn.running_var);
            h = g.batch_norm(h, bn.gamma, bn.beta, running, train_bn)?;
        }
        h = g.leaky_relu(h, slope)?;
        Ok((g.channel_scale(h, m, false, None)?, m))
    }
}
