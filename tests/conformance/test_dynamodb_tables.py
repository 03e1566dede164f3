"""DynamoDB control plane: CreateTable validation, DescribeTable, ListTables, UpdateTable,
DeleteTable, TTL settings, tags, DescribeLimits and DescribeEndpoints."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime

import pytest

from ddb_util import av, avs, expect_error
from serval_harness import ACCOUNT, REGION, unique_name, wait_until

ARN_PREFIX = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
STREAM_LABEL_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")

HASH = [{"AttributeName": "pk", "KeyType": "HASH"}]
HASH_DEF = [{"AttributeName": "pk", "AttributeType": "S"}]


def _describe(ddb, name):
    return ddb.describe_table(TableName=name)["Table"]


def _wait_index_active(ddb, table, index, timeout=30):
    def ready():
        for g in _describe(ddb, table).get("GlobalSecondaryIndexes", []):
            if g["IndexName"] == index and g["IndexStatus"] == "ACTIVE" and not g.get("Backfilling"):
                return True
        return False

    wait_until(ready, timeout=timeout, interval=0.1, message=f"index {index} ACTIVE")


# --------------------------------------------------------------------------- CreateTable / DescribeTable


def test_create_hash_only_table_description(ddb, make_table):
    name = unique_name("t-create")
    resp = ddb.create_table(TableName=name, KeySchema=HASH, AttributeDefinitions=HASH_DEF,
                            BillingMode="PAY_PER_REQUEST")
    try:
        desc = resp["TableDescription"]
        assert desc["TableName"] == name
        assert desc["TableStatus"] in ("CREATING", "ACTIVE")
        assert desc["KeySchema"] == HASH
        assert desc["AttributeDefinitions"] == HASH_DEF
        assert desc["TableArn"] == ARN_PREFIX + name
        uuid.UUID(desc["TableId"])
        assert isinstance(desc["CreationDateTime"], datetime)
        assert desc["ItemCount"] == 0
        assert desc["TableSizeBytes"] == 0
        assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
        assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
        t = _describe(ddb, name)
        assert t["TableStatus"] == "ACTIVE"
        assert t["TableArn"] == desc["TableArn"]
        assert t["TableId"] == desc["TableId"]
        assert "LatestStreamArn" not in t
        assert "GlobalSecondaryIndexes" not in t
        assert "LocalSecondaryIndexes" not in t
    finally:
        ddb.delete_table(TableName=name)


def test_create_hash_range_provisioned(ddb, make_table):
    name = make_table(range_key=("sk", "N"), ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    t = _describe(ddb, name)
    assert t["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert sorted(t["AttributeDefinitions"], key=lambda d: d["AttributeName"]) == [
        {"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]
    pt = t["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]) == (3, 4)
    assert pt["NumberOfDecreasesToday"] == 0
    assert t.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"


def test_create_existing_table_is_resource_in_use(ddb, table_s):
    expect_error("ResourceInUseException", ddb.create_table, TableName=table_s, KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF, BillingMode="PAY_PER_REQUEST", contains="already exists")


def test_create_table_unused_attribute_definition(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "extra", "AttributeType": "S"}],
                 BillingMode="PAY_PER_REQUEST", contains="AttributeDefinitions")


def test_create_table_unused_attribute_definition_with_index(ddb_raw):
    # Every definition must be used by the table key or an index key, indexes or not.
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "g", "AttributeType": "S"},
                                                  {"AttributeName": "extra", "AttributeType": "S"}],
                 GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                          "Projection": {"ProjectionType": "ALL"}}],
                 BillingMode="PAY_PER_REQUEST", contains="AttributeDefinitions")


def test_create_table_key_not_defined(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
                 BillingMode="PAY_PER_REQUEST",
                 contains="Some index key attributes are not defined in AttributeDefinitions")


def test_create_table_index_key_not_defined(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF,
                 GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                          "Projection": {"ProjectionType": "ALL"}}],
                 BillingMode="PAY_PER_REQUEST",
                 contains="Some index key attributes are not defined in AttributeDefinitions")


def test_create_table_pay_per_request_forbids_throughput(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF, BillingMode="PAY_PER_REQUEST",
                 ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                 contains="Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")


def test_create_table_provisioned_needs_throughput(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF, BillingMode="PROVISIONED",
                 contains="ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")


def test_create_table_default_billing_mode_is_provisioned(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF)


def test_create_table_bad_billing_mode(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF, BillingMode="pay_per_request")


@pytest.mark.parametrize("t", ["BOOL", "SS", "M", "L", "NULL"])
def test_create_table_key_type_must_be_scalar(ddb_raw, t):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": t}], BillingMode="PAY_PER_REQUEST",
                 contains=t)


def test_create_table_first_key_must_be_hash(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"),
                 KeySchema=[{"AttributeName": "pk", "KeyType": "RANGE"}], AttributeDefinitions=HASH_DEF,
                 BillingMode="PAY_PER_REQUEST")


def test_create_table_two_hash_keys(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"),
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "HASH"}],
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "sk", "AttributeType": "S"}],
                 BillingMode="PAY_PER_REQUEST")


def test_create_table_same_name_hash_and_range(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"),
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}],
                 AttributeDefinitions=HASH_DEF, BillingMode="PAY_PER_REQUEST")


def test_create_table_duplicate_attribute_definition(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "pk", "AttributeType": "N"}],
                 BillingMode="PAY_PER_REQUEST")


@pytest.mark.parametrize("name", ["ab", "has space", "slash/name", "x" * 256, "ünï"])
def test_create_table_bad_name(ddb_raw, name):
    expect_error("ValidationException", ddb_raw.create_table, TableName=name, KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF, BillingMode="PAY_PER_REQUEST")


def test_create_table_name_charset_and_length(ddb, make_table):
    name = "A.b_c-" + uuid.uuid4().hex + "z" * 200  # 238 characters of [a-zA-Z0-9_.-]
    assert make_table(name=name) == name
    assert _describe(ddb, name)["TableName"] == name


def test_describe_table_missing(ddb):
    name = unique_name("t-missing")
    expect_error("ResourceNotFoundException", ddb.describe_table, TableName=name,
                 contains="Requested resource not found")


def test_lsi_and_gsi_descriptions(ddb, make_table):
    name = make_table(
        range_key=("sk", "S"),
        extra_defs=[("lsk", "N"), ("gpk", "S"), ("gsk", "B")],
        LocalSecondaryIndexes=[{
            "IndexName": "by_lsk",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lsk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
        GlobalSecondaryIndexes=[
            {"IndexName": "by_gpk",
             "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "b"]}},
            {"IndexName": "by_gpk_all",
             "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}},
        ],
    )
    t = _describe(ddb, name)
    arn = ARN_PREFIX + name
    (lsi,) = t["LocalSecondaryIndexes"]
    assert lsi["IndexName"] == "by_lsk"
    assert lsi["IndexArn"] == f"{arn}/index/by_lsk"
    assert lsi["KeySchema"][1] == {"AttributeName": "lsk", "KeyType": "RANGE"}
    assert lsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert lsi["IndexSizeBytes"] == 0 and lsi["ItemCount"] == 0
    gsis = {g["IndexName"]: g for g in t["GlobalSecondaryIndexes"]}
    assert set(gsis) == {"by_gpk", "by_gpk_all"}
    g = gsis["by_gpk"]
    assert g["IndexArn"] == f"{arn}/index/by_gpk"
    assert g["IndexStatus"] == "ACTIVE"
    assert g["KeySchema"] == [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}]
    assert g["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(g["Projection"]["NonKeyAttributes"]) == ["a", "b"]
    assert gsis["by_gpk_all"]["Projection"] == {"ProjectionType": "ALL"}
    defs = {d["AttributeName"]: d["AttributeType"] for d in t["AttributeDefinitions"]}
    assert defs == {"pk": "S", "sk": "S", "lsk": "N", "gpk": "S", "gsk": "B"}


def test_lsi_needs_range_key_table(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "l", "AttributeType": "S"}],
                 LocalSecondaryIndexes=[{
                     "IndexName": "lsi",
                     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
                     "Projection": {"ProjectionType": "ALL"}}],
                 BillingMode="PAY_PER_REQUEST")


def test_lsi_must_share_hash_key(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"),
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "sk", "AttributeType": "S"},
                                                  {"AttributeName": "l", "AttributeType": "S"}],
                 LocalSecondaryIndexes=[{
                     "IndexName": "lsi",
                     "KeySchema": [{"AttributeName": "l", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     "Projection": {"ProjectionType": "ALL"}}],
                 BillingMode="PAY_PER_REQUEST")


def test_duplicate_index_name(ddb_raw):
    gsi = {"IndexName": "same", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
           "Projection": {"ProjectionType": "ALL"}}
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "g", "AttributeType": "S"}],
                 GlobalSecondaryIndexes=[gsi, gsi], BillingMode="PAY_PER_REQUEST", contains="Duplicate index name")


def test_gsi_throughput_forbidden_on_demand(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "g", "AttributeType": "S"}],
                 GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                          "Projection": {"ProjectionType": "ALL"},
                                          "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}],
                 BillingMode="PAY_PER_REQUEST")


def test_non_key_attributes_only_with_include(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF + [{"AttributeName": "g", "AttributeType": "S"}],
                 GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                          "Projection": {"ProjectionType": "ALL", "NonKeyAttributes": ["x"]}}],
                 BillingMode="PAY_PER_REQUEST")


def test_stream_specification_on_create(ddb, make_table):
    name = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    t = _describe(ddb, name)
    assert t["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert STREAM_LABEL_RE.match(t["LatestStreamLabel"]), t["LatestStreamLabel"]
    assert t["LatestStreamArn"] == f"{ARN_PREFIX}{name}/stream/{t['LatestStreamLabel']}"


def test_stream_enabled_needs_view_type(ddb_raw):
    expect_error("ValidationException", ddb_raw.create_table, TableName=unique_name("t-bad"), KeySchema=HASH,
                 AttributeDefinitions=HASH_DEF, BillingMode="PAY_PER_REQUEST",
                 StreamSpecification={"StreamEnabled": True})


def test_stream_disabled_on_create_is_no_stream(ddb, make_table):
    name = make_table(StreamSpecification={"StreamEnabled": False})
    t = _describe(ddb, name)
    assert "LatestStreamArn" not in t


def test_item_count_and_size(ddb, table_s):
    # AWS refreshes ItemCount/TableSizeBytes about every six hours; Serval reports them live.
    ddb.put_item(TableName=table_s, Item=avs({"pk": "abc", "s": "hello"}))  # 2+3 + 1+5 bytes
    t = _describe(ddb, table_s)
    assert t["ItemCount"] == 1
    assert t["TableSizeBytes"] == 11
    ddb.put_item(TableName=table_s, Item=avs({"pk": "xyz"}))
    ddb.delete_item(TableName=table_s, Key=avs({"pk": "abc"}))
    t = _describe(ddb, table_s)
    assert t["ItemCount"] == 1
    assert t["TableSizeBytes"] == 5


# --------------------------------------------------------------------------- ListTables


def test_list_tables_pagination(ddb, make_table):
    prefix = "lt-" + uuid.uuid4().hex[:8]
    names = [make_table(name=f"{prefix}-{i}") for i in (2, 0, 1)]
    everything, start, pages = [], None, 0
    while True:
        kwargs = {"Limit": 2}
        if start:
            kwargs["ExclusiveStartTableName"] = start
        resp = ddb.list_tables(**kwargs)
        assert len(resp["TableNames"]) <= 2
        everything += resp["TableNames"]
        pages += 1
        start = resp.get("LastEvaluatedTableName")
        if not start:
            break
        assert start == resp["TableNames"][-1]
        assert pages < 10000
    assert everything == sorted(everything)
    assert len(set(everything)) == len(everything)
    mine = [n for n in everything if n.startswith(prefix)]
    assert mine == sorted(names)

    resp = ddb.list_tables(ExclusiveStartTableName=f"{prefix}-0", Limit=1)
    assert resp["TableNames"] == [f"{prefix}-1"]
    assert resp["LastEvaluatedTableName"] == f"{prefix}-1"
    # an ExclusiveStartTableName that is not a table still positions the listing
    resp = ddb.list_tables(ExclusiveStartTableName=f"{prefix}-0a", Limit=1)
    assert resp["TableNames"] == [f"{prefix}-1"]


def test_list_tables_limit_bounds(ddb_raw):
    expect_error("ValidationException", ddb_raw.list_tables, Limit=0)
    expect_error("ValidationException", ddb_raw.list_tables, Limit=101)


# --------------------------------------------------------------------------- UpdateTable


def test_update_billing_mode_and_throughput(ddb, make_table):
    name = make_table(ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    t = ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 8})
    assert t["TableDescription"]["TableName"] == name
    wait_until(lambda: _describe(ddb, name)["TableStatus"] == "ACTIVE", timeout=30, interval=0.1)
    pt = _describe(ddb, name)["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]) == (7, 8)

    ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    wait_until(lambda: _describe(ddb, name)["TableStatus"] == "ACTIVE", timeout=30, interval=0.1)
    t = _describe(ddb, name)
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_update_table_that_changes_nothing_is_refused(ddb, make_table):
    name = make_table(ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    same = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    want = ("The provisioned throughput for the table will not change. The requested value equals the current value. "
            "Current ReadCapacityUnits provisioned for the table: 5. Requested ReadCapacityUnits: 5. Current "
            "WriteCapacityUnits provisioned for the table: 5. Requested WriteCapacityUnits: 5. Refer to the Amazon "
            "DynamoDB Developer Guide for current limits and how to request higher limits.")
    expect_error("ValidationException", ddb.update_table, TableName=name, ProvisionedThroughput=same, message=want)
    # restating the billing mode the table already has is no change either
    expect_error("ValidationException", ddb.update_table, TableName=name, BillingMode="PROVISIONED",
                 ProvisionedThroughput=same, message=want)


def test_update_table_missing(ddb):
    expect_error("ResourceNotFoundException", ddb.update_table, TableName=unique_name("t-missing"),
                 BillingMode="PAY_PER_REQUEST")


def test_update_table_throughput_on_demand_table(ddb_raw, table_s):
    expect_error("ValidationException", ddb_raw.update_table, TableName=table_s,
                 ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})


def test_update_table_stream_on_and_off(ddb, table_s):
    assert "LatestStreamArn" not in _describe(ddb, table_s)
    resp = ddb.update_table(TableName=table_s,
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    first = resp["TableDescription"]["LatestStreamArn"]
    wait_until(lambda: _describe(ddb, table_s)["TableStatus"] == "ACTIVE", timeout=30, interval=0.1)
    t = _describe(ddb, table_s)
    assert t["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert t["LatestStreamArn"] == first
    assert first.startswith(f"{ARN_PREFIX}{table_s}/stream/")

    # a second enable while one is enabled is refused
    expect_error("ValidationException", ddb.update_table, TableName=table_s,
                 StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})

    ddb.update_table(TableName=table_s, StreamSpecification={"StreamEnabled": False})
    wait_until(lambda: _describe(ddb, table_s)["TableStatus"] == "ACTIVE", timeout=30, interval=0.1)
    t = _describe(ddb, table_s)
    assert t.get("StreamSpecification", {"StreamEnabled": False})["StreamEnabled"] is False
    assert t.get("LatestStreamArn", first) == first  # the old stream stays readable for 24 h


def test_update_table_create_gsi_backfills(ddb, table_s):
    for i in range(5):
        item = {"pk": f"p{i}", "v": i}
        if i % 2 == 0:
            item["g"] = "even"
        ddb.put_item(TableName=table_s, Item=avs(item))
    ddb.update_table(
        TableName=table_s,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "by_g",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }}],
    )
    _wait_index_active(ddb, table_s, "by_g")
    got = ddb.query(TableName=table_s, IndexName="by_g", KeyConditionExpression="g = :g",
                    ExpressionAttributeValues=avs({":g": "even"}))
    assert sorted(i["pk"]["S"] for i in got["Items"]) == ["p0", "p2", "p4"]
    # new writes are indexed too
    ddb.put_item(TableName=table_s, Item=avs({"pk": "p9", "g": "even"}))
    got = ddb.query(TableName=table_s, IndexName="by_g", KeyConditionExpression="g = :g",
                    ExpressionAttributeValues=avs({":g": "even"}), Select="COUNT")
    assert got["Count"] == 4


def test_update_table_delete_gsi(ddb, make_table):
    name = make_table(extra_defs=[("g", "S")], GlobalSecondaryIndexes=[{
        "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    ddb.put_item(TableName=name, Item=avs({"pk": "a", "g": "x"}))
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_g"}}])
    wait_until(lambda: not _describe(ddb, name).get("GlobalSecondaryIndexes"), timeout=30, interval=0.1,
               message="index removed")
    expect_error("ValidationException", ddb.query, TableName=name, IndexName="by_g",
                 KeyConditionExpression="g = :g", ExpressionAttributeValues=avs({":g": "x"}))
    # the table itself is untouched
    assert ddb.get_item(TableName=name, Key=avs({"pk": "a"}))["Item"] == avs({"pk": "a", "g": "x"})


def test_update_table_delete_missing_gsi(ddb, table_s):
    expect_error("ResourceNotFoundException", ddb.update_table, TableName=table_s,
                 GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "nope"}}])


# --------------------------------------------------------------------------- DeleteTable


def test_delete_table(ddb, make_table):
    name = make_table()
    resp = ddb.delete_table(TableName=name)
    assert resp["TableDescription"]["TableName"] == name
    assert resp["TableDescription"]["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
    expect_error("ResourceNotFoundException", ddb.describe_table, TableName=name)
    expect_error("ResourceNotFoundException", ddb.get_item, TableName=name, Key=avs({"pk": "a"}))
    assert name not in ddb.list_tables(ExclusiveStartTableName=name[:-1], Limit=100)["TableNames"]


def test_delete_missing_table(ddb):
    name = unique_name("t-missing")
    expect_error("ResourceNotFoundException", ddb.delete_table, TableName=name,
                 contains="Requested resource not found")


def test_recreate_after_delete_is_empty(ddb, make_table):
    name = make_table()
    ddb.put_item(TableName=name, Item=avs({"pk": "a"}))
    ddb.delete_table(TableName=name)
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
    make_table(name=name)
    assert "Item" not in ddb.get_item(TableName=name, Key=avs({"pk": "a"}))
    assert ddb.scan(TableName=name)["Count"] == 0


# --------------------------------------------------------------------------- TTL settings


def test_time_to_live_settings(ddb, table_s):
    assert ddb.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    resp = ddb.update_time_to_live(TableName=table_s,
                                   TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert resp["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    wait_until(lambda: ddb.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"]["TimeToLiveStatus"]
               == "ENABLED", timeout=30, interval=0.1)
    desc = ddb.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"]
    assert desc == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    # enabling again is refused
    expect_error("ValidationException", ddb.update_time_to_live, TableName=table_s,
                 TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})


def test_time_to_live_missing_table(ddb):
    name = unique_name("t-missing")
    expect_error("ResourceNotFoundException", ddb.describe_time_to_live, TableName=name)
    expect_error("ResourceNotFoundException", ddb.update_time_to_live, TableName=name,
                 TimeToLiveSpecification={"Enabled": True, "AttributeName": "e"})


# --------------------------------------------------------------------------- tags


def _tags(ddb, arn):
    return {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def test_tags_on_create_and_tag_untag(ddb, make_table):
    name = make_table(Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "db"}])
    arn = _describe(ddb, name)["TableArn"]
    assert _tags(ddb, arn) == {"env": "test", "team": "db"}
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "new", "Value": ""}])
    assert _tags(ddb, arn) == {"env": "prod", "team": "db", "new": ""}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["team", "not-there"])
    assert _tags(ddb, arn) == {"env": "prod", "new": ""}


def test_tags_empty_table(ddb, table_s):
    arn = _describe(ddb, table_s)["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


def test_tags_missing_table(ddb):
    arn = ARN_PREFIX + unique_name("t-missing")
    # "ResourceArn", as us-east-1 spells it now (older answers read "ResourcArn")
    want = f"Requested resource not found: ResourceArn: {arn} not found"
    expect_error("ResourceNotFoundException", ddb.list_tags_of_resource, ResourceArn=arn, message=want)
    expect_error("ResourceNotFoundException", ddb.tag_resource, ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}],
                 message=want)
    expect_error("ResourceNotFoundException", ddb.untag_resource, ResourceArn=arn, TagKeys=["a"], message=want)


def test_tags_bad_arn(ddb):
    expect_error("ValidationException", ddb.list_tags_of_resource, ResourceArn="not-an-arn-at-all")


# --------------------------------------------------------------------------- limits, endpoints


def test_describe_limits(ddb):
    resp = ddb.describe_limits()
    for k in ("AccountMaxReadCapacityUnits", "AccountMaxWriteCapacityUnits",
              "TableMaxReadCapacityUnits", "TableMaxWriteCapacityUnits"):
        assert isinstance(resp[k], int) and resp[k] > 0, resp
    assert resp["TableMaxReadCapacityUnits"] <= resp["AccountMaxReadCapacityUnits"]
    assert resp["TableMaxWriteCapacityUnits"] <= resp["AccountMaxWriteCapacityUnits"]


def test_describe_endpoints(ddb):
    resp = ddb.describe_endpoints()
    assert resp["Endpoints"], resp
    for e in resp["Endpoints"]:
        assert isinstance(e["Address"], str) and e["Address"]
        assert e["CachePeriodInMinutes"] == 1440


def test_unknown_operation(ddb):
    from ddb_util import error_code_of_body, raw_call

    status, _, doc = raw_call(ddb.meta.endpoint_url, "DynamoDB_20120810.NoSuchThing", "{}")
    assert status == 400
    assert error_code_of_body(doc) == "UnknownOperationException"
