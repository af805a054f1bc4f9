//! A one-line progress bar on a terminal; plain lines (every 10 s) when
//! stderr is redirected, e.g. to a log file.
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    /// What is counted ("step", "image", "pass").
    unit: &'static str,
    first: u64,
    last: u64,
    started: Instant,
    last_line: Option<Instant>,
    tty: bool,
    drawn: bool,
}

/// On a terminal, a bar of `unit`s a long job reports into (the model's
/// passes, the fit's steps); elsewhere nothing, so logs stay quiet.
pub fn bar(unit: &'static str) -> Option<pconv::infer::ProgressFn> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let mut shown: Option<Progress> = None;
    Some(Box::new(move |done, total| {
        let p = shown.get_or_insert_with(|| Progress::counting(unit, 0, total));
        p.update(done, "");
        if done >= total {
            p.finish();
            shown = None;
        }
    }))
}

/// Whether stderr is a terminal.
pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl Progress {
    pub fn new(first: u64, last: u64) -> Self {
        Self::counting("step", first, last)
    }

    /// A bar of `unit`s from `first` to `last`.
    pub fn counting(unit: &'static str, first: u64, last: u64) -> Self {
        Progress {
            unit,
            first,
            last,
            started: Instant::now(),
            last_line: None,
            tty: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// Shows `step` with a short status text.
    pub fn update(&mut self, step: u64, status: &str) {
        let done = step.saturating_sub(self.first);
        let todo = self.last.saturating_sub(self.first).max(1);
        let elapsed = self.started.elapsed();
        let eta = if done > 0 {
            format_duration(elapsed.mul_f64((todo - done.min(todo)) as f64 / done as f64))
        } else {
            "?".into()
        };
        let frac = done as f64 / todo as f64;
        let mut err = std::io::stderr();
        if self.tty {
            let width = 24;
            let filled = ((frac * width as f64) as usize).min(width);
            let _ = write!(
                err,
                "\r\x1b[2K{} {step}/{} [{}{}] {:>3.0}% {status} | ETA {eta}",
                self.unit,
                self.last,
                "#".repeat(filled),
                ".".repeat(width - filled),
                100.0 * frac
            );
            let _ = err.flush();
            self.drawn = true;
        } else if self
            .last_line
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
            || step == self.last
        {
            self.last_line = Some(Instant::now());
            let _ = writeln!(
                err,
                "{} {step}/{} ({:.0}%) {status} | elapsed {} | ETA {eta}",
                self.unit,
                self.last,
                100.0 * frac,
                format_duration(elapsed)
            );
        }
    }

    /// Prints a message on its own line without breaking the bar.
    pub fn message(&mut self, text: &str) {
        if self.drawn {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{text}");
    }

    pub fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}
