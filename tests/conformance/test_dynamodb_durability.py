"""DynamoDB state on a --data-dir survives kill -9 and restart: acknowledged PutItem, UpdateItem,
DeleteItem, BatchWriteItem and TransactWriteItems writes, tables from CreateTable and indexes from
UpdateTable, stream and TTL settings; and no transaction is ever half applied."""

from __future__ import annotations

import threading

from botocore.exceptions import BotoCoreError, ClientError

from ddb_util import avs, pyitem
from serval_harness import unique_name, wait_until


def _wait_active(ddb, table):
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})


def _wait_index_active(ddb, table, index):
    def ready():
        for g in ddb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", []):
            if g["IndexName"] == index and g["IndexStatus"] == "ACTIVE" and not g.get("Backfilling"):
                return True
        return False

    wait_until(ready, timeout=30, interval=0.1, message=f"index {index} ACTIVE")


def _get(ddb, table, key):
    return pyitem(ddb.get_item(TableName=table, Key=avs(key), ConsistentRead=True).get("Item"))


def _everything(ddb, table):
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items += [pyitem(i) for i in page["Items"]]
    return sorted(items, key=lambda i: (i["pk"], i.get("sk", 0)))


def _setup(ddb):
    """Create tables and write through every API; return what the data must look like afterwards."""
    t = unique_name("t-durable")
    ddb.create_table(
        TableName=t, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "l", "AttributeType": "S"}],
        LocalSecondaryIndexes=[{"IndexName": "by_l", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                  {"AttributeName": "l", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "durable", "Value": "yes"}])
    _wait_active(ddb, t)
    other = unique_name("t-other")
    ddb.create_table(TableName=other, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    _wait_active(ddb, other)
    doomed = unique_name("t-doomed")
    ddb.create_table(TableName=doomed, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    _wait_active(ddb, doomed)
    ddb.put_item(TableName=doomed, Item=avs({"pk": "x"}))
    ddb.delete_table(TableName=doomed)
    ddb.get_waiter("table_not_exists").wait(TableName=doomed, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})

    want = {}
    # PutItem
    for i in range(20):
        item = {"pk": "put", "sk": i, "v": "x" * i, "g": f"g{i % 3}", "l": f"l{19 - i:02d}"}
        ddb.put_item(TableName=t, Item=avs(item))
        want[("put", i)] = item
    # UpdateItem, creating and changing
    ddb.update_item(TableName=t, Key=avs({"pk": "upd", "sk": 1}), UpdateExpression="SET n = :one, m = :m",
                    ExpressionAttributeValues=avs({":one": 1, ":m": {"a": [1, 2]}}))
    for _ in range(5):
        ddb.update_item(TableName=t, Key=avs({"pk": "upd", "sk": 1}), UpdateExpression="ADD n :one SET m.a[2] = :x",
                        ExpressionAttributeValues=avs({":one": 1, ":x": 3}))
    want[("upd", 1)] = {"pk": "upd", "sk": 1, "n": 6, "m": {"a": [1, 2, 3]}}
    # DeleteItem
    ddb.delete_item(TableName=t, Key=avs({"pk": "put", "sk": 0}))
    del want[("put", 0)]
    # BatchWriteItem, both tables
    ddb.batch_write_item(RequestItems={
        t: [{"PutRequest": {"Item": avs({"pk": "batch", "sk": i, "g": "gb"})}} for i in range(20)]
        + [{"DeleteRequest": {"Key": avs({"pk": "put", "sk": 1})}}],
        other: [{"PutRequest": {"Item": avs({"pk": f"o{i}", "v": i})}} for i in range(4)]})
    for i in range(20):
        want[("batch", i)] = {"pk": "batch", "sk": i, "g": "gb"}
    del want[("put", 1)]
    # TransactWriteItems
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": avs({"pk": "txn", "sk": 1, "state": "a"})}},
        {"Update": {"TableName": t, "Key": avs({"pk": "upd", "sk": 1}), "UpdateExpression": "SET txn = :y",
                    "ExpressionAttributeValues": avs({":y": True})}},
        {"Delete": {"TableName": t, "Key": avs({"pk": "put", "sk": 2})}},
        {"Put": {"TableName": other, "Item": avs({"pk": "txn", "v": 99})}},
    ])
    want[("txn", 1)] = {"pk": "txn", "sk": 1, "state": "a"}
    want[("upd", 1)]["txn"] = True
    del want[("put", 2)]
    # UpdateTable: a new GSI (backfilled), TTL, throughput
    # (AttributeDefinitions must cover every key attribute of the new index, sk included)
    ddb.update_table(TableName=t, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"},
                                                        {"AttributeName": "sk", "AttributeType": "N"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {
                         "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                            {"AttributeName": "sk", "KeyType": "RANGE"}],
                         "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}}}])
    _wait_index_active(ddb, t, "by_g")
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.update_table(TableName=other, ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 8})
    wait_until(lambda: ddb.describe_table(TableName=other)["Table"]["TableStatus"] == "ACTIVE", timeout=30,
               interval=0.1)
    # one more acknowledged write after the schema changes, indexed by the new GSI
    ddb.put_item(TableName=t, Item=avs({"pk": "late", "sk": 1, "g": "g1", "v": "late"}))
    want[("late", 1)] = {"pk": "late", "sk": 1, "g": "g1", "v": "late"}
    others = {f"o{i}": {"pk": f"o{i}", "v": i} for i in range(4)}
    others["txn"] = {"pk": "txn", "v": 99}
    return t, other, doomed, want, others


def _check(ddb, streams, t, other, doomed, want, others, desc_before):
    # the tables, as they were
    names = set()
    for page in ddb.get_paginator("list_tables").paginate():
        names |= set(page["TableNames"])
    assert {t, other} <= names and doomed not in names
    d = ddb.describe_table(TableName=t)["Table"]
    for k in ("TableArn", "TableId", "KeySchema", "LatestStreamArn", "StreamSpecification", "BillingModeSummary"):
        assert d.get(k) == desc_before[k], k
    assert sorted(d["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        desc_before["AttributeDefinitions"], key=lambda a: a["AttributeName"])
    assert d["TableStatus"] == "ACTIVE"
    (gsi,) = d["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "by_g" and gsi["IndexStatus"] == "ACTIVE"
    assert gsi["Projection"]["ProjectionType"] == "INCLUDE" and gsi["Projection"]["NonKeyAttributes"] == ["v"]
    assert [i["IndexName"] for i in d["LocalSecondaryIndexes"]] == ["by_l"]
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    tags = ddb.list_tags_of_resource(ResourceArn=d["TableArn"])["Tags"]
    assert tags == [{"Key": "durable", "Value": "yes"}]
    pt = ddb.describe_table(TableName=other)["Table"]["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]) == (7, 8)

    # the items
    assert _everything(ddb, t) == sorted(want.values(), key=lambda i: (i["pk"], i["sk"]))
    assert sorted(_everything(ddb, other), key=lambda i: i["pk"]) == sorted(others.values(), key=lambda i: i["pk"])
    # the indexes agree with the items
    for g in ("g0", "g1", "g2", "gb"):
        got = [pyitem(i) for p in ddb.get_paginator("query").paginate(
            TableName=t, IndexName="by_g", KeyConditionExpression="g = :g", ExpressionAttributeValues=avs({":g": g}))
            for i in p["Items"]]
        exp = sorted(({k: v for k, v in i.items() if k in ("pk", "sk", "g", "v")} for i in want.values()
                      if i.get("g") == g), key=lambda i: (i["sk"], i["pk"]))
        assert sorted(got, key=lambda i: (i["sk"], i["pk"])) == exp, g
    got = ddb.query(TableName=t, IndexName="by_l", KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues=avs({":p": "put"}))["Items"]
    assert [pyitem(i)["sk"] for i in got] == sorted((k[1] for k in want if k[0] == "put"), reverse=True)

    # the stream still holds every change, in order
    arn = d["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = streams.get_records(ShardIterator=it)
            records += resp["Records"]
            it = resp.get("NextShardIterator") if resp["Records"] else None
    return records


def _kill_and_restart(server):
    server.kill9()
    server.start()  # same data dir, same port
    return server.client("dynamodb"), server.client("dynamodbstreams")


def test_kill_9_keeps_acknowledged_writes_and_schema(serval_factory, tmp_path):
    server = serval_factory(data_dir=tmp_path / "data")
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    t, other, doomed, want, others = _setup(ddb)
    desc_before = ddb.describe_table(TableName=t)["Table"]
    records_before = _check(ddb, streams, t, other, doomed, want, others, desc_before)
    assert len(records_before) >= 40

    ddb, streams = _kill_and_restart(server)
    records_after = _check(ddb, streams, t, other, doomed, want, others, desc_before)
    assert [r["eventID"] for r in records_after] == [r["eventID"] for r in records_before]

    # and the restarted server takes writes, continuing the stream
    ddb.put_item(TableName=t, Item=avs({"pk": "after", "sk": 1, "g": "g0"}))
    assert _get(ddb, t, {"pk": "after", "sk": 1}) == {"pk": "after", "sk": 1, "g": "g0"}
    arn = desc_before["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][-1]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                    SequenceNumber=records_after[-1]["dynamodb"]["SequenceNumber"])["ShardIterator"]
    new = streams.get_records(ShardIterator=it)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in new] == ["after"]
    assert int(new[0]["dynamodb"]["SequenceNumber"]) > int(records_after[-1]["dynamodb"]["SequenceNumber"])
    # a second crash right after that write loses nothing either
    ddb, streams = _kill_and_restart(server)
    assert _get(ddb, t, {"pk": "after", "sk": 1}) == {"pk": "after", "sk": 1, "g": "g0"}


def test_clean_restart(serval_factory, tmp_path):
    server = serval_factory(data_dir=tmp_path / "data")
    ddb = server.client("dynamodb")
    t, other, doomed, want, others = _setup(ddb)
    desc_before = ddb.describe_table(TableName=t)["Table"]
    server.stop()
    server.start()
    _check(server.client("dynamodb"), server.client("dynamodbstreams"), t, other, doomed, want, others, desc_before)


def test_kill_9_during_concurrent_writes(serval_factory, tmp_path):
    """Writers run until the server is killed: every acknowledged write is there afterwards, and
    every transaction is all there or not at all."""
    server = serval_factory(data_dir=tmp_path / "data")
    ddb = server.client("dynamodb")
    t = unique_name("t-crash")
    ddb.create_table(TableName=t, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    _wait_active(ddb, t)

    acked: dict[str, list] = {"put": [], "batch": [], "txn": [], "ctr": []}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(kind, wid):
        client = server.client("dynamodb")
        i = 0
        while not stop.is_set():
            i += 1
            key = f"{kind}-{wid}-{i}"
            try:
                if kind == "put":
                    client.put_item(TableName=t, Item=avs({"pk": key, "v": i}))
                elif kind == "batch":
                    client.batch_write_item(RequestItems={t: [
                        {"PutRequest": {"Item": avs({"pk": f"{key}-{j}", "v": j})}} for j in range(5)]})
                elif kind == "txn":
                    client.transact_write_items(TransactItems=[
                        {"Put": {"TableName": t, "Item": avs({"pk": f"{key}-a", "pair": key})}},
                        {"Put": {"TableName": t, "Item": avs({"pk": f"{key}-b", "pair": key})}}])
                else:
                    client.update_item(TableName=t, Key=avs({"pk": f"ctr-{wid}"}), UpdateExpression="ADD n :one",
                                       ExpressionAttributeValues=avs({":one": 1}))
            except (ClientError, BotoCoreError, OSError):
                return  # the server went away mid-request: this write is not acknowledged
            with lock:
                acked[kind].append(key if kind != "ctr" else wid)

    threads = [threading.Thread(target=writer, args=(k, w), daemon=True)
               for k in ("put", "batch", "txn", "ctr") for w in range(2)]
    for th in threads:
        th.start()
    wait_until(lambda: all(len(v) >= 10 for v in acked.values()), timeout=60, interval=0.01,
               message="writes from every writer")
    server.kill9()
    stop.set()
    for th in threads:
        th.join(timeout=60)
    with lock:
        snapshot = {k: list(v) for k, v in acked.items()}

    server.start()
    ddb = server.client("dynamodb")
    items = {i["pk"]: i for i in _everything(ddb, t)}
    for key in snapshot["put"]:
        assert key in items, key
    for key in snapshot["batch"]:
        for j in range(5):
            assert f"{key}-{j}" in items, key
    for key in snapshot["txn"]:
        assert f"{key}-a" in items and f"{key}-b" in items, key
    # no half transactions, acknowledged or not
    pairs = {}
    for pk, it in items.items():
        if "pair" in it:
            pairs.setdefault(it["pair"], set()).add(pk[-1])
    assert all(v == {"a", "b"} for v in pairs.values()), pairs
    # each counter counts its acknowledged increments, plus at most the one in flight
    for wid in range(2):
        n = items.get(f"ctr-{wid}", {}).get("n", 0)
        acks = snapshot["ctr"].count(wid)
        assert acks <= n <= acks + 1, (wid, n, acks)
    # and the server still works
    ddb.put_item(TableName=t, Item=avs({"pk": "after"}))
    assert _get(ddb, t, {"pk": "after"}) == {"pk": "after"}


def test_stream_of_a_deleted_table_survives_a_crash(serval_factory, tmp_path):
    server = serval_factory(data_dir=tmp_path / "data")
    ddb = server.client("dynamodb")
    t = unique_name("t-gone")
    ddb.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    _wait_active(ddb, t)
    arn = ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=t, Item=avs({"pk": "kept"}))
    ddb.delete_table(TableName=t)
    ddb, streams = _kill_and_restart(server)
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "DISABLED" and desc["TableName"] == t
    (shard,) = desc["Shards"]
    assert "EndingSequenceNumber" in shard["SequenceNumberRange"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    resp = streams.get_records(ShardIterator=it)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in resp["Records"]] == ["kept"]
    assert "NextShardIterator" not in resp
