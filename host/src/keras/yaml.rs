//! YAML ⇄ JSON values, for architectures in the YAML Keras ≤ 2.5 wrote with `to_yaml`.
//!
//! Written with serde-saphyr, whose output PyYAML (YAML 1.1) reads back unchanged
//! (`1.0e-7` stays a float, `"yes"` stays a string), so `yaml.safe_load` gives the same
//! config. Read as data only — tags never construct objects — and under budgets, so alias
//! bombs and deep nesting fail fast with an error instead of exhausting memory.

use super::json::Node;
use super::KerasError;
use serde_json::Value;

/// Deepest nesting accepted (a Keras config nests about ten levels).
pub const MAX_DEPTH: usize = 64;
/// Most parser events accepted (a six-layer config has about a thousand).
pub const MAX_EVENTS: usize = 200_000;
/// Most alias references accepted (Keras writes none, PyYAML a few for shared values).
pub const MAX_ALIASES: usize = 1_000;

/// The YAML text of `node`.
pub fn to_yaml(node: &Node) -> Result<String, KerasError> {
    serde_saphyr::to_string(node).map_err(|e| KerasError::Yaml {
        path: "(output)".into(),
        message: e.to_string(),
    })
}

/// Parses YAML text from `file` into a JSON value, within the budgets above.
pub fn parse(text: &str, file: &str) -> Result<Value, KerasError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_events = MAX_EVENTS;
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    budget.max_nodes = MAX_EVENTS;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // One-line messages: the error names the line and column.
    options.with_snippet = false;
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|e| KerasError::Yaml {
        path: file.to_string(),
        message: in_user_terms(&e),
    })
}

/// The parser's message, without its advice to programmers (which functions or
/// options of the library to use instead).
fn in_user_terms(mut e: &serde_saphyr::Error) -> String {
    while let serde_saphyr::Error::WithSnippet { error, .. } = e {
        e = error;
    }
    let at = e
        .location()
        .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
        .unwrap_or_default();
    let text = e.to_string();
    match e {
        serde_saphyr::Error::MultipleDocuments { .. } => {
            format!("the file holds more than one YAML document{at}; an architecture is one")
        }
        serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
            format!("key {key:?} appears twice in one mapping{at}")
        }
        serde_saphyr::Error::DuplicateMappingKey { key: None, .. } => {
            format!("a key appears twice in one mapping{at}")
        }
        _ => text.lines().next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_pyyaml_sensitive_scalars() {
        let node = Node::map([
            ("eps", Node::Float(1e-7)),
            ("word", Node::str("yes")),
            ("none", Node::Null),
            ("shape", Node::List(vec![Node::Null, Node::Int(784)])),
        ]);
        let text = to_yaml(&node).unwrap();
        assert!(text.contains("1.0e-7"), "{text}");
        let back = parse(&text, "x.yaml").unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(&node.to_json()).unwrap());
    }

    #[test]
    fn alias_bomb_and_deep_nesting_fail_fast() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let start = std::time::Instant::now();
        let err = parse(&bomb, "bomb.yaml").unwrap_err();
        assert!(err.to_string().starts_with("bomb.yaml: invalid YAML"), "{err}");
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&deep, "deep.yaml").is_err());
        assert!(start.elapsed().as_secs() < 2);
    }
}
