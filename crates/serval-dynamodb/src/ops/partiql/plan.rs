//! Statements rewritten into the item, query and scan requests that run them:
//! the WHERE clause split into a key and conditions, conditions into
//! expressions with generated names and values.

use super::ast::{Cond, IsKind, Operand, OrderTerm, Seg, Stmt};
use crate::error::{self, Result};
use crate::model::{KeySchema, TableMeta};
use crate::request::{str_of, Body};
use crate::value::{item_from_json, item_to_json, Item, Value};
use crate::DynamoDb;
use base64::Engine;
use serde_json::{json, Map, Value as Json};
use serval_core::{AwsError, RequestContext};

/// Names and values of a rewritten expression.
#[derive(Default)]
pub(super) struct Names {
    names: Map<String, Json>,
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

    fn path(&mut self, segs: &[Seg]) -> String {
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
                let args: Vec<String> = args.iter().map(|a| self.operand(a)).collect();
                format!("{f}({})", args.join(", "))
            }
            Cond::Is(o, IsKind::Missing, negated) => {
                let p = self.operand(o);
                if *negated {
                    format!("attribute_exists({p})")
                } else {
                    format!("attribute_not_exists({p})")
                }
            }
            Cond::Is(o, IsKind::Type(t), negated) => {
                let p = self.operand(o);
                let v = self.value(&Value::S((*t).to_string()));
                let test = format!("attribute_type({p}, {v})");
                if *negated {
                    format!("NOT ({test})")
                } else {
                    test
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

fn top_name(o: &Operand) -> Option<&str> {
    match o {
        Operand::Path(p) => match p.as_slice() {
            [Seg::Name(n)] => Some(n.as_str()),
            _ => None,
        },
        _ => None,
    }
}

/// `attr = literal` (either way round) on a top-level attribute; with
/// `one_in`, `attr IN [literal]` too.
fn equality(c: &Cond, one_in: bool) -> Option<(&str, &Value)> {
    match c {
        Cond::Cmp(a, "=", Operand::Lit(v)) | Cond::Cmp(Operand::Lit(v), "=", a) => {
            Some((top_name(a)?, v))
        }
        Cond::In(a, list) if one_in => match list.as_slice() {
            [Operand::Lit(v)] => Some((top_name(a)?, v)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the condition is a key condition on `attr` (a comparison with a
/// literal, BETWEEN or begins_with).
fn is_range_condition(c: &Cond, attr: &str) -> bool {
    let on_attr = |o: &Operand| top_name(o) == Some(attr);
    match c {
        Cond::Cmp(a, op, Operand::Lit(_)) => on_attr(a) && *op != "<>",
        Cond::Between(a, Operand::Lit(_), Operand::Lit(_)) => on_attr(a),
        Cond::Func(f, args) if f == "begins_with" => {
            args.len() == 2 && on_attr(&args[0]) && matches!(args[1], Operand::Lit(_))
        }
        _ => false,
    }
}

/// A WHERE clause split into an item's key and the conditions left over.
pub(super) struct KeySplit<'a> {
    pub key: Item,
    pub rest: Vec<&'a Cond>,
    /// A key attribute given a second, different value (kept in `rest`).
    pub conflict: Option<String>,
}

impl KeySplit<'_> {
    /// Whether every key attribute has its value.
    pub fn complete(&self, keys: &KeySchema) -> bool {
        self.key.len() == 1 + usize::from(keys.range.is_some())
    }
}

/// Splits `cond` on the key schema. An equality repeated with the same
/// value is the key again; with another value it is a condition.
pub(super) fn split_key<'a>(
    keys: &KeySchema,
    cond: Option<&'a Cond>,
    one_in: bool,
) -> KeySplit<'a> {
    let mut out = KeySplit {
        key: Item::new(),
        rest: Vec::new(),
        conflict: None,
    };
    for c in cond.map(conjuncts).unwrap_or_default() {
        match equality(c, one_in) {
            Some((n, v)) if keys.has(n) => match out.key.get(n) {
                None => {
                    out.key.insert(n.to_string(), v.clone());
                }
                Some(have) if have.equals(v) => {}
                Some(_) => {
                    out.conflict.get_or_insert_with(|| n.to_string());
                    out.rest.push(c);
                }
            },
            _ => out.rest.push(c),
        }
    }
    out
}

/// The key and conditions of an UPDATE or DELETE.
fn write_key<'a>(meta: &TableMeta, cond: Option<&'a Cond>) -> Result<KeySplit<'a>> {
    let split = split_key(&meta.keys, cond, false);
    if !split.complete(&meta.keys) {
        return Err(error::validation(
            "Where clause does not contain a mandatory equality on all key attributes",
        ));
    }
    if let Some(n) = &split.conflict {
        return Err(error::validation(format!(
            "Multiple conditions on same key {n}. Only single item Update/Insert/Delete are supported"
        )));
    }
    Ok(split)
}

/// The key of a SELECT in a batch or a transaction: the WHERE clause must
/// name one item by its key and say nothing else.
pub(super) fn read_key(meta: &TableMeta, cond: Option<&Cond>) -> Result<Option<Item>> {
    super::overlap::check(&meta.keys, cond)?;
    let split = split_key(&meta.keys, cond, true);
    Ok((split.complete(&meta.keys) && split.rest.is_empty()).then_some(split.key))
}

/// `SELECT ... ORDER BY`: the sort, and where a page resumes.
pub(super) struct Order {
    /// Attributes compared in turn, each with whether it sorts descending.
    pub keys: Vec<(String, bool)>,
    /// The key of the last item a previous page returned.
    pub after: Option<Item>,
    pub limit: Option<usize>,
}

/// A request rewritten from a statement: which operation and its body.
pub(super) struct Plan {
    pub op: &'static str,
    pub body: Body,
    pub insert: bool,
    /// A SELECT's projected paths: each result attribute is keyed by the
    /// path's last name (with its list indexes), as DynamoDB answers.
    pub proj: Option<Vec<Vec<Seg>>>,
    pub order: Option<Order>,
}

impl Plan {
    fn new(op: &'static str, body: Body) -> Plan {
        Plan {
            op,
            body,
            insert: false,
            proj: None,
            order: None,
        }
    }
}

fn decode_token(tok: &str) -> Result<Json> {
    base64::engine::general_purpose::STANDARD
        .decode(tok)
        .ok()
        .and_then(|b| serde_json::from_slice::<Json>(&b).ok())
        .ok_or_else(|| error::validation("Invalid NextToken"))
}

/// A NextToken carrying a key to continue after.
pub(super) fn encode_token(key: &Json) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.to_string())
}

