//! The allocator's part in keeping the daemon under its unit's `MemoryMax`.
//!
//! glibc gives an allocation of 128 KB or more a mapping of its own and unmaps it when freed,
//! until the first such buffer is freed: then it raises that threshold to the buffer's size
//! (up to 32 MB) and serves the next ones from its heaps, which keep what they once held. A
//! mail near the size cap is copied several times while it is read, parsed and stored, so
//! after one such mail every later one stayed in the heaps: a backlog of ten 24 MB mails
//! peaked at 172 MB and kept all of it. With the threshold fixed at 1 MB, large buffers stay
//! mappings: the same backlog peaks at 88 MB and leaves 20 MB (`cargo bench --bench backlog`).

/// Mappings for allocations from this size up, whatever was freed before.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Fixes the threshold; before the runtime starts its threads.
pub fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; it is called before the
    // runtime starts its threads. It returns 0 on an unknown option, which leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
