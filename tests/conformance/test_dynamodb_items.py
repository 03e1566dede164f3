"""DynamoDB single-item operations: PutItem, GetItem, UpdateItem, DeleteItem; attribute types,
number normalisation, size limits, key validation, ReturnValues, ConsumedCapacity, projections,
legacy parameters and malformed requests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ddb_util import av, avs, error_code_of_body, expect_error, py, pyitem, raw_call
from serval_harness import unique_name

NOT_MATCH = "The provided key element does not match the schema"
# PutItem, UpdateItem and DeleteItem report bad values and misused parameters inside this envelope
# (us-east-1, October 2026).
ENV = "1 validation error detected: "
COND_FAILED = "The conditional request failed"


def _get(ddb, table, key, **kw):
    return ddb.get_item(TableName=table, Key=avs(key), ConsistentRead=True, **kw).get("Item")


# --------------------------------------------------------------------------- types


def test_all_types_round_trip(ddb, table_s):
    item = {
        "pk": {"S": "types"},
        "s": {"S": "héllo wörld ✓"},
        "n": {"N": "-12.5"},
        "b": {"B": b"\x00\x01\xfe\xff"},
        "t": {"BOOL": True},
        "f": {"BOOL": False},
        "z": {"NULL": True},
        "l": {"L": [{"S": "a"}, {"N": "1"}, {"L": []}, {"M": {}}, {"NULL": True}]},
        "m": {"M": {"x": {"S": "y"}, "nested": {"M": {"deep": {"BOOL": False}}}}},
        "ss": {"SS": ["b", "a", "c"]},
        "ns": {"NS": ["3", "1", "2.5"]},
        "bs": {"BS": [b"\x02", b"\x01"]},
        "es": {"S": ""},
        "eb": {"B": b""},
    }
    ddb.put_item(TableName=table_s, Item=item)
    got = ddb.get_item(TableName=table_s, Key={"pk": {"S": "types"}})["Item"]
    sets = ("ss", "ns", "bs")
    assert {k: v for k, v in got.items() if k not in sets} == {k: v for k, v in item.items() if k not in sets}
    assert sorted(got["ss"]["SS"]) == ["a", "b", "c"]
    assert sorted(got["ns"]["NS"], key=Decimal) == ["1", "2.5", "3"]
    assert sorted(got["bs"]["BS"]) == [b"\x01", b"\x02"]


def test_get_missing_item_has_no_item(ddb, table_s):
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "nothing"}))
    assert "Item" not in resp


def test_missing_table(ddb):
    name = unique_name("t-missing")
    for call, kw in [(ddb.get_item, {"Key": avs({"pk": "a"})}), (ddb.put_item, {"Item": avs({"pk": "a"})}),
                     (ddb.delete_item, {"Key": avs({"pk": "a"})}),
                     (ddb.update_item, {"Key": avs({"pk": "a"})})]:
        expect_error("ResourceNotFoundException", call, TableName=name, contains="Requested resource not found", **kw)


def test_put_overwrites_whole_item(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "x": 1, "y": 2}))
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "z": 3}))
    assert pyitem(_get(ddb, table_s, {"pk": "a"})) == {"pk": "a", "z": 3}


def test_hash_range_items_are_distinct(ddb, table_sn):
    for sk in (1, 2, 10):
        ddb.put_item(TableName=table_sn, Item=avs({"pk": "h", "sk": sk, "v": f"v{sk}"}))
    assert pyitem(_get(ddb, table_sn, {"pk": "h", "sk": 10})) == {"pk": "h", "sk": 10, "v": "v10"}
    # number keys are compared by value, not by spelling
    assert pyitem(_get(ddb, table_sn, {"pk": "h", "sk": Decimal("1.0e1")}))["v"] == "v10"
    ddb.delete_item(TableName=table_sn, Key=avs({"pk": "h", "sk": 2}))
    assert _get(ddb, table_sn, {"pk": "h", "sk": 2}) is None
    assert _get(ddb, table_sn, {"pk": "h", "sk": 1}) is not None


# --------------------------------------------------------------------------- numbers


NORMALISED = [
    ("1.50", "1.5"), ("-0", "0"), ("-0.0", "0"), ("0.0", "0"), ("007", "7"), ("+3", "3"), ("1.0", "1"),
    ("100.000", "100"), ("1e3", "1000"), ("1E+3", "1000"), ("1.5e2", "150"), ("-3e2", "-300"),
    ("1e-3", "0.001"), ("123e-2", "1.23"), (".5", "0.5"), ("-.5", "-0.5"), ("0e5", "0"),
    ("1e20", "100000000000000000000"), ("1e-20", "0.00000000000000000001"), ("-273.15", "-273.15"),
]


def test_number_normalisation(ddb, table_s):
    for i, (given, want) in enumerate(NORMALISED):
        ddb.put_item(TableName=table_s, Item={"pk": {"S": f"n{i}"}, "a": {"N": given}})
    for i, (given, want) in enumerate(NORMALISED):
        got = ddb.get_item(TableName=table_s, Key={"pk": {"S": f"n{i}"}})["Item"]["a"]["N"]
        assert got == want, f"{given!r} came back as {got!r}, expected {want!r}"


def test_number_precision_38_digits(ddb, table_s):
    for n in ["3.1415926535897932384626433832795028841", "31415926535897932384626433832795028841e30",
              "-0.00000000000000000000000000000000000012345678901234567890123456789012345678"]:
        ddb.put_item(TableName=table_s, Item={"pk": {"S": "p"}, "a": {"N": n}})
        got = ddb.get_item(TableName=table_s, Key={"pk": {"S": "p"}})["Item"]["a"]["N"]
        assert Decimal(got) == Decimal(n)
    for n in ["3.14159265358979323846264338327950288419", "314159265358979323846264338327950288419e30"]:
        expect_error("ValidationException", ddb.put_item, TableName=table_s,
                     Item={"pk": {"S": "p"}, "a": {"N": n}},
                     message=ENV + "Attempting to store more than 38 significant digits in a Number")


def test_number_magnitude_range(ddb, table_s):
    for n in ["1E-130", "-1E-130", "9.9999999999999999999999999999999999999E+125", "1e125"]:
        ddb.put_item(TableName=table_s, Item={"pk": {"S": "m"}, "a": {"N": n}})
        got = ddb.get_item(TableName=table_s, Key={"pk": {"S": "m"}})["Item"]["a"]["N"]
        assert Decimal(got) == Decimal(n)
    for n in ["1E+126", "-1e126", "11e125"]:
        expect_error("ValidationException", ddb.put_item, TableName=table_s, Item={"pk": {"S": "m"}, "a": {"N": n}},
                     message=ENV + "Number overflow. Attempting to store a number with magnitude larger than supported range")
    for n in ["1E-131", "-0.9e-130"]:
        expect_error("ValidationException", ddb.put_item, TableName=table_s, Item={"pk": {"S": "m"}, "a": {"N": n}},
                     message=ENV + "Number underflow. Attempting to store a number with magnitude smaller than supported range")


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "dog", " 1", "1 ", "", "1e", "--1", "0x10", "1,5"])
def test_invalid_number_strings(ddb, table_s, bad):
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item={"pk": {"S": "x"}, "a": {"N": bad}})


def test_number_set_elements_validated(ddb, table_s):
    expect_error("ValidationException", ddb.put_item, TableName=table_s,
                 Item={"pk": {"S": "x"}, "a": {"NS": ["1", "1e200"]}}, contains="overflow")


def test_number_as_json_number_is_serialization_error(ddb):
    status, _, doc = raw_call(ddb.meta.endpoint_url, "DynamoDB_20120810.PutItem",
                              '{"TableName": "whatever", "Item": {"pk": {"S": "x"}, "a": {"N": 5}}}')
    assert status == 400
    assert error_code_of_body(doc) == "SerializationException"


# --------------------------------------------------------------------------- invalid values


def test_empty_string_allowed_outside_keys(ddb, table_ss):
    ddb.put_item(TableName=table_ss, Item=avs({"pk": "a", "sk": "b", "e": "", "m": {"x": ""}, "l": [""]}))
    assert pyitem(_get(ddb, table_ss, {"pk": "a", "sk": "b"})) == {"pk": "a", "sk": "b", "e": "", "m": {"x": ""}, "l": [""]}


def test_empty_string_key_rejected(ddb, table_ss):
    expect_error("ValidationException", ddb.put_item, TableName=table_ss, Item=avs({"pk": "", "sk": "b"}),
                 message="One or more parameter values are not valid. The AttributeValue for a key attribute "
                         "cannot contain an empty string value. Key: pk")
    expect_error("ValidationException", ddb.put_item, TableName=table_ss, Item=avs({"pk": "a", "sk": ""}),
                 message="One or more parameter values are not valid. The AttributeValue for a key attribute "
                         "cannot contain an empty string value. Key: sk")
    expect_error("ValidationException", ddb.get_item, TableName=table_ss, Key=avs({"pk": "", "sk": "b"}),
                 contains="empty string value")


def test_empty_binary_key_rejected(ddb, make_table):
    name = make_table(hash_key=("pk", "B"))
    expect_error("ValidationException", ddb.put_item, TableName=name, Item={"pk": {"B": b""}})


@pytest.mark.parametrize("empty", [{"SS": []}, {"NS": []}, {"BS": []}])
def test_empty_sets_rejected(ddb, table_s, empty):
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item={"pk": {"S": "a"}, "s": empty},
                 contains="empty")


@pytest.mark.parametrize("dup", [{"SS": ["a", "a"]}, {"NS": ["1", "1"]}, {"BS": [b"x", b"x"]}])
def test_duplicate_set_elements_rejected(ddb, table_s, dup):
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item={"pk": {"S": "a"}, "s": dup},
                 contains="duplicates")


def test_null_false_rejected(ddb_raw, table_s):
    expect_error("ValidationException", ddb_raw.put_item, TableName=table_s,
                 Item={"pk": {"S": "a"}, "z": {"NULL": False}},
                 message="One or more parameter values were invalid: Null attribute value types must have the value of true")


def test_attribute_value_with_two_types(ddb_raw, table_s):
    expect_error("ValidationException", ddb_raw.put_item, TableName=table_s,
                 Item={"pk": {"S": "a"}, "x": {"S": "a", "N": "1"}},
                 message="Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
                         "the supported datatypes")


def test_attribute_value_empty(ddb_raw, table_s):
    expect_error("ValidationException", ddb_raw.put_item, TableName=table_s, Item={"pk": {"S": "a"}, "x": {}},
                 message="Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")


def test_empty_attribute_name_rejected(ddb, table_s):
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item={"pk": {"S": "a"}, "": {"S": "x"}},
                 contains="Empty attribute name")


# --------------------------------------------------------------------------- keys


def test_key_validation(ddb, table_ss):
    t = table_ss
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "a"}),
                 message="One or more parameter values were invalid: Missing the key sk in the item")
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "a", "sk": 5}),
                 message="One or more parameter values were invalid: Type mismatch for key sk expected: S actual: N")
    expect_error("ValidationException", ddb.get_item, TableName=t, Key=avs({"pk": "a"}), message=NOT_MATCH)
    expect_error("ValidationException", ddb.get_item, TableName=t, Key=avs({"pk": "a", "sk": 1}), message=NOT_MATCH)
    expect_error("ValidationException", ddb.get_item, TableName=t, Key=avs({"pk": "a", "sk": "b", "x": "c"}),
                 message=NOT_MATCH)
    expect_error("ValidationException", ddb.delete_item, TableName=t, Key=avs({"pk": "a", "other": "b"}),
                 message=NOT_MATCH)
    expect_error("ValidationException", ddb.update_item, TableName=t, Key=avs({"pk": "a"}), message=NOT_MATCH)


@pytest.mark.parametrize("bad", [True, None, ["a"], {"a": 1}, {"a", "b"}])
def test_non_scalar_key_values(ddb, table_s, bad):
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key={"pk": av(bad)})
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item={"pk": av(bad)})


def test_key_size_limits(ddb, make_table):
    t = make_table(range_key=("sk", "B"))
    ok = {"pk": "h" * 2048, "sk": b"\x7b" * 1024}
    ddb.put_item(TableName=t, Item=avs(ok))
    assert pyitem(_get(ddb, t, ok)) == ok
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "h" * 2049, "sk": b"x"}),
                 contains="2048")
    expect_error("ValidationException", ddb.get_item, TableName=t, Key=avs({"pk": "h" * 2049, "sk": b"x"}),
                 contains="2048")
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "h", "sk": b"\x7b" * 1025}),
                 contains="1024")
    # the limits count UTF-8 bytes, not characters
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "é" * 1025, "sk": b"x"}),
                 contains="2048")


def test_update_cannot_change_key(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a"}))
    expect_error("ValidationException", ddb.update_item, TableName=table_s, Key=avs({"pk": "a"}),
                 UpdateExpression="SET pk = :v", ExpressionAttributeValues=avs({":v": "b"}),
                 message="One or more parameter values were invalid: Cannot update attribute pk. "
                         "This attribute is part of the key")


# --------------------------------------------------------------------------- item size


def test_item_size_limit(ddb, table_s):
    # 400 KB = 409,600 bytes, counting attribute names and values (UTF-8 lengths).
    fits = {"pk": "k", "a": "x" * (409600 - 3 - 1)}  # exactly 409,600 bytes
    ddb.put_item(TableName=table_s, Item=avs(fits))
    assert len(_get(ddb, table_s, {"pk": "k"})["a"]["S"]) == 409600 - 4
    expect_error("ValidationException", ddb.put_item, TableName=table_s,
                 Item=avs({"pk": "k2", "a": "x" * (409600 - 4 - 1 + 1)}),  # one byte too many
                 message="Item size has exceeded the maximum allowed size")
    expect_error("ValidationException", ddb.put_item, TableName=table_s,
                 Item=avs({"pk": "k3", "a": "x" * 300000, "b": b"y" * 200000}),
                 message="Item size has exceeded the maximum allowed size")
    assert _get(ddb, table_s, {"pk": "k2"}) is None


def test_update_item_past_size_limit(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "k", "a": "x" * 300000}))
    expect_error("ValidationException", ddb.update_item, TableName=table_s, Key=avs({"pk": "k"}),
                 UpdateExpression="SET b = :b", ExpressionAttributeValues=avs({":b": "y" * 200000}),
                 contains="exceeded the maximum allowed size")
    assert set(_get(ddb, table_s, {"pk": "k"})) == {"pk", "a"}


# --------------------------------------------------------------------------- conditions on writes


def test_put_condition_attribute_not_exists(ddb, table_s):
    kw = dict(TableName=table_s, ConditionExpression="attribute_not_exists(pk)")
    ddb.put_item(Item=avs({"pk": "a", "v": 1}), **kw)
    expect_error("ConditionalCheckFailedException", ddb.put_item, Item=avs({"pk": "a", "v": 2}), message=COND_FAILED,
                 **kw)
    assert pyitem(_get(ddb, table_s, {"pk": "a"}))["v"] == 1


def test_condition_failure_returns_old_item(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 1}))
    resp = expect_error("ConditionalCheckFailedException", ddb.put_item, TableName=table_s,
                        Item=avs({"pk": "a", "v": 2}), ConditionExpression="v = :two",
                        ExpressionAttributeValues=avs({":two": 2}), ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert resp["Item"] == avs({"pk": "a", "v": 1})
    resp = expect_error("ConditionalCheckFailedException", ddb.update_item, TableName=table_s, Key=avs({"pk": "a"}),
                        UpdateExpression="SET v = :two", ConditionExpression="v = :two",
                        ExpressionAttributeValues=avs({":two": 2}), ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert resp["Item"] == avs({"pk": "a", "v": 1})
    resp = expect_error("ConditionalCheckFailedException", ddb.delete_item, TableName=table_s, Key=avs({"pk": "a"}),
                        ConditionExpression="attribute_not_exists(v)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert resp["Item"] == avs({"pk": "a", "v": 1})
    # NONE (the default): no Item in the error
    resp = expect_error("ConditionalCheckFailedException", ddb.delete_item, TableName=table_s, Key=avs({"pk": "a"}),
                        ConditionExpression="attribute_not_exists(v)")
    assert "Item" not in resp
    # a condition that fails on a missing item has no Item to return
    resp = expect_error("ConditionalCheckFailedException", ddb.delete_item, TableName=table_s, Key=avs({"pk": "b"}),
                        ConditionExpression="attribute_exists(v)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert "Item" not in resp


def test_delete_with_condition(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 1}))
    expect_error("ConditionalCheckFailedException", ddb.delete_item, TableName=table_s, Key=avs({"pk": "a"}),
                 ConditionExpression="v > :x", ExpressionAttributeValues=avs({":x": 1}))
    ddb.delete_item(TableName=table_s, Key=avs({"pk": "a"}), ConditionExpression="v >= :x",
                    ExpressionAttributeValues=avs({":x": 1}))
    assert _get(ddb, table_s, {"pk": "a"}) is None
    # deleting what is not there is not an error
    ddb.delete_item(TableName=table_s, Key=avs({"pk": "a"}))


def test_update_item_upserts(ddb, table_s):
    resp = ddb.update_item(TableName=table_s, Key=avs({"pk": "new"}), UpdateExpression="SET a = :a",
                           ExpressionAttributeValues=avs({":a": "x"}), ReturnValues="ALL_NEW")
    assert pyitem(resp["Attributes"]) == {"pk": "new", "a": "x"}
    # an UpdateItem without an UpdateExpression still creates the (key-only) item
    ddb.update_item(TableName=table_s, Key=avs({"pk": "bare"}))
    assert pyitem(_get(ddb, table_s, {"pk": "bare"})) == {"pk": "bare"}


# --------------------------------------------------------------------------- ReturnValues


def test_put_return_values(ddb, table_s):
    resp = ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 1}), ReturnValues="ALL_OLD")
    assert "Attributes" not in resp
    resp = ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 2}), ReturnValues="ALL_OLD")
    assert pyitem(resp["Attributes"]) == {"pk": "a", "v": 1}
    resp = ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 3}), ReturnValues="NONE")
    assert "Attributes" not in resp
    for bad in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
        expect_error("ValidationException", ddb.put_item, TableName=table_s, Item=avs({"pk": "a"}), ReturnValues=bad,
                     message=ENV + "ReturnValues can only be ALL_OLD or NONE")


def test_delete_return_values(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 1}))
    resp = ddb.delete_item(TableName=table_s, Key=avs({"pk": "a"}), ReturnValues="ALL_OLD")
    assert pyitem(resp["Attributes"]) == {"pk": "a", "v": 1}
    resp = ddb.delete_item(TableName=table_s, Key=avs({"pk": "a"}), ReturnValues="ALL_OLD")
    assert "Attributes" not in resp
    expect_error("ValidationException", ddb.delete_item, TableName=table_s, Key=avs({"pk": "a"}),
                 ReturnValues="ALL_NEW", message=ENV + "ReturnValues can only be ALL_OLD or NONE")


def test_update_return_values(ddb, table_s):
    def upd(rv):
        ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "x": 1, "y": "keep", "z": "gone"}))
        return ddb.update_item(TableName=table_s, Key=avs({"pk": "a"}), UpdateExpression="SET x = :x, w = :w REMOVE z",
                               ExpressionAttributeValues=avs({":x": 2, ":w": "new"}), ReturnValues=rv)

    assert "Attributes" not in upd("NONE")
    assert pyitem(upd("ALL_OLD")["Attributes"]) == {"pk": "a", "x": 1, "y": "keep", "z": "gone"}
    assert pyitem(upd("ALL_NEW")["Attributes"]) == {"pk": "a", "x": 2, "y": "keep", "w": "new"}
    assert pyitem(upd("UPDATED_OLD")["Attributes"]) == {"x": 1, "z": "gone"}
    assert pyitem(upd("UPDATED_NEW")["Attributes"]) == {"x": 2, "w": "new"}
    expect_error("ValidationException", ddb.update_item, TableName=table_s, Key=avs({"pk": "a"}),
                 UpdateExpression="SET x = :x", ExpressionAttributeValues=avs({":x": 2}), ReturnValues="BOGUS")


def test_update_return_values_on_new_item(ddb, table_s):
    resp = ddb.update_item(TableName=table_s, Key=avs({"pk": "fresh"}), UpdateExpression="SET x = :x",
                           ExpressionAttributeValues=avs({":x": 1}), ReturnValues="ALL_OLD")
    assert "Attributes" not in resp
    resp = ddb.update_item(TableName=table_s, Key=avs({"pk": "fresh2"}), UpdateExpression="SET x = :x",
                           ExpressionAttributeValues=avs({":x": 1}), ReturnValues="UPDATED_OLD")
    assert "Attributes" not in resp


# --------------------------------------------------------------------------- consumed capacity


def test_consumed_capacity_total(ddb, table_s):
    resp = ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": "x"}), ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["TableName"] == table_s
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 1.0
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "a"}), ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 0.5
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "a"}), ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 1.0
    # a read of a missing item still costs
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "zz"}), ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 0.5
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "a"}), ReturnConsumedCapacity="NONE")
    assert "ConsumedCapacity" not in resp
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "a"}))
    assert "ConsumedCapacity" not in resp
    resp = ddb.delete_item(TableName=table_s, Key=avs({"pk": "a"}), ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_consumed_capacity_rounds_up_by_size(ddb, table_s):
    # writes are charged per 1 KB, reads per 4 KB, names and values counted
    one_kb = {"pk": "k", "v": "x" * (1024 - 3 - 1)}  # exactly 1,024 bytes
    resp = ddb.put_item(TableName=table_s, Item=avs(one_kb), ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 1.0
    resp = ddb.put_item(TableName=table_s, Item=avs({"pk": "k2", "v": "x" * 1024}), ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 2.0
    ddb.put_item(TableName=table_s, Item=avs({"pk": "big", "v": "x" * (4096 * 2)}))
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "big"}), ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 3.0
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "big"}), ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 1.5


def test_consumed_capacity_indexes(ddb, make_table):
    t = make_table(extra_defs=[("g", "S")], GlobalSecondaryIndexes=[{
        "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}])
    resp = ddb.put_item(TableName=t, Item=avs({"pk": "a", "g": "x"}), ReturnConsumedCapacity="INDEXES")
    cc = resp["ConsumedCapacity"]
    assert cc["TableName"] == t
    assert cc["Table"]["CapacityUnits"] == 1.0
    assert cc["GlobalSecondaryIndexes"]["by_g"]["CapacityUnits"] == 1.0
    assert cc["CapacityUnits"] == 2.0
    # an item the index does not hold costs the index nothing
    resp = ddb.put_item(TableName=t, Item=avs({"pk": "b"}), ReturnConsumedCapacity="INDEXES")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert "by_g" not in resp["ConsumedCapacity"].get("GlobalSecondaryIndexes", {})


# --------------------------------------------------------------------------- projections


def test_projection_expression(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({
        "pk": "a", "x": 1, "y": 2, "name": "reserved",
        "m": {"b": {"c": 1, "d": 2}, "e": 3},
        "l": ["zero", {"c": "one-c", "d": "one-d"}, "two"],
    }))

    def proj(expr, names=None):
        kw = {"ExpressionAttributeNames": names} if names else {}
        return pyitem(ddb.get_item(TableName=table_s, Key=avs({"pk": "a"}), ProjectionExpression=expr, **kw)["Item"])

    assert proj("x, y") == {"x": 1, "y": 2}
    assert proj("#n", {"#n": "name"}) == {"name": "reserved"}
    assert proj("m.b.c") == {"m": {"b": {"c": 1}}}
    assert proj("m.b.c, m.e") == {"m": {"b": {"c": 1}, "e": 3}}
    assert proj("l[1].d") == {"l": [{"d": "one-d"}]}
    assert proj("l[2], l[0]") == {"l": ["zero", "two"]}
    assert proj("x, nothere, m.nothere, l[7]") == {"x": 1}
    resp = ddb.get_item(TableName=table_s, Key=avs({"pk": "a"}), ProjectionExpression="nothere")
    assert resp["Item"] == {}


def test_projection_expression_errors(ddb, table_s):
    key = avs({"pk": "a"})
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=key, ProjectionExpression="x, x",
                 contains="Two document paths")
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=key, ProjectionExpression="m, m.b",
                 contains="Two document paths overlap")
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=key, ProjectionExpression="name",
                 contains="reserved keyword")
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=key, ProjectionExpression="#n",
                 contains="An expression attribute name used in the document path is not defined")
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=key, ProjectionExpression="x,",
                 contains="Syntax error")
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=key, ProjectionExpression="x",
                 AttributesToGet=["x"], contains="Can not use both expression and non-expression parameters")


def test_attributes_to_get(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "x": 1, "y": 2, "name": 3}))
    got = ddb.get_item(TableName=table_s, Key=avs({"pk": "a"}), AttributesToGet=["x", "name", "nothere"])["Item"]
    assert pyitem(got) == {"x": 1, "name": 3}
    expect_error("ValidationException", ddb.get_item, TableName=table_s, Key=avs({"pk": "a"}),
                 AttributesToGet=["x", "x"], contains="Duplicate value in attribute name")


def test_consistent_read_sees_latest_write(ddb, table_s):
    for i in range(20):
        ddb.put_item(TableName=table_s, Item=avs({"pk": "c", "v": i}))
        assert pyitem(_get(ddb, table_s, {"pk": "c"}))["v"] == i


# --------------------------------------------------------------------------- legacy parameters


def test_legacy_expected(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 1}), Expected={"pk": {"Exists": False}})
    expect_error("ConditionalCheckFailedException", ddb.put_item, TableName=table_s, Item=avs({"pk": "a"}),
                 Expected={"pk": {"Exists": False}})
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 2}), Expected={"v": {"Value": av(1)}})
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 3}),
                 Expected={"v": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [av(1), av(2)]}})
    expect_error("ConditionalCheckFailedException", ddb.put_item, TableName=table_s, Item=avs({"pk": "a"}),
                 Expected={"v": {"ComparisonOperator": "LT", "AttributeValueList": [av(3)]},
                           "w": {"ComparisonOperator": "NULL"}})
    # ConditionalOperator OR: one of them is enough
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "v": 4}), ConditionalOperator="OR",
                 Expected={"v": {"ComparisonOperator": "LT", "AttributeValueList": [av(3)]},
                           "w": {"ComparisonOperator": "NULL"}})
    assert pyitem(_get(ddb, table_s, {"pk": "a"}))["v"] == 4
    ddb.delete_item(TableName=table_s, Key=avs({"pk": "a"}),
                    Expected={"v": {"ComparisonOperator": "IN", "AttributeValueList": [av(9), av(4)]}})
    assert _get(ddb, table_s, {"pk": "a"}) is None


def test_legacy_and_expression_mixed_rejected(ddb, table_s):
    expect_error("ValidationException", ddb.put_item, TableName=table_s, Item=avs({"pk": "a"}),
                 Expected={"pk": {"Exists": False}}, ConditionExpression="attribute_not_exists(pk)",
                 contains="Can not use both expression and non-expression parameters in the same request")


def test_legacy_attribute_updates(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "a", "n": 1, "s": {"x", "y"}, "gone": 1}))
    resp = ddb.update_item(TableName=table_s, Key=avs({"pk": "a"}), ReturnValues="ALL_NEW", AttributeUpdates={
        "n": {"Action": "ADD", "Value": av(5)},
        "s": {"Action": "DELETE", "Value": av({"x"})},
        "new": {"Action": "PUT", "Value": av("v")},
        "gone": {"Action": "DELETE"},
        "fresh": {"Action": "ADD", "Value": av({"q"})},
    })
    assert pyitem(resp["Attributes"]) == {"pk": "a", "n": 6, "s": {"y"}, "new": "v", "fresh": {"q"}}
    expect_error("ValidationException", ddb.update_item, TableName=table_s, Key=avs({"pk": "a"}),
                 AttributeUpdates={"n": {"Action": "PUT", "Value": av(1)}}, UpdateExpression="SET n = :v",
                 ExpressionAttributeValues=avs({":v": 1}))


# --------------------------------------------------------------------------- malformed requests


def test_malformed_json_is_serialization_exception(ddb, table_s):
    ep = ddb.meta.endpoint_url
    for body in ['{"TableName": ', "not json at all", "}{", '{"TableName": "%s", "Key": [1, 2]}' % table_s]:
        status, _, doc = raw_call(ep, "DynamoDB_20120810.GetItem", body)
        assert status == 400, (body, doc)
        assert error_code_of_body(doc) == "SerializationException", (body, doc)
    # deeply nested JSON is refused, not a crash
    for body in ["{" * 10000 + "}" * 10000, '{"TableName": "%s", "Key": ' % table_s + "[" * 100000 + "]" * 100000 + "}"]:
        status, _, doc = raw_call(ep, "DynamoDB_20120810.GetItem", body)
        assert status == 400, doc
        assert error_code_of_body(doc) in ("SerializationException", "ValidationException"), doc
    # and the server still answers
    ddb.put_item(TableName=table_s, Item=avs({"pk": "alive"}))
    assert _get(ddb, table_s, {"pk": "alive"}) is not None


@pytest.mark.parametrize("b64", ["YWJjZGVmZ2g", "YWJj??!!", "fakebase64"])
def test_malformed_base64_is_serialization_exception(ddb, make_table, b64):
    t = make_table(hash_key=("pk", "B"))
    for item in ('{"pk": {"B": "%s"}}' % b64, '{"pk": {"B": "YWJj"}, "x": {"B": "%s"}}' % b64):
        status, _, doc = raw_call(ddb.meta.endpoint_url, "DynamoDB_20120810.PutItem",
                                  '{"TableName": "%s", "Item": %s}' % (t, item))
        assert status == 400, doc
        assert error_code_of_body(doc) == "SerializationException", doc


def test_unknown_attribute_value_type(ddb, table_s):
    status, _, doc = raw_call(ddb.meta.endpoint_url, "DynamoDB_20120810.PutItem",
                              '{"TableName": "%s", "Item": {"pk": {"S": "a"}, "x": {"Q": "1"}}}' % table_s)
    assert status == 400
    assert error_code_of_body(doc) in ("SerializationException", "ValidationException"), doc


def test_missing_table_name(ddb_raw):
    expect_error("ValidationException", ddb_raw.get_item, Key=avs({"pk": "a"}))


# --------------------------------------------------------------------------- which checker words a bad value
# DynamoDB reads attribute values with one of two checkers, and the operation decides which (recorded
# in us-east-1, October 2026): PutItem, UpdateItem and DeleteItem use the current one inside the
# validation envelope, GetItem, BatchGetItem and Query the current one bare, and BatchWriteItem,
# the transactions and Scan the older one (Java BigDecimal numbers, members printed as sent,
# expression values wrapped in "ExpressionAttributeValues contains invalid value").

NN = "The parameter cannot be converted to a numeric value"
OVER = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDER = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
INV = "One or more parameter values were invalid: "
SHAPES = ["abc", "", "1e126", "1e2147483647"]
CURRENT = [f"{NN}: abc", f"{NN}: ", OVER, OVER]
OLDER = [f"{NN}: abc", NN, OVER, UNDER]
DUPES = [{"SS": ["b", "a", "b"]}, {"BS": [b"\xff", b"\x00", b"\x00"]}, {"NS": ["2", "1", "2"]}]
DUPES_CURRENT = [INV + 'Input collection ["a", "b", "b"] contains duplicates.',
                 INV + 'Input collection ["AA==","/w==","AA=="]of type BS contains duplicates.',
                 INV + "Input collection contains duplicates."]
DUPES_OLDER = [INV + "Input collection [b, a, b] contains duplicates.",
               INV + "Input collection [/w==, AA==, AA==]of type BS contains duplicates.",
               "Input collection contains duplicates"]


def _refusal(fn, **kw):
    return expect_error("ValidationException", fn, **kw)["Error"]["Message"]


def test_writes_report_bad_numbers_inside_the_envelope(ddb_raw, table_s):
    def each(make):
        out = []
        for s in SHAPES:
            fn, kw = make({"N": s})
            out.append(_refusal(fn, **kw))
        return out

    want = [ENV + m for m in CURRENT]
    put = ddb_raw.put_item
    upd = ddb_raw.update_item
    assert each(lambda v: (put, dict(TableName=table_s, Item={"pk": {"S": "n"}, "n": v}))) == want
    assert each(lambda v: (put, dict(TableName=table_s, Item={"pk": {"S": "n"}, "n": {"M": {"x": {"L": [v]}}}}))) == want
    assert each(lambda v: (put, dict(TableName=table_s, Item={"pk": {"S": "n"}},
                                      ConditionExpression="attribute_not_exists(pk) OR n = :v",
                                      ExpressionAttributeValues={":v": v}))) == want
    assert each(lambda v: (put, dict(TableName=table_s, Item={"pk": {"S": "n"}}, Expected={"n": {"Value": v}}))) == want
    assert each(lambda v: (upd, dict(TableName=table_s, Key={"pk": {"S": "n"}}, UpdateExpression="SET n = :v",
                                      ExpressionAttributeValues={":v": v}))) == want
    assert each(lambda v: (upd, dict(TableName=table_s, Key={"pk": {"S": "n"}},
                                      AttributeUpdates={"n": {"Action": "PUT", "Value": v}}))) == want
    assert each(lambda v: (ddb_raw.delete_item, dict(TableName=table_s, Key={"pk": v}))) == want
    assert _refusal(put, TableName=table_s, Item={"pk": {"S": "n"}, "n": {"NS": ["1", "abc"]}}) == ENV + f"{NN}: abc"
    assert _refusal(put, TableName=table_s, Item={"pk": {"S": "n"}, "n": {"N": " 1"}}) == ENV + f"{NN}:  1"
    assert _refusal(put, TableName=table_s, Item={"pk": {"S": "n"}, "n": {"N": "1" * 40}}) == (
        ENV + "Attempting to store more than 38 significant digits in a Number")


def test_reads_report_bad_numbers_bare_in_the_current_wording(ddb_raw, table_s):
    for s, want in zip(SHAPES, CURRENT):
        v = {"N": s}
        assert _refusal(ddb_raw.get_item, TableName=table_s, Key={"pk": v}) == want
        assert _refusal(ddb_raw.batch_get_item, RequestItems={table_s: {"Keys": [{"pk": v}]}}) == want
        assert _refusal(ddb_raw.query, TableName=table_s, KeyConditionExpression="pk = :p",
                        FilterExpression="n = :v", ExpressionAttributeValues={":p": {"S": "n"}, ":v": v}) == want


def test_batch_write_and_transactions_report_bad_numbers_in_the_older_wording(ddb_raw, table_s):
    for s, want in zip(SHAPES, OLDER):
        v = {"N": s}
        assert _refusal(ddb_raw.batch_write_item,
                        RequestItems={table_s: [{"PutRequest": {"Item": {"pk": {"S": "n"}, "n": v}}}]}) == want
        assert _refusal(ddb_raw.transact_write_items,
                        TransactItems=[{"Put": {"TableName": table_s, "Item": {"pk": {"S": "n"}, "n": v}}}]) == want
        assert _refusal(ddb_raw.transact_write_items, TransactItems=[{"Update": {
            "TableName": table_s, "Key": {"pk": {"S": "n"}}, "UpdateExpression": "SET n = :v",
            "ExpressionAttributeValues": {":v": v}}}]) == f"ExpressionAttributeValues contains invalid value: {want} for key :v"
        assert _refusal(ddb_raw.transact_get_items,
                        TransactItems=[{"Get": {"TableName": table_s, "Key": {"pk": v}}}]) == want
        assert _refusal(ddb_raw.scan, TableName=table_s, FilterExpression="n = :v",
                        ExpressionAttributeValues={":v": v}) == f"ExpressionAttributeValues contains invalid value: {want} for key :v"
    # the older checker reads an exponent outside a 32-bit integer as no number at all
    assert _refusal(ddb_raw.batch_write_item, RequestItems={
        table_s: [{"PutRequest": {"Item": {"pk": {"S": "n"}, "n": {"N": "1e2147483648"}}}}]}) == f"{NN}: 1e2147483648"


def test_duplicate_set_members_are_worded_by_checker(ddb_raw, table_s):
    for d, current, older in zip(DUPES, DUPES_CURRENT, DUPES_OLDER):
        assert _refusal(ddb_raw.put_item, TableName=table_s, Item={"pk": {"S": "d"}, "s": d}) == ENV + current
        assert _refusal(ddb_raw.put_item, TableName=table_s, Item={"pk": {"S": "d"}},
                        ConditionExpression="attribute_not_exists(pk) OR s = :t",
                        ExpressionAttributeValues={":t": d}) == ENV + current
        assert _refusal(ddb_raw.update_item, TableName=table_s, Key={"pk": {"S": "d"}},
                        AttributeUpdates={"s": {"Action": "PUT", "Value": d}}) == ENV + current
        assert _refusal(ddb_raw.delete_item, TableName=table_s, Key={"pk": d}) == ENV + current
        assert _refusal(ddb_raw.get_item, TableName=table_s, Key={"pk": d}) == current
        assert _refusal(ddb_raw.query, TableName=table_s, KeyConditionExpression="pk = :p", FilterExpression="s = :t",
                        ExpressionAttributeValues={":p": {"S": "d"}, ":t": d}) == current
        assert _refusal(ddb_raw.query, TableName=table_s, KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": {"S": "d"}}, ExclusiveStartKey={"pk": d}) == current
        assert _refusal(ddb_raw.batch_write_item,
                        RequestItems={table_s: [{"PutRequest": {"Item": {"pk": {"S": "d"}, "s": d}}}]}) == older
        assert _refusal(ddb_raw.transact_write_items,
                        TransactItems=[{"Delete": {"TableName": table_s, "Key": {"pk": d}}}]) == older


def test_writes_report_misused_parameters_inside_the_envelope(ddb_raw, table_s):
    put = dict(TableName=table_s, Item={"pk": {"S": "e"}})
    key = dict(TableName=table_s, Key={"pk": {"S": "e"}})
    cases = [
        (ddb_raw.put_item, dict(put, ExpressionAttributeValues={":v": {"S": "x"}}),
         "ExpressionAttributeValues can only be specified when using expressions"),
        (ddb_raw.delete_item, dict(key, ExpressionAttributeNames={"#a": "a"}),
         "ExpressionAttributeNames can only be specified when using expressions"),
        (ddb_raw.delete_item, dict(key, ConditionExpression="attribute_exists(a)", ExpressionAttributeValues={}),
         "ExpressionAttributeValues must not be empty"),
        (ddb_raw.delete_item, dict(key, ConditionExpression=""), "Invalid ConditionExpression: The expression can not be empty;"),
        (ddb_raw.delete_item, dict(key, ReturnValues="UPDATED_NEW"), "ReturnValues can only be ALL_OLD or NONE"),
        (ddb_raw.delete_item, dict(key, Expected={"a": {"Exists": True}}),
         INV + "Value must be provided when Exists is true for Attribute: a"),
        (ddb_raw.delete_item, dict(key, Expected={"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "x"}]}}),
         INV + "Invalid number of argument(s) for the BETWEEN ComparisonOperator"),
        (ddb_raw.update_item, dict(key, UpdateExpression="SET b = :w", ConditionExpression="a = :v",
                                   ExpressionAttributeValues={":w": {"S": "x"}}),
         "Invalid ConditionExpression: An expression attribute value used in expression is not defined; "
         "attribute value: :v"),
    ]
    for fn, kw, msg in cases:
        assert _refusal(fn, **kw) == ENV + msg
    # what was last recorded bare stays bare: UpdateExpression errors, unused values, mixed parameters
    assert _refusal(ddb_raw.update_item, **key, UpdateExpression="") == (
        "Invalid UpdateExpression: The expression can not be empty;")
    assert _refusal(ddb_raw.update_item, **key, UpdateExpression="SET a = :v",
                    ExpressionAttributeValues={":v": {"S": "x"}, ":u": {"S": "y"}}) == (
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}")
    # other operations keep the older sentence, which names the expressions that are missing
    assert _refusal(ddb_raw.scan, TableName=table_s, ExpressionAttributeValues={":v": {"S": "x"}}) == (
        "ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null")
