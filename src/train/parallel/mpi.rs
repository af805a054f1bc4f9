//! `Collective` over MPI (rsmpi): rank and size from the MPI runtime
//! (`mpirun`, `srun`, a Kubeflow MPIJob), all-gather and broadcast of f32.
//! Built with `--features mpi`.
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
        Ok(Some(Mpi {
            _universe: universe,
            world,
            local_rank,
        }))
    }

    /// This rank's index on its node: the adapter it uses.
    pub fn local_rank(&self) -> usize {
        self.local_rank
    }
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
}
