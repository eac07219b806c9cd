//! The device format (`.mdl`, see `docs/device-format.md`) on the host: conversion to and
//! from the host's [`Model`](crate::model::Model), and inspection of a file.

mod aligned;
mod convert;
mod inspect;

pub use aligned::AlignedBytes;
pub use convert::{
    from_mdl, int8_from_mdl, int8_to_mdl, read_int8_mdl, read_mdl, to_mdl, DeviceFormatError, ExportOptions,
};
pub use inspect::{inspect, FineTuneMemory, Inspection, Int8Report, Int8Row, LayerRow, ModelReport};