/// How many conjuncts of `cond` pin the hash key to a value: an equality
/// counts one, `IN` one per value, an OR of equalities one per branch.
fn hash_conditions(cond: &Cond, hash: &str) -> usize {
    let eq = |c: &Cond| matches!(c, Cond::Cmp(a, "=", Operand::Lit(_)) | Cond::Cmp(Operand::Lit(_), "=", a) if top_name(a) == Some(hash));
    conjuncts(cond)
        .into_iter()
        .map(|c| match c {
            Cond::In(a, list) if top_name(a) == Some(hash) => list.len(),
            Cond::Or(branches) if branches.iter().all(eq) => branches.len(),
            c if eq(c) => 1,
            _ => 0,
        })
        .sum()
}

/// Checks an ORDER BY against what DynamoDB can order, and resolves it:
/// unnamed, the partition key sorts ascending and the sort key descending
/// (as DynamoDB answers); the table's key breaks ties on an index.
fn order_of(
    meta: &TableMeta,
    keys: &KeySchema,
    cond: Option<&Cond>,
    terms: &[OrderTerm],
) -> Result<Vec<(String, bool)>> {
    let Some(cond) = cond else {
        return Err(error::validation(
            "Must have WHERE clause in the statement when using ORDER BY clause.",
        ));
    };
    if let Some(t) = terms.iter().find(|t| !keys.has(&t.attr)) {
        return Err(error::validation(format!(
            "Attribute {} in ORDER BY clause must be part of the primary key",
            t.attr
        )));
    }
    let hash = &keys.hash.name;
    let count = hash_conditions(cond, hash);
    if count == 0 {
        return Err(error::validation(
            "Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.",
        ));
    }
    let named = |a: &str| terms.iter().find(|t| t.attr == a).map(|t| t.desc);
    if count > 1 && named(hash).is_none() {
        return Err(error::validation(
            "Must have hash key in ORDER BY clause when more than one hash key condition specified in WHERE clause.",
        ));
    }
    let mut out = vec![(hash.clone(), named(hash).unwrap_or(false))];
    if let Some(r) = &keys.range {
        out.push((r.name.clone(), named(&r.name).unwrap_or(true)));
    }
    for a in std::iter::once(&meta.keys.hash).chain(meta.keys.range.iter()) {
        if !out.iter().any(|(n, _)| *n == a.name) {
            out.push((a.name.clone(), false));
        }
    }
    Ok(out)
}

