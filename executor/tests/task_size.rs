//! A parked task costs gmp at most 92 bytes on top of its future.
//!
//! A counting global allocator records the sizes of the allocations made
//! while 10,000 tasks are spawned and parked: the size allocated once per
//! task is the task (async-task's header, gmp's metadata, the future's
//! wrapper); each parked task also holds one 12-byte slot in the registry
//! of parked tasks (amortised chunk allocation aside). This is its own test
//! binary so that no other test allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[path = "support/wait.rs"]
mod wait;

use wait::wait_for;

struct Counting;

/// Whether allocations are being recorded.
static RECORDING: AtomicBool = AtomicBool::new(false);
/// Allocations recorded, by size in bytes (sizes of 1 KiB and more are not
/// tasks and are not recorded).
static BY_SIZE: [AtomicUsize; 1024] = [const { AtomicUsize::new(0) }; 1024];

thread_local! {
    /// Set while the test's thread waits for the tasks to park: its own
    /// allocations then (metrics snapshots, as many as the wait takes) are
    /// not the tasks' and are not recorded.
    static UNRECORDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread's allocations left out of the record.
fn unrecorded<T>(f: impl FnOnce() -> T) -> T {
    UNRECORDED.with(|u| u.set(true));
    let out = f();
    UNRECORDED.with(|u| u.set(false));
    out
}

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if RECORDING.load(Ordering::Relaxed)
            && layout.size() < BY_SIZE.len()
            && !UNRECORDED.try_with(Cell::get).unwrap_or(false)
        {
            BY_SIZE[layout.size()].fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Size of one registry entry (a `Waker` taken apart into a 12-byte slot;
/// the registry's unit tests check that size).
const REGISTRY_ENTRY: usize = 12;

#[test]
fn a_parked_task_costs_at_most_92_bytes_plus_its_future() {
    const TASKS: usize = 10_000;
    let rt = gmp_executor::Runtime::builder()
        .max_procs(1)
        .build()
        .unwrap();
    let park = || async { futures::future::pending::<()>().await };
    let future_size = std::mem::size_of_val(&park());
    let mut handles = Vec::with_capacity(TASKS);
    RECORDING.store(true, Ordering::SeqCst);
    for _ in 0..TASKS {
        handles.push(rt.spawn(park()));
    }
    // Let every task run once and park (its waker goes to the registry):
    // all polled, then the P idle, so the last poll is over too. Waited
    // for, not slept on: what is recorded is the same on any machine.
    let all_parked =
        || rt.metrics().proc(0).polls() >= TASKS as u64 && rt.metrics().idle_procs() == 1;
    wait_for("every task to park", || unrecorded(all_parked));
    RECORDING.store(false, Ordering::SeqCst);
    let task_size = (0..BY_SIZE.len())
        .find(|&size| BY_SIZE[size].load(Ordering::Relaxed) >= TASKS)
        .expect("one allocation per task");
    let overhead = task_size - future_size + REGISTRY_ENTRY;
    println!(
        "a parked task: a {task_size}-byte allocation holding a {future_size}-byte future, \
         plus a {REGISTRY_ENTRY}-byte registry entry: {overhead} bytes of gmp"
    );
    // 91 on x86-64 since registry slots are 12 bytes (95 with 16-byte
    // entries, 103 before the metadata was 20 bytes aligned to 4).
    assert!(
        overhead <= 92,
        "a parked task costs gmp {overhead} bytes besides its {future_size}-byte future"
    );
    drop(rt);
    for h in handles {
        assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
    }
}
