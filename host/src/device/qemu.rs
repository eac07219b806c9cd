//! Boots the firmware under QEMU, on one of the boards of [`BOARDS`] (by default the MPS2
//! AN386, a Cortex-M4 with FPU), with a model in its model region, and connects to its UART.
//!
//! ```text
//! qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none
//!     -semihosting-config enable=on,target=native -icount shift=0
//!     -chardev socket,id=uart0,path=<dir>/uart0.sock,server=on,wait=on -serial chardev:uart0
//!     -kernel <ELF> [-device loader,file=<model>,addr=<_model_start>]
//! ```
//!
//! UART0 is a Unix socket QEMU listens on and waits for before starting the guest, so no
//! byte is lost and no TCP port can clash. Semihosting (panic reports) goes to QEMU's
//! stderr and exit codes to its exit status, never into the serial data. `-icount shift=0`
//! makes the firmware's clock count instructions. The model is written by QEMU's generic
//! loader at the ELF's `_model_start`; QEMU models the AN386's flash as RAM, so the loader
//! can write it, but a file longer than the region would silently run past it, so it is
//! checked against `_model_end` first.
//!
//! A QEMU started by [`Qemu::boot`] dies with the thread that started it, whatever ends that
//! (on Linux, `PR_SET_PDEATHSIG`; SIGKILL included), and its socket directory is removed
//! when a signal ends the process ([`crate::cleanup`]). [`Qemu::boot_detached`] starts one
//! that outlives this process (`device --keep`), in a process group of its own so a Ctrl-C
//! in the terminal does not reach it either.

use super::elf;
use super::transport::SocketTransport;
use super::DeviceError;
use crate::cleanup::Pending;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long QEMU may take to create its UART socket.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(20);

/// A board the firmware runs on under QEMU: which emulator, machine and CPU, and the Rust
/// target its firmware is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QemuBoard {
    /// The board's name (`scripts/firmware-build.sh --board NAME`, `--board NAME` of the CLI).
    pub name: &'static str,
    /// The QEMU program.
    pub emulator: &'static str,
    /// QEMU's `-machine`.
    pub machine: &'static str,
    /// QEMU's `-cpu`.
    pub cpu: &'static str,
    /// The firmware's Rust target.
    pub target: &'static str,
    /// What else the machine needs on QEMU's command line.
    pub options: &'static [&'static str],
}

/// Every board the firmware runs on under QEMU.
pub const BOARDS: &[QemuBoard] = &[
    QemuBoard {
        name: "mps2-an385",
        emulator: "qemu-system-arm",
        machine: "mps2-an385",
        cpu: "cortex-m3",
        target: "thumbv7m-none-eabi",
        options: &[],
    },
    QemuBoard {
        name: "mps2-an386",
        emulator: "qemu-system-arm",
        machine: "mps2-an386",
        cpu: "cortex-m4",
        target: "thumbv7em-none-eabihf",
        options: &[],
    },
    QemuBoard {
        name: "mps2-an500",
        emulator: "qemu-system-arm",
        machine: "mps2-an500",
        cpu: "cortex-m7",
        target: "thumbv7em-none-eabihf",
        options: &[],
    },
    QemuBoard {
        name: "mps2-an505",
        emulator: "qemu-system-arm",
        machine: "mps2-an505",
        cpu: "cortex-m33",
        target: "thumbv8m.main-none-eabihf",
        options: &[],
    },
    QemuBoard {
        name: "riscv32-virt",
        emulator: "qemu-system-riscv32",
        machine: "virt",
        cpu: "rv32",
        target: "riscv32imac-unknown-none-elf",
        // No firmware of QEMU's own: the reset vector jumps straight to ours at 0x8000_0000.
        options: &["-bios", "none"],
    },
    QemuBoard {
        name: "microbit",
        emulator: "qemu-system-arm",
        machine: "microbit",
        cpu: "cortex-m0",
        target: "thumbv6m-none-eabi",
        options: &[],
    },
];

