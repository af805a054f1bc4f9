//! The CPU twins of the convolution family, in f64.
use super::super::{ConvOp, CpuResult};

/// A sliding window: kernel size, stride and zero padding.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Window {
    /// Input coordinate of output position `o`, tap `t`; None in the padding.
    fn tap(&self, o: usize, t: usize, len: usize) -> Option<usize> {
        (o * self.stride + t)
            .checked_sub(self.pad)
            .filter(|&i| i < len)
    }
}

/// The sizes of one convolution: (batch, C_in, H, W) of the input,
/// (C_out, H_out, W_out) of the output, and the window.
#[derive(Clone, Copy, Debug)]
pub struct ConvDims {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub h_out: usize,
    pub w_out: usize,
    pub win: Window,
}

impl ConvDims {
    /// Calls `f(x index, weight index, y index)` for every multiply-add of
    /// the convolution (padding taps skipped): forward, backward-data and
    /// backward-weight are the three ways of accumulating over these triples.
    fn for_each_term(&self, mut f: impl FnMut(usize, usize, usize)) {
        let ConvDims {
            n,
            c_in,
            h,
            w,
            c_out,
            h_out,
            w_out,
            win,
        } = *self;
        let k = win.k;
        for img in 0..n {
            for o in 0..c_out {
                for oy in 0..h_out {
                    for ox in 0..w_out {
                        let yi = ((img * c_out + o) * h_out + oy) * w_out + ox;
                        for c in 0..c_in {
                            for ky in 0..k {
                                let Some(iy) = win.tap(oy, ky, h) else {
                                    continue;
                                };
                                for kx in 0..k {
                                    let Some(ix) = win.tap(ox, kx, w) else {
                                        continue;
                                    };
                                    f(
                                        ((img * c_in + c) * h + iy) * w + ix,
                                        ((o * c_in + c) * k + ky) * k + kx,
                                        yi,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn of(x: &[usize], weight: &[usize], y: &[usize], stride: usize, pad: usize) -> Self {
        ConvDims {
            n: x[0],
            c_in: x[1],
            h: x[2],
            w: x[3],
            c_out: weight[0],
            h_out: y[2],
            w_out: y[3],
            win: Window {
                k: weight[2],
                stride,
                pad,
            },
        }
    }
}

/// CPU twin of conv2d_fwd: y = w ⋆ x (+ b).
pub fn conv2d_cpu(d: &ConvDims, x: &[f64], w: &[f64], b: Option<&[f64]>) -> Vec<f64> {
    let plane = d.h_out * d.w_out;
    let mut y: Vec<f64> = (0..d.n * d.c_out * plane)
        .map(|i| b.map_or(0.0, |b| b[(i / plane) % d.c_out]))
        .collect();
    d.for_each_term(|xi, wi, yi| y[yi] += w[wi] * x[xi]);
    y
}

/// CPU twin of conv2d_bwd_data: the transpose of conv2d_cpu.
pub fn conv2d_bwd_data_cpu(d: &ConvDims, gy: &[f64], w: &[f64]) -> Vec<f64> {
    let mut gx = vec![0.0; d.n * d.c_in * d.h * d.w];
    d.for_each_term(|xi, wi, yi| gx[xi] += gy[yi] * w[wi]);
    gx
}

/// CPU twin of conv2d_bwd_weight.
pub fn conv2d_bwd_weight_cpu(d: &ConvDims, gy: &[f64], x: &[f64]) -> Vec<f64> {
    let mut gw = vec![0.0; d.c_out * d.c_in * d.win.k * d.win.k];
    d.for_each_term(|xi, wi, yi| gw[wi] += gy[yi] * x[xi]);
    gw
}

/// CPU twin of pconv_mask: (ratio, new mask).
pub fn pconv_mask_cpu(
    ma: &[f64],
    mb: Option<&[f64]>,
    ms: &[usize],
    win: Window,
    (count_a, count_b): (usize, usize),
    (ho, wo): (usize, usize),
) -> (Vec<f64>, Vec<f64>) {
    let (n, h, w, k) = (ms[0], ms[2], ms[3], win.k);
    let mut ratio = vec![0.0; n * ho * wo];
    let mut mask = vec![0.0; n * ho * wo];
    for img in 0..n {
        for oy in 0..ho {
            for ox in 0..wo {
                let mut s = 0.0;
                for ky in 0..k {
                    let Some(iy) = win.tap(oy, ky, h) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(ix) = win.tap(ox, kx, w) else {
                            continue;
                        };
                        let at = (img * h + iy) * w + ix;
                        s += count_a as f64 * ma[at] + mb.map_or(0.0, |mb| count_b as f64 * mb[at]);
                    }
                }
                let o = (img * ho + oy) * wo + ox;
                if s > 0.0 {
                    ratio[o] = ((count_a + count_b) * k * k) as f64 / s;
                    mask[o] = 1.0;
                }
            }
        }
    }
    (ratio, mask)
}

pub(crate) fn eval_cpu(
    op: &ConvOp,
    ins: &[&[f64]],
    shapes: &[&[usize]],
    outs: &[Vec<usize>],
) -> CpuResult {
    match *op {
        ConvOp::Conv2d { stride, pad, bias } => {
            let d = ConvDims::of(shapes[0], shapes[1], &outs[0], stride, pad);
            let b = if bias { Some(ins[2]) } else { None };
            CpuResult::one(conv2d_cpu(&d, ins[0], ins[1], b))
        }
        ConvOp::Conv2dBwdData { stride, pad, h, w } => {
            let (gy, wt) = (shapes[0], shapes[1]);
            let d = ConvDims::of(&[gy[0], wt[1], h, w], wt, gy, stride, pad);
            CpuResult::one(conv2d_bwd_data_cpu(&d, ins[0], ins[1]))
        }
        ConvOp::Conv2dBwdWeight { stride, pad, k } => {
            let (gy, x) = (shapes[0], shapes[1]);
            let d = ConvDims::of(x, &[gy[1], x[1], k, k], gy, stride, pad);
            CpuResult::one(conv2d_bwd_weight_cpu(&d, ins[0], ins[1]))
        }
        ConvOp::PConvMask {
            k,
            stride,
            pad,
            count_a,
            count_b,
        } => {
            let mb = if count_b > 0 { Some(ins[1]) } else { None };
            let (r, m) = pconv_mask_cpu(
                ins[0],
                mb,
                shapes[0],
                Window { k, stride, pad },
                (count_a, count_b),
                (outs[0][2], outs[0][3]),
            );
            CpuResult {
                outputs: vec![r, m],
                written: vec![],
            }
        }
    }
}
