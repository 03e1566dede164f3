"""DynamoDB Streams (through boto3's `dynamodbstreams` client): record contents per
StreamViewType, INSERT/MODIFY/REMOVE, no-op writes, sequence numbers, shard iterator types,
ListStreams, DescribeStream, disabling and re-enabling; and Time to Live: UpdateTimeToLive /
DescribeTimeToLive, and the background sweeper deleting expired items (with its service
REMOVE records)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from ddb_util import avs, expect_error, pyitem
from serval_harness import REGION, error_of, make_client, unique_name, wait_until

TTL_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
DEADLINE = 20.0  # seconds to wait for something asynchronous; never asserted on otherwise


# --------------------------------------------------------------------------- helpers


def _describe_table(ddb, table):
    return ddb.describe_table(TableName=table)["Table"]


def stream_arn(ddb, table):
    return _describe_table(ddb, table)["LatestStreamArn"]


def all_shards(streams, arn):
    """Every shard of a stream, following DescribeStream's LastEvaluatedShardId."""
    out, kw = [], {}
    while True:
        desc = streams.describe_stream(StreamArn=arn, **kw)["StreamDescription"]
        out += desc["Shards"]
        last = desc.get("LastEvaluatedShardId")
        if not last:
            return out
        assert len(out) < 10000
        kw["ExclusiveStartShardId"] = last


def iterators(streams, arn, kind="TRIM_HORIZON", seq=None):
    """{shard id: iterator} for every shard."""
    out = {}
    for shard in all_shards(streams, arn):
        kw = {"SequenceNumber": seq} if seq else {}
        out[shard["ShardId"]] = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=kind, **kw)["ShardIterator"]
    return out


def drain(streams, its: dict) -> list:
    """Read every iterator until it returns nothing new (or the shard ends); update `its` in place
    to the next iterators; return the records read, in order within each shard."""
    got = []
    for sid in list(its):
        it = its[sid]
        for _ in range(1000):
            if it is None:
                break
            resp = streams.get_records(ShardIterator=it)
            got += resp["Records"]
            it = resp.get("NextShardIterator")
            if not resp["Records"]:
                break
        its[sid] = it
    return got


def wait_records(streams, arn, n, its=None) -> list:
    """Poll (up to DEADLINE) until at least n records have been read from the stream (from its start
    unless `its` says otherwise); then read once more so that extra records show up too."""
    its = its if its is not None else iterators(streams, arn)
    got = []
    deadline = time.monotonic() + DEADLINE
    while True:
        got += drain(streams, its)
        if len(got) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    got += drain(streams, its)
    assert len(got) >= n, f"only {len(got)} of {n} stream records arrived within {DEADLINE}s: {got}"
    return sorted(got, key=lambda r: int(r["dynamodb"]["SequenceNumber"]))


def summary(records):
    """(eventName, Keys, NewImage, OldImage) per record, as Python values."""
    return [(r["eventName"], pyitem(r["dynamodb"]["Keys"]), pyitem(r["dynamodb"].get("NewImage")),
             pyitem(r["dynamodb"].get("OldImage"))) for r in records]


@pytest.fixture
def stream_table(ddb, make_table):
    """stream_table(view_type, **make_table kwargs) -> (table, stream arn), table with pk/sk strings."""

    def make(view="NEW_AND_OLD_IMAGES", **kw):
        kw.setdefault("range_key", ("sk", "S"))
        t = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": view}, **kw)
        return t, stream_arn(ddb, t)

    return make


def _changes(ddb, t):
    """INSERT, MODIFY (put), MODIFY (update), REMOVE on one item; returns the expected
    (eventName, NewImage, OldImage) for a NEW_AND_OLD_IMAGES stream."""
    k = {"pk": "p", "sk": "s"}
    v1, v2, v3 = dict(k, a=1), dict(k, a=2, b="x"), dict(k, a=3, b="x")
    ddb.put_item(TableName=t, Item=avs(v1))
    ddb.put_item(TableName=t, Item=avs(v2))
    ddb.update_item(TableName=t, Key=avs(k), UpdateExpression="SET a = :a", ExpressionAttributeValues=avs({":a": 3}))
    ddb.delete_item(TableName=t, Key=avs(k))
    return k, [("INSERT", v1, None), ("MODIFY", v2, v1), ("MODIFY", v3, v2), ("REMOVE", None, v3)]