impl QemuBoard {
    /// The board called `name`, or an error listing the boards.
    pub fn named(name: &str) -> Result<QemuBoard, DeviceError> {
        BOARDS.iter().find(|b| b.name == name).copied().ok_or_else(|| {
            let names: Vec<&str> = BOARDS.iter().map(|b| b.name).collect();
            DeviceError::Usage(format!(
                "no QEMU board '{name}': choose one of {}",
                names.join(", ")
            ))
        })
    }

    /// The firmware image `scripts/firmware-build.sh --release --board NAME` produces, in
    /// this source tree.
    pub fn default_firmware(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../firmware/target/boards")
            .join(self.name)
            .join("release/microdense-firmware")
    }
}

impl Default for QemuBoard {
    /// The MPS2 AN386 (Cortex-M4F).
    fn default() -> Self {
        BOARDS[1]
    }
}

/// The firmware image `scripts/firmware-build.sh --release` produces, in this source tree.
pub fn default_firmware() -> PathBuf {
    QemuBoard::default().default_firmware()
}

/// What QEMU boots.
#[derive(Clone, Debug)]
pub struct QemuConfig {
    /// The emulated board.
    pub board: QemuBoard,
    /// The firmware ELF.
    pub elf: PathBuf,
    /// A file QEMU writes into the model region before the firmware starts.
    pub model: Option<PathBuf>,
}

/// How QEMU ended.
#[derive(Debug)]
pub struct QemuExit {
    /// QEMU's exit status: 0 when the firmware exits with success, 1 on failure or panic.
    pub status: ExitStatus,
    /// QEMU's stdout.
    pub stdout: String,
    /// QEMU's stderr (semihosting output: panic reports).
    pub stderr: String,
}

/// A running QEMU with the firmware; killed (and its socket removed) when dropped, unless
/// [`keep`](Self::keep) was called.
pub struct Qemu {
    child: Child,
    socket: PathBuf,
    dir: PathBuf,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    kept: bool,
    /// Lists the socket directory for removal on signals (not for a detached QEMU).
    _pending: Option<Pending>,
}

/// Collects everything a pipe delivers, on a thread, so QEMU never blocks on a full pipe.
fn drain<R: Read + Send + 'static>(mut pipe: R) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn joined(handle: Option<JoinHandle<String>>) -> String {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

/// A fresh directory for QEMU's socket.
fn socket_dir() -> Result<PathBuf, DeviceError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "microdense-qemu-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|source| DeviceError::Io {
        what: format!("creating {}", dir.display()),
        source,
    })?;
    Ok(dir)
}

/// Checks `model` fits the firmware's model region and returns the region's address.
fn model_address(elf_path: &Path, model: &Path) -> Result<u32, DeviceError> {
    let start = elf::symbol(elf_path, "_model_start").map_err(DeviceError::Elf)?;
    let end = elf::symbol(elf_path, "_model_end").map_err(DeviceError::Elf)?;
    let len = std::fs::metadata(model)
        .map_err(|source| DeviceError::Io {
            what: format!("reading {}", model.display()),
            source,
        })?
        .len();
    let region = u64::from(end.saturating_sub(start));
    if len > region {
        return Err(DeviceError::Usage(format!(
            "{} is {len} bytes; the firmware's model region holds {region}",
            model.display()
        )));
    }
    Ok(start)
}

/// QEMU booting `config.elf` with `config.model` written into its model region
/// (the address from the ELF's `_model_start`): the board, the CPU, semihosting and
/// instruction counting (`-icount shift=0`), but no UART yet; the caller attaches it as
/// `-chardev …,id=uart0 -serial chardev:uart0`.
pub fn command(config: &QemuConfig) -> Result<Command, DeviceError> {
    if !config.elf.is_file() {
        return Err(DeviceError::Usage(format!(
            "no firmware image at {} (build it with scripts/firmware-build.sh --release, or pass --firmware)",
            config.elf.display()
        )));
    }
    let loader = match &config.model {
        Some(model) => Some((model, model_address(&config.elf, model)?)),
        None => None,
    };
    let board = &config.board;
    let mut command = Command::new(board.emulator);
    command
        .args(["-machine", board.machine, "-cpu", board.cpu])
        .args(board.options)
        .args(["-nographic", "-monitor", "none"])
        .args([
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
        ])
        .arg("-kernel")
        .arg(&config.elf);
    if let Some((model, address)) = loader {
        command
            .arg("-device")
            .arg(format!("loader,file={},addr={address:#x}", model.display()));
    }
    Ok(command)
}

