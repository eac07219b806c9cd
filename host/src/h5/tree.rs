//! The in-memory HDF5 tree: groups, attributes and datasets, in insertion order.

use super::data::H5Data;
use super::error::H5Error;
use std::borrow::Cow;

/// How a string attribute is stored: variable- or fixed-length, ASCII or UTF-8.
///
/// h5py (and so Keras) writes a Python `str` as a variable-length string, UTF-8
/// or ASCII depending on the call site; Keras 2.0–2.2 stored `bytes`, which h5py
/// writes as fixed-length (null-padded) ASCII strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrType {
    /// Variable-length, ASCII character set (h5py's `bytes` in an object array,
    /// what Keras uses for `model_config`, `layer_names`, `weight_names`).
    VarAscii,
    /// Variable-length, UTF-8 character set (h5py's `str`).
    VarUtf8,
    /// Fixed-length, null-padded, ASCII character set (`np.bytes_`).
    FixedAscii,
    /// Fixed-length, null-padded, UTF-8 character set.
    FixedUtf8,
}

/// One attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum H5Attr {
    /// A scalar string.
    Str(String, StrType),
    /// A one-dimensional array of strings.
    StrArray(Vec<String>, StrType),
    /// A one-dimensional float64 array; Keras writes an empty name list as an
    /// empty one of these.
    F64Array(Vec<f64>),
    /// An attribute of a datatype this module does not model, with a
    /// description of that datatype. Reading keeps it so nothing is silently
    /// dropped; writing one is an error.
    Unsupported(String),
}

impl H5Attr {
    /// A variable-length ASCII string (what Keras writes for `model_config`).
    pub fn var_ascii(value: impl Into<String>) -> Self {
        H5Attr::Str(value.into(), StrType::VarAscii)
    }

    /// A variable-length UTF-8 string.
    pub fn var_utf8(value: impl Into<String>) -> Self {
        H5Attr::Str(value.into(), StrType::VarUtf8)
    }

    /// A list of names the way Keras writes `layer_names` and `weight_names`:
    /// variable-length ASCII strings, or — when there are none — an empty
    /// float64 array of shape `(0,)` (what `np.asarray([])` becomes in h5py).
    pub fn name_list<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.is_empty() {
            H5Attr::F64Array(Vec::new())
        } else {
            H5Attr::StrArray(names, StrType::VarAscii)
        }
    }

    /// The string, for a scalar string of any storage.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            H5Attr::Str(s, _) => Some(s),
            _ => None,
        }
    }

    /// The strings of a list attribute of any storage; an empty float64 array
    /// (Keras's empty list) gives an empty list.
    pub fn as_str_list(&self) -> Option<Vec<&str>> {
        match self {
            H5Attr::StrArray(v, _) => Some(v.iter().map(String::as_str).collect()),
            H5Attr::F64Array(v) if v.is_empty() => Some(Vec::new()),
            _ => None,
        }
    }

    /// A short description of the datatype, for error messages
    /// (`"variable-length ASCII string"`, `"float64 array"`, ...).
    pub fn type_name(&self) -> String {
        let storage = |t: &StrType| match t {
            StrType::VarAscii => "variable-length ASCII",
            StrType::VarUtf8 => "variable-length UTF-8",
            StrType::FixedAscii => "fixed-length ASCII",
            StrType::FixedUtf8 => "fixed-length UTF-8",
        };
        match self {
            H5Attr::Str(_, t) => format!("{} string", storage(t)),
            H5Attr::StrArray(_, t) => format!("{} string array", storage(t)),
            H5Attr::F64Array(_) => "float64 array".to_string(),
            H5Attr::Unsupported(d) => d.clone(),
        }
    }
}

/// A dataset: a shape and its elements. An empty `shape` is a scalar (one element).
#[derive(Clone, Debug, PartialEq)]
pub struct H5Dataset {
    /// The dimensions, outermost first; empty for a scalar.
    pub shape: Vec<u64>,
    /// The elements; their count is the product of `shape` (checked on write).
    pub data: H5Data,
}

impl H5Dataset {
    /// A float32 dataset of the given shape.
    pub fn f32(shape: Vec<u64>, data: Vec<f32>) -> Self {
        H5Dataset {
            shape,
            data: H5Data::F32(data),
        }
    }

    /// A float64 dataset of the given shape.
    pub fn f64(shape: Vec<u64>, data: Vec<f64>) -> Self {
        H5Dataset {
            shape,
            data: H5Data::F64(data),
        }
    }

