//! Boots the firmware under QEMU's MPS2 AN386 (Cortex-M4 with FPU) and talks to its UART.
//!
//! QEMU runs as
//!
//! ```text
//! qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none
//!     -semihosting-config enable=on,target=native -icount shift=0
//!     -chardev socket,id=uart0,path=<dir>/uart0.sock,server=on,wait=on -serial chardev:uart0
//!     -kernel <ELF> [-device loader,file=<model>,addr=<_model_start>]
//! ```
//!
//! UART0 is a Unix socket QEMU listens on and waits for before starting the guest, so no byte is
//! lost, no TCP port can clash, and reads and writes have timeouts. Semihosting (panic reports)
//! goes to QEMU's stderr and exit codes to its exit status: never into the serial data.
//! `-icount shift=0` makes the firmware's clock count instructions deterministically.
//!
//! The model is written by QEMU's generic loader at the ELF's `_model_start` (0x0004_0000): QEMU
//! models the AN386's flash at 0x0 as RAM (SSRAM1), so the loader can write it, and QEMU refuses
//! to start if the file overlaps the firmware image.

mod elf;

pub use elf::{symbol as elf_symbol, ElfError};

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{repo_root, TempDir};

/// How long QEMU may take to create its UART socket.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(20);

/// What went wrong building, booting or talking to the firmware.
#[derive(Debug)]
pub enum QemuError {
    /// A program could not be started.
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// `scripts/firmware-build.sh` failed.
    Build {
        /// Its arguments.
        args: Vec<String>,
        /// Its exit status and stderr.
        detail: String,
    },
    /// The firmware image could not be read.
    Elf(ElfError),
    /// QEMU ended before the host could connect to the UART.
    EarlyExit {
        /// QEMU's exit status.
        status: ExitStatus,
        /// QEMU's stderr.
        stderr: String,
    },
    /// Something did not happen in time.
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it was awaited.
        after: Duration,
    },
    /// Reading or writing the UART socket failed.
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: io::Error,
    },
}

impl fmt::Display for QemuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QemuError::Spawn { program, source } => write!(f, "cannot start {program}: {source}"),
            QemuError::Build { args, detail } => {
                write!(f, "scripts/firmware-build.sh {} failed: {detail}", args.join(" "))
            }
            QemuError::Elf(e) => write!(f, "firmware image: {e}"),
            QemuError::EarlyExit { status, stderr } => {
                write!(
                    f,
                    "QEMU exited ({status}) before the UART connected: {}",
                    stderr.trim()
                )
            }
            QemuError::Timeout { what, after } => write!(f, "timed out after {after:?} waiting for {what}"),
            QemuError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for QemuError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            QemuError::Spawn { source, .. } | QemuError::Io { source, .. } => Some(source),
            QemuError::Elf(e) => Some(e),
            _ => None,
        }
    }
}

