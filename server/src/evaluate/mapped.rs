//! The inventory file mapped into memory (Linux), and its pages let go once read.
//!
//! The only `unsafe` code of the workspace: mapping a file, reading the mapping as a slice, and
//! advising the kernel about it. A private, read-only mapping of a file keeps its content when
//! its pages are let go (`MADV_DONTNEED`): a later read maps the same bytes again from the page
//! cache. As with any mapped file, the inventory must not be truncated or rewritten while
//! `portcullis evaluate` reads it (standard input is read into memory instead).
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::ops::Range;

/// A regular file mapped read-only and private.
pub(super) struct Mapped {
    /// The mapping's address.
    at: usize,
    len: usize,
}

impl Mapped {
    /// Maps `file` when it is a regular file that is not empty (`None` otherwise).
    pub(super) fn of(file: &std::fs::File) -> std::io::Result<Option<Self>> {
        use rustix::mm::{mmap, MapFlags, ProtFlags};
        let meta = file.metadata()?;
        if !meta.is_file() || meta.len() == 0 {
            return Ok(None);
        }
        let len = usize::try_from(meta.len()).map_err(std::io::Error::other)?;
        // SAFETY: a new mapping that no Rust object overlaps; read-only and private, so nothing
        // in this process writes it
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::PRIVATE | MapFlags::POPULATE,
                file,
                0,
            )
        }?;
        Ok(Some(Mapped {
            at: ptr as usize,
            len,
        }))
    }

    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes mapped readable at `at` until `self` is dropped (the borrow of
        // `self` bounds the slice's)
        unsafe { std::slice::from_raw_parts(self.at as *const u8, self.len) }
    }

    /// Hands the whole pages within `range` (addresses, clamped to the mapping) back to the
    /// kernel: they stop counting in the process's resident memory, and a later read maps the
    /// same bytes again from the page cache.
    pub(super) fn release(&self, range: Range<usize>) {
        let page = rustix::param::page_size();
        let start = range.start.max(self.at).next_multiple_of(page);
        let end = range.end.min(self.at + self.len) / page * page;
        if start >= end {
            return;
        }
        // SAFETY: pages of this mapping (a private read-only file mapping keeps its content
        // under MADV_DONTNEED: slices of it stay valid and unchanged)
        let _ = unsafe {
            rustix::mm::madvise(
                start as *mut c_void,
                end - start,
                rustix::mm::Advice::LinuxDontNeed,
            )
        };
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `of`, which nothing borrows once `self` is dropped
        let _ = unsafe { rustix::mm::munmap(self.at as *mut c_void, self.len) };
    }
}
