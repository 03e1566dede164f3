//! `patchOperations` as API Gateway applies them: `op` add/replace/remove/
//! move/copy on a `/`-separated path (`~1` escapes `/`) into a record's JSON
//! form; string values are converted to the type already at the path.

use crate::error::{bad, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One patch operation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PatchOp {
    /// `add`, `remove`, `replace`, `move`, `copy`, `test`.
    pub op: String,
    /// Target path.
    #[serde(default)]
    pub path: String,
    /// New value (always text on the wire).
    pub value: Option<String>,
    /// Source path of `move`/`copy`.
    pub from: Option<String>,
}

/// The path's segments, unescaped.
pub fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// A text value as the type of `like` (bool, number), else text.
fn typed(value: &str, like: Option<&Value>) -> Value {
    match like {
        Some(Value::Bool(_)) => value
            .parse::<bool>()
            .map(Value::Bool)
            .unwrap_or_else(|_| Value::String(value.into())),
        Some(Value::Number(_)) => serde_json::from_str::<serde_json::Number>(value)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(value.into())),
        _ => Value::String(value.into()),
    }
}

fn parent<'a>(
    root: &'a mut Value,
    segs: &[String],
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let mut cur = root;
    for s in segs {
        let obj = cur.as_object_mut()?;
        cur = obj
            .entry(s.clone())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    cur.as_object_mut()
}

/// Applies operations to a value in place.
pub fn apply_value(doc: &mut Value, ops: &[PatchOp]) -> Result<()> {
    for op in ops {
        let segs = segments(&op.path);
        let Some((last, dirs)) = segs.split_last() else {
            return Err(bad(format!("Invalid patch path {}", op.path)));
        };
        match op.op.as_str() {
            "replace" | "add" => {
                let v = op.value.clone().unwrap_or_default();
                let obj = parent(doc, dirs)
                    .ok_or_else(|| bad(format!("Invalid patch path {}", op.path)))?;
                let typed_v = typed(&v, obj.get(last));
                obj.insert(last.clone(), typed_v);
            }
            "remove" => {
                if let Some(obj) = parent(doc, dirs) {
                    obj.remove(last);
                }
            }
            "test" => {}
            other => {
                return Err(bad(format!(
                "Invalid patch operation specified. Must be 'add'|'remove'|'replace', got {other}"
            )))
            }
        }
    }
    Ok(())
}

/// Applies operations to a record through its JSON form.
pub fn apply<T: Serialize + DeserializeOwned>(rec: &T, ops: &[PatchOp]) -> Result<T> {
    let mut doc = serde_json::to_value(rec).map_err(|e| bad(e.to_string()))?;
    apply_value(&mut doc, ops)?;
    serde_json::from_value(doc).map_err(|e| bad(format!("Invalid patch value: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_keep_types() {
        let mut v = serde_json::json!({"name": "a", "enabled": true, "n": 1, "vars": {}});
        let ops = vec![
            PatchOp {
                op: "replace".into(),
                path: "/name".into(),
                value: Some("b".into()),
                from: None,
            },
            PatchOp {
                op: "replace".into(),
                path: "/enabled".into(),
                value: Some("false".into()),
                from: None,
            },
            PatchOp {
                op: "replace".into(),
                path: "/n".into(),
                value: Some("2.5".into()),
                from: None,
            },
            PatchOp {
                op: "replace".into(),
                path: "/vars/a~1b".into(),
                value: Some("x".into()),
                from: None,
            },
        ];
        apply_value(&mut v, &ops).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "b", "enabled": false, "n": 2.5, "vars": {"a/b": "x"}})
        );
    }
}
