//! A few GPU graphs kept by image size, most recently used first: building
//! one costs pipelines and buffers, and folders often repeat a size.
use std::collections::VecDeque;

use crate::error::Result;

pub struct SizeCache<T> {
    entries: VecDeque<((usize, usize), T)>,
    capacity: usize,
}

impl<T> SizeCache<T> {
    pub fn new(capacity: usize) -> Self {
        SizeCache {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The most recently used entry.
    pub fn front(&self) -> Option<&T> {
        self.entries.front().map(|(_, v)| v)
    }

    /// Every entry, most recently used first.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The entry for `size`, made by `make` (evicting the least recently
    /// used one) when absent.
    pub fn get_or_make(
        &mut self,
        size: (usize, usize),
        make: impl FnOnce() -> Result<T>,
    ) -> Result<&T> {
        match self.entries.iter().position(|(k, _)| *k == size) {
            Some(i) => {
                let e = self.entries.remove(i).expect("index in range");
                self.entries.push_front(e);
            }
            None => {
                let value = make()?;
                if self.entries.len() >= self.capacity {
                    self.entries.pop_back();
                }
                self.entries.push_front((size, value));
            }
        }
        Ok(&self.entries[0].1)
    }
}
