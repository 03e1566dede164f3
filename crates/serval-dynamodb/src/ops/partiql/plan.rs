//! Statements rewritten into the item, query and scan requests that run them.

use super::parse::{Cond, Operand, Seg, Stmt};
use crate::error::{self, Result};
use crate::request::{str_of, Body};
use crate::value::{item_to_json, Item, Value};
use crate::DynamoDb;
use base64::Engine;
use serde_json::{json, Map, Value as Json};
use serval_core::RequestContext;

/// Names and values of a rewritten expression.
#[derive(Default)]
pub(super) struct Names {
    pub(super) names: Map<String, Json>,
    values: Map<String, Json>,
}

impl Names {
    fn name(&mut self, n: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == Some(n)) {
            return k.clone();
        }
        let k = format!("#p{}", self.names.len());
        self.names.insert(k.clone(), json!(n));
        k
    }

    fn value(&mut self, v: &Value) -> String {
        let k = format!(":p{}", self.values.len());
        self.values.insert(k.clone(), v.to_json());
        k
    }

    pub(super) fn path(&mut self, segs: &[Seg]) -> String {
        let mut out = String::new();
        for s in segs {
            match s {
                Seg::Name(n) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&self.name(n));
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn operand(&mut self, o: &Operand) -> String {
        match o {
            Operand::Path(p) => self.path(p),
            Operand::Lit(v) => self.value(v),
            Operand::Func(f, args) => {
                let args: Vec<String> = args.iter().map(|a| self.operand(a)).collect();
                format!("{f}({})", args.join(", "))
            }
            Operand::Arith(a, op, b) => {
                format!("{} {op} {}", self.operand(a), self.operand(b))
            }
        }
    }

    fn cond(&mut self, c: &Cond) -> String {
        match c {
            Cond::And(v) => v
                .iter()
                .map(|c| format!("({})", self.cond(c)))
                .collect::<Vec<_>>()
                .join(" AND "),
            Cond::Or(v) => v
                .iter()
                .map(|c| format!("({})", self.cond(c)))
                .collect::<Vec<_>>()
                .join(" OR "),
            Cond::Not(c) => format!("NOT ({})", self.cond(c)),
            Cond::Cmp(a, op, b) => format!("{} {op} {}", self.operand(a), self.operand(b)),
            Cond::Between(a, lo, hi) => format!(
                "{} BETWEEN {} AND {}",
                self.operand(a),
                self.operand(lo),
                self.operand(hi)
            ),
            Cond::In(a, list) => {
                let a = self.operand(a);
                let list: Vec<String> = list.iter().map(|o| self.operand(o)).collect();
                format!("{a} IN ({})", list.join(", "))
            }
            Cond::Func(f, args) => {
                let f = if f == "exists" { "attribute_exists" } else { f };
                let args: Vec<String> = args.iter().map(|a| self.operand(a)).collect();
                format!("{f}({})", args.join(", "))
            }
            Cond::Missing(o, negated) => {
                let p = self.operand(o);
                if *negated {
                    format!("attribute_exists({p})")
                } else {
                    format!("attribute_not_exists({p})")
                }
            }
        }
    }

    fn into_body(self, body: &mut Body) {
        if !self.names.is_empty() {
            body.insert("ExpressionAttributeNames".into(), Json::Object(self.names));
        }
        if !self.values.is_empty() {
            body.insert(
                "ExpressionAttributeValues".into(),
                Json::Object(self.values),
            );
        }
    }
}

fn conjuncts(c: &Cond) -> Vec<&Cond> {
    match c {
        Cond::And(v) => v.iter().flat_map(conjuncts).collect(),
        other => vec![other],
    }
}

/// `attr = literal` (either way round) on a top-level attribute.
fn equality(c: &Cond) -> Option<(&str, &Value)> {
    match c {
        Cond::Cmp(Operand::Path(p), "=", Operand::Lit(v))
        | Cond::Cmp(Operand::Lit(v), "=", Operand::Path(p)) => match p.as_slice() {
            [Seg::Name(n)] => Some((n.as_str(), v)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the condition is a key condition on `attr` (a comparison with a
/// literal, BETWEEN or begins_with).
fn is_range_condition(c: &Cond, attr: &str) -> bool {
    let on_attr = |o: &Operand| matches!(o, Operand::Path(p) if matches!(p.as_slice(), [Seg::Name(n)] if n == attr));
    match c {
        Cond::Cmp(a, op, Operand::Lit(_)) => on_attr(a) && *op != "<>",
        Cond::Between(a, Operand::Lit(_), Operand::Lit(_)) => on_attr(a),
        Cond::Func(f, args) if f == "begins_with" => {
            args.len() == 2 && on_attr(&args[0]) && matches!(args[1], Operand::Lit(_))
        }
        _ => false,
    }
}

/// The primary key of an UPDATE/DELETE (or single-item SELECT) and the
/// conditions left over.
pub(super) fn key_and_rest<'a>(
    db: &DynamoDb,
    ctx: &RequestContext,
    table: &str,
    cond: &'a Cond,
) -> Result<(Item, Vec<&'a Cond>)> {
    let t = db.table(ctx, table)?;
    let keys = t.read().meta.keys.clone();
    let mut key = Item::new();
    let mut rest = Vec::new();
    for c in conjuncts(cond) {
        match equality(c) {
            Some((n, v)) if keys.has(n) && !key.contains_key(n) => {
                key.insert(n.to_string(), v.clone());
            }
            _ => rest.push(c),
        }
    }
    if key.len() != 1 + usize::from(keys.range.is_some()) {
        return Err(error::validation(
            "Where clause does not contain a mandatory equality on all key attributes",
        ));
    }
    Ok((key, rest))
}

/// A request rewritten from a statement: which operation and its body.
pub(super) struct Plan {
    pub(super) op: &'static str,
    pub(super) body: Body,
    pub(super) insert: bool,
}

pub(super) fn plan(db: &DynamoDb, ctx: &RequestContext, stmt: &Stmt, req: &Body) -> Result<Plan> {
    let mut body = Body::new();
    let mut names = Names::default();
    for f in [
        "ReturnConsumedCapacity",
        "ReturnValuesOnConditionCheckFailure",
    ] {
        if let Some(v) = req.get(f) {
            body.insert(f.into(), v.clone());
        }
    }
    let plan = match stmt {
        Stmt::Select {
            table,
            index,
            proj,
            cond,
        } => {
            body.insert("TableName".into(), json!(table));
            if let Some(ix) = index {
                body.insert("IndexName".into(), json!(ix));
            }
            if let Some(list) = proj {
                let p: Vec<String> = list.iter().map(|segs| names.path(segs)).collect();
                body.insert("ProjectionExpression".into(), json!(p.join(", ")));
            }
            for f in ["ConsistentRead", "Limit"] {
                if let Some(v) = req.get(f) {
                    body.insert(f.into(), v.clone());
                }
            }
            if let Some(tok) = str_of(req, "NextToken") {
                let key = base64::engine::general_purpose::STANDARD
                    .decode(tok)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Json>(&b).ok())
                    .ok_or_else(|| error::validation("Invalid NextToken"))?;
                body.insert("ExclusiveStartKey".into(), key);
            }
            let t = db.table(ctx, table)?;
            let keys = {
                let st = t.read();
                match index {
                    Some(ix) => st.meta.index(ix).map(|i| i.keys.clone()).ok_or_else(|| {
                        error::validation(format!(
                            "The table does not have the specified index: {ix}"
                        ))
                    })?,
                    None => st.meta.keys.clone(),
                }
            };
            let mut op = "Scan";
            if let Some(cond) = cond {
                let parts = conjuncts(cond);
                let hash_eq = parts
                    .iter()
                    .position(|c| equality(c).is_some_and(|(n, _)| n == keys.hash.name));
                match hash_eq {
                    Some(h) => {
                        op = "Query";
                        let mut key_parts = vec![names.cond(parts[h])];
                        let range_at = keys.range.as_ref().and_then(|r| {
                            parts
                                .iter()
                                .enumerate()
                                .position(|(i, c)| i != h && is_range_condition(c, &r.name))
                        });
                        if let Some(r) = range_at {
                            key_parts.push(names.cond(parts[r]));
                        }
                        body.insert(
                            "KeyConditionExpression".into(),
                            json!(key_parts.join(" AND ")),
                        );
                        let rest: Vec<String> = parts
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != h && Some(*i) != range_at)
                            .map(|(_, c)| format!("({})", names.cond(c)))
                            .collect();
                        if !rest.is_empty() {
                            body.insert("FilterExpression".into(), json!(rest.join(" AND ")));
                        }
                    }
                    None => {
                        body.insert("FilterExpression".into(), json!(names.cond(cond)));
                    }
                }
            }
            Plan {
                op,
                body,
                insert: false,
            }
        }
        Stmt::Insert { table, item } => {
            let t = db.table(ctx, table)?;
            let hash = t.read().meta.keys.hash.name.clone();
            body.insert("TableName".into(), json!(table));
            body.insert("Item".into(), item_to_json(item));
            let h = names.name(&hash);
            body.insert(
                "ConditionExpression".into(),
                json!(format!("attribute_not_exists({h})")),
            );
            Plan {
                op: "PutItem",
                body,
                insert: true,
            }
        }
        Stmt::Update {
            table,
            sets,
            removes,
            cond,
            returning,
        } => {
            let (key, rest) = key_and_rest(db, ctx, table, cond)?;
            body.insert("TableName".into(), json!(table));
            body.insert("Key".into(), item_to_json(&key));
            let mut set_parts = Vec::new();
            let mut add_parts = Vec::new();
            let mut del_parts = Vec::new();
            for (path, value) in sets {
                let p = names.path(path);
                match value {
                    Operand::Func(f, args) if f == "set_add" && args.len() == 2 => {
                        add_parts.push(format!("{p} {}", names.operand(&args[1])));
                    }
                    Operand::Func(f, args) if f == "set_delete" && args.len() == 2 => {
                        del_parts.push(format!("{p} {}", names.operand(&args[1])));
                    }
                    v => set_parts.push(format!("{p} = {}", names.operand(v))),
                }
            }
            let mut update = String::new();
            for (kw, parts) in [
                ("SET", &set_parts),
                ("ADD", &add_parts),
                ("DELETE", &del_parts),
            ] {
                if !parts.is_empty() {
                    update.push_str(&format!("{kw} {} ", parts.join(", ")));
                }
            }
            if !removes.is_empty() {
                let r: Vec<String> = removes.iter().map(|p| names.path(p)).collect();
                update.push_str(&format!("REMOVE {}", r.join(", ")));
            }
            body.insert("UpdateExpression".into(), json!(update.trim()));
            let mut c = vec![format!(
                "attribute_exists({})",
                names.name(key.keys().next().map(String::as_str).unwrap_or_default())
            )];
            c.extend(rest.iter().map(|r| format!("({})", names.cond(r))));
            body.insert("ConditionExpression".into(), json!(c.join(" AND ")));
            if let Some(rv) = returning {
                body.insert("ReturnValues".into(), json!(rv));
            }
            Plan {
                op: "UpdateItem",
                body,
                insert: false,
            }
        }
        Stmt::Delete {
            table,
            cond,
            returning,
        } => {
            let (key, rest) = key_and_rest(db, ctx, table, cond)?;
            body.insert("TableName".into(), json!(table));
            body.insert("Key".into(), item_to_json(&key));
            let mut c = vec![format!(
                "attribute_exists({})",
                names.name(key.keys().next().map(String::as_str).unwrap_or_default())
            )];
            c.extend(rest.iter().map(|r| format!("({})", names.cond(r))));
            body.insert("ConditionExpression".into(), json!(c.join(" AND ")));
            if let Some(rv) = returning {
                body.insert("ReturnValues".into(), json!(rv));
            }
            Plan {
                op: "DeleteItem",
                body,
                insert: false,
            }
        }
    };
    let mut plan = plan;
    names.into_body(&mut plan.body);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    #[test]
    fn rewrites_conditions() {
        let stmt = parse(
            "SELECT * FROM t WHERE a = 'x' AND (b < 3 OR c IS MISSING)",
            &[],
        );
        let Ok(Stmt::Select { cond: Some(c), .. }) = stmt else {
            panic!("parse failed");
        };
        let mut n = Names::default();
        assert_eq!(
            n.cond(&c),
            "(#p0 = :p0) AND ((#p1 < :p1) OR (attribute_not_exists(#p2)))"
        );
    }
}