    /// A scalar float32 dataset (Keras 3's `learning_rate`).
    pub fn scalar_f32(value: f32) -> Self {
        Self::f32(Vec::new(), vec![value])
    }

    /// A scalar int64 dataset (an optimizer's `iteration`).
    pub fn scalar_i64(value: i64) -> Self {
        H5Dataset {
            shape: Vec::new(),
            data: H5Data::I64(vec![value]),
        }
    }

    /// The elements, if they are float32.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            H5Data::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if they are float64.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match &self.data {
            H5Data::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if they are int64.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            H5Data::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, read from the file first if they are still there (see
    /// [`super::open`]).
    pub fn load(&self) -> Result<Cow<'_, H5Data>, H5Error> {
        match &self.data {
            H5Data::Stored(stored) => stored.load().map(Cow::Owned),
            data => Ok(Cow::Borrowed(data)),
        }
    }

    /// The number of elements `shape` calls for (1 for a scalar), or `None` if
    /// that overflows `usize`.
    pub fn shape_len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |acc, &d| {
            usize::try_from(d).ok().and_then(|d| acc.checked_mul(d))
        })
    }
}

/// A group: attributes, sub-groups and datasets, each kept in insertion order.
///
/// Paths given to the lookup and insert methods are `/`-separated and relative
/// to this group; a leading `/` and empty components are ignored, so `"a/b"`,
/// `"/a/b"` and `"a//b/"` name the same object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct H5Group {
    /// Attributes, by name.
    pub attrs: Vec<(String, H5Attr)>,
    /// Child groups, by name.
    pub groups: Vec<(String, H5Group)>,
    /// Child datasets, by name.
    pub datasets: Vec<(String, H5Dataset)>,
}

/// The non-empty components of a `/`-separated path.
fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

/// A path split into its parent's components and its last component.
fn split_last(path: &str) -> Option<(Vec<&str>, &str)> {
    let mut parts: Vec<&str> = components(path).collect();
    let last = parts.pop()?;
    Some((parts, last))
}

impl H5Group {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every dataset's elements still in the file, in this group and below.
    pub fn load_all(&mut self) -> Result<(), H5Error> {
        for (_, dataset) in &mut self.datasets {
            if let H5Data::Stored(stored) = &dataset.data {
                dataset.data = stored.load()?;
            }
        }
        self.groups.iter_mut().try_for_each(|(_, g)| g.load_all())
    }

    /// The attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&H5Attr> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// The attribute called `name` if it is a scalar string (any storage).
    pub fn attr_str(&self, name: &str) -> Option<&str> {
        self.attr(name).and_then(H5Attr::as_str)
    }

    /// The attribute called `name` if it is a list of strings, including
    /// Keras's empty float64 list (see [`H5Attr::as_str_list`]).
    pub fn attr_str_list(&self, name: &str) -> Option<Vec<&str>> {
        self.attr(name).and_then(H5Attr::as_str_list)
    }