# --------------------------------------------------------------------------- record contents


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_record_contents_per_view_type(ddb, ddb_streams, stream_table, view):
    t, arn = stream_table(view)
    k, expected = _changes(ddb, t)
    recs = wait_records(ddb_streams, arn, 4)
    assert len(recs) == 4
    for rec, (name, new, old) in zip(recs, expected):
        assert rec["eventName"] == name
        assert rec["eventSource"] == "aws:dynamodb"
        assert rec["eventVersion"] == "1.1"
        assert rec["awsRegion"] == REGION
        assert rec["eventID"]
        assert "userIdentity" not in rec  # written by a user, not by TTL
        d = rec["dynamodb"]
        assert pyitem(d["Keys"]) == k
        assert d["StreamViewType"] == view
        assert d["SizeBytes"] > 0
        assert isinstance(d["ApproximateCreationDateTime"], datetime)
        assert d["SequenceNumber"].isdecimal()
        want_new = new if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else None
        want_old = old if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else None
        assert pyitem(d.get("NewImage")) == want_new, (name, d)
        assert pyitem(d.get("OldImage")) == want_old, (name, d)
    assert len({r["eventID"] for r in recs}) == 4
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4


def test_every_write_api_produces_records(ddb, ddb_streams, stream_table):
    t, arn = stream_table("NEW_AND_OLD_IMAGES")
    ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": avs({"pk": "b", "sk": str(i)})}} for i in range(3)]})
    ddb.batch_write_item(RequestItems={t: [{"DeleteRequest": {"Key": avs({"pk": "b", "sk": "0"})}}]})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": avs({"pk": "t", "sk": "1"})}},
        {"Update": {"TableName": t, "Key": avs({"pk": "b", "sk": "1"}), "UpdateExpression": "SET x = :x",
                    "ExpressionAttributeValues": avs({":x": 1})}},
        {"Delete": {"TableName": t, "Key": avs({"pk": "b", "sk": "2"})}},
        {"ConditionCheck": {"TableName": t, "Key": avs({"pk": "nothing", "sk": "x"}),
                            "ConditionExpression": "attribute_not_exists(pk)"}},
    ])
    ddb.update_item(TableName=t, Key=avs({"pk": "u", "sk": "1"}), UpdateExpression="SET y = :y",
                    ExpressionAttributeValues=avs({":y": 2}))
    recs = wait_records(ddb_streams, arn, 8)
    got = sorted((r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in recs)
    assert got == sorted([("INSERT", "b", "0"), ("INSERT", "b", "1"), ("INSERT", "b", "2"), ("REMOVE", "b", "0"),
                          ("INSERT", "t", "1"), ("MODIFY", "b", "1"), ("REMOVE", "b", "2"), ("INSERT", "u", "1")])
    # a ConditionCheck writes nothing, a failed transaction writes nothing
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": avs({"pk": "never", "sk": "1"})}},
            {"ConditionCheck": {"TableName": t, "Key": avs({"pk": "t", "sk": "1"}),
                                "ConditionExpression": "attribute_not_exists(pk)"}}])
    ddb.put_item(TableName=t, Item=avs({"pk": "sentinel", "sk": "1"}))
    recs = wait_records(ddb_streams, arn, 9)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs[8:]] == ["sentinel"]


def test_no_record_for_writes_that_change_nothing(ddb, ddb_streams, stream_table):
    t, arn = stream_table("NEW_AND_OLD_IMAGES")
    item = {"pk": "p", "sk": "s", "a": 1, "l": [1, 2], "m": {"x": "y"}}
    ddb.put_item(TableName=t, Item=avs(item))
    # none of these changes the item, or there is no item to change
    ddb.put_item(TableName=t, Item=avs(item))
    ddb.update_item(TableName=t, Key=avs({"pk": "p", "sk": "s"}), UpdateExpression="SET a = :a",
                    ExpressionAttributeValues=avs({":a": 1}))
    ddb.update_item(TableName=t, Key=avs({"pk": "p", "sk": "s"}), UpdateExpression="REMOVE nothere")
    ddb.delete_item(TableName=t, Key=avs({"pk": "p", "sk": "missing"}))
    ddb.batch_write_item(RequestItems={t: [{"DeleteRequest": {"Key": avs({"pk": "p", "sk": "missing2"})}},
                                          {"PutRequest": {"Item": avs(item)}}]})
    with pytest.raises(ClientError):
        ddb.put_item(TableName=t, Item=avs(dict(item, a=2)), ConditionExpression="a = :z",
                     ExpressionAttributeValues=avs({":z": 0}))
    ddb.put_item(TableName=t, Item=avs({"pk": "sentinel", "sk": "s"}))
    recs = wait_records(ddb_streams, arn, 2)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in recs] == [("INSERT", "p"), ("INSERT", "sentinel")]


