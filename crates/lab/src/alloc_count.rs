//! A counting global allocator for the memory study: it tracks the bytes each thread has live on
//! the heap and their peak, at the cost of two thread-local additions per allocation.
//!
//! The counts are per thread so that what other threads do meanwhile (a worker of the run pool
//! freeing its packing space as it exits, a signal watcher) cannot move a measurement: a study
//! on one thread sees only its own allocations and frees.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The counting allocator: install it with
/// `#[global_allocator] static A: lab::alloc_count::Counting = lab::alloc_count::Counting;`.
pub struct Counting;

thread_local! {
    // Signed: a thread may free what another allocated. `const` and free of `Drop`, so reading
    // them never allocates (the allocator must not recurse) and works while a thread exits.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grew(by: usize) {
    let by = isize::try_from(by).unwrap_or(isize::MAX);
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(by);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn shrank(by: usize) {
    let by = isize::try_from(by).unwrap_or(isize::MAX);
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(by)));
}

// A global allocator must implement an unsafe trait; this one only counts and forwards.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

/// Bytes this thread has allocated and not freed (less what it freed of other threads').
pub fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Starts a new peak window for this thread at its current live bytes; returns them.
pub fn reset_peak() -> isize {
    let now = live();
    PEAK.with(|peak| peak.set(now));
    now
}

/// This thread's highest live bytes since its last [`reset_peak`].
pub fn peak() -> isize {
    PEAK.with(Cell::get)
}

/// Whether [`Counting`] is the process's global allocator (an allocation moves the count).
pub fn installed() -> bool {
    let before = live();
    let probe = std::hint::black_box(vec![0u8; 4096]);
    let moved = live() != before;
    drop(probe);
    moved
}
