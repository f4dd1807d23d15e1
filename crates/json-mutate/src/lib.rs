//! Structure-aware fuzzing of file decoders: every field of a valid JSON document, changed in
//! each of [`MUTATIONS`] ways, handed to a check in turn.
//!
//! Decoders that take a checksum-valid file must still validate its structure; random bytes
//! rarely get past the parser to test that. Starting from a valid document and changing one
//! field at a time does, and doing every field and every change (not a random sample) means a
//! failure shows on every run, not on one CI run in ten.
//!
//! ```
//! let valid = serde_json::json!({ "rows": 2, "data": [1.0, 2.0] });
//! let mut refused = 0;
//! let cases = json_mutate::for_each_change(&valid, |changed| {
//!     let rows = changed["rows"].as_u64();
//!     let len = changed["data"].as_array().map(Vec::len);
//!     if rows.zip(len).is_none_or(|(r, n)| r as usize != n) {
//!         refused += 1;
//!     }
//! });
//! // "rows", "data", "data/0", "data/1": four fields, nine changes each.
//! assert_eq!(cases, 4 * json_mutate::MUTATIONS);
//! assert!(refused > 0);
//! ```

use serde_json::{Value, json};

/// The changes made to each field: a number to 0, −1, 2^62, u64::MAX or 1e300; an array
/// shortened or lengthened (by a copy of its first element); a string; an empty array.
pub const MUTATIONS: usize = 9;

/// Paths to every value inside `v`: every number, string and boolean, and every array (whose
/// first three elements are walked into: enough to reach every nested field).
///
/// ```
/// let v = serde_json::json!({ "a": [1, { "b": true }] });
/// let paths = json_mutate::leaves(&v);
/// assert_eq!(paths, vec![vec!["a"], vec!["a", "0"], vec!["a", "1", "b"]]);
/// ```
pub fn leaves(v: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    at.push(k.clone());
                    walk(x, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                out.push(at.clone());
                for (i, x) in a.iter().enumerate().take(3) {
                    at.push(i.to_string());
                    walk(x, at, out);
                    at.pop();
                }
            }
            Value::Number(_) | Value::String(_) | Value::Bool(_) => out.push(at.clone()),
            Value::Null => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// The value at `path` (as [`leaves`] gives it), if there is one.
///
/// ```
/// let mut v = serde_json::json!({ "a": [1, 2] });
/// *json_mutate::at_path(&mut v, &["a".into(), "1".into()]).unwrap() = 5.into();
/// assert_eq!(v, serde_json::json!({ "a": [1, 5] }));
/// ```
pub fn at_path<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| match v {
        Value::Array(a) => a.get_mut(k.parse::<usize>().ok()?),
        Value::Object(m) => m.get_mut(k),
        _ => None,
    })
}

/// Change `target` in way `mutation` (`0..MUTATIONS`; an array change of a non-array, and any
/// larger number, makes it an empty array).
///
/// ```
/// let mut v = serde_json::json!([1, 2]);
/// json_mutate::mutate(&mut v, 6);
/// assert_eq!(v, serde_json::json!([1, 2, 1]));
/// ```
pub fn mutate(target: &mut Value, mutation: usize) {
    match (mutation, &mut *target) {
        (0, _) => *target = json!(0),
        (1, _) => *target = json!(-1),
        (2, _) => *target = json!(1u64 << 62),
        (3, _) => *target = json!(u64::MAX),
        (4, _) => *target = json!(1e300),
        (5, Value::Array(a)) => {
            a.pop();
        }
        (6, Value::Array(a)) => {
            let x = a.first().cloned().unwrap_or(json!(0));
            a.push(x);
        }
        (7, _) => *target = json!("x"),
        _ => *target = json!([]),
    }
}

/// Hands every one-field change of `valid` to `check`, in turn; returns how many there were.
pub fn for_each_change(valid: &Value, mut check: impl FnMut(&Value)) -> usize {
    let paths = leaves(valid);
    let mut cases = 0;
    for path in &paths {
        for mutation in 0..MUTATIONS {
            let mut changed = valid.clone();
            if let Some(target) = at_path(&mut changed, path) {
                mutate(target, mutation);
                check(&changed);
                cases += 1;
            }
        }
    }
    cases
}