fn select_plan(
    db: &DynamoDb,
    ctx: &RequestContext,
    stmt: &Stmt,
    req: &Body,
    mut body: Body,
    names: &mut Names,
) -> Result<Plan> {
    let Stmt::Select {
        table,
        index,
        proj,
        cond,
        order,
    } = stmt
    else {
        return Err(error::internal("not a SELECT"));
    };
    let t = db.table(ctx, table)?;
    let st = t.read();
    let meta = &st.meta;
    let ix = match index {
        Some(name) => Some(
            meta.index(name)
                .ok_or_else(|| error::validation("The table does not have the specified index"))?,
        ),
        None => None,
    };
    let consistent = req.get("ConsistentRead").and_then(Json::as_bool) == Some(true);
    if let Some(ix) = ix {
        if ix.global && consistent {
            return Err(error::validation(
                "Strongly consistent read is not supported on Global Secondary Indexes",
            ));
        }
        if let (true, Some(list)) = (ix.global && ix.projection.kind != "ALL", proj) {
            let mut missing: Vec<&str> = Vec::new();
            for segs in list {
                let Some(Seg::Name(head)) = segs.first() else {
                    continue;
                };
                let projected = meta.keys.has(head)
                    || ix.keys.has(head)
                    || (ix.projection.kind == "INCLUDE"
                        && ix.projection.non_key.iter().any(|n| n == head));
                if !projected && !missing.contains(&head.as_str()) {
                    missing.push(head);
                }
            }
            if !missing.is_empty() {
                return Err(error::validation(format!(
                    "One or more parameter values were invalid: Global secondary index {} does not project [{}]",
                    ix.name,
                    missing.join(", ")
                )));
            }
        }
        // a local index reaches the table's item for attributes it does not project
        if !ix.global && proj.is_some() {
            body.insert("Select".into(), json!("ALL_ATTRIBUTES"));
        }
    }
    let keys = ix.map(|i| &i.keys).unwrap_or(&meta.keys);
    super::overlap::check(keys, cond.as_ref())?;
    body.insert("TableName".into(), json!(table));
    if let Some(ix) = index {
        body.insert("IndexName".into(), json!(ix));
    }
    if consistent {
        body.insert("ConsistentRead".into(), json!(true));
    }
    let token = str_of(req, "NextToken").map(decode_token).transpose()?;
    let limit = req.get("Limit");
    let ordered = if order.is_empty() {
        if let Some(l) = limit {
            body.insert("Limit".into(), l.clone());
        }
        if let Some(key) = token {
            body.insert("ExclusiveStartKey".into(), key);
        }
        None
    } else {
        let after = match token {
            Some(k) => {
                Some(item_from_json(&k).map_err(|_| error::validation("Invalid NextToken"))?)
            }
            None => None,
        };
        Some(Order {
            keys: order_of(meta, keys, cond.as_ref(), order)?,
            after,
            limit: limit.and_then(Json::as_u64).map(|l| l as usize),
        })
    };
    let mut op = "Scan";
    if let Some(cond) = cond {
        let parts = conjuncts(cond);
        let hash_eq = parts
            .iter()
            .position(|c| equality(c, false).is_some_and(|(n, _)| n == keys.hash.name));
        let range_at = hash_eq.and_then(|h| {
            keys.range.as_ref().and_then(|r| {
                parts
                    .iter()
                    .enumerate()
                    .position(|(i, c)| i != h && is_range_condition(c, &r.name))
            })
        });
        // A query's filter may not name a key attribute: a WHERE clause that
        // says more of the key than a key condition holds is a filtered scan.
        let key_names: Vec<&str> = std::iter::once(keys.hash.name.as_str())
            .chain(keys.range.as_ref().map(|r| r.name.as_str()))
            .collect();
        let query = hash_eq.filter(|&h| {
            parts.iter().enumerate().all(|(i, c)| {
                i == h || Some(i) == range_at || !super::overlap::mentions(c, &key_names)
            })
        });
        match query {
            Some(h) => {
                op = "Query";
                let mut key_parts = vec![names.cond(parts[h])];
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
    let mut plan = Plan::new(op, body);
    plan.proj = proj.clone();
    plan.order = ordered;
    Ok(plan)
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
    let mut plan = match stmt {
        Stmt::Select { .. } => select_plan(db, ctx, stmt, req, body, &mut names)?,
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
            let mut plan = Plan::new("PutItem", body);
            plan.insert = true;
            plan
        }
        Stmt::Update {
            table,
            sets,
            removes,
            cond,
            returning,
        } => {
            let t = db.table(ctx, table)?;
            let meta = t.read().meta.clone();
            let split = write_key(&meta, cond.as_ref())?;
            body.insert("TableName".into(), json!(table));
            body.insert("Key".into(), item_to_json(&split.key));
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
            // not an upsert: the item must be there
            let mut c = vec![format!(
                "attribute_exists({})",
                names.name(&meta.keys.hash.name)
            )];
            c.extend(split.rest.iter().map(|r| format!("({})", names.cond(r))));
            body.insert("ConditionExpression".into(), json!(c.join(" AND ")));
            if let Some(rv) = returning {
                body.insert("ReturnValues".into(), json!(rv));
            }
            Plan::new("UpdateItem", body)
        }
        Stmt::Delete {
            table,
            cond,
            returning,
        } => {
            let t = db.table(ctx, table)?;
            let meta = t.read().meta.clone();
            let split = write_key(&meta, cond.as_ref())?;
            body.insert("TableName".into(), json!(table));
            body.insert("Key".into(), item_to_json(&split.key));
            // Deleting an item that is not there succeeds, whatever the
            // further conditions: they are conditions on an item present.
            if !split.rest.is_empty() {
                let mut c = format!("attribute_not_exists({})", names.name(&meta.keys.hash.name));
                for r in &split.rest {
                    c = format!("{c} OR ({})", names.cond(r));
                }
                body.insert("ConditionExpression".into(), json!(c));
            }
            if let Some(rv) = returning {
                body.insert("ReturnValues".into(), json!(rv));
            }
            Plan::new("DeleteItem", body)
        }
        Stmt::Exists { .. } => return Err(exists_outside_transaction()),
    };
    names.into_body(&mut plan.body);
    Ok(plan)
}

/// EXISTS anywhere but in ExecuteTransaction.
pub(super) fn exists_outside_transaction() -> AwsError {
    error::validation("EXISTS can only be used in ExecuteTransaction write requests.")
}

/// `EXISTS(SELECT ...)` as a TransactWriteItems ConditionCheck: the WHERE
/// clause names one item by equalities on its key and says at least one
/// thing more, which must hold of the item.
pub(super) fn condition_check(db: &DynamoDb, ctx: &RequestContext, stmt: &Stmt) -> Result<Body> {
    let Stmt::Exists { table, index, cond } = stmt else {
        return Err(error::internal("not an EXISTS"));
    };
    if index.is_some() {
        return Err(error::validation(
            "Operations on indices are not supported in transactions",
        ));
    }
    let t = db.table(ctx, table)?;
    let meta = t.read().meta.clone();
    let split = split_key(&meta.keys, cond.as_ref(), false);
    if !split.complete(&meta.keys) || split.rest.is_empty() {
        return Err(error::validation(
            "EXISTS() must contain a single item read with additional condition",
        ));
    }
    let mut names = Names::default();
    let mut body = Body::new();
    body.insert("TableName".into(), json!(table));
    body.insert("Key".into(), item_to_json(&split.key));
    let c: Vec<String> = split
        .rest
        .iter()
        .map(|r| format!("({})", names.cond(r)))
        .collect();
    body.insert("ConditionExpression".into(), json!(c.join(" AND ")));
    names.into_body(&mut body);
    Ok(body)
}

/// A transaction's or a batch's SELECT as the GetItem of one item (the
/// caller projects the result).
pub(super) fn get_request(table: &str, key: &Item) -> Json {
    json!({ "TableName": table, "Key": item_to_json(key) })
}

/// The name a projected path's value is returned under: its last name with
/// the list indexes after it (`a.b[1]` is `b[1]`).
fn leaf_name(segs: &[Seg]) -> String {
    let last = segs
        .iter()
        .rposition(|s| matches!(s, Seg::Name(_)))
        .unwrap_or(0);
    let mut out = String::new();
    for s in &segs[last..] {
        match s {
            Seg::Name(n) => out.push_str(n),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn resolve<'a>(item: &'a Item, segs: &[Seg]) -> Option<&'a Value> {
    let (Seg::Name(first), rest) = segs.split_first()? else {
        return None;
    };
    let mut v = item.get(first)?;
    for s in rest {
        v = match (s, v) {
            (Seg::Name(n), Value::M(m)) => m.get(n)?,
            (Seg::Index(i), Value::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// An item as a SELECT with a projection list returns it.
pub(super) fn project(item: &Item, proj: &[Vec<Seg>]) -> Item {
    proj.iter()
        .filter_map(|segs| Some((leaf_name(segs), resolve(item, segs)?.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::statement::parse;
    use super::*;

    #[test]
    fn rewrites_conditions() {
        let stmt = parse(
            "SELECT * FROM t WHERE a = 'x' AND (b < 3 OR c IS MISSING) AND d IS NOT NULL",
            &[],
        );
        let Ok(Stmt::Select { cond: Some(c), .. }) = stmt else {
            panic!("parse failed");
        };
        let mut n = Names::default();
        assert_eq!(
            n.cond(&c),
            "(#p0 = :p0) AND ((#p1 < :p1) OR (attribute_not_exists(#p2))) AND (NOT (attribute_type(#p3, :p2)))"
        );
    }

    #[test]
    fn projections_are_keyed_by_their_leaf() {
        let Ok(Stmt::Select { proj: Some(p), .. }) =
            parse("SELECT a, m.x, m.l[1], l[0][1], nope.x FROM t", &[])
        else {
            panic!("parse failed");
        };
        let names: Vec<String> = p.iter().map(|s| leaf_name(s)).collect();
        assert_eq!(names, ["a", "x", "l[1]", "l[0][1]", "x"]);
        let item: Item = [
            ("a".to_string(), Value::S("A".into())),
            (
                "m".to_string(),
                Value::M(
                    [
                        ("x".to_string(), Value::Bool(true)),
                        (
                            "l".to_string(),
                            Value::L(vec![Value::Null, Value::S("two".into())]),
                        ),
                    ]
                    .into_iter()
                    .collect(),
                ),
            ),
        ]
        .into_iter()
        .collect();
        let got = project(&item, &p);
        assert_eq!(got.len(), 3);
        assert_eq!(got.get("l[1]"), Some(&Value::S("two".into())));
        assert_eq!(got.get("x"), Some(&Value::Bool(true)));
    }
}