def test_update_that_only_removes_does_not_create_item(ddb, ddb_streams, stream_table):
    t, arn = stream_table("NEW_AND_OLD_IMAGES")
    resp = ddb.update_item(TableName=t, Key=avs({"pk": "ghost", "sk": "s"}), UpdateExpression="REMOVE a",
                           ReturnValues="ALL_NEW")
    assert "Attributes" not in resp
    assert "Item" not in ddb.get_item(TableName=t, Key=avs({"pk": "ghost", "sk": "s"}), ConsistentRead=True)
    ddb.put_item(TableName=t, Item=avs({"pk": "sentinel", "sk": "s"}))
    recs = wait_records(ddb_streams, arn, 1)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs] == ["sentinel"]


# --------------------------------------------------------------------------- iterators


def test_shard_iterator_types(ddb, ddb_streams, stream_table):
    t, arn = stream_table("KEYS_ONLY")
    for i in range(5):
        ddb.put_item(TableName=t, Item=avs({"pk": "k", "sk": str(i)}))
    recs = wait_records(ddb_streams, arn, 5)
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in recs] == ["0", "1", "2", "3", "4"]
    # the records of one item are all in one shard
    shards = all_shards(ddb_streams, arn)
    holding = [s for s in shards if drain(ddb_streams, {s["ShardId"]: ddb_streams.get_shard_iterator(
        StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]})]
    assert len(holding) == 1
    shard = holding[0]
    sid = shard["ShardId"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in recs]
    start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
    assert int(start) <= int(seqs[0])

    def read(kind, seq=None):
        kw = {"SequenceNumber": seq} if seq else {}
        it = ddb_streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType=kind, **kw)["ShardIterator"]
        return [r["dynamodb"]["Keys"]["sk"]["S"] for r in drain(ddb_streams, {sid: it})]

    assert read("TRIM_HORIZON") == ["0", "1", "2", "3", "4"]
    assert read("AT_SEQUENCE_NUMBER", seqs[2]) == ["2", "3", "4"]
    assert read("AFTER_SEQUENCE_NUMBER", seqs[2]) == ["3", "4"]
    assert read("AT_SEQUENCE_NUMBER", start) == ["0", "1", "2", "3", "4"]
    assert read("AFTER_SEQUENCE_NUMBER", seqs[-1]) == []
    # LATEST starts after the last record: only what is written afterwards
    latest = {sid: ddb_streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="LATEST")["ShardIterator"]}
    assert drain(ddb_streams, latest) == []
    ddb.put_item(TableName=t, Item=avs({"pk": "k", "sk": "5"}))
    after = wait_records(ddb_streams, arn, 1, its=latest)
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in after] == ["5"]
    assert int(after[0]["dynamodb"]["SequenceNumber"]) > int(seqs[-1])


def test_get_records_limit_and_next_iterator(ddb, ddb_streams, stream_table):
    t, arn = stream_table("KEYS_ONLY", range_key=None)
    for i in range(7):
        ddb.put_item(TableName=t, Item=avs({"pk": f"k{i}"}))
    wait_records(ddb_streams, arn, 7)
    its = iterators(ddb_streams, arn)
    got = []
    for sid, it in its.items():
        while it:
            resp = ddb_streams.get_records(ShardIterator=it, Limit=3)
            assert len(resp["Records"]) <= 3
            got += resp["Records"]
            # an open shard always hands out a next iterator
            assert "NextShardIterator" in resp
            it = resp["NextShardIterator"] if resp["Records"] else None
    assert sorted(r["dynamodb"]["Keys"]["pk"]["S"] for r in got) == [f"k{i}" for i in range(7)]
    # an iterator can be read again: it is a position, not a cursor
    it = next(iter(iterators(ddb_streams, arn).values()))
    a = ddb_streams.get_records(ShardIterator=it, Limit=2)["Records"]
    b = ddb_streams.get_records(ShardIterator=it, Limit=2)["Records"]
    assert [r["eventID"] for r in a] == [r["eventID"] for r in b]


