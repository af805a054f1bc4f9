//! Value parsers for numeric flags: every size, count, ratio and rate is
//! checked when the command line is read, with a message that gives the
//! range, so nothing absurd (0, NaN, 10^5 pixels) reaches an allocation.

/// An integer flag from `lo` to `hi`.
pub fn int_in(lo: u64, hi: u64) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync {
    move |s| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (lo..=hi).contains(n))
            .ok_or_else(|| format!("{s:?} is not a whole number from {lo} to {hi}"))
    }
}

/// A `usize` flag from `lo` to `hi`.
pub fn usize_in(
    lo: usize,
    hi: usize,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync {
    let parse = int_in(lo as u64, hi as u64);
    move |s| parse(s).map(|n| n as usize)
}

/// A finite number above `lo` (exclusive) and at most `hi`.
pub fn number_in(lo: f64, hi: f64) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    move |s| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > lo && *x <= hi)
            .ok_or_else(|| format!("{s:?} is not a number above {lo} and at most {hi}"))
    }
}

/// "S" (a square) or "WxH", each side from 1 to `hi`.
pub fn size_pair(
    hi: usize,
) -> impl Fn(&str) -> Result<(usize, usize), String> + Clone + Send + Sync {
    move |s| {
        let side = usize_in(1, hi);
        let side = |v: &str| {
            side(v).map_err(|_| format!("{s:?} is not S or WxH with sides from 1 to {hi}"))
        };
        match s.split_once(['x', 'X']) {
            Some((w, h)) => Ok((side(w)?, side(h)?)),
            None => side(s).map(|n| (n, n)),
        }
    }
}

/// A finite ratio from 0 to 1.
pub fn ratio(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| (0.0..=1.0).contains(x))
        .ok_or_else(|| format!("{s:?} is not a number from 0 to 1"))
}

/// The largest image side a command resizes to (eval's `--size`, bench's):
/// beyond it one image's planes alone take gigabytes.
pub const MAX_SIDE: usize = 8192;
/// Steps and step intervals: far beyond any run, far from overflow.
pub const MAX_STEPS: u64 = 1_000_000_000;
