//! The runtimes Serval can run: `provided.*` (a `bootstrap` executable in the
//! code), and Python and Node.js served by the host's interpreters through
//! Serval's own small bootstraps, which this module installs in a cache dir.

use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;

/// Serval's Python bootstrap (handler contract over the Runtime API).
const PYTHON_BOOTSTRAP: &str = include_str!("../runtimes/python/bootstrap.py");
/// Serval's Node.js bootstrap.
const NODE_BOOTSTRAP: &str = include_str!("../runtimes/node/bootstrap.js");

/// Which family a runtime belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeFamily {
    /// OS-only runtime: the code brings a `bootstrap` executable.
    Provided,
    /// Python, run by the host's `python3`.
    Python,
    /// Node.js, run by the host's `node`.
    Node,
}

/// A supported runtime identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runtime {
    /// The identifier as AWS spells it, e.g. `python3.12`.
    pub name: &'static str,
    /// Its family.
    pub family: RuntimeFamily,
}

/// Runtimes Serval accepts, as AWS spells them.
pub const SUPPORTED: &[(&str, RuntimeFamily)] = &[
    ("provided", RuntimeFamily::Provided),
    ("provided.al2", RuntimeFamily::Provided),
    ("provided.al2023", RuntimeFamily::Provided),
    ("python3.9", RuntimeFamily::Python),
    ("python3.10", RuntimeFamily::Python),
    ("python3.11", RuntimeFamily::Python),
    ("python3.12", RuntimeFamily::Python),
    ("python3.13", RuntimeFamily::Python),
    ("nodejs18.x", RuntimeFamily::Node),
    ("nodejs20.x", RuntimeFamily::Node),
    ("nodejs22.x", RuntimeFamily::Node),
];

/// Runtimes AWS no longer allows for new functions.
pub const DEPRECATED: &[&str] = &[
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
];

/// Runtimes AWS has that Serval does not run (yet).
pub const UNSUPPORTED: &[&str] = &[
    "java8",
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "dotnet8",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "nodejs24.x",
    "python3.14",
];

impl Runtime {
    /// Parses a runtime identifier.
    pub fn parse(name: &str) -> Option<Runtime> {
        SUPPORTED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, f)| Runtime {
                name: n,
                family: *f,
            })
    }

    /// The value AWS puts in `AWS_EXECUTION_ENV`.
    pub fn execution_env(&self) -> Option<String> {
        match self.family {
            RuntimeFamily::Provided => None,
            _ => Some(format!("AWS_Lambda_{}", self.name)),
        }
    }
}

/// How to start a process: program, arguments, extra environment.
#[derive(Debug, Clone)]
pub struct Command {
    /// The program to execute.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables for this runtime.
    pub env: Vec<(String, String)>,
}

/// A host interpreter found for a runtime family.
#[derive(Debug, Clone)]
struct Interpreter {
    exe: PathBuf,
    /// Installation prefix (stdlib, shared libraries).
    prefix: Option<PathBuf>,
    /// boto3 lives in Serval's runtime cache (`python-sdk`).
    cached_sdk: bool,
    /// Extra module paths (site-packages, SDK cache).
    paths: Vec<String>,
}

/// Host interpreters and Serval's bootstraps, resolved once per process.
pub struct Runtimes {
    cache_dir: PathBuf,
    python: OnceCell<Result<Interpreter, String>>,
    node: OnceCell<Result<Interpreter, String>>,
    bootstraps: OnceCell<Result<(PathBuf, PathBuf), String>>,
}

/// Finds an executable on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

async fn output(program: &Path, args: &[&str]) -> Option<String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Prints the real interpreter, its base prefix, whether boto3 is in the
/// base installation, and the base installation's site directories. A venv's
/// own packages are left out: functions get the standard library and the
/// SDK, as on Lambda, and bring everything else in their package.
const PY_PROBE: &str = "import os, sys, sysconfig, importlib.machinery as m\nb = sys.base_prefix\np = sysconfig.get_paths(vars={'base': b, 'platbase': b, 'installed_base': b, 'installed_platbase': b})\nsites = [d for d in dict.fromkeys([p['purelib'], p['platlib']]) if os.path.isdir(d)]\nprint(os.path.realpath(sys.executable))\nprint(b)\nprint(m.PathFinder.find_spec('boto3', sites) is not None)\nfor d in sites: print(d)";