def test_stream_api_errors(ddb, ddb_streams, stream_table, table_s):
    raw = make_client(ddb_streams.meta.endpoint_url, "dynamodbstreams", parameter_validation=False)
    t, arn = stream_table("KEYS_ONLY")
    sid = all_shards(ddb_streams, arn)[0]["ShardId"]
    seq = all_shards(ddb_streams, arn)[0]["SequenceNumberRange"]["StartingSequenceNumber"]
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        expect_error("ValidationException", ddb_streams.get_shard_iterator, StreamArn=arn, ShardId=sid,
                     ShardIteratorType=kind)
    for kind in ("TRIM_HORIZON", "LATEST"):
        expect_error("ValidationException", ddb_streams.get_shard_iterator, StreamArn=arn, ShardId=sid,
                     ShardIteratorType=kind, SequenceNumber=seq)
    expect_error("ValidationException", raw.get_shard_iterator, StreamArn=arn, ShardId=sid,
                 ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber="not-a-number")
    expect_error("ResourceNotFoundException", ddb_streams.get_shard_iterator, StreamArn=arn,
                 ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST")
    expect_error("ValidationException", ddb_streams.get_records, ShardIterator="x" * 40)
    it = ddb_streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="LATEST")["ShardIterator"]
    expect_error("ValidationException", raw.get_records, ShardIterator=it, Limit=1001, contains="imit")
    expect_error("ValidationException", raw.get_records, ShardIterator=it, Limit=0, contains="imit")
    # a well-formed ARN of a stream that does not exist, and a malformed one
    gone = arn.replace(t, unique_name("t-missing"))
    expect_error("ResourceNotFoundException", ddb_streams.describe_stream, StreamArn=gone)
    expect_error("ValidationException", raw.describe_stream, StreamArn="definitely-not-an-arn-at-all-x" * 2)
    # streams cannot be changed in place, enabled twice, or disabled when there is none
    expect_error("ValidationException", ddb.update_table, TableName=t,
                 StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}, contains="already")
    expect_error("ValidationException", ddb.update_table, TableName=table_s,
                 StreamSpecification={"StreamEnabled": False})
    expect_error("ValidationException", ddb.update_table, TableName=table_s,
                 StreamSpecification={"StreamEnabled": True, "StreamViewType": "EVERYTHING"})


# --------------------------------------------------------------------------- ListStreams, DescribeStream


def test_list_and_describe_streams(ddb, ddb_streams, stream_table):
    t, arn = stream_table("NEW_IMAGE")
    t2, arn2 = stream_table("KEYS_ONLY", range_key=None)
    table = _describe_table(ddb, t)
    listed = ddb_streams.list_streams(TableName=t)["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": t, "StreamLabel": table["LatestStreamLabel"]}]
    assert arn.endswith("/stream/" + table["LatestStreamLabel"])
    # without a table name: every stream, pageable
    seen, kw = [], {"Limit": 1}
    while True:
        resp = ddb_streams.list_streams(**kw)
        assert len(resp["Streams"]) <= 1
        seen += [s["StreamArn"] for s in resp["Streams"]]
        if "LastEvaluatedStreamArn" not in resp:
            break
        assert resp["LastEvaluatedStreamArn"] == resp["Streams"][-1]["StreamArn"]
        kw["ExclusiveStartStreamArn"] = resp["LastEvaluatedStreamArn"]
        assert len(seen) < 10000
    assert arn in seen and arn2 in seen and len(seen) == len(set(seen))
    assert ddb_streams.list_streams(TableName=unique_name("t-missing"))["Streams"] == []

    d = ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamArn"] == arn
    assert d["StreamLabel"] == table["LatestStreamLabel"]
    assert d["StreamStatus"] == "ENABLED"
    assert d["StreamViewType"] == "NEW_IMAGE"
    assert d["TableName"] == t
    assert d["KeySchema"] == table["KeySchema"]
    assert isinstance(d["CreationRequestDateTime"], datetime)
    assert d["Shards"]
    for s in d["Shards"]:
        assert s["ShardId"] and len(s["ShardId"]) <= 65
        assert s["SequenceNumberRange"]["StartingSequenceNumber"].isdecimal()
        assert "EndingSequenceNumber" not in s["SequenceNumberRange"]  # open shards
    # paging past the last shard gives nothing
    last = d["Shards"][-1]["ShardId"]
    after = ddb_streams.describe_stream(StreamArn=arn, ExclusiveStartShardId=last)["StreamDescription"]
    assert after["Shards"] == []
    assert ddb_streams.describe_stream(StreamArn=arn, Limit=1)["StreamDescription"]["Shards"] == d["Shards"][:1]


