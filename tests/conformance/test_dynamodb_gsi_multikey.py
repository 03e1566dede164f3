"""DynamoDB global secondary indexes with multi-attribute keys (November 2025): up to 4 HASH and
4 RANGE attributes, HASH before RANGE. Items sort by the RANGE attributes compared one after
another; an item missing any key attribute is not indexed; a Query needs an equality on every
HASH attribute and conditions on a leading run of RANGE attributes, only the last of which may be
a range condition. Expected answers are DynamoDB's, as recorded against AWS in October 2026 by the
paritysuite conformance suite (messages) and by ScyllaDB's Alternator suite (rules)."""

from __future__ import annotations

import pytest

from ddb_util import avs, expect_error, pyitem

GAP = ("RANGE key attributes {} must have equality conditions specified in the query because a condition is "
       "present on key attribute {}")


def _gsi(name, hashes, ranges, projection="ALL"):
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": n, "KeyType": "HASH"} for n in hashes]
            + [{"AttributeName": n, "KeyType": "RANGE"} for n in ranges],
            "Projection": {"ProjectionType": projection}}


@pytest.fixture
def one_hash_four_range(ddb, make_table):
    """The paritysuite table: GSI `gsi` keyed h / a, b, c, d, with p6 missing c (not indexed)."""
    t = make_table(extra_defs=[(n, "S") for n in "habcd"],
                   GlobalSecondaryIndexes=[_gsi("gsi", ["h"], ["a", "b", "c", "d"])])
    rows = [("p1", "T", "live", "b", "r1"), ("p2", "T", "live", "a", "r2"), ("p3", "T", "live", "a", "r1"),
            ("p4", "T", "draft", "c", "r1"), ("p5", "F", "live", "a", "r0"), ("p6", "T", "live", None, "r1")]
    for pk, a, b, c, d in rows:
        item = {"pk": pk, "h": "o1", "a": a, "b": b, "d": d}
        if c is not None:
            item["c"] = c
        ddb.put_item(TableName=t, Item=avs(item))
    return t


VALUES = {":h": "o1", ":a": "T", ":b": "live", ":c": "a", ":d": "r", ":x": "r1", ":y": "r1"}


def _query(ddb, t, cond, **kw):
    used = {k: v for k, v in VALUES.items() if k in cond}
    resp = ddb.query(TableName=t, IndexName="gsi", KeyConditionExpression=cond,
                     ExpressionAttributeValues=avs(used), **kw)
    return [pyitem(i)["pk"] for i in resp["Items"]], resp.get("LastEvaluatedKey")


@pytest.mark.parametrize("cond,want", [
    ("h = :h", ["p5", "p4", "p3", "p2", "p1"]),
    ("h = :h AND a = :a", ["p4", "p3", "p2", "p1"]),
    ("h = :h AND a = :a AND b = :b", ["p3", "p2", "p1"]),
    ("h = :h AND a = :a AND b = :b AND c = :c", ["p3", "p2"]),
    ("h = :h AND a = :a AND b = :b AND c > :c", ["p1"]),
    ("h = :h AND a = :a AND b = :b AND c = :c AND begins_with(d, :d)", ["p3", "p2"]),
    ("h = :h AND a = :a AND b = :b AND c = :c AND d BETWEEN :x AND :y", ["p3"]),
    ("h = :h AND a = :a AND b < :b", ["p4"]),
    ("b = :b AND h = :h AND a = :a", ["p3", "p2", "p1"]),
])
def test_query_by_leading_range_attributes(ddb, one_hash_four_range, cond, want):
    assert _query(ddb, one_hash_four_range, cond)[0] == want


def test_scan_index_forward_false_reverses(ddb, one_hash_four_range):
    assert _query(ddb, one_hash_four_range, "h = :h AND a = :a", ScanIndexForward=False)[0] == ["p1", "p2", "p3", "p4"]


