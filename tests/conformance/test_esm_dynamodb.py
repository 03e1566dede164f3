"""Event source mappings on DynamoDB Streams: Create/Get/Update/Delete/ListEventSourceMappings with
Lambda's defaults, validation and states, and the poller: records in order with the exact event
shape (eventSourceARN added), StartingPosition LATEST vs TRIM_HORIZON, a failing batch retried up
to MaximumRetryAttempts and then skipped, ReportBatchItemFailures, and positions kept across a
restart."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from ddb_util import avs
from serval_harness import Notifier, error_of, function_arn, make_zip, unique_name, wait_until

RECORDER = """
import json, os, socket
def handler(event, context):
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    host, port = os.environ["NOTIFY"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(json.dumps(event).encode())
    failing = [r for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"].startswith("bad")]
    if failing and os.environ.get("MODE") == "raise":
        raise Exception("bad record")
    if failing and os.environ.get("MODE") == "report":
        return {"batchItemFailures": [{"itemIdentifier": failing[0]["dynamodb"]["SequenceNumber"]}]}
    return keys
"""


@pytest.fixture
def stream_table(ddb, make_table):
    t = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return t, ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]


@pytest.fixture
def recorder(create_fn):
    """make(mode='') -> (function name, notifier): a function that sends each batch over TCP."""
    made = []

    def make(mode=""):
        notifier = Notifier()
        made.append(notifier)
        name = create_fn(make_zip({"recorder.py": RECORDER}), handler="recorder.handler",
                         Environment={"Variables": {"NOTIFY": notifier.addr, "MODE": mode}})["FunctionName"]
        return name, notifier

    yield make
    for n in made:
        n.close()


def _batches(notifier, count, timeout=30):
    wait_until(lambda: len(notifier.messages) >= count, timeout=timeout, interval=0.1,
               message=f"{count} batches")
    return [json.loads(m) for m in notifier.messages]


def _keys(batches):
    return [r["dynamodb"]["Keys"]["pk"]["S"] for b in batches for r in b["Records"]]


def test_mapping_lifecycle(lam, stream_table, recorder):
    _, arn = stream_table
    name, _ = recorder()
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating"
    assert created["BatchSize"] == 100
    assert created["MaximumRetryAttempts"] == -1 and created["MaximumRecordAgeInSeconds"] == -1
    assert created["BisectBatchOnFunctionError"] is False and created["ParallelizationFactor"] == 1
    assert created["FunctionArn"] == function_arn(name)
    assert created["EventSourceArn"] == arn and created["StartingPosition"] == "LATEST"
    uuid = created["UUID"]
    got = lam.get_event_source_mapping(UUID=uuid)
    assert got["State"] == "Enabled" and got["LastProcessingResult"] == "No records processed"
    assert [m["UUID"] for m in lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]] == [uuid]
    assert [m["UUID"] for m in lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == [uuid]
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST")
    assert error_of(e.value)[0] == "ResourceConflictException" and uuid in str(e.value)
    upd = lam.update_event_source_mapping(UUID=uuid, BatchSize=5, Enabled=False)
    assert upd["State"] == "Updating" and upd["BatchSize"] == 5
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting"
    with pytest.raises(ClientError) as e:
        lam.get_event_source_mapping(UUID=uuid)
    assert error_of(e.value)[:2] == ("ResourceNotFoundException", 404)


def test_mapping_validation(lam_raw, stream_table, recorder):
    _, arn = stream_table
    name, _ = recorder()
    cases = [
        (dict(EventSourceArn=arn, FunctionName=name), "InvalidParameterValueException"),  # no StartingPosition
        (dict(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST", BatchSize=10001), "ValidationException"),
        (dict(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST", MaximumRecordAgeInSeconds=10),
         "InvalidParameterValueException"),
        (dict(EventSourceArn=arn + "-nope", FunctionName=name, StartingPosition="LATEST"),
         "InvalidParameterValueException"),
        (dict(EventSourceArn=arn, FunctionName=unique_name("missing"), StartingPosition="LATEST"),
         "ResourceNotFoundException"),
        (dict(EventSourceArn="arn:aws:s3:::bucket", FunctionName=name), "InvalidParameterValueException"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ClientError) as e:
            lam_raw.create_event_source_mapping(**kwargs)
        assert error_of(e.value)[0] == code, kwargs


def test_records_arrive_in_order_with_lambdas_event_shape(lam, ddb, stream_table, recorder):
    t, arn = stream_table
    ddb.put_item(TableName=t, Item=avs({"pk": "before"}))
    name, notifier = recorder()
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                    BatchSize=2)
    for i in range(5):
        ddb.put_item(TableName=t, Item=avs({"pk": f"k{i}", "v": i}))
    ddb.delete_item(TableName=t, Key=avs({"pk": "k0"}))
    wait_until(lambda: len(_keys([json.loads(m) for m in notifier.messages])) >= 7, timeout=30, interval=0.1)
    batches = [json.loads(m) for m in notifier.messages]
    assert _keys(batches) == ["before", "k0", "k1", "k2", "k3", "k4", "k0"]
    assert all(len(b["Records"]) <= 2 for b in batches)
    rec = batches[0]["Records"][0]
    assert rec["eventSourceARN"] == arn
    assert rec["eventSource"] == "aws:dynamodb" and rec["eventName"] == "INSERT"
    assert rec["awsRegion"] == "us-east-1" and rec["eventVersion"] == "1.1"
    assert rec["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert rec["dynamodb"]["NewImage"] == {"pk": {"S": "before"}}
    assert _keys([{"Records": [r]} for b in batches for r in b["Records"] if r["eventName"] == "REMOVE"]) == ["k0"]


def test_latest_skips_what_came_before(lam, ddb, stream_table, recorder):
    t, arn = stream_table
    ddb.put_item(TableName=t, Item=avs({"pk": "old"}))
    name, notifier = recorder()
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST")
    ddb.put_item(TableName=t, Item=avs({"pk": "new"}))
    assert _keys(_batches(notifier, 1)) == ["new"]


def test_failing_batch_is_retried_then_skipped(lam, ddb, stream_table, recorder):
    t, arn = stream_table
    name, notifier = recorder("raise")
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                    BatchSize=1, MaximumRetryAttempts=1)
    ddb.put_item(TableName=t, Item=avs({"pk": "bad-1"}))
    ddb.put_item(TableName=t, Item=avs({"pk": "good"}))
    # the bad record: first attempt + one retry; then the next record
    wait_until(lambda: "good" in _keys([json.loads(m) for m in notifier.messages]), timeout=30, interval=0.1)
    assert _keys([json.loads(m) for m in notifier.messages]) == ["bad-1", "bad-1", "good"]


def test_report_batch_item_failures_resends_from_the_first_failure(lam, ddb, stream_table, recorder):
    t, arn = stream_table
    name, notifier = recorder("report")
    for pk in ["a", "bad-b", "c"]:
        ddb.put_item(TableName=t, Item=avs({"pk": pk}))
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                    BatchSize=10, MaximumRetryAttempts=1,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_until(lambda: len(notifier.messages) >= 2, timeout=30, interval=0.1)
    time.sleep(0.5)
    batches = [json.loads(m) for m in notifier.messages]
    # the first batch had all three; the one retry starts at the failed record; then it is skipped
    assert _keys(batches[:1]) == ["a", "bad-b", "c"]
    assert _keys(batches[1:2]) == ["bad-b", "c"]
    assert len(batches) == 2


def test_positions_survive_a_crash(serval_factory, tmp_path, python_zip):
    server = serval_factory(data_dir=tmp_path / "data")
    lam, ddb = server.client(), server.client("dynamodb")
    notifier = Notifier()
    try:
        name = unique_name("esm-durable")
        from serval_harness import ROLE
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="recorder.handler",
                            Code={"ZipFile": make_zip({"recorder.py": RECORDER})},
                            Environment={"Variables": {"NOTIFY": notifier.addr}})
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2})
        t = unique_name("esm-t")
        ddb.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        arn = ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON")
        ddb.put_item(TableName=t, Item=avs({"pk": "one"}))
        _batches(notifier, 1)
        time.sleep(0.5)  # the position is stored after the batch
        server.kill9()
        server.start()
        ddb = server.client("dynamodb")
        ddb.put_item(TableName=t, Item=avs({"pk": "two"}))
        wait_until(lambda: "two" in _keys([json.loads(m) for m in notifier.messages]), timeout=30, interval=0.1)
        assert _keys([json.loads(m) for m in notifier.messages]) == ["one", "two"]
    finally:
        notifier.close()


def test_discarded_batches_are_described_to_the_on_failure_queue(lam, ddb, sqs, make_queue, stream_table,
                                                                  recorder):
    t, arn = stream_table
    dest = make_queue("-failures")
    dest_arn = sqs.get_queue_attributes(QueueUrl=dest, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name, notifier = recorder("raise")
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                    BatchSize=10, MaximumRetryAttempts=0,
                                    DestinationConfig={"OnFailure": {"Destination": dest_arn}})
    ddb.put_item(TableName=t, Item=avs({"pk": "bad-1"}))
    msg = wait_until(lambda: (sqs.receive_message(QueueUrl=dest, WaitTimeSeconds=1).get("Messages") or [None])[0],
                     timeout=30, message="the batch description")
    rec = json.loads(msg["Body"])
    assert rec["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert rec["requestContext"]["functionArn"] == function_arn(name)
    assert rec["responseContext"]["functionError"] == "Unhandled"
    info = rec["DDBStreamBatchInfo"]
    assert info["streamArn"] == arn and info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["shardId"].startswith("shardId-")


def test_filter_criteria_on_stream_records(lam, ddb, stream_table, recorder):
    t, arn = stream_table
    name, notifier = recorder()
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                    FilterCriteria={"Filters": [{"Pattern": json.dumps({
                                        "eventName": ["INSERT"],
                                        "dynamodb": {"NewImage": {"kind": {"S": ["keep"]}}}})}]})
    ddb.put_item(TableName=t, Item=avs({"pk": "a", "kind": "keep"}))
    ddb.put_item(TableName=t, Item=avs({"pk": "b", "kind": "drop"}))
    ddb.put_item(TableName=t, Item=avs({"pk": "a", "kind": "keep", "v": 2}))  # MODIFY: filtered out
    ddb.put_item(TableName=t, Item=avs({"pk": "c", "kind": "keep"}))
    wait_until(lambda: "c" in _keys([json.loads(m) for m in notifier.messages]), timeout=30, interval=0.1)
    time.sleep(0.5)
    assert _keys([json.loads(m) for m in notifier.messages]) == ["a", "c"]