def test_disable_and_reenable_stream(ddb, ddb_streams, stream_table):
    t, arn = stream_table("NEW_AND_OLD_IMAGES")
    ddb.put_item(TableName=t, Item=avs({"pk": "before", "sk": "1"}))
    wait_records(ddb_streams, arn, 1)
    ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": False})
    wait_until(lambda: ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED",
               timeout=DEADLINE, interval=0.1, message="stream DISABLED")
    ddb.put_item(TableName=t, Item=avs({"pk": "after", "sk": "1"}))

    d = ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamViewType"] == "NEW_AND_OLD_IMAGES" and d["TableName"] == t
    for s in d["Shards"]:
        # every shard is closed
        assert s["SequenceNumberRange"]["EndingSequenceNumber"].isdecimal()
    # the old stream is still listed and readable; the later write is not in it
    assert arn in [s["StreamArn"] for s in ddb_streams.list_streams(TableName=t)["Streams"]]
    its = iterators(ddb_streams, arn)
    recs = drain(ddb_streams, its)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs] == ["before"]
    # reading a closed shard to its end ends the iteration: no NextShardIterator
    for s in d["Shards"]:
        it = ddb_streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        reads = 0
        while it:
            it = ddb_streams.get_records(ShardIterator=it).get("NextShardIterator")
            reads += 1
            assert reads <= 10, "a closed shard keeps handing out iterators"
    table = _describe_table(ddb, t)
    assert table.get("StreamSpecification", {"StreamEnabled": False})["StreamEnabled"] is False

    # enabling again makes a new stream, which starts empty
    ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    wait_until(lambda: _describe_table(ddb, t)["TableStatus"] == "ACTIVE", timeout=DEADLINE, interval=0.1)
    new_arn = stream_arn(ddb, t)
    assert new_arn != arn
    assert ddb_streams.describe_stream(StreamArn=new_arn)["StreamDescription"]["StreamViewType"] == "KEYS_ONLY"
    ddb.put_item(TableName=t, Item=avs({"pk": "new", "sk": "1"}))
    recs = wait_records(ddb_streams, new_arn, 1)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in recs] == [("INSERT", "new")]
    assert "NewImage" not in recs[0]["dynamodb"]
    listed = {s["StreamArn"] for s in ddb_streams.list_streams(TableName=t)["Streams"]}
    assert {arn, new_arn} <= listed


def test_stream_of_deleted_table(ddb, ddb_streams, make_table):
    t = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    arn = stream_arn(ddb, t)
    ddb.put_item(TableName=t, Item=avs({"pk": "x"}))
    wait_records(ddb_streams, arn, 1)
    ddb.delete_table(TableName=t)
    ddb.get_waiter("table_not_exists").wait(TableName=t, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
    # the stream outlives its table (for 24 hours), disabled
    wait_until(lambda: ddb_streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED",
               timeout=DEADLINE, interval=0.1, message="stream DISABLED")
    recs = drain(ddb_streams, iterators(ddb_streams, arn))
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs] == ["x"]


# --------------------------------------------------------------------------- TTL settings


def test_ttl_enable_describe_disable(ddb, table_s):
    desc = ddb.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"]
    assert desc == {"TimeToLiveStatus": "DISABLED"}
    expect_error("ValidationException", ddb.update_time_to_live, TableName=table_s,
                 TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"}, contains="disabled")
    spec = {"Enabled": True, "AttributeName": "exp"}
    assert ddb.update_time_to_live(TableName=table_s, TimeToLiveSpecification=spec)["TimeToLiveSpecification"] == spec
    wait_until(lambda: ddb.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"]["TimeToLiveStatus"]
               == "ENABLED", timeout=DEADLINE, interval=0.1)
    assert ddb.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    # another attribute while enabled: disable first
    expect_error("ValidationException", ddb.update_time_to_live, TableName=table_s,
                 TimeToLiveSpecification={"Enabled": True, "AttributeName": "other"})
    # disabling names the attribute in use
    expect_error("ValidationException", ddb.update_time_to_live, TableName=table_s,
                 TimeToLiveSpecification={"Enabled": False, "AttributeName": "other"}, contains="different")
    # DynamoDB refuses a second change within an hour; an emulator may apply it at once
    try:
        resp = ddb.update_time_to_live(TableName=table_s, TimeToLiveSpecification={"Enabled": False,
                                                                                   "AttributeName": "exp"})
    except ClientError as e:
        code, _, r = error_of(e)
        assert code == "ValidationException" and "multiple times" in r["Error"]["Message"], r
    else:
        assert resp["TimeToLiveSpecification"] == {"Enabled": False, "AttributeName": "exp"}
        wait_until(lambda: ddb.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"]["TimeToLiveStatus"]
                   == "DISABLED", timeout=DEADLINE, interval=0.1)
        assert ddb.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}


