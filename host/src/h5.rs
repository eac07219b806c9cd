//! HDF5 files as plain in-memory trees: the one module through which microdense
//! touches HDF5.
//!
//! A whole file is read into an [`H5Group`] tree (attributes, sub-groups and
//! datasets, each in a `Vec` of `(name, item)`), and a tree is written back out
//! in one go. Nothing else in the crate names the HDF5 library (`hdf5-pure`), so
//! swapping it (the fallback is `hdf5-metno` over the system libhdf5) touches only
//! `h5/read.rs`, `h5/data.rs` and `h5/write.rs`.
//!
//! The tree models exactly what Keras reads and writes: string attributes that
//! remember how they are stored ([`StrType`]: variable-length or fixed-length,
//! ASCII or UTF-8), arrays of such strings, float64 arrays (Keras writes an empty
//! name list as a float64 array of shape `(0,)`, see [`H5Attr::name_list`]), and
//! datasets of `f32`, `f64` or `i64` of any shape, scalars included.
//!
//! ```
//! use microdense::h5::{self, H5Attr, H5Dataset, H5Group};
//!
//! let mut root = H5Group::new();
//! root.set_attr("backend", H5Attr::var_utf8("tensorflow"));
//! root.insert_dataset("weights/dense/kernel:0", H5Dataset::f32(vec![2, 3], vec![0.5; 6]));
//! root.insert_dataset("iteration:0", H5Dataset::scalar_i64(7));
//!
//! let dir = std::env::temp_dir().join(format!("h5-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("demo.h5");
//! h5::write(&path, &root).unwrap();
//! let back = h5::read(&path).unwrap();
//! assert_eq!(back.attr_str("backend"), Some("tensorflow"));
//! assert_eq!(back.dataset("weights/dense/kernel:0").unwrap().shape, [2, 3]);
//! assert_eq!(back.dataset("iteration:0").unwrap().as_i64(), Some(&[7][..]));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod data;
mod error;
mod read;
mod tree;
mod write;

pub use data::{H5Data, Stored};
pub use error::{H5Error, H5ErrorKind};
pub use read::{open, open_bytes, read, read_bytes, MAX_READ_BYTES};
pub use tree::{H5Attr, H5Dataset, H5Group, StrType};
pub use write::{to_bytes, write};
