"""DynamoDB multi-item operations: BatchGetItem and BatchWriteItem (limits, duplicates, missing
tables, projections, consumed capacity), TransactWriteItems (Put/Update/Delete/ConditionCheck,
cancellation reasons, conflicts, ClientRequestToken idempotency, limits) and TransactGetItems."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from ddb_util import avs, expect_error, pyitem
from serval_harness import error_of, unique_name

DUPLICATES = "Provided list of item keys contains duplicates"
ONE_ITEM = "Transaction request cannot include multiple operations on one item"


def _get(ddb, table, key):
    return pyitem(ddb.get_item(TableName=table, Key=avs(key), ConsistentRead=True).get("Item"))


def _put(ddb, table, item):
    ddb.put_item(TableName=table, Item=avs(item))


def cancelled(fn, **kwargs):
    """Call a transaction that must be cancelled; return (message, CancellationReasons)."""
    with pytest.raises(ClientError) as ei:
        fn(**kwargs)
    code, status, resp = error_of(ei.value)
    assert code == "TransactionCanceledException", resp
    assert status == 400
    return resp["Error"]["Message"], resp["CancellationReasons"]


# --------------------------------------------------------------------------- BatchWriteItem


def test_batch_write_puts_and_deletes(ddb, table_s, table_sn):
    _put(ddb, table_s, {"pk": "gone", "v": 1})
    _put(ddb, table_s, {"pk": "replaced", "old": 1})
    resp = ddb.batch_write_item(RequestItems={
        table_s: [{"PutRequest": {"Item": avs({"pk": f"k{i}", "v": i})}} for i in range(10)]
        + [{"DeleteRequest": {"Key": avs({"pk": "gone"})}},
           {"DeleteRequest": {"Key": avs({"pk": "never-there"})}},
           {"PutRequest": {"Item": avs({"pk": "replaced", "new": 2})}}],
        table_sn: [{"PutRequest": {"Item": avs({"pk": "h", "sk": i})}} for i in range(3)],
    })
    assert resp["UnprocessedItems"] == {}
    for i in range(10):
        assert _get(ddb, table_s, {"pk": f"k{i}"}) == {"pk": f"k{i}", "v": i}
    assert _get(ddb, table_s, {"pk": "gone"}) is None
    assert _get(ddb, table_s, {"pk": "replaced"}) == {"pk": "replaced", "new": 2}  # a put replaces, no merge
    assert [pyitem(i)["sk"] for i in ddb.query(TableName=table_sn, KeyConditionExpression="pk = :h",
                                               ExpressionAttributeValues=avs({":h": "h"}))["Items"]] == [0, 1, 2]


def test_batch_write_25_limit(ddb, table_s, table_sn):
    ok = [{"PutRequest": {"Item": avs({"pk": f"ok{i}"})}} for i in range(25)]
    assert ddb.batch_write_item(RequestItems={table_s: ok})["UnprocessedItems"] == {}
    too_many = [{"PutRequest": {"Item": avs({"pk": f"no{i}"})}} for i in range(26)]
    expect_error("ValidationException", ddb.batch_write_item, RequestItems={table_s: too_many},
                 contains="Member must have length less than or equal to 25")
    # 25 per request, not per table
    expect_error("ValidationException", ddb.batch_write_item, RequestItems={
        table_s: [{"PutRequest": {"Item": avs({"pk": f"no{i}"})}} for i in range(13)],
        table_sn: [{"PutRequest": {"Item": avs({"pk": "no", "sk": i})}} for i in range(13)]},
        contains="Too many items requested for the BatchWriteItem call")
    assert _get(ddb, table_s, {"pk": "no0"}) is None
    assert ddb.scan(TableName=table_sn)["Count"] == 0


def test_batch_write_duplicates(ddb, table_s, table_sn):
    for reqs in (
        [{"PutRequest": {"Item": avs({"pk": "d", "v": 1})}}, {"PutRequest": {"Item": avs({"pk": "d", "v": 2})}}],
        [{"DeleteRequest": {"Key": avs({"pk": "d"})}}, {"DeleteRequest": {"Key": avs({"pk": "d"})}}],
        [{"PutRequest": {"Item": avs({"pk": "d"})}}, {"DeleteRequest": {"Key": avs({"pk": "d"})}}],
    ):
        expect_error("ValidationException", ddb.batch_write_item, RequestItems={table_s: reqs}, message=DUPLICATES)
    # numbers are keys by value: 10 and 1e1 are the same key
    expect_error("ValidationException", ddb.batch_write_item, RequestItems={table_sn: [
        {"PutRequest": {"Item": {"pk": {"S": "n"}, "sk": {"N": "10"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "n"}, "sk": {"N": "1e1"}}}}]}, message=DUPLICATES)
    assert _get(ddb, table_s, {"pk": "d"}) is None
    # the same key in two tables is not a duplicate
    other = table_sn
    ddb.batch_write_item(RequestItems={
        table_s: [{"PutRequest": {"Item": avs({"pk": "same"})}}],
        other: [{"PutRequest": {"Item": avs({"pk": "same", "sk": 1})}}]})


def test_batch_write_invalid_request_writes_nothing(ddb, ddb_raw, table_s):
    good = [{"PutRequest": {"Item": avs({"pk": f"g{i}"})}} for i in range(3)]
    for bad in ({"PutRequest": {"Item": avs({"pk": 5})}},
                {"PutRequest": {"Item": avs({"other": "x"})}},
                {"DeleteRequest": {"Key": avs({"pk": "a", "extra": "b"})}},
                {"PutRequest": {"Item": {"pk": {"S": "big"}, "v": {"S": "x" * 400 * 1024}}}}):
        expect_error("ValidationException", ddb.batch_write_item, RequestItems={table_s: good[:2] + [bad] + good[2:]})
        for i in range(3):
            assert _get(ddb, table_s, {"pk": f"g{i}"}) is None
    # a WriteRequest must hold exactly one of PutRequest / DeleteRequest
    expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={table_s: [{}]})
    expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={table_s: [
        {"PutRequest": {"Item": avs({"pk": "a"})}, "DeleteRequest": {"Key": avs({"pk": "b"})}}]})
    expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={})
    expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={table_s: []})


def test_batch_write_put_key_mismatch_is_a_schema_error(ddb_raw, table_s):
    # BatchWriteItem words a put item's missing or wrongly typed key as a bad Key, where PutItem
    # names the attribute (paritysuite batchWriteItem, us-east-1 and eu-west-2, 2026)
    for item in ({"pk": {"N": "5"}}, {"pk": {"L": [{"S": "x"}]}}, {"other": {"S": "x"}}):
        expect_error("ValidationException", ddb_raw.batch_write_item,
                     RequestItems={table_s: [{"PutRequest": {"Item": item}}]},
                     message="The provided key element does not match the schema")
    expect_error("ValidationException", ddb_raw.batch_write_item,
                 RequestItems={table_s: [{"PutRequest": {"Item": {"pk": {"S": ""}}}}]},
                 message="One or more parameter values are not valid. The AttributeValue for a key attribute "
                         "cannot contain an empty string value. Key: pk")


def test_batch_write_missing_table(ddb, table_s):
    missing = unique_name("t-missing")
    expect_error("ResourceNotFoundException", ddb.batch_write_item, RequestItems={
        table_s: [{"PutRequest": {"Item": avs({"pk": "x"})}}],
        missing: [{"PutRequest": {"Item": avs({"pk": "x"})}}]}, contains="Requested resource not found")
    assert _get(ddb, table_s, {"pk": "x"}) is None


def test_batch_write_consumed_capacity(ddb, table_s, table_sn):
    resp = ddb.batch_write_item(RequestItems={
        table_s: [{"PutRequest": {"Item": avs({"pk": f"c{i}"})}} for i in range(3)]
        + [{"PutRequest": {"Item": avs({"pk": "big", "v": "x" * 2000})}},   # 2 KB: 2 WCU
           {"DeleteRequest": {"Key": avs({"pk": "absent"})}}],
        table_sn: [{"PutRequest": {"Item": avs({"pk": "h", "sk": 1})}}],
    }, ReturnConsumedCapacity="TOTAL")
    caps = {c["TableName"]: c["CapacityUnits"] for c in resp["ConsumedCapacity"]}
    assert caps == {table_s: 6.0, table_sn: 1.0}
    resp = ddb.batch_write_item(RequestItems={table_s: [{"PutRequest": {"Item": avs({"pk": "n"})}}]})
    assert "ConsumedCapacity" not in resp


# --------------------------------------------------------------------------- BatchGetItem


def test_batch_get(ddb, table_s, table_sn):
    for i in range(5):
        _put(ddb, table_s, {"pk": f"k{i}", "v": i, "w": "x"})
        _put(ddb, table_sn, {"pk": "h", "sk": i, "v": i})
    resp = ddb.batch_get_item(RequestItems={
        table_s: {"Keys": [avs({"pk": f"k{i}"}) for i in (4, 0, 2)] + [avs({"pk": "absent"})], "ConsistentRead": True},
        table_sn: {"Keys": [avs({"pk": "h", "sk": 1}), avs({"pk": "nope", "sk": 1})]},
    })
    assert resp["UnprocessedKeys"] == {}
    got = sorted((pyitem(i) for i in resp["Responses"][table_s]), key=lambda i: i["pk"])
    assert got == [{"pk": f"k{i}", "v": i, "w": "x"} for i in (0, 2, 4)]  # missing keys are left out
    assert [pyitem(i) for i in resp["Responses"][table_sn]] == [{"pk": "h", "sk": 1, "v": 1}]
    # a table none of whose keys exist still has its (empty) entry
    resp = ddb.batch_get_item(RequestItems={table_s: {"Keys": [avs({"pk": "absent"})]}})
    assert resp["Responses"] == {table_s: []}


def test_batch_get_projection(ddb, table_s):
    _put(ddb, table_s, {"pk": "a", "name": "n", "x": 1, "m": {"y": 2, "z": 3}})
    resp = ddb.batch_get_item(RequestItems={table_s: {
        "Keys": [avs({"pk": "a"})], "ProjectionExpression": "#n, m.z", "ExpressionAttributeNames": {"#n": "name"}}})
    assert [pyitem(i) for i in resp["Responses"][table_s]] == [{"name": "n", "m": {"z": 3}}]
    resp = ddb.batch_get_item(RequestItems={table_s: {"Keys": [avs({"pk": "a"})], "AttributesToGet": ["x", "pk"]}})
    assert [pyitem(i) for i in resp["Responses"][table_s]] == [{"pk": "a", "x": 1}]
    expect_error("ValidationException", ddb.batch_get_item, RequestItems={table_s: {
        "Keys": [avs({"pk": "a"})], "ProjectionExpression": "#n"}}, contains="#n")
    expect_error("ValidationException", ddb.batch_get_item, RequestItems={table_s: {
        "Keys": [avs({"pk": "a"})], "ProjectionExpression": "x", "ExpressionAttributeNames": {"#q": "q"}}},
        contains="unused")
    expect_error("ValidationException", ddb.batch_get_item, RequestItems={table_s: {
        "Keys": [avs({"pk": "a"})], "ProjectionExpression": "x", "AttributesToGet": ["x"]}},
        contains="Can not use both expression and non-expression parameters")


def test_batch_get_100_limit(ddb, table_s, table_sn):
    with ddb_batch(ddb, table_s) as put:
        for i in range(100):
            put({"pk": f"k{i:03d}"})
    resp = ddb.batch_get_item(RequestItems={table_s: {"Keys": [avs({"pk": f"k{i:03d}"}) for i in range(100)]}})
    assert len(resp["Responses"][table_s]) + sum(
        len(v["Keys"]) for v in resp.get("UnprocessedKeys", {}).values()) == 100
    expect_error("ValidationException", ddb.batch_get_item,
                 RequestItems={table_s: {"Keys": [avs({"pk": f"k{i:03d}"}) for i in range(101)]}},
                 contains="Member must have length less than or equal to 100")
    expect_error("ValidationException", ddb.batch_get_item, RequestItems={
        table_s: {"Keys": [avs({"pk": f"k{i:03d}"}) for i in range(51)]},
        table_sn: {"Keys": [avs({"pk": "h", "sk": i}) for i in range(50)]}},
        contains="Too many items requested for the BatchGetItem call")


def test_batch_get_duplicates_and_errors(ddb, ddb_raw, table_s, table_sn):
    expect_error("ValidationException", ddb.batch_get_item,
                 RequestItems={table_s: {"Keys": [avs({"pk": "a"}), avs({"pk": "b"}), avs({"pk": "a"})]}},
                 message=DUPLICATES)
    expect_error("ValidationException", ddb.batch_get_item, RequestItems={table_s: {"Keys": [avs({"pk": 1})]}},
                 message="The provided key element does not match the schema")
    expect_error("ValidationException", ddb.batch_get_item, RequestItems={table_sn: {"Keys": [avs({"pk": "a"})]}},
                 message="The provided key element does not match the schema")
    expect_error("ResourceNotFoundException", ddb.batch_get_item, RequestItems={
        table_s: {"Keys": [avs({"pk": "a"})]}, unique_name("t-missing"): {"Keys": [avs({"pk": "a"})]}},
        contains="Requested resource not found")
    expect_error("ValidationException", ddb_raw.batch_get_item, RequestItems={})
    expect_error("ValidationException", ddb_raw.batch_get_item, RequestItems={table_s: {"Keys": []}})


def test_batch_get_consumed_capacity(ddb, table_s, table_sn):
    for i in range(3):
        _put(ddb, table_s, {"pk": f"k{i}"})
    _put(ddb, table_s, {"pk": "big", "v": "x" * 5000})  # two 4 KB read units
    _put(ddb, table_sn, {"pk": "h", "sk": 1})
    resp = ddb.batch_get_item(RequestItems={
        table_s: {"Keys": [avs({"pk": f"k{i}"}) for i in range(3)] + [avs({"pk": "big"})]},
        table_sn: {"Keys": [avs({"pk": "h", "sk": 1})], "ConsistentRead": True},
    }, ReturnConsumedCapacity="TOTAL")
    caps = {c["TableName"]: c["CapacityUnits"] for c in resp["ConsumedCapacity"]}
    assert caps == {table_s: 2.5, table_sn: 1.0}


class ddb_batch:
    """with ddb_batch(ddb, table) as put: put(item) ... -- BatchWriteItem in 25s."""

    def __init__(self, ddb, table):
        self.ddb, self.table, self.buf = ddb, table, []

    def __enter__(self):
        return self.put

    def put(self, item):
        self.buf.append({"PutRequest": {"Item": avs(item)}})
        if len(self.buf) == 25:
            self.flush()

    def flush(self):
        pending = {self.table: self.buf} if self.buf else {}
        while pending:
            pending = self.ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        self.buf = []

    def __exit__(self, *exc):
        if exc[0] is None:
            self.flush()


# --------------------------------------------------------------------------- TransactWriteItems


def test_transact_write_all_actions(ddb, table_s, table_sn):
    _put(ddb, table_s, {"pk": "upd", "n": 1, "gone": True})
    _put(ddb, table_s, {"pk": "del", "v": 1})
    _put(ddb, table_s, {"pk": "check", "state": "ready"})
    resp = ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "new", "v": 1}),
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": table_s, "Key": avs({"pk": "upd"}), "UpdateExpression": "SET n = n + :one REMOVE gone",
                    "ConditionExpression": "n = :one", "ExpressionAttributeValues": avs({":one": 1})}},
        {"Delete": {"TableName": table_s, "Key": avs({"pk": "del"}), "ConditionExpression": "v = :v",
                    "ExpressionAttributeValues": avs({":v": 1})}},
        {"ConditionCheck": {"TableName": table_s, "Key": avs({"pk": "check"}), "ConditionExpression": "#s = :r",
                            "ExpressionAttributeNames": {"#s": "state"}, "ExpressionAttributeValues": avs({":r": "ready"})}},
        {"Put": {"TableName": table_sn, "Item": avs({"pk": "other-table", "sk": 1})}},
    ])
    assert "ConsumedCapacity" not in resp
    assert _get(ddb, table_s, {"pk": "new"}) == {"pk": "new", "v": 1}
    assert _get(ddb, table_s, {"pk": "upd"}) == {"pk": "upd", "n": 2}
    assert _get(ddb, table_s, {"pk": "del"}) is None
    assert _get(ddb, table_s, {"pk": "check"}) == {"pk": "check", "state": "ready"}
    assert _get(ddb, table_sn, {"pk": "other-table", "sk": 1}) == {"pk": "other-table", "sk": 1}
    # an unconditional update of a missing item creates it, as UpdateItem does
    ddb.transact_write_items(TransactItems=[{"Update": {
        "TableName": table_s, "Key": avs({"pk": "fresh"}), "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": avs({":v": 7})}}])
    assert _get(ddb, table_s, {"pk": "fresh"}) == {"pk": "fresh", "v": 7}


def test_transact_write_cancellation_reasons(ddb, table_s):
    _put(ddb, table_s, {"pk": "a", "v": 1})
    _put(ddb, table_s, {"pk": "b", "v": 2})
    items = [
        {"Put": {"TableName": table_s, "Item": avs({"pk": "c", "v": 3})}},
        {"Update": {"TableName": table_s, "Key": avs({"pk": "a"}), "UpdateExpression": "SET v = :nine",
                    "ConditionExpression": "v = :two", "ExpressionAttributeValues": avs({":nine": 9, ":two": 2}),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Delete": {"TableName": table_s, "Key": avs({"pk": "b"}), "ConditionExpression": "v = :two",
                    "ExpressionAttributeValues": avs({":two": 2})}},
        {"ConditionCheck": {"TableName": table_s, "Key": avs({"pk": "zzz"}),
                            "ConditionExpression": "attribute_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"ConditionCheck": {"TableName": table_s, "Key": avs({"pk": "b"}), "ConditionExpression": "v > :z",
                            "ExpressionAttributeValues": avs({":z": 5})}},
    ]
    # ConditionCheck and Delete on "b" would be two actions on one item; use a different one
    items[4]["ConditionCheck"]["Key"] = avs({"pk": "a2"})
    _put(ddb, table_s, {"pk": "a2", "v": 2})
    msg, reasons = cancelled(ddb.transact_write_items, TransactItems=items)
    assert msg == ("Transaction cancelled, please refer cancellation reasons for specific reasons "
                   "[None, ConditionalCheckFailed, None, ConditionalCheckFailed, ConditionalCheckFailed]")
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed", "None", "ConditionalCheckFailed",
                                            "ConditionalCheckFailed"]
    # the failed action that asked for ALL_OLD gets the item; a missing item has none to give
    assert pyitem(reasons[1]["Item"]) == {"pk": "a", "v": 1}
    assert reasons[1]["Message"] == "The conditional request failed"
    assert "Item" not in reasons[3]
    assert "Item" not in reasons[4]
    assert "Message" not in reasons[0] and "Item" not in reasons[0]
    # nothing was applied
    assert _get(ddb, table_s, {"pk": "c"}) is None
    assert _get(ddb, table_s, {"pk": "a"}) == {"pk": "a", "v": 1}
    assert _get(ddb, table_s, {"pk": "b"}) == {"pk": "b", "v": 2}


def test_transact_write_single_failure(ddb, table_s):
    _put(ddb, table_s, {"pk": "x", "v": 1})
    msg, reasons = cancelled(ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "x", "v": 2}), "ConditionExpression": "attribute_not_exists(pk)",
                 "ReturnValuesOnConditionCheckFailure": "NONE"}}])
    assert msg.endswith("[ConditionalCheckFailed]")
    assert reasons == [{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}]
    assert _get(ddb, table_s, {"pk": "x"}) == {"pk": "x", "v": 1}


def test_transact_write_same_item_twice(ddb, table_s, table_sn):
    for items in (
        [{"Put": {"TableName": table_s, "Item": avs({"pk": "s"})}},
         {"Put": {"TableName": table_s, "Item": avs({"pk": "s", "v": 1})}}],
        [{"Put": {"TableName": table_s, "Item": avs({"pk": "s"})}},
         {"ConditionCheck": {"TableName": table_s, "Key": avs({"pk": "s"}), "ConditionExpression": "attribute_not_exists(pk)"}}],
        [{"Update": {"TableName": table_s, "Key": avs({"pk": "s"}), "UpdateExpression": "SET v = :v",
                     "ExpressionAttributeValues": avs({":v": 1})}},
         {"Delete": {"TableName": table_s, "Key": avs({"pk": "s"})}}],
        [{"Put": {"TableName": table_sn, "Item": {"pk": {"S": "n"}, "sk": {"N": "100"}}}},
         {"Delete": {"TableName": table_sn, "Key": {"pk": {"S": "n"}, "sk": {"N": "1E2"}}}}],
    ):
        expect_error("ValidationException", ddb.transact_write_items, TransactItems=items, contains=ONE_ITEM)
    assert _get(ddb, table_s, {"pk": "s"}) is None
    # the same key in different tables is fine
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "s"})}},
        {"Put": {"TableName": table_sn, "Item": avs({"pk": "s", "sk": 1})}}])


def test_transact_write_idempotency(ddb, table_s):
    _put(ddb, table_s, {"pk": "ctr", "n": 0})
    incr = [{"Update": {"TableName": table_s, "Key": avs({"pk": "ctr"}), "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": avs({":one": 1})}}]
    token = str(uuid.uuid4())
    ddb.transact_write_items(TransactItems=incr, ClientRequestToken=token)
    assert _get(ddb, table_s, {"pk": "ctr"})["n"] == 1
    # the same request with the same token succeeds again, without being applied again
    ddb.transact_write_items(TransactItems=incr, ClientRequestToken=token)
    ddb.transact_write_items(TransactItems=incr, ClientRequestToken=token)
    assert _get(ddb, table_s, {"pk": "ctr"})["n"] == 1
    # without a token (or with a new one) each call applies
    ddb.transact_write_items(TransactItems=incr, ClientRequestToken=str(uuid.uuid4()))
    assert _get(ddb, table_s, {"pk": "ctr"})["n"] == 2
    # the same token for a different request is refused
    other = [{"Put": {"TableName": table_s, "Item": avs({"pk": "other"})}}]
    expect_error("IdempotentParameterMismatchException", ddb.transact_write_items, TransactItems=other,
                 ClientRequestToken=token)
    assert _get(ddb, table_s, {"pk": "other"}) is None
    changed = [{"Update": dict(incr[0]["Update"], ExpressionAttributeValues=avs({":one": 2}))}]
    expect_error("IdempotentParameterMismatchException", ddb.transact_write_items, TransactItems=changed,
                 ClientRequestToken=token)
    assert _get(ddb, table_s, {"pk": "ctr"})["n"] == 2


def test_transact_write_token_validation(ddb_raw, table_s):
    put = [{"Put": {"TableName": table_s, "Item": avs({"pk": "tok"})}}]
    ddb_raw.transact_write_items(TransactItems=put, ClientRequestToken="t" * 36)
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=put,
                 ClientRequestToken="u" * 37, contains="lientRequestToken")


def test_transact_write_100_limit(ddb, table_s):
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": f"t{i}", "v": i})}} for i in range(100)])
    assert ddb.scan(TableName=table_s, Select="COUNT")["Count"] == 100
    expect_error("ValidationException", ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": f"u{i}"})}} for i in range(101)],
        contains="Member must have length less than or equal to 100")
    assert _get(ddb, table_s, {"pk": "u0"}) is None


def test_transact_write_aggregate_size_limit(ddb, table_s):
    big = "x" * 100_000
    # 30 items of 100 KB (3 MB) are fine; 50 (5 MB) exceed the 4 MB transaction limit
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": f"m{i}", "v": big})}} for i in range(30)])
    pages = ddb.get_paginator("scan").paginate(TableName=table_s, Select="COUNT")
    assert sum(p["Count"] for p in pages) == 30  # (3 MB takes several 1 MB scan pages)
    expect_error("ValidationException", ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": f"z{i}", "v": big})}} for i in range(50)],
        contains="size cannot exceed")
    assert _get(ddb, table_s, {"pk": "z0"}) is None


def test_transact_write_request_errors(ddb, ddb_raw, table_s):
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=[])
    # each element holds exactly one action
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "a"})}, "Delete": {"TableName": table_s, "Key": avs({"pk": "b"})}}])
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=[{}])
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=[
        {"ConditionCheck": {"TableName": table_s, "Key": avs({"pk": "a"})}}], contains="onditionExpression")
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "a"}), "ConditionExpression": "attribute_exists(pk)",
                 "ReturnValuesOnConditionCheckFailure": "dog"}}], contains="eturnValuesOnConditionCheckFailure")
    # expression errors inside an action fail the whole request
    expect_error("ValidationException", ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "a"}), "ConditionExpression": "#xyz = :v",
                 "ExpressionAttributeValues": avs({":v": 1})}}], contains="#xyz")
    expect_error("ValidationException", ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "a"}), "ConditionExpression": "attribute_exists(pk)",
                 "ExpressionAttributeValues": avs({":unused": 1})}}], contains="unused")
    expect_error("ValidationException", ddb.transact_write_items, TransactItems=[
        {"Update": {"TableName": table_s, "Key": avs({"pk": "a"}), "UpdateExpression": "SET = :v",
                    "ExpressionAttributeValues": avs({":v": 1})}}], contains="Syntax error")
    missing = unique_name("t-missing")
    expect_error("ResourceNotFoundException", ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "a"})}},
        {"Put": {"TableName": missing, "Item": avs({"pk": "a"})}}])
    assert _get(ddb, table_s, {"pk": "a"}) is None


def test_transact_write_item_validation_error_is_cancellation(ddb, table_s):
    # an invalid item (a key of the wrong type) cancels the transaction with a ValidationError
    # reason for that action; the actions after it are not examined
    msg, reasons = cancelled(ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": {"pk": {"N": "7"}}}},
        {"Put": {"TableName": table_s, "Item": {"pk": {"N": "8"}}}},
        {"Put": {"TableName": table_s, "Item": avs({"pk": "ok"}), "ConditionExpression": "attribute_exists(pk)"}}])
    assert [r["Code"] for r in reasons] == ["ValidationError", "None", "None"]
    assert "Message" in reasons[0]
    assert _get(ddb, table_s, {"pk": "ok"}) is None


def test_transact_write_empty_key_value_is_refused_outright(ddb_raw, make_table, table_s):
    # unlike a key of the wrong type, an empty key value is a top-level ValidationException
    # (paritysuite transactWriteItems, 2026-10), on every action type
    binary = make_table(hash_key=("pk", "B"))
    actions = [
        lambda t, k: {"Put": {"TableName": t, "Item": k}},
        lambda t, k: {"Update": {"TableName": t, "Key": k, "UpdateExpression": "SET a = :v",
                                 "ExpressionAttributeValues": {":v": {"S": "x"}}}},
        lambda t, k: {"Delete": {"TableName": t, "Key": k}},
        lambda t, k: {"ConditionCheck": {"TableName": t, "Key": k, "ConditionExpression": "attribute_not_exists(pk)"}},
    ]
    for action in actions:
        for table, key, what in ((table_s, {"pk": {"S": ""}}, "string"), (binary, {"pk": {"B": b""}}, "binary")):
            expect_error("ValidationException", ddb_raw.transact_write_items,
                         TransactItems=[{"Put": {"TableName": table_s, "Item": {"pk": {"N": "1"}}}}, action(table, key)],
                         message="One or more parameter values are not valid. The AttributeValue for a key attribute "
                                 f"cannot contain an empty {what} value. Key: pk")


def test_transact_write_expressions_are_checked_before_any_table(ddb_raw, table_s):
    missing = {"Put": {"TableName": unique_name("t-missing"), "Item": avs({"pk": "a"})}}
    bad_condition = {"ConditionCheck": {"TableName": table_s, "Key": avs({"pk": "c"}),
                                        "ConditionExpression": "attribute_not_exists("}}
    unused = {"ConditionCheck": {"TableName": table_s, "Key": avs({"pk": "c"}),
                                 "ConditionExpression": "attribute_not_exists(pk)",
                                 "ExpressionAttributeValues": {":v": {"S": "x"}}}}
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=[missing, bad_condition],
                 message='Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "("')
    for items in ([missing, unused], [unused, missing]):
        expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=items,
                     message="Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}")
    # between two bad actions, the first in request order wins
    deep = {"S": "leaf"}
    for _ in range(32):
        deep = {"M": {"n": deep}}
    too_deep = {"Put": {"TableName": table_s, "Item": {"pk": {"S": "d"}, "data": deep}}}
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=[bad_condition, too_deep],
                 contains="Syntax error")
    expect_error("ValidationException", ddb_raw.transact_write_items, TransactItems=[too_deep, bad_condition],
                 contains="Nesting Levels have exceeded supported limits")


def test_transact_write_consumed_capacity(ddb, table_s, table_sn):
    resp = ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "a"})}},
        {"Put": {"TableName": table_s, "Item": avs({"pk": "b", "v": "x" * 1500})}},
        {"Put": {"TableName": table_sn, "Item": avs({"pk": "a", "sk": 1})}},
    ], ReturnConsumedCapacity="TOTAL")
    # a transactional write costs twice a plain one (per 1 KB)
    caps = {c["TableName"]: c["CapacityUnits"] for c in resp["ConsumedCapacity"]}
    assert caps == {table_s: 6.0, table_sn: 2.0}


# --------------------------------------------------------------------------- TransactGetItems


def test_transact_get(ddb, table_s, table_sn):
    _put(ddb, table_s, {"pk": "a", "v": 1, "name": "n", "m": {"x": 1, "y": 2}})
    _put(ddb, table_sn, {"pk": "h", "sk": 2, "w": "two"})
    resp = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": table_s, "Key": avs({"pk": "a"})}},
        {"Get": {"TableName": table_s, "Key": avs({"pk": "missing"})}},
        {"Get": {"TableName": table_sn, "Key": avs({"pk": "h", "sk": 2})}},
        {"Get": {"TableName": table_sn, "Key": avs({"pk": "h", "sk": 1})}},
    ])
    r = resp["Responses"]
    assert len(r) == 4  # in request order, a missing item as an empty response
    assert pyitem(r[0]["Item"]) == {"pk": "a", "v": 1, "name": "n", "m": {"x": 1, "y": 2}}
    assert r[1] == {}
    assert pyitem(r[2]["Item"]) == {"pk": "h", "sk": 2, "w": "two"}
    assert r[3] == {}
    resp = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": table_s, "Key": avs({"pk": "a"}), "ProjectionExpression": "#n, m.y",
                 "ExpressionAttributeNames": {"#n": "name"}}}])
    assert pyitem(resp["Responses"][0]["Item"]) == {"name": "n", "m": {"y": 2}}


def test_transact_get_limits_and_errors(ddb, ddb_raw, table_s):
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": f"g{i}", "v": i})}} for i in range(100)])
    resp = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": table_s, "Key": avs({"pk": f"g{i}"})}} for i in range(100)])
    assert [pyitem(x["Item"])["v"] for x in resp["Responses"]] == list(range(100))
    expect_error("ValidationException", ddb.transact_get_items, TransactItems=[
        {"Get": {"TableName": table_s, "Key": avs({"pk": f"g{i}"})}} for i in range(101)],
        contains="Member must have length less than or equal to 100")
    expect_error("ValidationException", ddb.transact_get_items, TransactItems=[
        {"Get": {"TableName": table_s, "Key": avs({"pk": "g1"})}},
        {"Get": {"TableName": table_s, "Key": avs({"pk": "g1"})}}], contains=ONE_ITEM)
    expect_error("ValidationException", ddb_raw.transact_get_items, TransactItems=[])
    expect_error("ValidationException", ddb.transact_get_items, TransactItems=[
        {"Get": {"TableName": table_s, "Key": avs({"pk": "g1"}), "ProjectionExpression": "#zz"}}], contains="#zz")
    expect_error("ValidationException", ddb.transact_get_items, TransactItems=[
        {"Get": {"TableName": table_s, "Key": avs({"pk": "g1"}), "ProjectionExpression": "v",
                 "ExpressionAttributeNames": {"#qq": "q"}}}], contains="#qq")
    expect_error("ResourceNotFoundException", ddb.transact_get_items, TransactItems=[
        {"Get": {"TableName": unique_name("t-missing"), "Key": avs({"pk": "g1"})}}])


def test_transact_get_invalid_key_cancels_but_an_empty_key_value_is_refused(ddb, ddb_raw, make_table, table_s):
    # a key that does not match the schema is the action's ValidationError (paritysuite, 2026-10)
    for key in ({}, {"pk": {"N": "1"}}):
        msg, reasons = cancelled(ddb_raw.transact_get_items, TransactItems=[
            {"Get": {"TableName": table_s, "Key": avs({"pk": "a"})}},
            {"Get": {"TableName": table_s, "Key": key}}])
        assert msg == "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ValidationError]"
        assert [r["Code"] for r in reasons] == ["None", "ValidationError"]
        assert reasons[1]["Message"] == "The provided key element does not match the schema"
    # an empty key value is refused before anything runs
    binary = make_table(hash_key=("pk", "B"))
    for table, key, what in ((table_s, {"pk": {"S": ""}}, "string"), (binary, {"pk": {"B": b""}}, "binary")):
        expect_error("ValidationException", ddb_raw.transact_get_items, TransactItems=[
            {"Get": {"TableName": table, "Key": key}}],
            message="One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    f"contain an empty {what} value. Key: pk")


def test_transact_get_consumed_capacity(ddb, table_s):
    _put(ddb, table_s, {"pk": "a"})
    _put(ddb, table_s, {"pk": "big", "v": "x" * 5000})
    resp = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": table_s, "Key": avs({"pk": "a"})}},
        {"Get": {"TableName": table_s, "Key": avs({"pk": "big"})}},
    ], ReturnConsumedCapacity="TOTAL")
    # a transactional read costs twice a strongly consistent one (per 4 KB)
    assert [(c["TableName"], c["CapacityUnits"]) for c in resp["ConsumedCapacity"]] == [(table_s, 6.0)]


def test_transactions_see_each_others_writes(ddb, table_s):
    # a write transaction followed by a read transaction sees all of it or nothing
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_s, "Item": avs({"pk": "x", "v": 1})}},
        {"Put": {"TableName": table_s, "Item": avs({"pk": "y", "v": 1})}}])
    for i in range(2, 12):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": table_s, "Key": avs({"pk": k}), "UpdateExpression": "SET v = :v",
                        "ConditionExpression": "v = :old", "ExpressionAttributeValues": avs({":v": i, ":old": i - 1})}}
            for k in ("x", "y")])
        got = ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": table_s, "Key": avs({"pk": k})}} for k in ("x", "y")])["Responses"]
        assert [pyitem(g["Item"])["v"] for g in got] == [i, i]
