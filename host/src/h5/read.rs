//! Reading an HDF5 file into an [`H5Group`] tree (through `hdf5-pure`): the structure
//! at once, each dataset's elements when asked for, within a byte budget.

use super::data::{corrupt, guarded, Element, H5Data, ReadBudget, Stored};
use super::error::{H5Error, H5ErrorKind};
use super::tree::{H5Attr, H5Dataset, H5Group, StrType};
use hdf5_pure::{AttrValue, DType, Dataset, Datatype, File, Group};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Groups nested deeper than this are refused: Keras never nests past 5, and a
/// hard-link cycle in a damaged file would otherwise recurse without end.
const MAX_DEPTH: usize = 64;
/// At most this many groups and datasets are read (guards against link DAGs
/// that fan out exponentially in a damaged file).
const MAX_OBJECTS: usize = 1_000_000;
/// The most bytes [`read`] and [`read_bytes`] read from the datasets of one file.
pub const MAX_READ_BYTES: u64 = 1 << 31;

/// Reads the whole HDF5 file at `path` into a tree, every dataset's elements
/// included (at most [`MAX_READ_BYTES`] of them).
///
/// Attributes of each group come in name order, children in the order the
/// file's link structure lists them. Attributes on datasets are not read
/// (Keras writes none). A file that is not HDF5, is truncated or damaged is an
/// error of kind [`H5ErrorKind::Corrupt`], never a panic.
pub fn read(path: impl AsRef<Path>) -> Result<H5Group, H5Error> {
    let mut root = open(path, MAX_READ_BYTES)?;
    root.load_all()?;
    Ok(root)
}

/// Reads an HDF5 file held in memory, as [`read`] does; `label` names it in errors.
pub fn read_bytes(bytes: Vec<u8>, label: &str) -> Result<H5Group, H5Error> {
    let mut root = open_bytes(bytes, label, MAX_READ_BYTES)?;
    root.load_all()?;
    Ok(root)
}

/// Reads the structure of the HDF5 file at `path` (groups, attributes, each
/// dataset's shape and type); a dataset's elements are read when asked for
/// ([`H5Dataset::load`]), all of them together at most `max_bytes`.
pub fn open(path: impl AsRef<Path>, max_bytes: u64) -> Result<H5Group, H5Error> {
    let path = path.as_ref();
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| H5Error::io(&label, "cannot read the file", e))?;
    open_bytes(bytes, &label, max_bytes)
}

/// [`open`] for an HDF5 file held in memory (e.g. `model.weights.h5` inside a
/// `.keras` archive); `label` names it in errors.
pub fn open_bytes(bytes: Vec<u8>, label: &str, max_bytes: u64) -> Result<H5Group, H5Error> {
    let budget = Arc::new(ReadBudget {
        label: label.to_string(),
        left: AtomicU64::new(max_bytes),
        max: max_bytes,
    });
    guarded(label, "", || parse(bytes, budget))
}

/// Parses `bytes` and walks the whole hierarchy.
fn parse(bytes: Vec<u8>, budget: Arc<ReadBudget>) -> Result<H5Group, H5Error> {
    let label = budget.label.clone();
    let label = label.as_str();
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(H5Error::new(
            label,
            "",
            H5ErrorKind::Corrupt,
            format!(
                "not an HDF5 file (no HDF5 signature in its {} bytes)",
                bytes.len()
            ),
        ));
    }
    let len = bytes.len() as u64;
    let file = File::from_bytes(bytes).map_err(|e| corrupt(label, "/", &e))?;
    // As libhdf5 does: a file shorter than the end its superblock records has
    // lost its tail.
    let superblock = file.superblock();
    let eof = superblock
        .base_address
        .get()
        .saturating_add(superblock.eof_address);
    if len < eof {
        return Err(H5Error::new(
            label,
            "",
            H5ErrorKind::Corrupt,
            format!("truncated HDF5 file: {len} bytes, but its superblock says it ends at byte {eof}"),
        ));
    }
    let mut walker = Walker {
        label,
        objects: 0,
        budget,
    };
    walker.group(&file.root(), "/", 0)
}

/// `parent/name` for error messages and recursion.
fn join(parent: &str, name: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The recursive walk, with the budgets that keep a hostile file finite.
struct Walker<'a> {
    label: &'a str,
    objects: usize,
    budget: Arc<ReadBudget>,
}

