//! Inpainting off the UI thread: the window keeps drawing while the GPU (or
//! Telea on the CPU) works. Requests carry the mask's revision; while one
//! runs, newer requests replace older waiting ones, so a burst of strokes
//! costs one extra run, not one per stroke.
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;

use crate::data::masks::HoleMap;
use crate::infer::{large, Method};

/// Above this side, inpainting works on a crop around the holes (see
/// `infer::large`), as `pconv inpaint` does by default.
pub const MAX_SIDE: usize = 1024;

pub struct Request {
    /// Which document asked (a result for a photo closed since is dropped).
    pub document: u64,
    pub revision: u64,
    pub image: Arc<RgbImage>,
    pub holes: HoleMap,
}

pub struct Finished {
    pub document: u64,
    pub revision: u64,
    /// The composite, or why it failed.
    pub result: Result<RgbImage, String>,
    pub seconds: f64,
    /// The method that produced it ("pconv", "telea").
    pub method: &'static str,
}

enum Job {
    Run(Request),
    SetMethod(Method),
}

/// A finished run and how many requests it answered (itself and the older
/// ones it replaced).
struct Report {
    finished: Finished,
    answered: usize,
}

/// The worker thread and its mailbox.
pub struct Inpainter {
    jobs: Sender<Job>,
    done: Receiver<Report>,
    in_flight: usize,
}

impl Inpainter {
    pub fn start(method: Method) -> Self {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel();
        std::thread::Builder::new()
            .name("pconv-inpaint".into())
            .spawn(move || serve(method, job_rx, done_tx))
            .expect("spawning the inpainting thread");
        Inpainter {
            jobs,
            done,
            in_flight: 0,
        }
    }

    pub fn request(&mut self, req: Request) {
        if self.jobs.send(Job::Run(req)).is_ok() {
            self.in_flight += 1;
        }
    }

    /// Requests from now on use `method`.
    pub fn set_method(&mut self, method: Method) {
        let _ = self.jobs.send(Job::SetMethod(method));
    }

    /// True while requests are queued or running.
    pub fn busy(&self) -> bool {
        self.in_flight > 0
    }

    /// The newest result that arrived since the last call, if any.
    pub fn poll(&mut self) -> Option<Finished> {
        let mut newest = None;
        while let Ok(r) = self.done.try_recv() {
            self.in_flight = self.in_flight.saturating_sub(r.answered);
            newest = Some(r.finished);
        }
        newest
    }

    /// Blocks until every request has been answered; returns the newest
    /// result (scripted runs and tests).
    pub fn wait(&mut self) -> Option<Finished> {
        let mut newest = None;
        while self.in_flight > 0 {
            let Ok(r) = self.done.recv() else { break };
            self.in_flight = self.in_flight.saturating_sub(r.answered);
            newest = Some(r.finished);
        }
        newest
    }
}

fn serve(mut method: Method, jobs: Receiver<Job>, done: Sender<Report>) {
    while let Ok(job) = jobs.recv() {
        let mut latest = match job {
            Job::SetMethod(m) => {
                method = m;
                continue;
            }
            Job::Run(r) => r,
        };
        // Skip to the newest waiting request; apply method switches in order.
        let mut answered = 1;
        while let Ok(job) = jobs.try_recv() {
            match job {
                Job::SetMethod(m) => method = m,
                Job::Run(r) => {
                    latest = r;
                    answered += 1;
                }
            }
        }
        let started = Instant::now();
        let result = large::inpaint(&mut method, &latest.image, &latest.holes, MAX_SIDE)
            .map_err(|e| e.to_string());
        let finished = Finished {
            document: latest.document,
            revision: latest.revision,
            result,
            seconds: started.elapsed().as_secs_f64(),
            method: method.name(),
        };
        if done.send(Report { finished, answered }).is_err() {
            return;
        }
    }
}