    /// Sets attribute `name`, replacing an existing one in place or appending.
    pub fn set_attr(&mut self, name: &str, value: H5Attr) {
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some((_, slot)) => *slot = value,
            None => self.attrs.push((name.to_string(), value)),
        }
    }

    /// The direct child group called `name`.
    fn child(&self, name: &str) -> Option<&H5Group> {
        self.groups.iter().find(|(n, _)| n == name).map(|(_, g)| g)
    }

    /// The direct child group called `name`, mutably.
    fn child_mut(&mut self, name: &str) -> Option<&mut H5Group> {
        self.groups.iter_mut().find(|(n, _)| n == name).map(|(_, g)| g)
    }

    /// The group at `path` (`"model_weights/dense"`); `""` is this group.
    pub fn group(&self, path: &str) -> Option<&H5Group> {
        components(path).try_fold(self, |g, c| g.child(c))
    }

    /// The group at `path`, mutably.
    pub fn group_mut(&mut self, path: &str) -> Option<&mut H5Group> {
        components(path).try_fold(self, |g, c| g.child_mut(c))
    }

    /// The group at `path`, creating it and any missing parents (appended
    /// after existing children).
    pub fn ensure_group(&mut self, path: &str) -> &mut H5Group {
        components(path).fold(self, |g, c| {
            let index = match g.groups.iter().position(|(n, _)| n == c) {
                Some(i) => i,
                None => {
                    g.groups.push((c.to_string(), H5Group::new()));
                    g.groups.len() - 1
                }
            };
            &mut g.groups[index].1
        })
    }

    /// Puts `group` at `path`, creating missing parents; an existing group of
    /// that name is replaced in place. An empty `path` does nothing.
    pub fn insert_group(&mut self, path: &str, group: H5Group) {
        if let Some((parents, name)) = split_last(path) {
            let parent = self.ensure_group(&parents.join("/"));
            match parent.child_mut(name) {
                Some(slot) => *slot = group,
                None => parent.groups.push((name.to_string(), group)),
            }
        }
    }

    /// The dataset at `path` (`"model_weights/dense/dense/kernel:0"`).
    pub fn dataset(&self, path: &str) -> Option<&H5Dataset> {
        let (parents, name) = split_last(path)?;
        let parent = parents.into_iter().try_fold(self, |g, c| g.child(c))?;
        parent.datasets.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }

    /// Puts `dataset` at `path`, creating missing parent groups; an existing
    /// dataset of that name is replaced in place. An empty `path` does nothing.
    pub fn insert_dataset(&mut self, path: &str, dataset: H5Dataset) {
        if let Some((parents, name)) = split_last(path) {
            let parent = self.ensure_group(&parents.join("/"));
            match parent.datasets.iter_mut().find(|(n, _)| n == name) {
                Some((_, slot)) => *slot = dataset,
                None => parent.datasets.push((name.to_string(), dataset)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_ignore_leading_and_doubled_slashes() {
        let mut root = H5Group::new();
        root.insert_dataset("/a//b/c:0", H5Dataset::scalar_i64(3));
        assert_eq!(root.groups.len(), 1);
        assert!(root.group("a/b").is_some());
        assert!(std::ptr::eq(root.group("").unwrap(), &root));
        assert_eq!(root.dataset("a/b/c:0").unwrap().as_i64(), Some(&[3][..]));
        assert_eq!(root.dataset("/a/b//c:0"), root.dataset("a/b/c:0"));
        assert!(root.dataset("a/b").is_none());
        assert!(root.dataset("").is_none());
        assert!(root.group("a/b/c:0").is_none());
    }

    #[test]
    fn inserts_replace_in_place_and_keep_order() {
        let mut root = H5Group::new();
        root.ensure_group("x");
        root.ensure_group("y");
        root.insert_dataset("x/d", H5Dataset::scalar_f32(1.0));
        root.insert_dataset("x/d", H5Dataset::scalar_f32(2.0));
        root.insert_group("y", H5Group::new());
        root.group_mut("y").unwrap().set_attr("k", H5Attr::var_ascii("v"));
        root.group_mut("y").unwrap().set_attr("k", H5Attr::var_utf8("w"));
        let names: Vec<&str> = root.groups.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x", "y"]);
        assert_eq!(root.group("x").unwrap().datasets.len(), 1);
        assert_eq!(root.dataset("x/d").unwrap().as_f32(), Some(&[2.0][..]));
        assert_eq!(
            root.group("y").unwrap().attrs,
            [("k".to_string(), H5Attr::var_utf8("w"))]
        );
    }

    #[test]
    fn name_lists_follow_keras() {
        assert_eq!(
            H5Attr::name_list(Vec::<String>::new()),
            H5Attr::F64Array(Vec::new())
        );
        let names = H5Attr::name_list(["a", "b"]);
        assert_eq!(
            names,
            H5Attr::StrArray(vec!["a".into(), "b".into()], StrType::VarAscii)
        );
        assert_eq!(names.as_str_list(), Some(vec!["a", "b"]));
        assert_eq!(H5Attr::F64Array(Vec::new()).as_str_list(), Some(Vec::new()));
        assert_eq!(H5Attr::F64Array(vec![1.0]).as_str_list(), None);
        assert_eq!(H5Attr::var_ascii("s").as_str_list(), None);
        assert_eq!(names.as_str(), None);
    }

    #[test]
    fn shape_len_counts_scalars_and_catches_overflow() {
        assert_eq!(H5Dataset::scalar_i64(1).shape_len(), Some(1));
        assert_eq!(H5Dataset::f32(vec![3, 0], Vec::new()).shape_len(), Some(0));
        assert_eq!(H5Dataset::f32(vec![u64::MAX, 2], Vec::new()).shape_len(), None);
    }
}