impl Walker<'_> {
    /// Counts one more object against [`MAX_OBJECTS`].
    fn count(&mut self, path: &str) -> Result<(), H5Error> {
        self.objects += 1;
        if self.objects > MAX_OBJECTS {
            return Err(H5Error::new(
                self.label,
                path,
                H5ErrorKind::Unsupported,
                format!("more than {MAX_OBJECTS} groups and datasets (a link cycle?)"),
            ));
        }
        Ok(())
    }

    fn group(&mut self, group: &Group, path: &str, depth: usize) -> Result<H5Group, H5Error> {
        if depth > MAX_DEPTH {
            return Err(H5Error::new(
                self.label,
                path,
                H5ErrorKind::Unsupported,
                format!("groups nested more than {MAX_DEPTH} deep (a link cycle?)"),
            ));
        }
        self.count(path)?;
        let mut out = H5Group::new();
        out.attrs = self.attrs(group, path)?;
        let children = group.iter_groups().map_err(|e| corrupt(self.label, path, &e))?;
        for (name, child) in children {
            let child_path = join(path, &name);
            let tree = self.group(&child, &child_path, depth + 1)?;
            out.groups.push((name, tree));
        }
        let datasets = group.iter_datasets().map_err(|e| corrupt(self.label, path, &e))?;
        for (name, dataset) in datasets {
            let ds_path = join(path, &name);
            self.count(&ds_path)?;
            let ds = self.dataset(&dataset, &ds_path)?;
            out.datasets.push((name, ds));
        }
        Ok(out)
    }

    /// The group's attributes in name order. One of a datatype this module
    /// does not model is kept as [`H5Attr::Unsupported`]; one of a datatype it
    /// does model (string, float) that cannot be decoded is an error, since its
    /// bytes must be damaged.
    fn attrs(&self, group: &Group, path: &str) -> Result<Vec<(String, H5Attr)>, H5Error> {
        let values = group.attrs().map_err(|e| corrupt(self.label, path, &e))?;
        let types = group
            .attr_datatypes()
            .map_err(|e| corrupt(self.label, path, &e))?;
        let mut names: Vec<&String> = types.keys().chain(values.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| {
                let attr = match (values.get(name), types.get(name)) {
                    (Some(value), _) => convert_attr(value),
                    (None, Some(datatype)) if is_modelled(datatype) => {
                        return Err(H5Error::new(
                            self.label,
                            &format!("{path}@{name}"),
                            H5ErrorKind::Corrupt,
                            format!("attribute of datatype {datatype} cannot be decoded (damaged file?)"),
                        ))
                    }
                    (None, Some(datatype)) => {
                        H5Attr::Unsupported(format!("attribute of datatype {datatype}"))
                    }
                    (None, None) => H5Attr::Unsupported("undecodable attribute".to_string()),
                };
                Ok((name.clone(), attr))
            })
            .collect()
    }

    /// A dataset's shape and type; its elements stay in the file until loaded.
    fn dataset(&self, dataset: &Dataset, path: &str) -> Result<H5Dataset, H5Error> {
        let err = |e: hdf5_pure::Error| corrupt(self.label, path, &e);
        let shape = dataset.shape().map_err(err)?;
        let element = match dataset.dtype().map_err(err)? {
            DType::F32 => Element::F32,
            DType::F64 => Element::F64,
            DType::I64 => Element::I64,
            other => {
                return Err(H5Error::new(
                    self.label,
                    path,
                    H5ErrorKind::Unsupported,
                    format!("dataset of datatype {other}; only float32, float64 and int64 are supported"),
                ))
            }
        };
        let count = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|n| n.checked_mul(element.size()).is_some())
            .ok_or_else(|| {
                H5Error::new(
                    self.label,
                    path,
                    H5ErrorKind::Unsupported,
                    format!("dataset of shape {shape:?} has more elements than can be counted"),
                )
            })?;
        let stored = Stored {
            dataset: dataset.clone(),
            element,
            path: path.to_string(),
            count,
            budget: Arc::clone(&self.budget),
        };
        Ok(H5Dataset {
            shape,
            data: H5Data::Stored(stored),
        })
    }
}

/// Whether `datatype` is one [`H5Attr`] has a variant for (strings, floats).
fn is_modelled(datatype: &Datatype) -> bool {
    match datatype {
        Datatype::String { .. } | Datatype::FloatingPoint { .. } => true,
        Datatype::VariableLength { is_string, .. } => *is_string,
        _ => false,
    }
}

/// The tree's view of one decoded attribute value.
fn convert_attr(value: &AttrValue) -> H5Attr {
    match value {
        AttrValue::VarLenAsciiString(s) => H5Attr::Str(s.clone(), StrType::VarAscii),
        AttrValue::VarLenString(s) => H5Attr::Str(s.clone(), StrType::VarUtf8),
        AttrValue::AsciiString(s) | AttrValue::AsciiStringSized { value: s, .. } => {
            H5Attr::Str(s.clone(), StrType::FixedAscii)
        }
        AttrValue::String(s) | AttrValue::StringSized { value: s, .. } => {
            H5Attr::Str(s.clone(), StrType::FixedUtf8)
        }
        AttrValue::VarLenAsciiStringArray(v) => H5Attr::StrArray(v.clone(), StrType::VarAscii),
        AttrValue::VarLenStringArray(v) => H5Attr::StrArray(v.clone(), StrType::VarUtf8),
        AttrValue::AsciiStringArray(v) | AttrValue::AsciiStringArraySized { values: v, .. } => {
            H5Attr::StrArray(v.clone(), StrType::FixedAscii)
        }
        AttrValue::StringArray(v) | AttrValue::StringArraySized { values: v, .. } => {
            H5Attr::StrArray(v.clone(), StrType::FixedUtf8)
        }
        AttrValue::F64Array(v) => H5Attr::F64Array(v.clone()),
        other => H5Attr::Unsupported(format!("attribute of type {}", other.type_name())),
    }
}