/// Builds the firmware with `scripts/firmware-build.sh <args>` (once per process and argument
/// list) and returns the ELF's path, the script's last line of output.
pub fn build_firmware(args: &[&str]) -> Result<PathBuf, QemuError> {
    static BUILT: Mutex<Option<HashMap<Vec<String>, PathBuf>>> = Mutex::new(None);
    let key: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    // One build at a time: they share firmware/target.
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(elf) = built.get_or_insert_with(HashMap::new).get(&key) {
        return Ok(elf.clone());
    }
    let script = repo_root().join("scripts").join("firmware-build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| QemuError::Spawn {
            program: script.display().to_string(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let elf = stdout.lines().last().map(|l| PathBuf::from(l.trim()));
    match elf {
        Some(elf) if out.status.success() && elf.is_file() => {
            built.get_or_insert_with(HashMap::new).insert(key, elf.clone());
            Ok(elf)
        }
        _ => Err(QemuError::Build {
            args: key,
            detail: format!("{}; {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
        }),
    }
}

/// The release firmware for QEMU (`scripts/firmware-build.sh --release`).
pub fn release_firmware() -> Result<PathBuf, QemuError> {
    build_firmware(&["--release"])
}

/// Whether `MICRODENSE_REQUIRE_QEMU` is set (to anything): firmware tests then fail, rather than
/// skip, when the firmware cannot be built or QEMU is missing.
pub fn qemu_required() -> bool {
    std::env::var_os("MICRODENSE_REQUIRE_QEMU").is_some()
}

/// The firmware built with `scripts/firmware-build.sh <args>` for a test to boot under QEMU
/// (for `--release` alone, `$MICRODENSE_FIRMWARE` if set). `None`, after printing why, when it
/// cannot be built or QEMU is missing, unless [`qemu_required`], which makes that a panic.
pub fn test_firmware(args: &[&str]) -> Option<PathBuf> {
    let unavailable = |reason: String| {
        if qemu_required() {
            panic!("the QEMU firmware tests are required (MICRODENSE_REQUIRE_QEMU is set): {reason}");
        }
        eprintln!("SKIPPED: {reason}; set MICRODENSE_REQUIRE_QEMU=1 to make this a failure");
        None
    };
    if let Err(e) = Command::new("qemu-system-arm").arg("--version").output() {
        return unavailable(format!("cannot run qemu-system-arm: {e}"));
    }
    match std::env::var_os("MICRODENSE_FIRMWARE") {
        Some(elf) if args == ["--release"] => Some(PathBuf::from(elf)),
        _ => build_firmware(args).map_or_else(|e| unavailable(e.to_string()), Some),
    }
}

/// What QEMU boots.
#[derive(Clone, Debug)]
pub struct QemuConfig {
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

/// A running QEMU with the firmware; killed when dropped.
pub struct Qemu {
    child: Child,
    uart: UnixStream,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    /// Holds the UART socket; removed on drop.
    _dir: TempDir,
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

impl Qemu {
    /// Starts QEMU and connects to the firmware's UART (the guest starts on connection).
    pub fn boot(config: &QemuConfig) -> Result<Qemu, QemuError> {
        let dir = TempDir::new("qemu");
        let socket = dir.join("uart0.sock");
        let mut command = Command::new("qemu-system-arm");
        command
            .args([
                "-machine",
                "mps2-an386",
                "-cpu",
                "cortex-m4",
                "-nographic",
                "-monitor",
                "none",
            ])
            .args([
                "-semihosting-config",
                "enable=on,target=native",
                "-icount",
                "shift=0",
            ])
            .arg("-chardev")
            .arg(format!(
                "socket,id=uart0,path={},server=on,wait=on",
                socket.display()
            ))
            .args(["-serial", "chardev:uart0", "-kernel"])
            .arg(&config.elf);
        if let Some(model) = &config.model {
            let address = elf::symbol(&config.elf, "_model_start").map_err(QemuError::Elf)?;
            command
                .arg("-device")
                .arg(format!("loader,file={},addr={address:#x}", model.display()));
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| QemuError::Spawn {
                program: "qemu-system-arm".into(),
                source,
            })?;
        let stdout = child.stdout.take().map(drain::<ChildStdout>);
        let stderr = child.stderr.take().map(drain::<ChildStderr>);
        let start = Instant::now();
        let uart = loop {
            if let Ok(stream) = UnixStream::connect(&socket) {
                break stream;
            }
            let exited = child.try_wait().map_err(|source| QemuError::Io {
                what: "checking on QEMU".into(),
                source,
            })?;
            if let Some(status) = exited {
                return Err(QemuError::EarlyExit {
                    status,
                    stderr: joined(stderr),
                });
            }
            if start.elapsed() > SOCKET_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(QemuError::Timeout {
                    what: format!("QEMU's UART socket {}", socket.display()),
                    after: SOCKET_TIMEOUT,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(Qemu {
            child,
            uart,
            stdout,
            stderr,
            _dir: dir,
        })
    }

    /// The UART, for raw reads and writes (set timeouts with `set_read_timeout`).
    pub fn uart(&mut self) -> &mut UnixStream {
        &mut self.uart
    }

    /// Sends `bytes` to the firmware.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), QemuError> {
        self.uart
            .write_all(bytes)
            .and_then(|()| self.uart.flush())
            .map_err(|source| QemuError::Io {
                what: format!("writing {} bytes to the UART", bytes.len()),
                source,
            })
    }

    /// Reads exactly `count` bytes from the firmware within `timeout`.
    pub fn receive(&mut self, count: usize, timeout: Duration) -> Result<Vec<u8>, QemuError> {
        let deadline = Instant::now() + timeout;
        let mut bytes = vec![0; count];
        let mut filled = 0;
        while filled < count {
            filled += self.read_some(&mut bytes[filled..], deadline, timeout, || {
                format!("{count} bytes from the UART ({filled} received)")
            })?;
        }
        Ok(bytes)
    }

    /// Reads one line (up to and without `\n`) from the firmware within `timeout`.
    pub fn receive_line(&mut self, timeout: Duration) -> Result<String, QemuError> {
        let deadline = Instant::now() + timeout;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            self.read_some(&mut byte, deadline, timeout, || {
                format!(
                    "a line from the UART (so far {:?})",
                    String::from_utf8_lossy(&line)
                )
            })?;
            if byte[0] == b'\n' {
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            line.push(byte[0]);
        }
    }

    /// One read of at least one byte before `deadline`.
    fn read_some(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
        timeout: Duration,
        what: impl Fn() -> String,
    ) -> Result<usize, QemuError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(QemuError::Timeout {
                what: what(),
                after: timeout,
            });
        }
        self.uart
            .set_read_timeout(Some(left))
            .map_err(|source| QemuError::Io {
                what: "setting the UART read timeout".into(),
                source,
            })?;
        match self.uart.read(buf) {
            Ok(0) => Err(QemuError::Io {
                what: what(),
                source: io::Error::new(io::ErrorKind::UnexpectedEof, "QEMU closed the UART"),
            }),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Err(QemuError::Timeout {
                    what: what(),
                    after: timeout,
                })
            }
            Err(source) => Err(QemuError::Io { what: what(), source }),
        }
    }

    /// Waits up to `timeout` for QEMU to end (the firmware exits through semihosting); kills it
    /// if it does not.
    pub fn wait(mut self, timeout: Duration) -> Result<QemuExit, QemuError> {
        let start = Instant::now();
        loop {
            let exited = self.child.try_wait().map_err(|source| QemuError::Io {
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
                return Err(QemuError::Timeout {
                    what: "the firmware to exit".into(),
                    after: timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Tests of the serial link check (`firmware/src/echo.rs`) and the board support under QEMU.
#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(60);

    /// The `key=value` fields of a line after its first word.
    fn fields(line: &str) -> HashMap<String, String> {
        line.split_whitespace()
            .skip(1)
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn number(fields: &HashMap<String, String>, key: &str) -> u64 {
        fields
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    /// Boots the release firmware, or `None` if the tests are skipped.
    fn boot(model: Option<PathBuf>) -> Option<Qemu> {
        let elf = test_firmware(&["--release"])?;
        Some(Qemu::boot(&QemuConfig { elf, model }).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Boots with `model` loaded, ends the echo at once, and returns the banner's fields.
    fn banner_with_model(model: &[u8]) -> Option<HashMap<String, String>> {
        let dir = TempDir::new("qemu-model");
        let path = dir.join("model.bin");
        std::fs::write(&path, model).unwrap();
        let mut qemu = boot(Some(path))?;
        let banner = qemu.receive_line(TIMEOUT).unwrap();
        qemu.send(&[0x04]).unwrap();
        qemu.receive_line(TIMEOUT).unwrap();
        let exit = qemu.wait(TIMEOUT).unwrap();
        assert!(exit.status.success(), "{exit:?}");
        Some(fields(&banner))
    }

    #[test]
    fn firmware_greets_echoes_reports_and_exits_cleanly() {
        let Some(mut qemu) = boot(None) else { return };
        let banner = qemu.receive_line(TIMEOUT).unwrap();
        assert!(banner.starts_with("microdense-firmware "), "{banner:?}");
        let f = fields(&banner);
        assert_eq!(f["board"], "mps2-an386");
        assert_eq!(f["model_region"], "0x00040000+262144");
        assert_eq!(f["model"], "blank");

        // Every byte value but the end-of-echo byte, more than one read buffer's worth.
        let data: Vec<u8> = (0..300u32)
            .map(|i| (i % 256) as u8)
            .filter(|&b| b != 0x04)
            .collect();
        qemu.send(&data).unwrap();
        assert_eq!(qemu.receive(data.len(), TIMEOUT).unwrap(), data);
        qemu.send(b"tail\x04ignored").unwrap();
        assert_eq!(qemu.receive(4, TIMEOUT).unwrap(), b"tail");

        let report = qemu.receive_line(TIMEOUT).unwrap();
        assert!(report.starts_with("report "), "{report:?}");
        let r = fields(&report);
        assert_eq!(number(&r, "echoed"), data.len() as u64 + 4);
        assert_eq!(number(&r, "flash_budget"), 256 * 1024);
        let flash = number(&r, "flash_used");
        assert!(flash > 1024 && flash < 40 * 1024, "firmware code {flash} bytes");
        assert_eq!(number(&r, "static_ram") + number(&r, "stack_size"), 128 * 1024);
        let stack = number(&r, "stack_used");
        assert!(stack > 0 && stack < 4096, "stack high-water mark {stack} bytes");
        assert_eq!(r["clock_unit"], "instructions");
        let resolution = number(&r, "clock_resolution");
        assert_eq!(resolution, 40);
        let (loop_instructions, ticks) = r["clock_check"].split_once(':').unwrap();
        let loop_instructions: u64 = loop_instructions.parse().unwrap();
        let ticks: u64 = ticks.parse().unwrap();
        // The loop plus the few instructions that read the clock, to the clock's resolution.
        assert!(
            ticks >= loop_instructions && ticks <= loop_instructions + resolution + 100,
            "a {loop_instructions}-instruction loop measured {ticks}"
        );

        let exit = qemu.wait(TIMEOUT).unwrap();
        assert!(exit.status.success(), "{exit:?}");
        // QEMU's own notes start with its name; anything else on stderr came from the guest.
        let guest: Vec<&str> = exit
            .stderr
            .lines()
            .filter(|l| !l.starts_with("qemu-system-arm:"))
            .collect();
        assert!(
            guest.is_empty(),
            "semihosting output where none was expected: {guest:?}"
        );
    }

    #[test]
    fn model_written_by_the_loader_is_seen_in_the_model_region() {
        let model: Vec<u8> = (0..162_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        if let Some(banner) = banner_with_model(&model) {
            assert_eq!(banner["model"], "present");
        }
    }

    #[test]
    fn erased_flash_reads_as_a_blank_model_region() {
        if let Some(banner) = banner_with_model(&vec![0xFF; 256 * 1024]) {
            assert_eq!(banner["model"], "blank");
        }
    }

    #[test]
    fn model_region_address_comes_from_the_elf() {
        let Some(elf) = test_firmware(&["--release"]) else {
            return;
        };
        assert_eq!(elf_symbol(&elf, "_model_start").unwrap(), 0x0004_0000);
        assert_eq!(elf_symbol(&elf, "_model_end").unwrap(), 0x0008_0000);
        assert!(elf_symbol(&elf, "no_such_symbol").is_err());
    }

    #[test]
    fn panic_is_reported_on_stderr_and_exits_with_failure() {
        let elf =
            build_firmware(&["--release", "--example", "panic_probe"]).unwrap_or_else(|e| panic!("{e}"));
        let qemu = Qemu::boot(&QemuConfig { elf, model: None }).unwrap_or_else(|e| panic!("{e}"));
        let exit = qemu.wait(TIMEOUT).unwrap();
        assert_eq!(exit.status.code(), Some(1), "{exit:?}");
        assert!(exit.stderr.contains("firmware panicked"), "{exit:?}");
        assert!(
            exit.stderr
                .contains("deliberate panic from the panic_probe example"),
            "{exit:?}"
        );
    }
}
