//! Data parallelism and gradient accumulation: a training step's gradients
//! summed over micro-batches (`--accum K`) and over processes (ranks of an
//! MPI job), then one Adam update on every rank.
//!
//! Exactness: every sum runs in one fixed order, micro-batch after
//! micro-batch and rank after rank, so N ranks with one micro-batch each
//! compute what one process with `--accum N` computes (the same global
//! batch), bit for bit; the update scales the sum by 1/(K·N) inside Adam.
//! BatchNorm: each micro-batch normalises by its own statistics (as
//! PyTorch DDP without SyncBatchNorm), and the running statistics of a step
//! are the mean of every micro-batch's update from the same start, so
//! every rank holds the same model.
#[cfg(feature = "mpi")]
pub mod mpi;

use super::session::TrainSession;
use crate::error::{Error, Result};

/// How the processes of a job talk: a small surface, so another transport
/// than MPI can be added. Every rank calls each method in the same order.
pub trait Collective {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Every rank's `local` (one length on all ranks), concatenated in
    /// rank order.
    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>>;
    /// Rank 0's `data` on every rank (one length on all ranks).
    fn broadcast(&self, data: &mut [f32]) -> Result<()>;
    /// The element-wise sum of every rank's `local`, added in rank order
    /// (so the bits do not depend on the transport), on every rank.
    fn sum_in_rank_order(&self, local: &[f32]) -> Result<Vec<f32>> {
        Ok(sum_in_order(&self.all_gather(local)?, self.size()))
    }
    /// Whether any rank says `yes` (every rank stops on the same step).
    fn any(&self, yes: bool) -> Result<bool> {
        Ok(self
            .all_gather(&[if yes { 1.0 } else { 0.0 }])?
            .iter()
            .any(|&v| v != 0.0))
    }
}

/// One process: no communication.
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>> {
        Ok(local.to_vec())
    }
    fn broadcast(&self, _data: &mut [f32]) -> Result<()> {
        Ok(())
    }
}

/// The element-wise sum of the `parts` equal chunks of `all`, chunk after
/// chunk (one f32 rounding per addition, in that order).
pub fn sum_in_order(all: &[f32], parts: usize) -> Vec<f32> {
    let len = all.len() / parts.max(1);
    let mut sum = all[..len].to_vec();
    for chunk in all[len..].chunks_exact(len.max(1)) {
        for (s, v) in sum.iter_mut().zip(chunk) {
            *s += v;
        }
    }
    sum
}

/// `sum_in_order` divided by the number of chunks.
pub fn mean_in_order(all: &[f32], parts: usize) -> Vec<f32> {
    let n = parts as f32;
    sum_in_order(all, parts)
        .into_iter()
        .map(|s| s / n)
        .collect()
}

/// The global batch's share of `rank` of `ranks`: samples
/// [rank·len/ranks, (rank+1)·len/ranks) of a batch of `len` samples
/// (checked to divide when the run starts).
pub fn rank_share(len: usize, rank: usize, ranks: usize) -> std::ops::Range<usize> {
    let each = len / ranks.max(1);
    rank * each..(rank + 1) * each
}

/// Checks that a global batch of `batch` splits into `ranks` × `accum`
/// micro-batches, and returns the micro-batch.
pub fn micro_batch(batch: usize, accum: usize, ranks: usize) -> Result<usize> {
    let parts = accum.max(1) * ranks.max(1);
    if batch == 0 || !batch.is_multiple_of(parts) {
        let split = if ranks > 1 {
            format!("{ranks} ranks × --accum {accum}")
        } else {
            format!("--accum {accum}")
        };
        return Err(Error::Invalid(format!(
            "--batch {batch} does not split into {split} micro-batches of equal size; \
             use a multiple of {parts}"
        )));
    }
    Ok(batch / parts)
}

/// One training step on an accumulating session: this rank's `images` and
/// `masks` (its `accum` micro-batches, one after the other) through the
/// gradient part, the gradients and running statistics combined over the
/// ranks, then Adam step `t` at `lr`. Returns the loss terms of the global
/// batch (the mean over every micro-batch of every rank), the same on
/// every rank.
pub fn accumulated_step(
    session: &TrainSession,
    collective: &dyn Collective,
    accum: usize,
    images: &[f32],
    masks: &[f32],
    lr: f64,
    t: u64,
) -> Result<Vec<f32>> {
    let accum = accum.max(1);
    let start = session.read_running_stats()?;
    let (mut stats, mut losses) = (Vec::new(), Vec::new());
    let (image_len, mask_len) = (images.len() / accum, masks.len() / accum);
    for k in 0..accum {
        if k > 0 {
            // Every micro-batch updates the statistics from the step's start.
            session.write_running_stats(&start)?;
        }
        session.write_batch(
            &images[k * image_len..(k + 1) * image_len],
            &masks[k * mask_len..(k + 1) * mask_len],
        )?;
        losses.extend(session.submit_gradients(k == 0)?.wait()?);
        stats.extend(session.read_running_stats()?);
    }
    let ranks = collective.size();
    if ranks > 1 {
        let local = session.read_gradients()?;
        session.write_gradients(&collective.sum_in_rank_order(&local)?)?;
        stats = collective.all_gather(&stats)?;
        losses = collective.all_gather(&losses)?;
    }
    let parts = accum * ranks;
    if !start.is_empty() {
        session.write_running_stats(&mean_in_order(&stats, parts))?;
    }
    session.submit_update(lr, t, 1.0 / parts as f32)?;
    // With loss scaling the scaler after the update follows the loss
    // terms, as `TrainSession::submit` returns them (this path waits for
    // every micro-batch already).
    let mut out = mean_in_order(&losses, parts);
    out.extend(session.loss_scaler()?.into_iter().flatten());
    Ok(out)
}

/// Makes every rank's model rank 0's: the weights, Adam moments, running
/// statistics and averages.
pub fn broadcast_model(session: &TrainSession, collective: &dyn Collective) -> Result<()> {
    if collective.size() == 1 {
        return Ok(());
    }
    let tensors = session.model_state();
    let mut values = session.read_all(tensors.iter().copied())?;
    collective.broadcast(&mut values)?;
    session.write_all(tensors.into_iter(), &values)
}
