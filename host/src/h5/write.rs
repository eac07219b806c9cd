//! Writing an [`H5Group`] tree as a whole HDF5 file (through `hdf5-pure`).

use super::data::H5Data;
use super::error::{H5Error, H5ErrorKind};
use super::tree::{H5Attr, H5Dataset, H5Group, StrType};
use hdf5_pure::{AttrValue, DatasetBuilder, FileBuilder, GroupBuilder};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Writes `root` as the HDF5 file at `path`.
///
/// The file is written by [`crate::atomic`]: under a temporary name, synced and
/// renamed over `path` (through a symbolic link), so an interrupted write never
/// leaves a half-written file (nor destroys the previous one). Children and attributes are written
/// in the tree's order.
pub fn write(path: impl AsRef<Path>, root: &H5Group) -> Result<(), H5Error> {
    let path = path.as_ref();
    let label = path.display().to_string();
    let bytes = to_bytes(root, &label)?;
    crate::atomic::write(path, &bytes).map_err(|e| H5Error::io(&label, "cannot write it", e))
}

/// Serializes `root` as the bytes of an HDF5 file (e.g. for `model.weights.h5`
/// inside a `.keras` archive); `label` names it in errors.
///
/// The tree is checked first: every name must be a valid HDF5 link name (not
/// empty, not `.`, no `/`) and unique among its siblings, every dataset's data
/// must fill its shape, and no attribute may be [`H5Attr::Unsupported`].
pub fn to_bytes(root: &H5Group, label: &str) -> Result<Vec<u8>, H5Error> {
    validate(root, "/", label)?;
    let mut builder = FileBuilder::new();
    for (name, attr) in &root.attrs {
        builder.set_attr(name, attr_value(attr, "/", name, label)?);
    }
    for (name, dataset) in &root.datasets {
        fill_dataset(builder.create_dataset(name), dataset);
    }
    for (name, group) in &root.groups {
        let mut child = builder.create_group(name);
        fill_group(&mut child, group, &join("/", name), label)?;
        builder.add_group(child.finish());
    }
    match catch_unwind(AssertUnwindSafe(|| builder.finish())) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(H5Error::new(
            label,
            "",
            H5ErrorKind::Invalid,
            format!("HDF5 writer refused the tree: {e}"),
        )),
        Err(_) => Err(H5Error::new(
            label,
            "",
            H5ErrorKind::Invalid,
            "HDF5 writer panicked while serializing the tree",
        )),
    }
}

/// `parent/name` for error messages.
fn join(parent: &str, name: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
}

fn invalid(label: &str, object: &str, message: String) -> H5Error {
    H5Error::new(label, object, H5ErrorKind::Invalid, message)
}

/// Checks names, uniqueness and dataset sizes of the whole tree.
fn validate(group: &H5Group, path: &str, label: &str) -> Result<(), H5Error> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in &group.attrs {
        if name.is_empty() {
            return Err(invalid(label, path, "attribute with an empty name".into()));
        }
        if seen.contains(&name.as_str()) {
            return Err(invalid(label, path, format!("two attributes named {name:?}")));
        }
        seen.push(name);
    }
    let mut seen: Vec<&str> = Vec::new();
    let names = group
        .groups
        .iter()
        .map(|(n, _)| n)
        .chain(group.datasets.iter().map(|(n, _)| n));
    for name in names {
        if name.is_empty() || name == "." || name.contains('/') {
            return Err(invalid(
                label,
                path,
                format!("{name:?} is not a valid HDF5 link name (empty, \".\" or containing '/')"),
            ));
        }
        if seen.contains(&name.as_str()) {
            return Err(invalid(
                label,
                path,
                format!("two children named {name:?} (groups and datasets share one namespace)"),
            ));
        }
        seen.push(name);
    }
    for (name, dataset) in &group.datasets {
        if let H5Data::Stored(_) = dataset.data {
            return Err(invalid(
                label,
                &join(path, name),
                "the elements were not read from their file (load them first)".to_string(),
            ));
        }
        if dataset.shape_len() != Some(dataset.data.len()) {
            return Err(invalid(
                label,
                &join(path, name),
                format!(
                    "{} elements do not fill shape {:?}",
                    dataset.data.len(),
                    dataset.shape
                ),
            ));
        }
    }
    for (name, child) in &group.groups {
        validate(child, &join(path, name), label)?;
    }
    Ok(())
}

/// Adds `group`'s attributes, datasets and sub-groups to `builder`.
fn fill_group(builder: &mut GroupBuilder, group: &H5Group, path: &str, label: &str) -> Result<(), H5Error> {
    for (name, attr) in &group.attrs {
        builder.set_attr(name, attr_value(attr, path, name, label)?);
    }
    for (name, dataset) in &group.datasets {
        fill_dataset(builder.create_dataset(name), dataset);
    }
    for (name, child) in &group.groups {
        let mut sub = builder.create_group(name);
        fill_group(&mut sub, child, &join(path, name), label)?;
        builder.add_group(sub.finish());
    }
    Ok(())
}

/// Stages a dataset's data and shape (an empty shape is a scalar dataspace).
fn fill_dataset(builder: &mut DatasetBuilder, dataset: &H5Dataset) {
    match &dataset.data {
        H5Data::F32(v) => builder.with_f32_data(v),
        H5Data::F64(v) => builder.with_f64_data(v),
        H5Data::I64(v) => builder.with_i64_data(v),
        // Refused by `validate` before anything is staged.
        H5Data::Stored(_) => builder,
    };
    builder.with_shape(&dataset.shape);
}

/// The hdf5-pure value that stores `attr` with the datatype it asks for.
fn attr_value(attr: &H5Attr, path: &str, name: &str, label: &str) -> Result<AttrValue, H5Error> {
    Ok(match attr {
        H5Attr::Str(s, StrType::VarAscii) => AttrValue::VarLenAsciiString(s.clone()),
        H5Attr::Str(s, StrType::VarUtf8) => AttrValue::VarLenString(s.clone()),
        H5Attr::Str(s, StrType::FixedAscii) => AttrValue::AsciiString(s.clone()),
        H5Attr::Str(s, StrType::FixedUtf8) => AttrValue::String(s.clone()),
        H5Attr::StrArray(v, StrType::VarAscii) => AttrValue::VarLenAsciiStringArray(v.clone()),
        H5Attr::StrArray(v, StrType::VarUtf8) => AttrValue::VarLenStringArray(v.clone()),
        H5Attr::StrArray(v, StrType::FixedAscii) => AttrValue::AsciiStringArray(v.clone()),
        H5Attr::StrArray(v, StrType::FixedUtf8) => AttrValue::StringArray(v.clone()),
        H5Attr::F64Array(v) => AttrValue::F64Array(v.clone()),
        H5Attr::Unsupported(d) => {
            return Err(invalid(
                label,
                &format!("{path}@{name}"),
                format!("cannot write an attribute that was only read ({d})"),
            ))
        }
    })
}