def test_pages_carry_every_key_attribute(ddb, one_hash_four_range):
    t = one_hash_four_range
    pks, last = _query(ddb, t, "h = :h AND a = :a", Limit=2)
    assert pks == ["p4", "p3"]
    assert sorted(last) == ["a", "b", "c", "d", "h", "pk"]
    rest = ddb.query(TableName=t, IndexName="gsi", KeyConditionExpression="h = :h AND a = :a",
                     ExpressionAttributeValues=avs({":h": "o1", ":a": "T"}), ExclusiveStartKey=last)
    assert [pyitem(i)["pk"] for i in rest["Items"]] == ["p2", "p1"]


@pytest.mark.parametrize("cond,prior,later", [
    ("h = :h AND a = :a AND c = :c", "b", "c"),
    ("h = :h AND a = :a AND b > :b AND c = :c", "b", "c"),
    ("h = :h AND b = :b", "a", "b"),
])
def test_range_attribute_gaps_are_refused(ddb, one_hash_four_range, cond, prior, later):
    used = {k: v for k, v in VALUES.items() if k in cond}
    expect_error("ValidationException", ddb.query, TableName=one_hash_four_range, IndexName="gsi",
                 KeyConditionExpression=cond, ExpressionAttributeValues=avs(used),
                 message=GAP.format(prior, later))


def test_multi_attribute_hash_key(ddb, make_table):
    t = make_table(extra_defs=[("h1", "S"), ("h2", "N"), ("r1", "N"), ("r2", "B")],
                   GlobalSecondaryIndexes=[_gsi("gix", ["h1", "h2"], ["r1", "r2"])])
    d = ddb.describe_table(TableName=t)["Table"]
    assert d["GlobalSecondaryIndexes"][0]["KeySchema"] == [
        {"AttributeName": "h1", "KeyType": "HASH"}, {"AttributeName": "h2", "KeyType": "HASH"},
        {"AttributeName": "r1", "KeyType": "RANGE"}, {"AttributeName": "r2", "KeyType": "RANGE"}]
    for i, (h2, r1, r2) in enumerate([(1, 2, b"\x02"), (1, 2, b"\x01"), (1, 10, b"\x00"), (2, 1, b"\x00")]):
        ddb.put_item(TableName=t, Item=avs({"pk": f"p{i}", "h1": "x", "h2": h2, "r1": r1, "r2": r2}))
    ddb.put_item(TableName=t, Item=avs({"pk": "sparse", "h1": "x", "h2": 1, "r1": 1}))  # no r2: not indexed

    def q(cond, **vals):
        resp = ddb.query(TableName=t, IndexName="gix", KeyConditionExpression=cond,
                         ExpressionAttributeValues=avs(vals))
        return [pyitem(i)["pk"] for i in resp["Items"]]

    assert q("h1 = :a AND h2 = :b", **{":a": "x", ":b": 1}) == ["p1", "p0", "p2"]
    assert q("h1 = :a AND h2 = :b AND r1 = :c", **{":a": "x", ":b": 1, ":c": 2}) == ["p1", "p0"]
    assert q("h1 = :a AND h2 = :b", **{":a": "x", ":b": 2}) == ["p3"]
    for cond, vals in [("h1 = :a", {":a": "x"}), ("h1 = :a AND h2 > :b", {":a": "x", ":b": 1})]:
        expect_error("ValidationException", ddb.query, TableName=t, IndexName="gix", KeyConditionExpression=cond,
                     ExpressionAttributeValues=avs(vals),
                     message="HASH key attributes h2 must have equality conditions specified in the query")
    # a key condition value of the wrong type, a filter on a key attribute, a strongly consistent read
    expect_error("ValidationException", ddb.query, TableName=t, IndexName="gix",
                 KeyConditionExpression="h1 = :a AND h2 = :b", ExpressionAttributeValues=avs({":a": "x", ":b": "1"}),
                 contains="Condition parameter type does not match schema type")
    expect_error("ValidationException", ddb.query, TableName=t, IndexName="gix",
                 KeyConditionExpression="h1 = :a AND h2 = :b", FilterExpression="r1 = :c",
                 ExpressionAttributeValues=avs({":a": "x", ":b": 1, ":c": 1}), contains="Filter Expression")
    expect_error("ValidationException", ddb.query, TableName=t, IndexName="gix", ConsistentRead=True,
                 KeyConditionExpression="h1 = :a AND h2 = :b", ExpressionAttributeValues=avs({":a": "x", ":b": 1}))
    # writes check every key attribute of the index
    expect_error("ValidationException", ddb.put_item, TableName=t,
                 Item=avs({"pk": "bad", "h1": "x", "h2": "not a number"}), contains="Type mismatch for Index Key h2")
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "bad", "h1": ""}),
                 contains="empty")