impl Runtimes {
    /// Runtimes whose bootstraps and SDK installs live under `cache_dir`.
    pub fn new(cache_dir: PathBuf) -> Self {
        Self {
            cache_dir,
            python: OnceCell::new(),
            node: OnceCell::new(),
            bootstraps: OnceCell::new(),
        }
    }

    async fn bootstrap_files(&self) -> Result<(PathBuf, PathBuf), String> {
        self.bootstraps
            .get_or_init(|| async {
                let dir = self.cache_dir.join("bootstrap");
                let write = |name: &str, text: &str| -> std::io::Result<PathBuf> {
                    std::fs::create_dir_all(&dir)?;
                    let path = dir.join(name);
                    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
                        let tmp = dir.join(format!(".{name}.{}", std::process::id()));
                        std::fs::write(&tmp, text)?;
                        std::fs::rename(&tmp, &path)?;
                    }
                    Ok(path)
                };
                let py = write("bootstrap.py", PYTHON_BOOTSTRAP).map_err(|e| e.to_string())?;
                let js = write("bootstrap.js", NODE_BOOTSTRAP).map_err(|e| e.to_string())?;
                Ok((py, js))
            })
            .await
            .clone()
    }

    async fn python(&self) -> Result<Interpreter, String> {
        self.python
            .get_or_init(|| async {
                let shim = which("python3").ok_or("python3 is not installed on this host")?;
                let probe = output(&shim, &["-c", PY_PROBE])
                    .await
                    .ok_or("python3 on this host does not run")?;
                let mut lines = probe.lines();
                let exe = PathBuf::from(lines.next().unwrap_or_default());
                let prefix = lines.next().map(PathBuf::from);
                let has_boto3 = lines.next() == Some("True");
                let paths: Vec<String> = lines
                    .filter(|p| Path::new(p).is_dir())
                    .map(str::to_string)
                    .collect();
                let mut cached_sdk = false;
                if !has_boto3 {
                    match self.install_boto3(&exe).await {
                        Ok(_) => cached_sdk = true,
                        Err(e) => tracing::warn!(
                            "boto3 is not available to Python functions: {e}; install it with `python3 -m pip install boto3`"
                        ),
                    }
                }
                let exe = if is_executable(&exe) { exe } else { shim };
                // Sandboxes show the bootstrap read-only at the runtime root:
                // compile its cache for that path here, where it is writable.
                if let Ok((bootstrap, _)) = self.bootstrap_files().await {
                    let seen = Path::new(crate::isolation::RUNTIME_ROOT)
                        .join("bootstrap")
                        .join("bootstrap.py");
                    let _ = output(
                        &exe,
                        &[
                            "-S",
                            "-s",
                            &bootstrap.to_string_lossy(),
                            "--precompile",
                            &seen.to_string_lossy(),
                        ],
                    )
                    .await;
                }
                Ok(Interpreter { exe, prefix, cached_sdk, paths })
            })
            .await
            .clone()
    }

    /// Installs boto3 into the runtime cache with the host's pip, once.
    async fn install_boto3(&self, python: &Path) -> Result<String, String> {
        let dir = self.cache_dir.join("python-sdk");
        let marker = dir.join(".complete");
        if marker.exists() {
            return Ok(dir.to_string_lossy().into_owned());
        }
        tracing::info!(
            "installing boto3 for Python functions into {}",
            dir.display()
        );
        let target = dir.to_string_lossy().into_owned();
        let ok = tokio::process::Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                &target,
                "boto3",
            ])
            .env("PIP_ROOT_USER_ACTION", "ignore")
            .stdin(std::process::Stdio::null())
            .status()
            .await
            .map_err(|e| e.to_string())?
            .success();
        if !ok {
            return Err("pip install boto3 failed".into());
        }
        std::fs::write(&marker, b"").map_err(|e| e.to_string())?;
        Ok(target)
    }

    async fn node(&self) -> Result<Interpreter, String> {
        self.node
            .get_or_init(|| async {
                let exe = which("node").ok_or("node is not installed on this host")?;
                let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
                let mut paths = vec!["/opt/nodejs/node_modules".to_string()];
                if let Some(prefix) = exe.parent().and_then(Path::parent) {
                    let global = prefix.join("lib").join("node_modules");
                    if global.is_dir() {
                        paths.push(global.to_string_lossy().into_owned());
                    }
                }
                let prefix = exe.parent().and_then(Path::parent).map(Path::to_path_buf);
                Ok(Interpreter {
                    exe,
                    prefix,
                    cached_sdk: false,
                    paths,
                })
            })
            .await
            .clone()
    }

    /// Serval's runtime files (bootstraps, SDKs), which a sandbox shows at
    /// its runtime root.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Host paths a runtime reads, which a sandbox must show read-only at
    /// the same place: the interpreter's prefix and module paths.
    pub async fn host_paths(&self, runtime: Runtime) -> Vec<PathBuf> {
        let interp = match runtime.family {
            RuntimeFamily::Provided => return Vec::new(),
            RuntimeFamily::Python => self.python().await,
            RuntimeFamily::Node => self.node().await,
        };
        let mut out = Vec::new();
        if let Ok(i) = interp {
            out.extend(i.prefix.clone());
            if let Some(dir) = i.exe.parent() {
                out.push(dir.to_path_buf());
            }
            out.extend(i.paths.iter().map(PathBuf::from));
        }
        out
    }

    /// Resolves host interpreters ahead of the first cold start.
    pub async fn warm_up(&self) {
        let _ = self.bootstrap_files().await;
        let _ = self.python().await;
        let _ = self.node().await;
    }

    /// The command that starts `runtime` for code in `code_dir`, with
    /// Serval's runtime files (the cache dir) seen at `runtime_root`.
    pub async fn command(
        &self,
        runtime: Runtime,
        code_dir: &Path,
        runtime_root: &Path,
    ) -> Result<Command, String> {
        let (py_bootstrap, js_bootstrap) = self.bootstrap_files().await?;
        let seen = |p: &Path| -> String {
            p.strip_prefix(&self.cache_dir)
                .map(|rel| runtime_root.join(rel))
                .unwrap_or_else(|_| p.to_path_buf())
                .to_string_lossy()
                .into_owned()
        };
        match runtime.family {
            RuntimeFamily::Provided => Ok(Command {
                program: code_dir.join("bootstrap"),
                args: Vec::new(),
                env: Vec::new(),
            }),
            RuntimeFamily::Python => {
                let py = self.python().await?;
                let mut paths = py.paths.clone();
                if py.cached_sdk {
                    paths.insert(0, seen(&self.cache_dir.join("python-sdk")));
                }
                Ok(Command {
                    program: py.exe,
                    args: vec!["-u".into(), "-S".into(), "-s".into(), seen(&py_bootstrap)],
                    env: vec![
                        ("SERVAL_PYTHONPATH".into(), paths.join(":")),
                        ("PYTHONUNBUFFERED".into(), "1".into()),
                    ],
                })
            }
            RuntimeFamily::Node => {
                let node = self.node().await?;
                Ok(Command {
                    program: node.exe,
                    args: vec![seen(&js_bootstrap)],
                    env: vec![("NODE_PATH".into(), node.paths.join(":"))],
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_runtimes() {
        assert_eq!(
            Runtime::parse("python3.12").map(|r| r.family),
            Some(RuntimeFamily::Python)
        );
        assert_eq!(
            Runtime::parse("provided.al2023").map(|r| r.family),
            Some(RuntimeFamily::Provided)
        );
        assert!(Runtime::parse("cobol").is_none());
        assert_eq!(
            Runtime::parse("nodejs20.x").and_then(|r| r.execution_env()),
            Some("AWS_Lambda_nodejs20.x".to_string())
        );
    }
}
