//! CPU accounting per process group from /proc schedstat.

// ------------------------------------------------------------------ CPU accounting

/// Reads CPU time from `/proc`: of a server process, of the processes it
/// spawned (function environments) and of this process (the client).
#[derive(Clone, Copy)]
pub(crate) struct CpuProbe {
    pub(crate) server: u32,
    /// Whether to scan `/proc` for the server's descendants (function
    /// runtimes are children of their environment's init).
    pub(crate) children: bool,
}

/// Server and children CPU time (ns) at one moment.
pub(crate) struct CpuSnap {
    pub(crate) server: u64,
    pub(crate) children: std::collections::HashMap<u32, u64>,
}

/// CPU time (ns) spent between two moments.
#[derive(Clone, Copy, Default)]
pub(crate) struct CpuNs {
    pub(crate) server: u64,
    pub(crate) function: u64,
    pub(crate) client: u64,
}

impl std::ops::AddAssign for CpuNs {
    fn add_assign(&mut self, o: CpuNs) {
        self.server += o.server;
        self.function += o.function;
        self.client += o.client;
    }
}

/// CPU time per operation, in µs.
#[derive(Clone, Copy, Default)]
pub(crate) struct CpuSplit {
    pub(crate) server: f64,
    pub(crate) function: f64,
    pub(crate) client: f64,
}

/// Parent pid of a process.
pub(crate) fn ppid(pid: &str) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the `(comm)`: state ppid ...
    text[text.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time of a process in ns: the sum over its threads of the first field of
/// `/proc/<pid>/task/<tid>/schedstat` (exact, unlike the 10 ms ticks of `stat`).
pub(crate) fn cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

pub(crate) fn self_ns() -> u64 {
    cpu_ns("self")
}

impl CpuProbe {
    pub(crate) fn new(server: u32, children: bool) -> Self {
        CpuProbe { server, children }
    }

    pub(crate) fn snap(&self) -> CpuSnap {
        let mut children = std::collections::HashMap::new();
        if let (true, Ok(dir)) = (self.children, std::fs::read_dir("/proc")) {
            let mut parents: Vec<(u32, u32)> = Vec::new();
            for entry in dir.flatten() {
                let name = entry.file_name();
                let Some(pid) = name
                    .to_str()
                    .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                else {
                    continue;
                };
                if let (Some(parent), Ok(id)) = (ppid(pid), pid.parse::<u32>()) {
                    parents.push((id, parent));
                }
            }
            let mut frontier = vec![self.server];
            while let Some(p) = frontier.pop() {
                for &(id, parent) in &parents {
                    if parent == p && !children.contains_key(&id) {
                        children.insert(id, cpu_ns(&id.to_string()));
                        frontier.push(id);
                    }
                }
            }
        }
        CpuSnap {
            server: cpu_ns(&self.server.to_string()),
            children,
        }
    }

    /// CPU time between `a` and `b`; `client` is this process's own delta.
    pub(crate) fn delta(&self, a: &CpuSnap, b: &CpuSnap, client: u64) -> CpuNs {
        CpuNs {
            server: b.server.saturating_sub(a.server),
            function: b
                .children
                .iter()
                .map(|(pid, t)| t.saturating_sub(a.children.get(pid).copied().unwrap_or(0)))
                .sum(),
            client,
        }
    }

    pub(crate) fn per_op(&self, t: CpuNs, ops: u64) -> CpuSplit {
        let us = |ns: u64| ns as f64 / 1e3 / ops.max(1) as f64;
        CpuSplit {
            server: us(t.server),
            function: us(t.function),
            client: us(t.client),
        }
    }
}
