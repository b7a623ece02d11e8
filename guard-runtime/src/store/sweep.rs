//! Amortized expiry for the in-process stores: sweep only when the map has
//! doubled since the last sweep, so the cost per insert stays O(1) however
//! many live entries there are (a sweep on every insert would make a
//! million live sessions quadratic).

/// Decides when an in-process map is due for a sweep of expired entries.
#[derive(Debug)]
pub(crate) struct Sweeper {
    next_at: usize,
}

impl Default for Sweeper {
    fn default() -> Self {
        Sweeper { next_at: 1024 }
    }
}

impl Sweeper {
    /// Runs `sweep` if `len` has reached the threshold; `sweep` returns the
    /// length after sweeping, which sets the next threshold.
    pub(crate) fn maybe(&mut self, len: usize, sweep: impl FnOnce() -> usize) {
        if len >= self.next_at {
            let kept = sweep();
            self.next_at = (kept * 2).max(1024);
        }
    }
}
