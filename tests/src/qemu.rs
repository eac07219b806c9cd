//! The firmware for tests: built with `scripts/firmware-build.sh` (once per process), or
//! taken from `$MICRODENSE_FIRMWARE`, and booted under QEMU with the host library's
//! launcher ([`microdense::device::Qemu`]): see that module for the QEMU command line.

pub use microdense::device::elf::{symbol as elf_symbol, ElfError};
pub use microdense::device::{Qemu, QemuBoard, QemuConfig, QemuExit, BOARDS};

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::repo_root;

/// Why the firmware could not be built.
#[derive(Debug)]
pub enum QemuError {
    /// The build script could not be started.
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// `scripts/firmware-build.sh` failed.
    Build {
        /// Its arguments.
        args: Vec<String>,
        /// Its exit status and stderr.
        detail: String,
    },
}

impl fmt::Display for QemuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QemuError::Spawn { program, source } => write!(f, "cannot start {program}: {source}"),
            QemuError::Build { args, detail } => {
                write!(f, "scripts/firmware-build.sh {} failed: {detail}", args.join(" "))
            }
        }
    }
}

impl std::error::Error for QemuError {}

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

/// The firmware built with `scripts/firmware-build.sh <args>` for a test to boot under QEMU's
/// MPS2 AN386 (for `--release` alone, `$MICRODENSE_FIRMWARE` if set). `None`, after printing
/// why, when it cannot be built or QEMU is missing, unless [`qemu_required`], which makes that
/// a panic.
pub fn test_firmware(args: &[&str]) -> Option<PathBuf> {
    let prebuilt = match args {
        ["--release"] => std::env::var_os("MICRODENSE_FIRMWARE"),
        _ => None,
    };
    available_firmware(&QemuBoard::default(), prebuilt, args)
}

/// The environment variable naming a board's prebuilt release firmware:
/// `MICRODENSE_FIRMWARE_` and the board's name in capitals with `_` for `-`
/// (`MICRODENSE_FIRMWARE_MPS2_AN385`); scripts/test-all.sh sets one per board.
pub fn firmware_var(board: &QemuBoard) -> String {
    format!(
        "MICRODENSE_FIRMWARE_{}",
        board.name.to_uppercase().replace('-', "_")
    )
}

/// The release firmware of `board` for a test to boot: `$MICRODENSE_FIRMWARE_<BOARD>` (for
/// the default board also `$MICRODENSE_FIRMWARE`) if set, else built with
/// `scripts/firmware-build.sh --release --board NAME`. `None` as for [`test_firmware`].
pub fn board_firmware(board: &QemuBoard) -> Option<PathBuf> {
    let mut prebuilt = std::env::var_os(firmware_var(board));
    if prebuilt.is_none() && *board == QemuBoard::default() {
        prebuilt = std::env::var_os("MICRODENSE_FIRMWARE");
    }
    available_firmware(board, prebuilt, &["--release", "--board", board.name])
}

/// `prebuilt`, or the firmware built with `args`, when `board`'s QEMU runs; else `None` after
/// printing why (a panic when [`qemu_required`]).
fn available_firmware(
    board: &QemuBoard,
    prebuilt: Option<std::ffi::OsString>,
    args: &[&str],
) -> Option<PathBuf> {
    let unavailable = |reason: String| {
        if qemu_required() {
            panic!("the QEMU firmware tests are required (MICRODENSE_REQUIRE_QEMU is set): {reason}");
        }
        eprintln!("SKIPPED: {reason}; set MICRODENSE_REQUIRE_QEMU=1 to make this a failure");
        None
    };
    if let Err(e) = Command::new(board.emulator).arg("--version").output() {
        return unavailable(format!("cannot run {}: {e}", board.emulator));
    }
    match prebuilt {
        Some(elf) => Some(PathBuf::from(elf)),
        None => build_firmware(args).map_or_else(|e| unavailable(e.to_string()), Some),
    }
}

/// Tests of the firmware image and the panic handler under QEMU (the protocol server is
/// tested by `tests/tests/device_*.rs`).
#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TIMEOUT: Duration = Duration::from_secs(60);

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
        if test_firmware(&["--release"]).is_none() {
            return;
        }
        let elf =
            build_firmware(&["--release", "--example", "panic_probe"]).unwrap_or_else(|e| panic!("{e}"));
        let qemu = Qemu::boot(&QemuConfig {
            board: QemuBoard::default(),
            elf: elf.clone(),
            model: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        // The guest starts when the UART is connected.
        let _uart = qemu.connect().unwrap();
        let exit = qemu.wait(TIMEOUT).unwrap();
        assert_eq!(exit.status.code(), Some(1), "{exit:?}");
        if let Some(at) = exit.stderr.split("firmware panicked (trap at pc 0x").nth(1) {
            // core built with panic=immediate-abort (firmware-build.sh's Debian path): the
            // HardFault handler names the trap, which lies in the example's `main`.
            let pc = u32::from_str_radix(at.get(..8).unwrap_or(""), 16)
                .unwrap_or_else(|e| panic!("{e}: {exit:?}"));
            let main = elf_symbol(&elf, "main").unwrap();
            assert!(
                (main..main + 16).contains(&pc),
                "trap at {pc:#x}, main at {main:#x}"
            );
        } else {
            // A stock core (rustup's target): the panic handler's report, put together
            // without `core::fmt`: the location, and the message when it is a literal.
            assert!(
                exit.stderr
                    .contains("firmware panicked at examples/panic_probe.rs:"),
                "{exit:?}"
            );
            assert!(
                exit.stderr
                    .contains("deliberate panic from the panic_probe example"),
                "{exit:?}"
            );
        }
    }
}
