//! JSON as Keras writes it: an ordered tree ([`Node`]) serialized with Python's
//! `json.dumps` spacing (`", "` and `": "`), and parsing with clear errors.

use super::KerasError;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::io;

/// A JSON value whose objects keep their keys in the order given, so configs come out
/// in the order Keras writes them (serde_json's own `Value` sorts keys).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    List(Vec<Node>),
    /// An object, keys in order.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// An object from `(key, value)` pairs.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Node)>) -> Node {
        Node::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string.
    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }

    /// A float written as the shortest decimal that reads back as the same `f32`
    /// (`0.2`, not `0.20000000298023224`), as Python writes the literals users typed.
    pub fn f32(v: f32) -> Node {
        Node::Float(format!("{v}").parse().unwrap_or(v as f64))
    }

    /// A Keras shape with the batch dimension first: `[null, 784]`.
    pub fn batch_shape(dims: &[usize]) -> Node {
        Node::List(
            std::iter::once(Node::Null)
                .chain(dims.iter().map(|&d| Node::Int(d as i64)))
                .collect(),
        )
    }

    /// Adds or replaces `key` in an object (no effect on other nodes).
    pub fn set(&mut self, key: &str, value: Node) {
        if let Node::Map(pairs) = self {
            match pairs.iter_mut().find(|(k, _)| k == key) {
                Some((_, slot)) => *slot = value,
                None => pairs.push((key.to_string(), value)),
            }
        }
    }

    /// The text Python's `json.dumps` writes for this value.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
        // Writing to a Vec cannot fail, and every Node is serializable.
        if self.serialize(&mut ser).is_err() {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Int(i) => s.serialize_i64(*i),
            Node::Float(f) => s.serialize_f64(*f),
            Node::Str(v) => s.serialize_str(v),
            Node::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(pairs) => {
                let mut map = s.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// serde_json formatting with Python's default separators.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Parses JSON text from `file`. Python writes `NaN` and `Infinity` for non-finite
/// floats, which are not JSON; the error says so when that is the cause.
pub fn parse(text: &str, file: &str) -> Result<Value, KerasError> {
    serde_json::from_str(text).map_err(|e| {
        let mut message = e.to_string();
        if ["NaN", "Infinity"].iter().any(|w| text.contains(w)) {
            message.push_str(
                " (NaN and Infinity are not valid JSON: the configuration holds a non-finite number)",
            );
        }
        KerasError::Json {
            path: file.to_string(),
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_python_spacing_in_order() {
        let node = Node::map([
            ("b", Node::List(vec![Node::Null, Node::Int(784)])),
            ("a", Node::f32(0.2)),
            ("c", Node::map([("x", Node::Bool(false)), ("y", Node::str("s"))])),
        ]);
        assert_eq!(
            node.to_json(),
            r#"{"b": [null, 784], "a": 0.2, "c": {"x": false, "y": "s"}}"#
        );
    }

    #[test]
    fn nan_is_named() {
        let err = parse(r#"{"rate": NaN}"#, "m.json").unwrap_err().to_string();
        assert!(err.starts_with("m.json: invalid JSON"), "{err}");
        assert!(err.contains("NaN and Infinity are not valid JSON"), "{err}");
        assert!(err.contains("column"), "{err}");
    }
}
