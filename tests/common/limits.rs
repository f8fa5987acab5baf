//! The systemd unit's limits for a daemon under attack, made with the kernel's own means:
//! a memory cgroup (the unit's `MemoryMax=256M`), a pids cgroup (`TasksMax=64`) and 1,024 open
//! files (`prlimit`). Needs root and the cgroup v1 hierarchies this kind of machine mounts.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const MEMORY_MAX: u64 = 256 * 1024 * 1024;
pub const TASKS_MAX: u32 = 64;
pub const OPEN_FILES: u32 = 1024;

/// Two cgroups of a test's own, removed (once empty) when dropped.
pub struct UnitLimits {
    memory: PathBuf,
    pids: PathBuf,
}

impl UnitLimits {
    pub fn new() -> UnitLimits {
        let name = format!("patdesk-test-{}", super::unique_suffix());
        let memory = Path::new("/sys/fs/cgroup/memory").join(&name);
        let pids = Path::new("/sys/fs/cgroup/pids").join(&name);
        for (dir, file, value) in [
            (&memory, "memory.limit_in_bytes", MEMORY_MAX.to_string()),
            (&pids, "pids.max", TASKS_MAX.to_string()),
        ] {
            std::fs::create_dir(dir).unwrap_or_else(|error| {
                panic!(
                    "cannot make the cgroup {} ({error}): the unit's limits need root and cgroup v1's memory and pids hierarchies",
                    dir.display()
                )
            });
            std::fs::write(dir.join(file), value)
                .unwrap_or_else(|error| panic!("cannot set {file}: {error}"));
        }
        UnitLimits { memory, pids }
    }

    /// `program ARGS`, entering both cgroups and the open-files limit before it starts.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && echo $$ > {}/cgroup.procs && exec prlimit --nofile={OPEN_FILES}:{OPEN_FILES} -- \"$@\"",
                self.memory.display(),
                self.pids.display()
            ))
            .arg("sh")
            .arg(program);
        command
    }

    /// The most memory the cgroup's processes have used (their pages and the page cache they
    /// brought in: what `MemoryMax` counts).
    pub fn peak_memory(&self) -> u64 {
        read_number(&self.memory.join("memory.max_usage_in_bytes"))
    }

    /// How many times a task could not be started for the pids limit.
    pub fn tasks_refused(&self) -> u64 {
        std::fs::read_to_string(self.pids.join("pids.events"))
            .ok()
            .and_then(|text| {
                text.split_whitespace()
                    .nth(1)
                    .and_then(|count| count.parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for UnitLimits {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.memory);
        let _ = std::fs::remove_dir(&self.pids);
    }
}

fn read_number(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}
