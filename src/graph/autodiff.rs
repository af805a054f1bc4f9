//! Reverse-mode autodiff over the node list: walk the forward nodes in
//! reverse topological order, apply each op's backward rule (itself made of
//! ops appended to the same graph), and accumulate gradients of tensors used
//! more than once. Tensors that need no gradient (masks, targets, frozen
//! weights, state) are skipped.
use std::collections::HashMap;

use super::{Graph, Node, TensorId};
use crate::error::{Error, Result};
use crate::ops::{ConvOp, LossOp, NnOp, Op};

/// Gradient of the loss for every tensor that received one.
#[derive(Debug, Default)]
pub struct Gradients {
    map: HashMap<TensorId, TensorId>,
}

impl Gradients {
    pub fn get(&self, t: TensorId) -> Option<TensorId> {
        self.map.get(&t).copied()
    }
}

/// Appends the backward pass of the scalar `loss` ([1]) to the graph.
pub fn backward(g: &mut Graph, loss: TensorId) -> Result<Gradients> {
    if g.shape(loss) != [1] {
        return Err(Error::Invalid(format!(
            "backward needs a scalar loss, got shape {:?}",
            g.shape(loss)
        )));
    }
    let seed = g.constant("loss_seed", &[1], vec![1.0]);
    backward_from(g, &[(loss, seed)], &mut |_, _, _| Ok(()))
}

/// Called with (graph, tensor, gradient) as soon as a tensor's gradient is
/// complete, so an optimiser step can consume it right away and its buffer
/// be reused for the rest of the backward pass.
pub type OnGradient<'a> = dyn FnMut(&mut Graph, TensorId, TensorId) -> Result<()> + 'a;

/// Appends the backward pass that starts from the given (tensor, gradient of
/// that tensor) pairs: the vector-Jacobian product of the graph.
pub fn backward_from(
    g: &mut Graph,
    seeds: &[(TensorId, TensorId)],
    on_gradient: &mut OnGradient,
) -> Result<Gradients> {
    let mut grads = Gradients::default();
    for &(t, seed) in seeds {
        if g.shape(t) != g.shape(seed) {
            return Err(Error::Invalid(format!(
                "seed shape {:?} differs from {:?}",
                g.shape(seed),
                g.shape(t)
            )));
        }
        grads.map.insert(t, seed);
    }
    let forward_nodes = g.nodes.len();
    // The gradient of a tensor is complete once its first reader is done.
    let mut first_reader = vec![usize::MAX; g.tensors.len()];
    for (i, node) in g.nodes.iter().enumerate().rev() {
        for t in &node.inputs {
            first_reader[t.index()] = i;
        }
    }
    for i in (0..forward_nodes).rev() {
        let node = g.nodes[i].clone();
        let gout: Vec<Option<TensorId>> = node.outputs.iter().map(|&o| grads.get(o)).collect();
        if gout.iter().all(Option::is_none) {
            continue;
        }
        for (input, grad) in rule(g, &node, &gout)? {
            let t = node.inputs[input];
            let total = match grads.get(t) {
                Some(old) => g.axpby(1.0, old, 1.0, Some(grad))?,
                None => grad,
            };
            grads.map.insert(t, total);
        }
        let mut done: Vec<TensorId> = node
            .inputs
            .iter()
            .copied()
            .filter(|t| first_reader[t.index()] == i)
            .collect();
        done.dedup();
        for t in done {
            if let Some(grad) = grads.get(t) {
                on_gradient(g, t, grad)?;
            }
        }
    }
    Ok(grads)
}

