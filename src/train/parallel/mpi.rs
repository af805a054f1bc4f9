//! `Collective` over MPI (rsmpi): rank and size from the MPI runtime
//! (`mpirun`, `srun`, a Kubeflow MPIJob), all-gather and broadcast of f32.
//! Built with `--features mpi`.
use mpi::collective::SystemOperation;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;

use super::Collective;
use crate::error::{Error, Result};

pub struct Mpi {
    /// Finalises MPI when dropped.
    _universe: mpi::environment::Universe,
    world: SimpleCommunicator,
    /// This rank's index among the ranks of its node.
    local_rank: usize,
    /// `PCONV_ALLREDUCE=mpi`: MPI_Allreduce, in the library's order.
    library_allreduce: bool,
}

impl Mpi {
    /// Initialises MPI; None when this process was not started by an MPI
    /// launcher (a plain `pconv train` stays one process).
    pub fn init() -> Result<Option<Mpi>> {
        if !launched_by_mpi() {
            return Ok(None);
        }
        let universe = mpi::initialize()
            .ok_or_else(|| Error::Invalid("MPI was already initialised".into()))?;
        let world = universe.world();
        let local_rank = world
            .split_shared(world.rank())
            .rank()
            .try_into()
            .unwrap_or(0);
        let library_allreduce = match std::env::var("PCONV_ALLREDUCE").as_deref() {
            Err(_) | Ok("") | Ok("exact") => false,
            Ok("mpi") => true,
            Ok(other) => {
                return Err(Error::Invalid(format!(
                    "PCONV_ALLREDUCE={other}: use exact (the default) or mpi"
                )))
            }
        };
        Ok(Some(Mpi {
            _universe: universe,
            world,
            local_rank,
            library_allreduce,
        }))
    }

    /// This rank's index on its node: the adapter it uses.
    pub fn local_rank(&self) -> usize {
        self.local_rank
    }

    /// Ends every rank of the job with `code` (MPI_Abort). A rank that
    /// fails alone must not finalise: the others would wait in their next
    /// collective for it, and it in MPI_Finalize for them.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}

/// Makes a panic on any rank end the whole job (after the usual message)
/// instead of leaving the other ranks waiting.
pub fn abort_job_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        SimpleCommunicator::world().abort(101);
    }));
}

/// Whether an MPI launcher started this process (Open MPI, MPICH/Hydra,
/// Slurm's PMI/PMIx).
fn launched_by_mpi() -> bool {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_RANK",
        "MPI_LOCALNRANKS",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}

/// rsmpi counts are C ints.
fn count(len: usize) -> Result<()> {
    if len > i32::MAX as usize {
        return Err(Error::Invalid(format!(
            "{len} values exceed one MPI message; use a smaller model"
        )));
    }
    Ok(())
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>> {
        count(local.len() * self.size())?;
        let mut all = vec![0f32; local.len() * self.size()];
        self.world.all_gather_into(local, &mut all[..]);
        Ok(all)
    }

    fn broadcast(&self, data: &mut [f32]) -> Result<()> {
        count(data.len())?;
        self.world.process_at_rank(0).broadcast_into(data);
        Ok(())
    }

    /// A reduce-scatter then an all-gather, so each rank sends 2(N-1)/N of
    /// its values, as a ring all-reduce does (gathering everything sends
    /// N-1 times them): rank r receives chunk r of every rank's values
    /// (all-to-all), sums them in rank order, and the summed chunks are
    /// gathered. Same bits as adding whole vectors in rank order. Within
    /// one machine MPI_Allreduce's shared-memory path is about 3x faster
    /// (examples/allreduce_bench.rs): `PCONV_ALLREDUCE=mpi` uses it, and
    /// gives up bit-identity with one process.
    fn sum_in_rank_order(&self, local: &[f32]) -> Result<Vec<f32>> {
        let ranks = self.size();
        if self.library_allreduce {
            count(local.len())?;
            let mut sum = vec![0f32; local.len()];
            self.world
                .all_reduce_into(local, &mut sum[..], SystemOperation::sum());
            return Ok(sum);
        }
        let chunk = local.len().div_ceil(ranks);
        count(chunk * ranks)?;
        let mut padded = local.to_vec();
        padded.resize(chunk * ranks, 0.0);
        let mut mine = vec![0f32; chunk * ranks];
        self.world.all_to_all_into(&padded[..], &mut mine[..]);
        let sum = super::sum_in_order(&mine, ranks);
        let mut all = vec![0f32; chunk * ranks];
        self.world.all_gather_into(&sum[..], &mut all[..]);
        all.truncate(local.len());
        Ok(all)
    }
}
