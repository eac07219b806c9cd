//! # microdense-firmware
//!
//! The Cortex-M4F side of microdense: a `no_std`, heap-free program that serves a host over a
//! serial line. Application logic is generic over `embedded-io`'s `Read`/`Write` and this
//! crate's [`clock::Clock`]; everything that touches hardware lives in [`board`] (QEMU's MPS2
//! AN386 by default, an STM32F411 with the `stm32f411` feature) and in the linker-symbol
//! readers of [`memory`] and [`model_region`].
//!
//! Memory layout (see `memory/mps2-an386.x`): 256 KiB of flash for the firmware, the 256 KiB above it for
//! the model ([`model_region`]), 128 KiB of RAM.
#![no_std]
#![deny(missing_docs)]

pub mod app;
pub mod clock;
pub mod idle;
pub mod memory;
pub mod model_region;

#[cfg(target_os = "none")]
pub mod board;
#[cfg(target_os = "none")]
mod panic;

/// This firmware's version (the package version).
pub const FIRMWARE_VERSION: &str = env!("CARGO_PKG_VERSION");
