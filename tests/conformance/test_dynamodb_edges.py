"""DynamoDB edge cases where emulators commonly differ from DynamoDB: request-shape validation
from the service model, stream paging, updates that write nothing, ExclusiveStartKey checks,
index key limits and backfill, tags, transactions and limits. Expected behaviour is DynamoDB's
(from its API reference and from test suites run against it)."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from ddb_util import avs, expect_error, pyitem, raw_call


# ------------------------------------------------------------------ model (shape) validation


def test_enum_and_length_violations_are_collected_as_dynamodb_words_them(ddb_raw, table_ss):
    resp = expect_error(
        "ValidationException", ddb_raw.query, TableName=table_ss,
        KeyConditions={"pk": {"AttributeValueList": [{"S": "a"}], "ComparisonOperator": "eq"}},
    )
    msg = resp["Error"]["Message"]
    assert msg.startswith("1 validation error detected: Value 'eq' at 'keyConditions.pk.member.comparisonOperator'")
    assert "Member must satisfy enum value set" in msg


ENV = "1 validation error detected: "
TABLE_NAME_KEYS = ("Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member "
                   "must have length greater than or equal to 3, Member must satisfy regular expression pattern: "
                   "[a-zA-Z0-9_.-]+]")
RCC = ("Value 'BOGUS' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: "
       "[INDEXES, TOTAL, NONE]")


def test_enum_values_are_listed_in_dynamodbs_order(ddb_raw, table_s, make_table):
    expect_error("ValidationException", ddb_raw.query, TableName=table_s, KeyConditionExpression="pk = :p",
                 ExpressionAttributeValues=avs({":p": "a"}), Select="INVALID_VALUE",
                 message=ENV + "Value 'INVALID_VALUE' at 'select' failed to satisfy constraint: Member must satisfy "
                               "enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]")
    expect_error("ValidationException", make_table, client=ddb_raw, wait=False,
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "INVALID"}],
                 message=ENV + "Value 'INVALID' at 'attributeDefinitions.1.member.attributeType' failed to satisfy "
                               "constraint: Member must satisfy enum value set: [B, N, S]")
    # UpdateItem without a Key: every member, in DynamoDB's order, the missing key last
    expect_error("ValidationException", ddb_raw.update_item, TableName="", UpdateExpression="SET a = :a",
                 ExpressionAttributeValues=avs({":a": "x"}), ReturnConsumedCapacity="INVALID", ReturnValues="INVALID",
                 message="4 validation errors detected: Value 'INVALID' at 'returnConsumedCapacity' failed to satisfy "
                         "constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; Value '' at "
                         "'tableName' failed to satisfy constraint: Member must have length greater than or equal to 1; "
                         "Value 'INVALID' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value "
                         "set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]; Value null at 'key' failed to satisfy "
                         "constraint: Member must not be null")
    expect_error("ValidationException", ddb_raw.update_item, TableName=table_s,
                 AttributeUpdates={"x": {"Action": "PUT", "Value": {"S": "1"}}},
                 Expected={"a": {"Exists": False}, "b": {"Exists": False}}, ConditionalOperator="XOR",
                 message="2 validation errors detected: Value 'XOR' at 'conditionalOperator' failed to satisfy "
                         "constraint: Member must satisfy enum value set: [OR, AND]; Value null at 'key' failed to "
                         "satisfy constraint: Member must not be null")


def test_newer_validation_framework_answers(ddb_raw, table_s):
    # recorded from us-east-1 in 2026: these stop at one member, worded without an echo
    expect_error("ValidationException", ddb_raw.update_item, TableName=table_s, Key=avs({"pk": "a"}),
                 ReturnValues="INVALID", ReturnConsumedCapacity="INVALID",
                 message=ENV + "Failed to satisfy constraint: Member must satisfy enum value set: "
                               "[ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATE_NEW, NONE]")
    expect_error("ValidationException", ddb_raw.query, TableName=table_s,
                 KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
                 QueryFilter={"b": {"ComparisonOperator": "NULL"}, "c": {"ComparisonOperator": "NULL"}},
                 ConditionalOperator="XOR", Select="BOGUS",
                 message="Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]")
    expect_error("ValidationException", ddb_raw.batch_get_item, RequestItems={},
                 message=ENV + "Value at 'RequestItems' failed to satisfy constraint: Member must have length greater "
                               "than or equal to 1")
    for keys, bound in (([], "greater than or equal to 1"), ([avs({"pk": f"k{i}"}) for i in range(101)],
                                                             "less than or equal to 100")):
        expect_error("ValidationException", ddb_raw.batch_get_item, RequestItems={table_s: {"Keys": keys}},
                     message=ENV + f"Value at 'RequestItems.{table_s}.member.Keys' failed to satisfy constraint: "
                                   f"Member must have length {bound}")
    # BatchWriteItem still gives its own sentence for an empty RequestItems
    expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={},
                 message="The requestItems parameter is required for BatchWriteItem")


def test_batch_request_items_constraints(ddb_raw, table_s):
    expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={table_s: []},
                 message=ENV + f"Value '{{{table_s}=[]}}' at 'requestItems' failed to satisfy constraint: Map value "
                               "must satisfy constraint: [Member must have length less than or equal to 25, Member must "
                               "have length greater than or equal to 1]")
    resp = expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={
        table_s: [{"PutRequest": {"Item": avs({"pk": f"p{i}"})}} for i in range(26)]})
    msg = resp["Error"]["Message"]
    assert msg.startswith(ENV + f"Value '{{{table_s}=[WriteRequest(putRequest=PutRequest(item={{pk="), msg
    assert msg.endswith("' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member "
                        "must have length less than or equal to 25, Member must have length greater than or equal to "
                        "1]"), msg
    # a malformed table name: BatchGetItem reports it with the other member constraints...
    expect_error("ValidationException", ddb_raw.batch_get_item,
                 RequestItems={"bad!name": {"Keys": [{"pk": {"S": "a"}}]}}, ReturnConsumedCapacity="BOGUS",
                 message="2 validation errors detected: Value '{\"bad!name\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}]}}' at "
                         f"'requestItems' failed to satisfy constraint: {TABLE_NAME_KEYS}; {RCC}")
    # ...BatchWriteItem after them, echoing the request as Java prints it
    put = [{"PutRequest": {"Item": {"pk": {"S": "x"}}}}]
    expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={"bad!name": put},
                 ReturnConsumedCapacity="BOGUS", message=ENV + RCC)
    expect_error("ValidationException", ddb_raw.batch_write_item, RequestItems={"bad!name": put},
                 message=ENV + "Value '{bad!name=[WriteRequest(putRequest=PutRequest(item={pk=AttributeValue(s=x)}), "
                               f"deleteRequest=null)]}}' at 'requestItems' failed to satisfy constraint: {TABLE_NAME_KEYS}")


def test_batch_get_may_not_mix_projection_kinds_across_tables(ddb_raw, table_s, make_table):
    other = make_table(range_key=("sk", "S"))
    expect_error("ValidationException", ddb_raw.batch_get_item, RequestItems={
        table_s: {"Keys": [avs({"pk": "a"})], "ProjectionExpression": "pk"},
        other: {"Keys": [avs({"pk": "b", "sk": "z"})], "AttributesToGet": ["pk"]}},
        contains="Can not use both expression and non-expression parameters")


def test_create_table_checks_its_name_first(ddb_raw, make_table):
    expect_error("ValidationException", ddb_raw.create_table,
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                 ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
                 message="The parameter 'TableName' is required but was not present in the request")
    expect_error("ValidationException", ddb_raw.create_table, TableName="x!",
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], KeySchema=[],
                 message="2 validation errors detected: Value 'x!' at 'tableName' failed to satisfy constraint: "
                         "Member must have length greater than or equal to 3; Value 'x!' at 'tableName' failed to "
                         "satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    # a KeySchema is echoed as Java prints it
    expect_error("ValidationException", make_table, client=ddb_raw, wait=False, range_key=("sk", "S"),
                 extra_defs=[("x", "S")], KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                     {"AttributeName": "sk", "KeyType": "RANGE"},
                                                     {"AttributeName": "x", "KeyType": "RANGE"}],
                 message=ENV + "Value '[KeySchemaElement(attributeName=pk, keyType=HASH), KeySchemaElement("
                               "attributeName=sk, keyType=RANGE), KeySchemaElement(attributeName=x, keyType=RANGE)]' at "
                               "'keySchema' failed to satisfy constraint: Member must have length less than or equal "
                               "to 2")


def test_wrong_json_type_is_a_serialization_exception(ddb, table_s):
    status, _, doc = raw_call(
        ddb.meta.endpoint_url, "DynamoDB_20120810.GetItem",
        f'{{"TableName": "{table_s}", "Key": {{"pk": {{"S": "a"}}}}, "ExpressionAttributeNames": {{"#a": 7}}}}',
    )
    assert status == 400
    assert doc["__type"].endswith("#SerializationException")


def test_client_request_token_longer_than_36_is_refused(ddb_raw, table_s):
    expect_error(
        "ValidationException", ddb_raw.transact_write_items,
        TransactItems=[{"Put": {"TableName": table_s, "Item": avs({"pk": "a"})}}],
        ClientRequestToken="x" * 37, contains="clientRequestToken",
    )


def test_index_names_are_checked(ddb_raw, make_table):
    for bad in ["n", "n" * 256, "nyh@test"]:
        expect_error(
            "ValidationException", make_table, extra_defs=[("x", "S")], wait=False, client=ddb_raw,
            GlobalSecondaryIndexes=[{"IndexName": bad, "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
        )


def test_ttl_attribute_name_must_not_be_empty(ddb_raw, table_s):
    expect_error(
        "ValidationException", ddb_raw.update_time_to_live, TableName=table_s,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": ""}, contains="length",
    )


def test_json_parse_error_has_no_message(ddb):
    status, _, doc = raw_call(ddb.meta.endpoint_url, "DynamoDB_20120810.PutItem", "{broken json")
    assert status == 400
    assert doc["__type"].endswith("#SerializationException")
    assert not doc.get("message") and not doc.get("Message")


def test_body_over_16_mb_is_413(ddb, table_s):
    body = '{"TableName": "%s", "Item": {"pk": {"S": "%s"}}}' % (table_s, "x" * (17 * 1024 * 1024))
    status, _, _ = raw_call(ddb.meta.endpoint_url, "DynamoDB_20120810.PutItem", body)
    assert status == 413


# ------------------------------------------------------------------ streams


def _stream(ddb, ddb_streams, make_table, view="NEW_AND_OLD_IMAGES"):
    name = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    return name, arn


def test_describe_stream_pages_past_the_last_shard(ddb, ddb_streams, make_table):
    _, arn = _stream(ddb, ddb_streams, make_table)
    shards = ddb_streams.describe_stream(StreamArn=arn, Limit=10)["StreamDescription"]["Shards"]
    assert len(shards) == 1
    after = ddb_streams.describe_stream(StreamArn=arn, ExclusiveStartShardId=shards[0]["ShardId"])
    assert after["StreamDescription"]["Shards"] == []
    beyond = ddb_streams.describe_stream(StreamArn=arn, ExclusiveStartShardId="shardId-" + "z" * 40)
    assert beyond["StreamDescription"]["Shards"] == []


def test_shard_filter_child_shards_and_its_validation(ddb, ddb_streams, serval, make_table):
    _, arn = _stream(ddb, ddb_streams, make_table)
    shard = ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    got = ddb_streams.describe_stream(StreamArn=arn, ShardFilter={"Type": "CHILD_SHARDS", "ShardId": shard})
    assert got["StreamDescription"]["Shards"] == []
    raw = serval.client("dynamodbstreams", parameter_validation=False)
    expect_error("ValidationException", raw.describe_stream, StreamArn=arn,
                 ShardFilter={"Type": "CHILD_SHARDS", "ShardId": "qwerty"}, contains="shardFilter.shardId")
    expect_error("ValidationException", raw.describe_stream, StreamArn=arn, ShardFilter={"ShardId": shard})


def test_malformed_stream_arns_are_validation_errors(ddb, ddb_streams, make_table):
    _, arn = _stream(ddb, ddb_streams, make_table)
    bogus = "sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf"
    expect_error("ValidationException", ddb_streams.describe_stream, StreamArn=bogus)
    expect_error("ValidationException", ddb_streams.list_streams, ExclusiveStartStreamArn=bogus)
    shard = ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    expect_error("ValidationException", ddb_streams.get_shard_iterator, StreamArn=bogus, ShardId=shard,
                 ShardIteratorType="LATEST")
    expect_error("ValidationException", ddb_streams.get_shard_iterator, StreamArn=arn, ShardId=shard,
                 ShardIteratorType="TRIM_HORIZON", SequenceNumber="1" * 21)


def test_at_timestamp_iterator_reads_from_that_time(ddb, ddb_streams, make_table):
    import time

    name, arn = _stream(ddb, ddb_streams, make_table)
    ddb.put_item(TableName=name, Item=avs({"pk": "before"}))
    time.sleep(0.05)
    cut = time.time()
    time.sleep(0.05)
    ddb.put_item(TableName=name, Item=avs({"pk": "after"}))
    shard = ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = ddb_streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_TIMESTAMP",
                                        Timestamp=cut)["ShardIterator"]
    recs = ddb_streams.get_records(ShardIterator=it)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs] == ["after"]


def test_disabling_a_missing_stream_says_so(ddb, table_s):
    expect_error("ValidationException", ddb.update_table, TableName=table_s,
                 StreamSpecification={"StreamEnabled": False}, contains="no stream to disable")


# ------------------------------------------------------------------ updates that write nothing


@pytest.mark.parametrize("update", [
    dict(UpdateExpression="REMOVE a"),
    dict(UpdateExpression="REMOVE a.b"),
    dict(AttributeUpdates={"a": {"Action": "DELETE"}}),
])
def test_remove_only_update_of_a_missing_item_creates_nothing(ddb, ddb_streams, make_table, update):
    name, arn = _stream(ddb, ddb_streams, make_table)
    got = ddb.update_item(TableName=name, Key=avs({"pk": "ghost"}), ReturnValues="ALL_NEW", **update)
    assert "Attributes" not in got
    assert "Item" not in ddb.get_item(TableName=name, Key=avs({"pk": "ghost"}), ConsistentRead=True)
    shard = ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = ddb_streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert ddb_streams.get_records(ShardIterator=it["ShardIterator"])["Records"] == []


def test_empty_attribute_updates_do_create_the_item(ddb, table_s):
    ddb.update_item(TableName=table_s, Key=avs({"pk": "made"}), AttributeUpdates={})
    assert pyitem(ddb.get_item(TableName=table_s, Key=avs({"pk": "made"}))["Item"]) == {"pk": "made"}


# ------------------------------------------------------------------ expressions and legacy conditions


@pytest.mark.parametrize("cond", ["a < :o", "a >= :o", "a BETWEEN :o AND :o"])
def test_ordering_a_list_constant_is_a_validation_error(ddb, table_s, cond):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "k", "a": 1}))
    expect_error("ValidationException", ddb.update_item, TableName=table_s, Key=avs({"pk": "k"}),
                 UpdateExpression="SET b = :one", ConditionExpression=cond,
                 ExpressionAttributeValues=avs({":o": [1, 2], ":one": 1}), contains="operand type: L")


def test_legacy_eq_and_ne_accept_any_type(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "k", "l": [1], "b": True}))
    got = ddb.scan(TableName=table_s, ScanFilter={
        "l": {"AttributeValueList": [avs({"x": [1]})["x"]], "ComparisonOperator": "EQ"},
        "b": {"AttributeValueList": [{"BOOL": False}], "ComparisonOperator": "NE"},
    })
    assert got["Count"] == 1


def test_conditional_operator_needs_legacy_conditions(ddb, table_s):
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item=avs({"pk": "k"}),
                 ConditionalOperator="OR", contains="ConditionalOperator")
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item=avs({"pk": "k"}),
                 Expected={}, ConditionalOperator="AND", contains="ConditionalOperator")


def test_if_not_exists_is_not_allowed_in_a_condition(ddb, table_s):
    expect_error("ValidationException", ddb.update_item, TableName=table_s, Key=avs({"pk": "k"}),
                 UpdateExpression="SET z = :v", ConditionExpression="if_not_exists(a, a) = :v",
                 ExpressionAttributeValues=avs({":v": 1}), contains="not allowed")


def test_key_update_is_reported_before_the_operand_type(ddb, table_s):
    expect_error("ValidationException", ddb.update_item, TableName=table_s, Key=avs({"pk": "k"}),
                 UpdateExpression="ADD pk :v", ExpressionAttributeValues=avs({":v": 1}),
                 contains="This attribute is part of the key")


def test_arithmetic_past_38_digits_is_an_overflow(ddb, table_s):
    expect_error("ValidationException", ddb.update_item, TableName=table_s, Key=avs({"pk": "k"}),
                 UpdateExpression="SET b = :a + :b", ExpressionAttributeValues={":a": {"N": "1e50"}, ":b": {"N": "1"}},
                 contains="Number overflow")


def test_document_paths_and_list_indexes_have_limits(ddb, table_s):
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=avs({"pk": "k"}),
                 ProjectionExpression="a" + ".b" * 32, contains="nesting levels: 33")
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=avs({"pk": "k"}),
                 ProjectionExpression="a[99999999999999]", contains="List index is not within the allowable range")


def test_nesting_and_attribute_name_limits(ddb, table_s):
    deep = {"S": "x"}
    for _ in range(31):
        deep = {"M": {"a": deep}}
    ddb.put_item(TableName=table_s, Item={"pk": {"S": "ok"}, "d": deep})
    expect_error("ValidationException", ddb.put_item, TableName=table_s,
                 Item={"pk": {"S": "deep"}, "d": {"M": {"a": deep}}}, contains="nested levels")
    long_name = "n" * 65536
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item=avs({"pk": "x", long_name: 1}),
                 contains="65536")
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=avs({"pk": "x"}),
                 ProjectionExpression="#n", ExpressionAttributeNames={"#n": long_name}, contains="65536")


# ------------------------------------------------------------------ query and scan


def test_exclusive_start_key_must_fit_the_query(ddb, table_sn):
    q = dict(TableName=table_sn, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "x"}))
    expect_error("ValidationException", ddb.query, **q, ExclusiveStartKey=avs({"pk": "y", "sk": 0}),
                 contains="starting key")
    expect_error("ValidationException", ddb.query, **q, ExclusiveStartKey=avs({"pk": 7, "sk": 0}),
                 contains="does not match the schema")
    expect_error("ValidationException", ddb.query, **q, ExclusiveStartKey=avs({"pk": "x", "sk": 0, "z": 1}),
                 contains="starting key")


def test_exclusive_start_key_on_a_hash_only_table_query(ddb, table_s):
    expect_error("ValidationException", ddb.query, TableName=table_s, KeyConditionExpression="pk = :p",
                 ExpressionAttributeValues=avs({":p": "x"}), ExclusiveStartKey=avs({"pk": "x"}),
                 contains="ExclusiveStartKey")


def test_scan_start_key_must_belong_to_the_segment(ddb, table_s):
    for i in range(20):
        ddb.put_item(TableName=table_s, Item=avs({"pk": f"k{i}"}))
    seg0 = ddb.scan(TableName=table_s, Segment=0, TotalSegments=2)["Items"]
    seg1 = ddb.scan(TableName=table_s, Segment=1, TotalSegments=2)["Items"]
    assert seg0 and seg1
    expect_error("ValidationException", ddb.scan, TableName=table_s, Segment=1, TotalSegments=2,
                 ExclusiveStartKey=seg0[0], contains="Exclusive")


def test_select_conflicts_with_attributes_to_get(ddb, table_s):
    expect_error("ValidationException", ddb.scan, TableName=table_s, Select="ALL_ATTRIBUTES",
                 AttributesToGet=["a"], contains="AttributesToGet")
    expect_error("ValidationException", ddb.scan, TableName=table_s, Select="COUNT",
                 ProjectionExpression="a", contains="ProjectionExpression")


def _gsi(name, hash_attr, projection):
    return {"IndexName": name, "KeySchema": [{"AttributeName": hash_attr, "KeyType": "HASH"}],
            "Projection": projection}


def test_gsi_refuses_unprojected_attributes_and_lsi_fetches_them(ddb, make_table):
    name = make_table(range_key=("sk", "S"), extra_defs=[("x", "S"), ("l", "S")],
                      GlobalSecondaryIndexes=[_gsi("gsi1", "x", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]})],
                      LocalSecondaryIndexes=[{"IndexName": "lsi", "KeySchema": [
                          {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
                          "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    ddb.put_item(TableName=name, Item=avs({"pk": "p", "sk": "s", "x": "X", "l": "L", "a": 1, "b": 2}))
    expect_error("ValidationException", ddb.query, TableName=name, IndexName="gsi1",
                 KeyConditionExpression="x = :x", ExpressionAttributeValues=avs({":x": "X"}),
                 ProjectionExpression="b", contains="project")
    got = ddb.query(TableName=name, IndexName="lsi", KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues=avs({":p": "p"}), Select="SPECIFIC_ATTRIBUTES",
                    ProjectionExpression="b")
    assert [pyitem(i) for i in got["Items"]] == [{"b": 2}]
    keys_only = ddb.query(TableName=name, IndexName="lsi", KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues=avs({":p": "p"}))
    assert [pyitem(i) for i in keys_only["Items"]] == [{"pk": "p", "sk": "s", "l": "L"}]


# ------------------------------------------------------------------ indexes


def test_gsi_key_values_have_size_limits(ddb, make_table):
    name = make_table(extra_defs=[("x", "S")], GlobalSecondaryIndexes=[_gsi("gsi1", "x", {"ProjectionType": "ALL"})])
    ddb.put_item(TableName=name, Item=avs({"pk": "ok", "x": "a" * 2048}))
    expect_error("ValidationException", ddb.put_item, TableName=name, Item=avs({"pk": "big", "x": "a" * 2049}),
                 contains="2048")
    assert "Item" not in ddb.get_item(TableName=name, Key=avs({"pk": "big"}))


def test_backfill_leaves_out_items_whose_index_key_is_unusable(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "good", "x": "v"}))
    ddb.put_item(TableName=table_s, Item=avs({"pk": "number", "x": 5}))
    ddb.put_item(TableName=table_s, Item=avs({"pk": "empty", "x": ""}))
    ddb.put_item(TableName=table_s, Item=avs({"pk": "huge", "x": "a" * 3000}))
    ddb.update_table(TableName=table_s, AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": _gsi("gsi1", "x", {"ProjectionType": "ALL"})}])
    got = ddb.scan(TableName=table_s, IndexName="gsi1")["Items"]
    assert [pyitem(i)["pk"] for i in got] == ["good"]


def test_update_table_index_changes_are_checked(ddb_raw, ddb, make_table):
    name = make_table(extra_defs=[("x", "S")], GlobalSecondaryIndexes=[_gsi("gsi1", "x", {"ProjectionType": "ALL"})])
    expect_error("ValidationException", ddb.update_table, TableName=name, GlobalSecondaryIndexUpdates=[],
                 contains="UpdateTable")
    expect_error("ValidationException", ddb_raw.update_table, TableName=name, GlobalSecondaryIndexUpdates=[{}],
                 contains="GlobalSecondaryIndexUpdate")
    expect_error("ValidationException", ddb.update_table, TableName=name,
                 AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "N"}],
                 GlobalSecondaryIndexUpdates=[{"Create": _gsi("gsi2", "x", {"ProjectionType": "ALL"})}],
                 contains="redefined")
    expect_error("ValidationException", ddb.update_table, TableName=name,
                 GlobalSecondaryIndexUpdates=[{"Create": _gsi("gsi3", "x", {"ProjectionType": "ALL"})}],
                 contains="AttributeDefinitions")
    expect_error("LimitExceededException", ddb.update_table, TableName=name,
                 AttributeDefinitions=[{"AttributeName": "y", "AttributeType": "S"}],
                 GlobalSecondaryIndexUpdates=[{"Create": _gsi("gsi4", "y", {"ProjectionType": "ALL"})},
                                              {"Delete": {"IndexName": "gsi1"}}])


def test_projection_include_needs_distinct_non_key_attributes(ddb, make_table):
    for proj, word in [({"ProjectionType": "INCLUDE"}, "NonKeyAttributes"),
                       ({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "a"]}, "Duplicate")]:
        expect_error("ValidationException", make_table, extra_defs=[("x", "S")], wait=False,
                     GlobalSecondaryIndexes=[_gsi("gsi", "x", proj)], contains=word)


def test_delete_table_answers_without_the_schema(ddb, make_table):
    name = make_table(range_key=("sk", "S"), extra_defs=[("x", "S")],
                      GlobalSecondaryIndexes=[_gsi("gsi1", "x", {"ProjectionType": "ALL"})])
    d = ddb.delete_table(TableName=name)["TableDescription"]
    assert d["TableName"] == name and d["TableStatus"] == "DELETING"
    for absent in ["KeySchema", "AttributeDefinitions", "CreationDateTime", "GlobalSecondaryIndexes"]:
        assert absent not in d


# ------------------------------------------------------------------ tags, endpoints


def test_tags_are_checked_and_answered_with_an_empty_body(ddb, table_s):
    arn = ddb.describe_table(TableName=table_s)["Table"]["TableArn"]
    for k, v in [("hi!", "dog"), ("dog", '"hello"')]:
        expect_error("ValidationException", ddb.tag_resource, ResourceArn=arn, Tags=[{"Key": k, "Value": v}])
    expect_error("ValidationException", ddb.tag_resource, ResourceArn="I_do_not_exist",
                 Tags=[{"Key": "a", "Value": "b"}], contains="ARNs")
    expect_error("ValidationException", ddb.tag_resource, ResourceArn=arn + "/index/gsi1",
                 Tags=[{"Key": "a", "Value": "b"}], contains="ResourceArn")
    status, _, body = raw_call(ddb.meta.endpoint_url, "DynamoDB_20120810.TagResource",
                               '{"ResourceArn": "%s", "Tags": [{"Key": "a", "Value": "b"}]}' % arn)
    assert (status, body) == (200, b"")


def test_create_table_refuses_more_than_50_tags(ddb, make_table):
    expect_error("ValidationException", make_table, wait=False,
                 Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)], contains="50")


def test_describe_endpoints_points_back_at_serval(ddb):
    addr = ddb.describe_endpoints()["Endpoints"][0]["Address"]
    assert addr in ddb.meta.endpoint_url


# ------------------------------------------------------------------ transactions


def test_invalid_key_in_a_transaction_cancels_it_with_validation_error(ddb, table_s):
    resp = expect_error("TransactionCanceledException", ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table_s, "Item": {"pk": {"N": "7"}}}},
        {"Put": {"TableName": table_s, "Item": {"pk": {"N": "8"}}}},
    ])
    reasons = resp["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ValidationError", "None"]
    assert "Message" in reasons[0] and "Message" not in reasons[1]


def test_transactions_hold_at_most_4_mb_of_items(ddb, table_s):
    big = "x" * (100 * 1024)
    items = [{"Put": {"TableName": table_s, "Item": avs({"pk": f"k{i}", "v": big})}} for i in range(50)]
    expect_error("ValidationException", ddb.transact_write_items, TransactItems=items,
                 contains="size cannot exceed")


def test_partiql_parameters_read_numbers_as_java_does(ddb_raw, table_s):
    # a PartiQL parameter goes through the older value checker (paritysuite
    # partiqlParameterNumbers, us-east-1 and eu-west-2, 2026-10)
    stmt = f'SELECT * FROM "{table_s}" WHERE pk = \'a\' AND n = ?'
    for n, want in (("1e2147483647", "Number underflow. Attempting to store a number with magnitude smaller than "
                                     "supported range"),
                    ("1e2147483648", "The parameter cannot be converted to a numeric value: 1e2147483648"),
                    ("", "The parameter cannot be converted to a numeric value")):
        expect_error("ValidationException", ddb_raw.execute_statement, Statement=stmt, Parameters=[{"N": n}],
                     message=want)


# ------------------------------------------------------------------ response compression


def _get_raw(ddb, table, key, accept, projection=None):
    body = {"TableName": table, "Key": avs({"pk": key})}
    if projection:
        body["ProjectionExpression"] = projection
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    status, hdrs, doc = raw_call(ddb.meta.endpoint_url, "DynamoDB_20120810.GetItem", json.dumps(body),
                                 extra_headers=headers)
    assert status == 200
    return hdrs.get("content-encoding"), doc


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_responses_over_4kb_are_compressed_when_the_client_accepts_it(ddb, table_s, coding):
    big = "x" * 2048
    ddb.put_item(TableName=table_s, Item=avs({"pk": "c", "a": big, "b": big, "c": big}))
    assert _get_raw(ddb, table_s, "c", None)[0] is None
    enc, raw = _get_raw(ddb, table_s, "c", coding)
    assert enc == coding
    plain = gzip.decompress(raw) if coding == "gzip" else zlib.decompress(raw)
    assert json.loads(plain)["Item"]["a"]["S"] == big
    assert len(raw) * 30 < len(plain)
    # Below the 4 KB threshold nothing is compressed.
    assert _get_raw(ddb, table_s, "c", coding, projection="a")[0] is None


@pytest.mark.parametrize("accept,want", [
    ("identity", None), ("br", None), ("gzip, deflate", "gzip"), ("br, identity, deflate, gzip", "deflate"),
    ("*", "gzip"), ("*, deflate", "deflate"), ("*, gzip;q=0.5", "deflate"), ("gzip;q=0", None),
    ("deflate;q=0.5, gzip;q=1;q=0.2", "gzip"), ("gzip;nq=0;q=1", None), ("deflate;q=0.5,gzip;q=0.x", "gzip"),
])
def test_accept_encoding_is_read_as_dynamodb_reads_it(ddb, table_s, accept, want):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "q", "x": "y" * 4096}))
    assert _get_raw(ddb, table_s, "q", accept)[0] == want


# ------------------------------------------------------------------ item collection size limit


def test_item_collections_of_tables_with_local_indexes_are_limited(serval_factory):
    """DynamoDB limits an item collection (a partition key value's items plus their LSI entries)
    to 10 GB on tables with local secondary indexes; a server started with a small limit shows it."""
    server = serval_factory(extra_args=["--dynamodb-item-collection-limit", "20000"])
    ddb = server.client("dynamodb")
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    defs = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "l")]
    ddb.create_table(TableName="lsi", BillingMode="PAY_PER_REQUEST", KeySchema=keys, AttributeDefinitions=defs,
                     LocalSecondaryIndexes=[{"IndexName": "by_l", "KeySchema": [keys[0], {"AttributeName": "l",
                                                                                       "KeyType": "RANGE"}],
                                             "Projection": {"ProjectionType": "ALL"}}])
    ddb.create_table(TableName="plain", BillingMode="PAY_PER_REQUEST", KeySchema=keys, AttributeDefinitions=defs[:2])
    blob = "x" * 3000
    resp = ddb.put_item(TableName="lsi", Item=avs({"pk": "a", "sk": "0", "l": "l", "v": blob}),
                        ReturnItemCollectionMetrics="SIZE")
    assert resp["ItemCollectionMetrics"] == {"ItemCollectionKey": avs({"pk": "a"}),
                                             "SizeEstimateRangeGB": [0.0, 1.0]}
    refused = None
    for i in range(1, 10):
        try:
            ddb.put_item(TableName="lsi", Item=avs({"pk": "a", "sk": str(i), "l": "l", "v": blob}))
        except ddb.exceptions.ItemCollectionSizeLimitExceededException as e:
            refused = e.response
            break
    assert refused is not None and refused["Error"]["Message"] == "Collection size exceeded."
    # other partitions, deletes and tables without local indexes are not affected
    ddb.put_item(TableName="lsi", Item=avs({"pk": "b", "sk": "0", "l": "l", "v": blob}))
    ddb.delete_item(TableName="lsi", Key=avs({"pk": "a", "sk": "0"}))
    ddb.put_item(TableName="lsi", Item=avs({"pk": "a", "sk": "new", "l": "l", "v": blob}))
    for i in range(10):
        ddb.put_item(TableName="plain", Item=avs({"pk": "a", "sk": str(i), "v": blob}))
    # in a transaction the item's reason says so
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "plain", "Item": avs({"pk": "t", "sk": "t"})}},
            {"Put": {"TableName": "lsi", "Item": avs({"pk": "a", "sk": "more", "l": "l", "v": blob * 2})}}])
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["None", "ItemCollectionSizeLimitExceeded"]