@pytest.mark.parametrize("hashes,ranges,words", [
    (["a0", "a1", "a2", "a3", "a4"], [], "4 HASH"),
    (["a0"], ["a1", "a2", "a3", "a4", "a5"], "4 RANGE"),
])
def test_at_most_four_hash_and_four_range_attributes(ddb, make_table, hashes, ranges, words):
    defs = [{"AttributeName": "pk", "AttributeType": "S"}] + [
        {"AttributeName": n, "AttributeType": "S"} for n in hashes + ranges]
    expect_error("ValidationException", ddb.create_table, TableName="multi-too-many", BillingMode="PAY_PER_REQUEST",
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=defs,
                 GlobalSecondaryIndexes=[_gsi("gix", hashes, ranges)], contains=words)


@pytest.mark.parametrize("schema,words", [
    ([("a", "HASH"), ("b", "RANGE"), ("c", "HASH")], "HASH key attributes must precede RANGE key attributes"),
    ([("a", "HASH"), ("a", "HASH")], "same name"),
    ([("a", "HASH"), ("b", "HASH"), ("a", "RANGE")], "same name"),
])
def test_key_schema_shape_rules(ddb, schema, words):
    defs = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "a", "b", "c")]
    gsi = {"IndexName": "gix", "KeySchema": [{"AttributeName": n, "KeyType": k} for n, k in schema],
           "Projection": {"ProjectionType": "ALL"}}
    expect_error("ValidationException", ddb.create_table, TableName="multi-bad", BillingMode="PAY_PER_REQUEST",
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=defs,
                 GlobalSecondaryIndexes=[gsi], contains=words)


def test_tables_and_local_indexes_keep_single_attribute_keys(ddb):
    defs = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "a", "b")]
    expect_error("ValidationException", ddb.create_table, TableName="multi-table", BillingMode="PAY_PER_REQUEST",
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "a", "KeyType": "RANGE"},
                            {"AttributeName": "b", "KeyType": "RANGE"}], AttributeDefinitions=defs)


def test_update_table_adds_a_multi_attribute_index_with_backfill(ddb, make_table):
    t = make_table()
    for i, (a, b) in enumerate([("x", "2"), ("x", "1"), ("y", "1")]):
        ddb.put_item(TableName=t, Item=avs({"pk": f"p{i}", "a": a, "b": b}))
    ddb.put_item(TableName=t, Item=avs({"pk": "no-b", "a": "x"}))
    ddb.update_table(TableName=t, AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in "ab"],
                     GlobalSecondaryIndexUpdates=[{"Create": _gsi("abx", ["a", "b"], [])}])
    ddb.get_waiter("table_exists").wait(TableName=t, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
    resp = ddb.query(TableName=t, IndexName="abx", KeyConditionExpression="a = :a AND b = :b",
                     ExpressionAttributeValues=avs({":a": "x", ":b": "1"}))
    assert [pyitem(i)["pk"] for i in resp["Items"]] == ["p1"]
    scanned = ddb.scan(TableName=t, IndexName="abx")["Items"]
    assert sorted(pyitem(i)["pk"] for i in scanned) == ["p0", "p1", "p2"]