/// The backward rule of one node: gradients of its inputs that need one.
fn rule(g: &mut Graph, node: &Node, gout: &[Option<TensorId>]) -> Result<Vec<(usize, TensorId)>> {
    let need = |g: &Graph, i: usize| {
        node.op.differentiable_inputs().contains(&i)
            && node.inputs.get(i).is_some_and(|&t| g.info(t).requires_grad)
    };
    let x = |i: usize| node.inputs[i];
    let mut out = Vec::new();
    let Some(gy) = gout[0] else {
        return Ok(out);
    };
    let one =
        |g: &mut Graph, op: Op, ins: &[TensorId]| -> Result<TensorId> { Ok(g.push(op, ins)?[0]) };
    match node.op.clone() {
        Op::Conv(ConvOp::Conv2d { stride, pad, .. }) => {
            let (h, w, k) = (g.shape(x(0))[2], g.shape(x(0))[3], g.shape(x(1))[2]);
            if need(g, 0) {
                out.push((
                    0,
                    one(
                        g,
                        Op::Conv(ConvOp::Conv2dBwdData { stride, pad, h, w }),
                        &[gy, x(1)],
                    )?,
                ));
            }
            if need(g, 1) {
                out.push((
                    1,
                    one(
                        g,
                        Op::Conv(ConvOp::Conv2dBwdWeight { stride, pad, k }),
                        &[gy, x(0)],
                    )?,
                ));
            }
            if need(g, 2) {
                out.push((
                    2,
                    one(g, Op::Nn(NnOp::ChannelSum { masked: false }), &[gy])?,
                ));
            }
        }
        Op::Nn(NnOp::ChannelScale { invert, .. }) => {
            if need(g, 0) {
                out.push((
                    0,
                    one(
                        g,
                        Op::Nn(NnOp::ChannelScale {
                            invert,
                            bias: false,
                        }),
                        &[gy, x(1)],
                    )?,
                ));
            }
            if need(g, 2) {
                out.push((
                    2,
                    one(g, Op::Nn(NnOp::ChannelSum { masked: true }), &[gy, x(1)])?,
                ));
            }
        }
        Op::Nn(NnOp::BatchNorm { train, .. }) => {
            let r = g.push(
                Op::Nn(NnOp::BatchNormBwd { train }),
                &[gy, x(0), x(1), node.outputs[1], node.outputs[2]],
            )?;
            for (i, t) in r.into_iter().enumerate() {
                if need(g, i) {
                    out.push((i, t));
                }
            }
        }
        Op::Nn(NnOp::Activation { slope }) => out.push((
            0,
            one(
                g,
                Op::Nn(NnOp::ActivationBwd { slope }),
                &[node.outputs[0], gy],
            )?,
        )),
        Op::Nn(NnOp::Upsample2x) => out.push((0, one(g, Op::Nn(NnOp::Upsample2xBwd), &[gy])?)),
        Op::Nn(NnOp::Concat) => {
            let (ca, cb) = (g.shape(x(0))[1], g.shape(x(1))[1]);
            if need(g, 0) {
                out.push((
                    0,
                    one(g, Op::Nn(NnOp::SliceChannels { start: 0, len: ca }), &[gy])?,
                ));
            }
            if need(g, 1) {
                out.push((
                    1,
                    one(g, Op::Nn(NnOp::SliceChannels { start: ca, len: cb }), &[gy])?,
                ));
            }
        }
        Op::Nn(NnOp::MaxPool2) => out.push((0, one(g, Op::Nn(NnOp::MaxPool2Bwd), &[x(0), gy])?)),
        Op::Nn(NnOp::Axpby { alpha, beta }) => {
            if need(g, 0) {
                out.push((0, one(g, Op::Nn(NnOp::Axpby { alpha, beta: 0.0 }), &[gy])?));
            }
            if need(g, 1) {
                out.push((
                    1,
                    one(
                        g,
                        Op::Nn(NnOp::Axpby {
                            alpha: beta,
                            beta: 0.0,
                        }),
                        &[gy],
                    )?,
                ));
            }
        }
        Op::Nn(NnOp::ChannelAffine { scale, .. }) => {
            out.push((
                0,
                one(
                    g,
                    Op::Nn(NnOp::ChannelAffine {
                        scale,
                        shift: [0.0; 3],
                    }),
                    &[gy],
                )?,
            ));
        }
        Op::Loss(LossOp::Composite) => {
            out.push((
                0,
                one(
                    g,
                    Op::Nn(NnOp::ChannelScale {
                        invert: true,
                        bias: false,
                    }),
                    &[gy, x(2)],
                )?,
            ));
        }
        Op::Loss(LossOp::L1Mean { weight }) => {
            let mut ins = vec![gy];
            ins.extend_from_slice(&node.inputs);
            out.push((0, one(g, Op::Loss(LossOp::L1MeanBwd { weight }), &ins)?));
        }
        Op::Loss(LossOp::Tv) => out.push((0, one(g, Op::Loss(LossOp::TvBwd), &[gy, x(0), x(1)])?)),
        Op::Loss(LossOp::Gram) => out.push((0, one(g, Op::Loss(LossOp::GramBwd), &[gy, x(0)])?)),
        op => {
            return Err(Error::Invalid(format!(
                "{} has no backward rule",
                op.name()
            )));
        }
    }
    Ok(out)
}
