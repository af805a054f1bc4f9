//! The inpainting loss of the spec (paper eq. 3–7) built from graph ops:
//! the six terms, their weighted total, and the frozen VGG-16 features
//! (pool1–pool3) it compares.
mod vgg;

pub use vgg::{Preprocess, Vgg, VggConfig, VggWeights, DEFAULT_VGG_WEIGHTS};

use crate::error::Result;
use crate::graph::{Graph, TensorId};
use crate::ops::L1Weight;

/// Weights of the six terms in L_total.
pub const WEIGHTS: LossWeights = LossWeights {
    valid: 1.0,
    hole: 6.0,
    perc: 0.05,
    style: 120.0,
    tv: 0.1,
};

#[derive(Clone, Copy, Debug)]
pub struct LossWeights {
    pub valid: f32,
    pub hole: f32,
    pub perc: f32,
    pub style: f32,
    pub tv: f32,
}

/// The six loss terms of the spec and their weighted total, by name: the
/// scalar ([1]) tensors while a graph is built (`LossTerms<TensorId>`),
/// their values after a step or an evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossTerms<T> {
    pub valid: T,
    pub hole: T,
    pub perc: T,
    pub style_out: T,
    pub style_comp: T,
    pub tv: T,
    pub total: T,
}

/// The terms' names, in the order of metrics.jsonl, eval's JSON and the
/// scalars a step reads back.
pub const TERM_NAMES: [&str; 7] = [
    "valid",
    "hole",
    "perc",
    "style_out",
    "style_comp",
    "tv",
    "total",
];

impl<T: Copy> LossTerms<T> {
    /// The terms in `TERM_NAMES` order.
    pub fn to_array(&self) -> [T; 7] {
        [
            self.valid,
            self.hole,
            self.perc,
            self.style_out,
            self.style_comp,
            self.tv,
            self.total,
        ]
    }

    /// (name, term) in `TERM_NAMES` order.
    pub fn named(&self) -> [(&'static str, T); 7] {
        let v = self.to_array();
        std::array::from_fn(|i| (TERM_NAMES[i], v[i]))
    }

    /// The terms from `f(i)` of the i-th name in `TERM_NAMES`.
    pub fn from_fn(f: impl Fn(usize) -> T) -> Self {
        LossTerms {
            valid: f(0),
            hole: f(1),
            perc: f(2),
            style_out: f(3),
            style_comp: f(4),
            tv: f(5),
            total: f(6),
        }
    }

    /// The terms from values in `TERM_NAMES` order (None when fewer).
    pub fn from_slice(values: &[T]) -> Option<Self> {
        (values.len() >= 7).then(|| Self::from_fn(|i| values[i]))
    }

    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> LossTerms<U> {
        let v = self.to_array();
        LossTerms::from_fn(|i| f(v[i]))
    }
}

impl<T: Copy + Into<f64>> LossTerms<T> {
    pub fn is_finite(&self) -> bool {
        self.named().iter().all(|(_, v)| (*v).into().is_finite())
    }

    /// "valid 0.0123, hole 0.0456, …"
    pub fn describe(&self) -> String {
        self.named()
            .iter()
            .map(|(n, v)| format!("{n} {:.4}", (*v).into()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn sum(g: &mut Graph, terms: &[TensorId]) -> Result<TensorId> {
    let mut acc = terms[0];
    for &t in &terms[1..] {
        acc = g.axpby(1.0, acc, 1.0, Some(t))?;
    }
    Ok(acc)
}

/// Builds every loss term for the network output `out`, the ground truth
/// `gt` and the mask (1 = known).
pub fn inpainting_loss(
    g: &mut Graph,
    vgg: &Vgg,
    out: TensorId,
    gt: TensorId,
    mask: TensorId,
) -> Result<LossTerms<TensorId>> {
    let comp = g.composite(out, gt, mask)?;
    let valid = g.l1_mean(out, gt, L1Weight::Known, Some(mask))?;
    let hole = g.l1_mean(out, gt, L1Weight::Hole, Some(mask))?;
    let f_out = vgg.features(g, out)?;
    let f_comp = vgg.features(g, comp)?;
    let f_gt = vgg.features(g, gt)?;
    let mut perc = Vec::new();
    let mut style_out = Vec::new();
    let mut style_comp = Vec::new();
    for p in 0..3 {
        perc.push(g.l1_mean(f_out[p], f_gt[p], L1Weight::None, None)?);
        perc.push(g.l1_mean(f_comp[p], f_gt[p], L1Weight::None, None)?);
        let gram_gt = g.gram(f_gt[p])?;
        let gram_out = g.gram(f_out[p])?;
        let gram_comp = g.gram(f_comp[p])?;
        style_out.push(g.l1_mean(gram_out, gram_gt, L1Weight::None, None)?);
        style_comp.push(g.l1_mean(gram_comp, gram_gt, L1Weight::None, None)?);
    }
    let perc = sum(g, &perc)?;
    let style_out = sum(g, &style_out)?;
    let style_comp = sum(g, &style_comp)?;
    let region = g.dilate_holes(mask)?;
    let tv = g.tv(comp, region)?;
    let w = WEIGHTS;
    let mut total = g.axpby(w.valid, valid, w.hole, Some(hole))?;
    total = g.axpby(1.0, total, w.perc, Some(perc))?;
    total = g.axpby(1.0, total, w.style, Some(style_out))?;
    total = g.axpby(1.0, total, w.style, Some(style_comp))?;
    total = g.axpby(1.0, total, w.tv, Some(tv))?;
    Ok(LossTerms {
        valid,
        hole,
        perc,
        style_out,
        style_comp,
        tv,
        total,
    })
}