impl Qemu {
    /// Starts QEMU and waits for its UART socket (the guest starts when a client connects).
    /// QEMU dies with the calling thread (see the module documentation).
    pub fn boot(config: &QemuConfig) -> Result<Qemu, DeviceError> {
        let mut command = command(config)?;
        die_with_parent(&mut command);
        Qemu::start(command, false)
    }

    /// As [`Qemu::boot`], but QEMU outlives this process (`device --keep`): it runs in a
    /// process group of its own, and its socket directory stays.
    pub fn boot_detached(config: &QemuConfig) -> Result<Qemu, DeviceError> {
        let mut command = command(config)?;
        command.process_group(0);
        Qemu::start(command, true)
    }

    /// Spawns `command` with the UART socket attached and waits for the socket.
    fn start(mut command: Command, detached: bool) -> Result<Qemu, DeviceError> {
        let dir = socket_dir()?;
        let pending = (!detached).then(|| Pending::new(&dir));
        let socket = dir.join("uart0.sock");
        command
            .arg("-chardev")
            .arg(format!(
                "socket,id=uart0,path={},server=on,wait=on",
                socket.display()
            ))
            .args(["-serial", "chardev:uart0"]);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DeviceError::Io {
                what: format!(
                    "starting {} (install Debian's qemu-system-arm)",
                    command.get_program().to_string_lossy()
                ),
                source,
            })?;
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let mut qemu = Qemu {
            child,
            socket,
            dir,
            stdout,
            stderr,
            kept: false,
            _pending: pending,
        };
        let start = Instant::now();
        while !qemu.socket.exists() {
            let exited = qemu.child.try_wait().map_err(|source| DeviceError::Io {
                what: "checking on QEMU".into(),
                source,
            })?;
            if let Some(status) = exited {
                return Err(DeviceError::Qemu(format!(
                    "QEMU exited ({status}) before opening its UART: {}",
                    joined(qemu.stderr.take()).trim()
                )));
            }
            if start.elapsed() > SOCKET_TIMEOUT {
                return Err(DeviceError::Timeout {
                    what: format!("QEMU's UART socket {}", qemu.socket.display()),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(qemu)
    }

    /// The UART socket's path (QEMU accepts a new connection after one closes).
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Connects to the UART.
    pub fn connect(&self) -> Result<SocketTransport, DeviceError> {
        let start = Instant::now();
        loop {
            match UnixStream::connect(&self.socket) {
                Ok(stream) => {
                    return Ok(SocketTransport::from_stream(
                        stream,
                        format!("QEMU's UART ({})", self.socket.display()),
                    ))
                }
                Err(source) if start.elapsed() > SOCKET_TIMEOUT => {
                    return Err(DeviceError::Io {
                        what: format!("connecting to {}", self.socket.display()),
                        source,
                    })
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Leaves QEMU running after this value is dropped (its socket stays, for `--port`).
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// Waits up to `timeout` for QEMU to end (the firmware exits through semihosting).
    pub fn wait(mut self, timeout: Duration) -> Result<QemuExit, DeviceError> {
        let start = Instant::now();
        loop {
            let exited = self.child.try_wait().map_err(|source| DeviceError::Io {
                what: "waiting for QEMU".into(),
                source,
            })?;
            if let Some(status) = exited {
                return Ok(QemuExit {
                    status,
                    stdout: joined(self.stdout.take()),
                    stderr: joined(self.stderr.take()),
                });
            }
            if start.elapsed() > timeout {
                return Err(DeviceError::Timeout {
                    what: "the firmware to exit".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Makes the process `command` starts receive SIGKILL when the thread spawning it ends.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and only makes two
    // async-signal-safe system calls (prctl, getppid); it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have ended before prctl took effect.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Elsewhere QEMU is killed when the [`Qemu`] is dropped only.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

impl Drop for Qemu {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
