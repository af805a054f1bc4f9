//! The gradient exchange of a data-parallel step, alone: pconv's ordered
//! sum (all-to-all, sum in rank order, all-gather: bit-identical to one
//! process), the naive ordered sum (gather everything), and MPI's own
//! all-reduce (order up to the library),
//! timed for model sizes up to pconv's full width (33M parameters, 132 MB).
//!   cargo build --release --features mpi --example allreduce_bench
//!   mpirun -np 2 target/release/examples/allreduce_bench
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::traits::*;

use pconv::train::parallel::mpi::Mpi;
use pconv::train::parallel::{sum_in_order, Collective};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mpi = Mpi::init()?.ok_or("start it with mpirun")?;
    for n in [1usize << 20, 8 << 20, 33 << 20] {
        let local = vec![mpi.rank() as f32 + 0.5; n];
        let mut times = Vec::new();
        for _ in 0..5 {
            mpi.any(false)?; // line the ranks up
            let t = Instant::now();
            let all = mpi.all_gather(&local)?;
            let sum = sum_in_order(&all, mpi.size());
            times.push(t.elapsed().as_secs_f64());
            assert_eq!(sum.len(), n);
        }
        let mut scatter_times = Vec::new();
        for _ in 0..5 {
            mpi.any(false)?;
            let t = Instant::now();
            let sum = mpi.sum_in_rank_order(&local)?;
            scatter_times.push(t.elapsed().as_secs_f64());
            assert_eq!(sum.len(), n);
        }
        let world = mpi::topology::SimpleCommunicator::world();
        let mut reduced = vec![0f32; n];
        let mut mpi_times = Vec::new();
        for _ in 0..5 {
            mpi.any(false)?;
            let t = Instant::now();
            world.all_reduce_into(&local[..], &mut reduced[..], SystemOperation::sum());
            mpi_times.push(t.elapsed().as_secs_f64());
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] * 1e3
        };
        if mpi.rank() == 0 {
            println!(
                "{} ranks, {:>5.1} M values ({:>4.0} MB per rank): all-gather + ordered sum \
                 {:>7.1} ms, all-to-all + ordered sum + all-gather (pconv) {:>7.1} ms, \
                 MPI_Allreduce {:>7.1} ms (medians of 5)",
                mpi.size(),
                n as f64 / 1e6,
                n as f64 * 4.0 / 1e6,
                median(times),
                median(scatter_times),
                median(mpi_times)
            );
        }
    }
    Ok(())
}
