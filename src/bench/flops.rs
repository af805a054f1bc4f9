//! Analytic FLOP counts of a training step or an inference, counted as
//! `bench_torch.py` (the PyTorch baseline) counts them, so GFLOP/s compare
//! line by line: the U-Net's and VGG's convolutions and the Gram matrices.
use crate::model::UNetConfig;

/// GFLOP of each part and their total.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gflop {
    pub unet_fwd: f64,
    pub unet_bwd: f64,
    pub vgg_fwd: f64,
    pub vgg_bwd: f64,
    pub gram: f64,
    pub total: f64,
}

/// (layer, multiply-adds) of the U-Net's convolutions for one image.
fn unet_conv_macs(net: UNetConfig, h: usize, w: usize) -> Vec<(String, f64)> {
    let ch = net.channels();
    let mut out = Vec::new();
    let (mut cin, mut hh, mut ww) = (3usize, h, w);
    let mut sizes = vec![(h, w)];
    for i in 1..=net.levels {
        let k = UNetConfig::enc_kernel(i);
        hh /= 2;
        ww /= 2;
        sizes.push((hh, ww));
        out.push((
            format!("enc{i}"),
            (ch[i - 1] * cin * k * k * hh * ww) as f64,
        ));
        cin = ch[i - 1];
    }
    for i in (1..=net.levels).rev() {
        let c_skip = if i >= 2 { ch[i - 2] } else { 3 };
        let c_in = ch[i - 1] + c_skip;
        let (hh, ww) = sizes[i - 1];
        out.push((format!("dec{i}"), (c_skip * c_in * 9 * hh * ww) as f64));
    }
    out
}

/// VGG-16 conv1_1 … conv3_3 multiply-adds and the pool1..3 shapes.
fn vgg_macs(h: usize, w: usize) -> (f64, Vec<(usize, usize, usize)>) {
    let convs: [&[(usize, usize)]; 3] = [
        &[(3, 64), (64, 64)],
        &[(64, 128), (128, 128)],
        &[(128, 256), (256, 256), (256, 256)],
    ];
    let (mut hh, mut ww, mut macs) = (h, w, 0.0);
    let mut pools = Vec::new();
    for (block, c_pool) in convs.iter().zip([64, 128, 256]) {
        for &(ci, co) in *block {
            macs += (ci * co * 9 * hh * ww) as f64;
        }
        hh /= 2;
        ww /= 2;
        pools.push((c_pool, hh, ww));
    }
    (macs, pools)
}

/// FLOP of one training step (forward, loss, backward) or one inference.
pub fn step_gflop(net: UNetConfig, size: usize, batch: usize, train: bool) -> Gflop {
    let unet = unet_conv_macs(net, size, size);
    let b = batch as f64;
    let unet_fwd: f64 = unet.iter().map(|(_, m)| m).sum();
    if !train {
        let f = 2.0 * unet_fwd * b / 1e9;
        return Gflop {
            unet_fwd: f,
            total: f,
            ..Default::default()
        };
    }
    // enc1's input needs no gradient: weights only; the others data + weights.
    let unet_bwd: f64 = unet
        .iter()
        .map(|(n, m)| if n == "enc1" { *m } else { 2.0 * m })
        .sum();
    let (vmacs, pools) = vgg_macs(size, size);
    let gram_one: f64 = pools.iter().map(|&(c, h, w)| (c * c * h * w) as f64).sum();
    let mut g = Gflop {
        unet_fwd: 2.0 * unet_fwd * b / 1e9,
        unet_bwd: 2.0 * unet_bwd * b / 1e9,
        // I_out, I_comp and I_gt forward; data gradients for I_out and I_comp.
        vgg_fwd: 2.0 * 3.0 * vmacs * b / 1e9,
        vgg_bwd: 2.0 * 2.0 * vmacs * b / 1e9,
        gram: 2.0 * 5.0 * gram_one * b / 1e9,
        total: 0.0,
    };
    g.total = g.unet_fwd + g.unet_bwd + g.vgg_fwd + g.vgg_bwd + g.gram;
    g
}