def test_ttl_attribute_name_validation(ddb_raw, table_s):
    for name in ("", "x" * 256):
        expect_error("ValidationException", ddb_raw.update_time_to_live, TableName=table_s,
                     TimeToLiveSpecification={"Enabled": True, "AttributeName": name}, contains="length")
    expect_error("ValidationException", ddb_raw.update_time_to_live, TableName=table_s,
                 TimeToLiveSpecification={"Enabled": True})
    expect_error("ValidationException", ddb_raw.update_time_to_live, TableName=table_s,
                 TimeToLiveSpecification={"AttributeName": "exp"})
    assert ddb_raw.describe_time_to_live(TableName=table_s)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}


# --------------------------------------------------------------------------- the TTL sweeper


def _create(client, name, **kw):
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST", **kw)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})


def test_ttl_sweeper_deletes_expired_items(serval_factory):
    server = serval_factory(extra_args=["--dynamodb-ttl-interval-ms", "200"])
    ddb = server.client("dynamodb")
    streams = server.client("dynamodbstreams")
    t = unique_name("t-ttl")
    _create(ddb, t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    no_ttl = unique_name("t-nottl")
    _create(ddb, no_ttl)
    now = int(time.time())
    # written before TTL is enabled: expired all the same once it is
    ddb.put_item(TableName=t, Item=avs({"pk": "early", "exp": now - 10}))
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    items = {
        "past": {"pk": "past", "exp": now - 60, "v": "gone"},
        "future": {"pk": "future", "exp": now + 3600},
        "string": {"pk": "string", "exp": str(now - 60)},  # not a number: ignored
        "ancient": {"pk": "ancient", "exp": now - 6 * 365 * 86400},  # over five years ago: ignored
        "nested": {"pk": "nested", "m": {"exp": now - 60}},  # only a top-level attribute counts
        "set": {"pk": "set", "exp": {now - 60}},  # a number set is not a number
        "none": {"pk": "none", "v": 1},
    }
    for item in items.values():
        ddb.put_item(TableName=t, Item=avs(item))
    ddb.put_item(TableName=no_ttl, Item=avs({"pk": "past", "exp": now - 60}))
    expired = {"early", "past"}

    def present(table, pk):
        return "Item" in ddb.get_item(TableName=table, Key=avs({"pk": pk}), ConsistentRead=True)

    wait_until(lambda: not any(present(t, pk) for pk in expired), timeout=DEADLINE, interval=0.1,
               message="the expired items to be deleted")
    for pk in set(items) - expired:
        assert present(t, pk), pk
    assert present(no_ttl, "past")  # TTL is not enabled on that table

    arn = stream_arn(ddb, t)
    recs = wait_records(streams, arn, 1 + len(items) + len(expired))
    removes = [r for r in recs if r["eventName"] == "REMOVE"]
    assert sorted(r["dynamodb"]["Keys"]["pk"]["S"] for r in removes) == sorted(expired)
    for r in removes:
        assert r["userIdentity"] == TTL_IDENTITY
        pk = r["dynamodb"]["Keys"]["pk"]["S"]
        old = pyitem(r["dynamodb"]["OldImage"])
        assert old["pk"] == pk and "exp" in old
        assert "NewImage" not in r["dynamodb"]
    assert pyitem(next(r for r in removes if r["dynamodb"]["Keys"]["pk"]["S"] == "past")["dynamodb"]["OldImage"]) == \
        items["past"]
    assert all("userIdentity" not in r for r in recs if r["eventName"] != "REMOVE")

    # a user delete is not a service delete
    ddb.delete_item(TableName=t, Key=avs({"pk": "none"}))
    recs = wait_records(streams, arn, 1 + len(items) + len(expired) + 1)
    assert recs[-1]["eventName"] == "REMOVE" and "userIdentity" not in recs[-1]

    # an item updated to expire is swept later too; one whose expiry is pushed back is not
    ddb.update_item(TableName=t, Key=avs({"pk": "future"}), UpdateExpression="SET exp = :e",
                    ExpressionAttributeValues=avs({":e": now - 5}))
    wait_until(lambda: not present(t, "future"), timeout=DEADLINE, interval=0.1, message="future to expire")
