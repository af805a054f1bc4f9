//! The partial-convolution mask update (`conv/pconv_mask.wgsl`).
use crate::kernels::params::{u, PConvMaskParams};
use crate::kernels::Shader;
use crate::kernels::{grid_1d, Binding, Dispatch, Lowered};

pub(super) fn lower(
    k: usize,
    stride: usize,
    pad: usize,
    count_a: usize,
    count_b: usize,
    ins: &[&[usize]],
    outs: &[&[usize]],
) -> Lowered {
    let (m, r) = (ins[0], outs[0]);
    let params = PConvMaskParams {
        n: u(m[0]),
        h: u(m[2]),
        w: u(m[3]),
        h_out: u(r[2]),
        w_out: u(r[3]),
        k: u(k),
        stride: u(stride),
        pad: u(pad),
        count_a: u(count_a),
        count_b: u(count_b),
    }
    .words();
    let mb = if count_b > 0 {
        Binding::Input(1)
    } else {
        Binding::Unused
    };
    Lowered::one(Dispatch {
        kernel: Shader::PConvMask.kernel(),
        params,
        bindings: vec![
            Binding::Input(0),
            mb,
            Binding::Output(0),
            Binding::Output(1),
        ],
        workgroups: grid_1d(m[0] * r[2] * r[3]),
    })
}
