"""DynamoDB expressions: ConditionExpression comparators, functions and precedence; UpdateExpression
SET/REMOVE/ADD/DELETE on top-level and nested paths; ExpressionAttributeNames/Values errors; and
hostile (huge, deeply nested) expressions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from ddb_util import av, avs, error_of, expect_error, pyitem

BASE = {
    "pk": "c", "n": 5, "s": "hello", "b": b"\x01\x02\x03", "t": True, "z": None, "e": "",
    "l": [1, "two", [3]],
    "m": {"a": {"b": [10, {"c": "deep"}]}, "x": 1},
    "ss": {"a", "b"}, "ns": {1, 2, 3}, "bs": {b"\x01", b"\x02"},
    "name": "reserved",
}


@pytest.fixture
def base(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs(BASE))
    return table_s


def holds(ddb, table, expr, values=None, names=None) -> bool:
    """Evaluate a ConditionExpression against BASE (re-putting the same item when it holds)."""
    kw = {}
    if values is not None:
        kw["ExpressionAttributeValues"] = avs(values)
    if names is not None:
        kw["ExpressionAttributeNames"] = names
    try:
        ddb.put_item(TableName=table, Item=avs(BASE), ConditionExpression=expr, **kw)
        return True
    except ClientError as e:
        if error_of(e)[0] == "ConditionalCheckFailedException":
            return False
        raise


def update(ddb, table, expr, values=None, names=None, key="c", **kw):
    if values is not None:
        kw["ExpressionAttributeValues"] = avs(values)
    if names is not None:
        kw["ExpressionAttributeNames"] = names
    resp = ddb.update_item(TableName=table, Key=avs({"pk": key}), UpdateExpression=expr, ReturnValues="ALL_NEW", **kw)
    return pyitem(resp.get("Attributes"))


# --------------------------------------------------------------------------- comparators

COMPARISONS = [
    ("n = :v", {":v": 5}, True),
    ("n = :v", {":v": "5"}, False),             # different types are never equal
    ("n <> :v", {":v": "5"}, True),
    ("n <> :v", {":v": 6}, True),
    ("n <> :v", {":v": 5}, False),
    ("n < :v", {":v": 10}, True),               # numeric, not lexicographic
    ("n > :v", {":v": 10}, False),
    ("n <= :v", {":v": 5}, True),
    ("n >= :v", {":v": Decimal("5.0000001")}, False),
    ("n > :v", {":v": Decimal("4.99")}, True),
    ("n > :v", {":v": -100}, True),
    ("s < :v", {":v": "help"}, True),
    ("s > :v", {":v": "Z"}, True),              # bytewise: lower case after upper case
    ("s > :v", {":v": "hell"}, True),           # a prefix sorts first
    ("s <= :v", {":v": "hello"}, True),
    ("b < :v", {":v": b"\x01\x02\x04"}, True),
    ("b > :v", {":v": b"\x01\x02"}, True),
    ("b < :v", {":v": b"\x80"}, True),          # unsigned bytes
    ("n < :v", {":v": "zzz"}, False),           # ordering across types is false, not an error
    ("n > :v", {":v": "a"}, False),
    ("nope = :v", {":v": 1}, False),            # missing attribute
    ("nope <> :v", {":v": 1}, True),
    ("nope < :v", {":v": 1}, False),
    ("nope >= :v", {":v": 1}, False),
    ("n <> s", None, True),
    ("n < s", None, False),
    ("m.a.b[0] = :v", {":v": 10}, True),
    ("m.a.b[1].c = :v", {":v": "deep"}, True),
    ("l[2][0] = :v", {":v": 3}, True),
    ("l[5] = :v", {":v": 3}, False),
    ("l[0] = :v", {":v": 1}, True),
    ("ss = :v", {":v": {"b", "a"}}, True),      # sets compare as sets
    ("ss = :v", {":v": {"a"}}, False),
    ("ns = :v", {":v": {3, 2, 1}}, True),
    ("l = :v", {":v": [1, "two", [3]]}, True),
    ("l = :v", {":v": [1, [3], "two"]}, False),  # lists are ordered
    ("m.a = :v", {":v": {"b": [10, {"c": "deep"}]}}, True),
    ("t = :v", {":v": True}, True),
    ("z = :v", {":v": None}, True),
    ("e = :v", {":v": ""}, True),
]


@pytest.mark.parametrize("expr,values,want", COMPARISONS, ids=[c[0] + f"-{i}" for i, c in enumerate(COMPARISONS)])
def test_comparisons(ddb, base, expr, values, want):
    assert holds(ddb, base, expr, values) is want


def test_names_placeholders(ddb, base):
    assert holds(ddb, base, "#n = :v", {":v": "reserved"}, {"#n": "name"})
    assert holds(ddb, base, "#m.#a.#b[1].#c = :v", {":v": "deep"}, {"#m": "m", "#a": "a", "#b": "b", "#c": "c"})
    # a placeholder stands for one name, dots included
    assert not holds(ddb, base, "attribute_exists(#d)", None, {"#d": "m.x"})


BETWEEN_IN = [
    ("n BETWEEN :a AND :b", {":a": 1, ":b": 5}, True),
    ("n BETWEEN :a AND :b", {":a": 5, ":b": 5}, True),
    ("n BETWEEN :a AND :b", {":a": 6, ":b": 10}, False),
    ("s BETWEEN :a AND :b", {":a": "a", ":b": "z"}, True),
    ("s BETWEEN :a AND :b", {":a": "hellp", ":b": "z"}, False),
    ("nope BETWEEN :a AND :b", {":a": 1, ":b": 10}, False),
    ("n IN (:a, :b)", {":a": 1, ":b": 5}, True),
    ("n IN (:a, :b)", {":a": 1, ":b": 2}, False),
    ("n IN (:a)", {":a": 5}, True),
    ("n IN (:a, :b)", {":a": "dog", ":b": 5}, True),
    ("s IN (:a, :b)", {":a": "x", ":b": "hello"}, True),
    ("ss IN (:a)", {":a": {"a", "b"}}, True),
    ("nope IN (:a)", {":a": 1}, False),
    ("n IN (n, s)", None, True),
]


@pytest.mark.parametrize("expr,values,want", BETWEEN_IN, ids=[c[0] + f"-{i}" for i, c in enumerate(BETWEEN_IN)])
def test_between_and_in(ddb, base, expr, values, want):
    assert holds(ddb, base, expr, values) is want


def test_in_list_limits(ddb, base):
    values = {f":v{i}": i for i in range(99)}
    assert holds(ddb, base, "n IN ({})".format(", ".join(values)), values)
    big = {f":v{i}": i + 1000 for i in range(150)}
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE),
                 ConditionExpression="n IN ({})".format(", ".join(big)), ExpressionAttributeValues=avs(big))
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE),
                 ConditionExpression="n IN ()", contains="Syntax error")


def test_between_bounds_order(ddb, base):
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE),
                 ConditionExpression="n BETWEEN :hi AND :lo", ExpressionAttributeValues=avs({":hi": 10, ":lo": 1}),
                 contains="BETWEEN")


LOGIC = [
    # AND binds tighter than OR
    ("n = :five OR n = :one AND s = :no", True),
    ("(n = :five OR n = :one) AND s = :no", False),
    ("s = :no AND n = :one OR n = :five", True),
    # NOT binds tighter than AND
    ("NOT n = :one AND s = :no", False),
    ("NOT (n = :one AND s = :no)", True),
    ("NOT n = :five OR s = :hello", True),
    ("NOT (n = :five OR s = :hello)", False),
    ("NOT NOT n = :five", True),
    ("n = :five AND s = :hello AND attribute_exists(m)", True),
    ("n = :one OR s = :no OR attribute_not_exists(m)", False),
    ("not n = :one and s = :hello", True),  # keywords are case-insensitive
]


@pytest.mark.parametrize("expr,want", LOGIC, ids=[f"{i}" for i in range(len(LOGIC))])
def test_logic_precedence(ddb, base, expr, want):
    vals = {":five": 5, ":one": 1, ":no": "no", ":hello": "hello"}
    used = {k: v for k, v in vals.items() if k in expr}
    assert holds(ddb, base, expr, used) is want


# --------------------------------------------------------------------------- functions

FUNCTIONS = [
    ("attribute_exists(n)", None, True),
    ("attribute_exists(nope)", None, False),
    ("attribute_exists(z)", None, True),        # a NULL attribute exists
    ("attribute_exists(m.a.b[1].c)", None, True),
    ("attribute_exists(m.a.b[9])", None, False),
    ("attribute_exists(l[2][0])", None, True),
    ("attribute_exists(s.x)", None, False),     # path through a non-map
    ("attribute_not_exists(nope)", None, True),
    ("attribute_not_exists(n)", None, False),
    ("attribute_type(n, :t)", {":t": "N"}, True),
    ("attribute_type(n, :t)", {":t": "S"}, False),
    ("attribute_type(s, :t)", {":t": "S"}, True),
    ("attribute_type(b, :t)", {":t": "B"}, True),
    ("attribute_type(t, :t)", {":t": "BOOL"}, True),
    ("attribute_type(z, :t)", {":t": "NULL"}, True),
    ("attribute_type(l, :t)", {":t": "L"}, True),
    ("attribute_type(m, :t)", {":t": "M"}, True),
    ("attribute_type(ss, :t)", {":t": "SS"}, True),
    ("attribute_type(ns, :t)", {":t": "NS"}, True),
    ("attribute_type(bs, :t)", {":t": "BS"}, True),
    ("attribute_type(nope, :t)", {":t": "S"}, False),
    ("begins_with(s, :p)", {":p": "he"}, True),
    ("begins_with(s, :p)", {":p": "hello"}, True),
    ("begins_with(s, :p)", {":p": "lo"}, False),
    ("begins_with(b, :p)", {":p": b"\x01\x02"}, True),
    ("begins_with(b, :p)", {":p": b"\x02"}, False),
    ("begins_with(nope, :p)", {":p": "x"}, False),
    ("begins_with(n, :p)", {":p": "5"}, False),  # the attribute is a number
    ("contains(s, :v)", {":v": "ell"}, True),
    ("contains(s, :v)", {":v": "xyz"}, False),
    ("contains(b, :v)", {":v": b"\x02\x03"}, True),
    ("contains(ss, :v)", {":v": "a"}, True),
    ("contains(ss, :v)", {":v": "c"}, False),
    ("contains(ns, :v)", {":v": 2}, True),
    ("contains(ns, :v)", {":v": "2"}, False),
    ("contains(bs, :v)", {":v": b"\x01"}, True),
    ("contains(l, :v)", {":v": "two"}, True),
    ("contains(l, :v)", {":v": [3]}, True),
    ("contains(l, :v)", {":v": 3}, False),
    ("contains(n, :v)", {":v": 5}, False),
    ("contains(nope, :v)", {":v": 5}, False),
    ("contains(m.a.b, :v)", {":v": 10}, True),
    ("size(s) = :v", {":v": 5}, True),
    ("size(b) = :v", {":v": 3}, True),
    ("size(e) = :v", {":v": 0}, True),
    ("size(l) = :v", {":v": 3}, True),
    ("size(m) = :v", {":v": 2}, True),
    ("size(ss) = :v", {":v": 2}, True),
    ("size(ns) > :v", {":v": 2}, True),
    ("size(m.a.b) < :v", {":v": 3}, True),
    ("size(nope) = :v", {":v": 0}, False),
    ("size(s) BETWEEN :a AND :b", {":a": 1, ":b": 5}, True),
    ("size(l) IN (:a, :b)", {":a": 1, ":b": 3}, True),
    ("size(s) = size(l) OR size(ss) < size(s)", None, True),
]


@pytest.mark.parametrize("expr,values,want", FUNCTIONS, ids=[c[0] + f"-{i}" for i, c in enumerate(FUNCTIONS)])
def test_functions(ddb, base, expr, values, want):
    assert holds(ddb, base, expr, values) is want


def test_conditions_on_missing_item(ddb, table_s):
    def put(expr, values=None):
        kw = {"ExpressionAttributeValues": avs(values)} if values else {}
        try:
            ddb.put_item(TableName=table_s, Item=avs({"pk": "fresh"}), ConditionExpression=expr, **kw)
            ddb.delete_item(TableName=table_s, Key=avs({"pk": "fresh"}))
            return True
        except ClientError as e:
            assert error_of(e)[0] == "ConditionalCheckFailedException"
            return False

    assert put("attribute_not_exists(pk)")
    assert not put("attribute_exists(pk)")
    assert put("pk <> :v", {":v": "fresh"})
    assert not put("pk = :v", {":v": "fresh"})
    assert not put("size(a) >= :z", {":z": 0})


CONDITION_ERRORS = [
    ("foo(n)", None, "Invalid function name"),
    ("size(s)", None, None),                        # size() is not a condition on its own
    ("attribute_exists(:v)", {":v": 1}, None),      # needs a path
    ("begins_with(s, :p)", {":p": 5}, None),        # a number operand
    ("attribute_type(n, :t)", {":t": "XX"}, "Invalid attribute type name found"),
    ("attribute_type(n, :t)", {":t": 5}, None),
    ("n = ", None, "Syntax error"),
    ("n == :v", {":v": 1}, "Syntax error"),
    ("n = :v AND", {":v": 1}, "Syntax error"),
    ("n = :v)", {":v": 1}, "Syntax error"),
    ("((n = :v))", {":v": 1}, "The expression has redundant parentheses"),
    ("n", None, "Syntax error"),
    ("name = :v", {":v": 1}, "Attribute name is a reserved keyword; reserved keyword: name"),
    ("n = :v", {":v": 1, ":extra": 2}, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:extra}"),
    # comparing a path with itself is refused, not evaluated (IN is not checked this way)
    ("n = n", None, "The first operand must be distinct from the remaining operands for this operator or function; "
                    "operator: =, first operand: [n]"),
    ("m.x <> m.x", None, "The first operand must be distinct from the remaining operands"),
    ("contains(s, s)", None, "The first operand must be distinct from the remaining operands for this operator or "
                             "function; operator: contains, first operand: [s]"),
    ("n = :nope", {":v": 1}, None),
    ("n = :undefined", None, "Invalid ConditionExpression: An expression attribute value used in expression is not "
                             "defined; attribute value: :undefined"),
    ("l[-1] = :v", {":v": 1}, None),
    ("l[x] = :v", {":v": 1}, None),
    ("m. = :v", {":v": 1}, None),
]


@pytest.mark.parametrize("expr,values,msg", CONDITION_ERRORS, ids=[f"{i}" for i in range(len(CONDITION_ERRORS))])
def test_condition_errors(ddb, base, expr, values, msg):
    kw = {"ExpressionAttributeValues": avs(values)} if values else {}
    resp = expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression=expr,
                        **kw)
    text = resp["Error"]["Message"]
    if msg:
        assert msg in text, text
    if msg is None or not msg.startswith("Value provided"):
        # PutItem reports a malformed condition inside the validation envelope (us-east-1, 2026-10)
        assert text.startswith("1 validation error detected: Invalid ConditionExpression") or "ExpressionAttribute" in text, text


def test_attribute_names_errors(ddb, base):
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression="#x = :v",
                 ExpressionAttributeValues=avs({":v": 1}), ExpressionAttributeNames={"#y": "n"},
                 message="1 validation error detected: Invalid ConditionExpression: An expression attribute name "
                         "used in the document path is not defined; attribute name: #x")
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression="#x = :v",
                 ExpressionAttributeValues=avs({":v": 1}), ExpressionAttributeNames={"#x": "n", "#extra": "s"},
                 message="Value provided in ExpressionAttributeNames unused in expressions: keys: {#extra}")
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE),
                 ExpressionAttributeNames={"#x": "n"})
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE),
                 ExpressionAttributeValues=avs({":v": 1}))
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression="n = :v",
                 ExpressionAttributeValues={}, contains="ExpressionAttributeValues must not be empty")
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression="n = n",
                 ExpressionAttributeNames={}, contains="ExpressionAttributeNames must not be empty")
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression="n = :v",
                 ExpressionAttributeValues={":v": av(1), "nocolon": av(2)},
                 contains="ExpressionAttributeValues contains invalid key")
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression="n = n",
                 ExpressionAttributeNames={"nohash": "n"}, contains="ExpressionAttributeNames contains invalid key")
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression="n = :v",
                 ExpressionAttributeValues={":v": {"SS": []}})


def test_end_of_input_is_quoted_like_any_token(ddb_raw, base):
    expect_error("ValidationException", ddb_raw.scan, TableName=base, FilterExpression="n = ",
                 message='Invalid FilterExpression: Syntax error; token: "<EOF>", near: "="')
    expect_error("ValidationException", ddb_raw.put_item, TableName=base, Item=avs(BASE),
                 ConditionExpression="attribute_not_exists(",
                 message='1 validation error detected: Invalid ConditionExpression: Syntax error; token: "<EOF>", '
                         'near: "("')


def test_empty_condition_expression(ddb_raw, base):
    expect_error("ValidationException", ddb_raw.put_item, TableName=base, Item=avs(BASE), ConditionExpression="",
                 contains="Invalid ConditionExpression: The expression can not be empty")


# --------------------------------------------------------------------------- hostile expressions


def _still_serving(ddb, table):
    ddb.put_item(TableName=table, Item=avs({"pk": "after", "v": 1}), ConditionExpression="attribute_not_exists(v)")
    assert ddb.get_item(TableName=table, Key=avs({"pk": "after"}))["Item"]["v"] == {"N": "1"}


@pytest.mark.parametrize("expr", [
    "(" * 5000 + "n = :v" + ")" * 5000,
    "(" * 100000 + "n = :v" + ")" * 100000,
    "(" * 1000 + "n = :v" + ")" * 1000,
    "n = :v AND " * 2000 + "n = :v",
    "NOT " * 2000 + "n = :v",
    "n = :v AND (" * 400 + "n = :v" + ")" * 400,
    "(" * 4096,
    "attribute_exists(" + "m." * 3000 + "x)",
    "size(" * 1000 + "s" + ")" * 1000 + " = :v",
])
def test_deeply_nested_condition_rejected(ddb, base, expr):
    kw = {"ExpressionAttributeValues": avs({":v": 5})} if ":v" in expr else {}
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression=expr, **kw)
    _still_serving(ddb, base)


def test_operator_count_limit(ddb, base):
    # 149 nested ORs (150 comparisons + 149 ORs = 299 operators) is accepted; 160 (321 operators) is not,
    # though well under the 4 KB expression size limit
    ok = "n < s " + "or (n < s " * 149 + ")" * 149
    assert holds(ddb, base, ok) is False
    bad = "n < s " + "or (n < s " * 160 + ")" * 160
    assert len(bad) < 4096
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression=bad,
                 contains="Invalid ConditionExpression: The expression contains too many operators")
    # the same without nesting: 151 comparisons and 150 ORs is one operator too many
    flat = "n < s" + " or n < s" * 150
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE), ConditionExpression=flat,
                 contains="too many operators")
    assert holds(ddb, base, "n < s" + " or n < s" * 149) is False


def test_expression_size_limit(ddb, base):
    long_name = "a" * 5000
    expect_error("ValidationException", ddb.put_item, TableName=base, Item=avs(BASE),
                 ConditionExpression=f"attribute_not_exists({long_name})",
                 contains="Expression size has exceeded the maximum allowed size")


def test_deep_update_and_projection_rejected(ddb, base):
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET a = " + "(" * 5000 + ":v" + ")" * 5000, ExpressionAttributeValues=avs({":v": 1}))
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET a = " + ":v + " * 2000 + ":v", ExpressionAttributeValues=avs({":v": 1}))
    expect_error("ValidationException", ddb.get_item, TableName=base, Key=avs({"pk": "c"}),
                 ProjectionExpression="m" + ".a" * 3000)
    expect_error("ValidationException", ddb.get_item, TableName=base, Key=avs({"pk": "c"}),
                 ProjectionExpression="l" + "[0]" * 2000)
    expect_error("ValidationException", ddb.scan, TableName=base,
                 FilterExpression="(" * 5000 + "n = :v" + ")" * 5000, ExpressionAttributeValues=avs({":v": 1}))
    _still_serving(ddb, base)


# --------------------------------------------------------------------------- UpdateExpression: SET


def test_set_arithmetic(ddb, base):
    assert update(ddb, base, "SET n = n + :d", {":d": 3})["n"] == 8
    assert update(ddb, base, "SET n = n - :d", {":d": 10})["n"] == -2
    assert update(ddb, base, "SET n = :d - n", {":d": 10})["n"] == 12
    assert update(ddb, base, "SET x = :a + :b", {":a": Decimal("0.1"), ":b": Decimal("0.2")})["x"] == Decimal("0.3")
    assert update(ddb, base, "SET y = n + n")["y"] == 24
    assert update(ddb, base, "SET m.x = m.x + :d", {":d": 1})["m"]["x"] == 2
    assert update(ddb, base, "SET l[0] = l[0] - :d", {":d": 1})["l"][0] == 0


def test_set_arithmetic_errors(ddb, base):
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET n = nope + :d", ExpressionAttributeValues=avs({":d": 1}),
                 message="The provided expression refers to an attribute that does not exist in the item")
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET n = s + :d", ExpressionAttributeValues=avs({":d": 1}),
                 contains="An operand in the update expression has an incorrect data type")
    # a wrongly typed value from ExpressionAttributeValues is caught statically, before the item is read
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET n = n + :d", ExpressionAttributeValues=avs({":d": "1"}),
                 message="Invalid UpdateExpression: Incorrect operand type for operator or function; "
                         "operator or function: +, operand type: S")
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET n = :a + :b",
                 ExpressionAttributeValues={":a": {"N": "9.9e125"}, ":b": {"N": "9.9e125"}}, contains="overflow")
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET n = :a + :b",
                 ExpressionAttributeValues={":a": {"N": "1e50"}, ":b": {"N": "1"}})
    # nothing was changed by the failed updates
    got = ddb.get_item(TableName=base, Key=avs({"pk": "c"}))["Item"]
    assert pyitem(got) == BASE


def test_list_append_and_if_not_exists(ddb, base):
    assert update(ddb, base, "SET l = list_append(l, :more)", {":more": ["x", "y"]})["l"] == [1, "two", [3], "x", "y"]
    assert update(ddb, base, "SET l = list_append(:more, l)", {":more": [0]})["l"][:2] == [0, 1]
    assert update(ddb, base, "SET k = list_append(if_not_exists(k, :empty), :more)",
                  {":empty": [], ":more": ["a"]})["k"] == ["a"]
    assert update(ddb, base, "SET k = list_append(if_not_exists(k, :empty), :more)",
                  {":empty": [], ":more": ["b"]})["k"] == ["a", "b"]
    assert update(ddb, base, "SET n = if_not_exists(n, :d)", {":d": 100})["n"] == 5
    assert update(ddb, base, "SET fresh = if_not_exists(fresh, :d)", {":d": 100})["fresh"] == 100
    assert update(ddb, base, "SET c2 = if_not_exists(c2, :zero) + :one", {":zero": 0, ":one": 1})["c2"] == 1
    assert update(ddb, base, "SET c2 = if_not_exists(c2, :zero) + :one", {":zero": 0, ":one": 1})["c2"] == 2
    assert update(ddb, base, "SET m.a.b = list_append(m.a.b, :more)", {":more": [11]})["m"]["a"]["b"][-1] == 11
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET l = list_append(l, :s)", ExpressionAttributeValues=avs({":s": "str"}),
                 message="Invalid UpdateExpression: Incorrect operand type for operator or function; "
                         "operator or function: list_append, operand type: S")
    # a list attribute of the wrong type is only found when the item is read
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET l = list_append(s, :more)", ExpressionAttributeValues=avs({":more": [1]}),
                 contains="An operand in the update expression has an incorrect data type")
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET l = list_append(l)")


def test_set_nested_paths(ddb, base):
    got = update(ddb, base, "SET m.a.b[1].c = :v, m.newkey = :w, l[1] = :x",
                 {":v": "changed", ":w": {"k": 1}, ":x": "TWO"})
    assert got["m"]["a"]["b"][1]["c"] == "changed"
    assert got["m"]["newkey"] == {"k": 1}
    assert got["l"][1] == "TWO"
    # a list index past the end appends
    assert update(ddb, base, "SET l[10] = :v", {":v": "end"})["l"] == [1, "TWO", [3], "end"]
    # a name holding dots is one attribute
    got = update(ddb, base, "SET #d = :v", {":v": 1}, {"#d": "m.x"})
    assert got["m.x"] == 1 and got["m"]["x"] == 1


@pytest.mark.parametrize("expr", ["SET nope.x = :v", "SET m.nope.x = :v", "SET s.x = :v", "SET s[0] = :v",
                                  "SET m[0] = :v", "SET l.x = :v", "SET nope[0] = :v"])
def test_set_invalid_document_path(ddb, base, expr):
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}), UpdateExpression=expr,
                 ExpressionAttributeValues=avs({":v": 1}),
                 message="The document path provided in the update expression is invalid for update")


# --------------------------------------------------------------------------- REMOVE, ADD, DELETE


def test_remove(ddb, base):
    got = update(ddb, base, "REMOVE s, nope, m.a.b[0], m.nothere")
    assert "s" not in got
    assert got["m"]["a"]["b"] == [{"c": "deep"}]
    # several indexes of one list refer to the list as it was
    got = update(ddb, base, "REMOVE l[0], l[2]")
    assert got["l"] == ["two"]
    # an index past the end is ignored
    assert update(ddb, base, "REMOVE l[7]")["l"] == ["two"]
    got = update(ddb, base, "REMOVE #n", names={"#n": "name"})
    assert "name" not in got


def test_add_numbers_and_sets(ddb, base):
    assert update(ddb, base, "ADD n :d", {":d": 5})["n"] == 10
    assert update(ddb, base, "ADD n :d", {":d": Decimal("-10.5")})["n"] == Decimal("-0.5")
    # COUNTER is a reserved word, hence the placeholder
    assert update(ddb, base, "ADD #c :d", {":d": 7}, {"#c": "counter"})["counter"] == 7
    expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="ADD counter :d", ExpressionAttributeValues=avs({":d": 7}),
                 contains="Attribute name is a reserved keyword; reserved keyword: counter")
    assert update(ddb, base, "ADD ss :v", {":v": {"b", "c"}})["ss"] == {"a", "b", "c"}
    assert update(ddb, base, "ADD ns :v", {":v": {4}})["ns"] == {1, 2, 3, 4}
    assert update(ddb, base, "ADD bs :v", {":v": {b"\x03"}})["bs"] == {b"\x01", b"\x02", b"\x03"}
    assert update(ddb, base, "ADD newset :v", {":v": {"q"}})["newset"] == {"q"}
    # the attribute has another type
    for expr, val in [("ADD s :v", 1), ("ADD ss :v", {1}), ("ADD n :v", {1}), ("ADD l :v", {"x"})]:
        expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                     UpdateExpression=expr, ExpressionAttributeValues=avs({":v": val}),
                     contains="An operand in the update expression has an incorrect data type")
    # the operand is neither a number nor a set
    for val in ("1", [1], {"a": 1}, True):
        expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                     UpdateExpression="ADD n :v", ExpressionAttributeValues=avs({":v": val}))


def test_delete_from_sets(ddb, base):
    assert update(ddb, base, "DELETE ss :v", {":v": {"a", "zzz"}})["ss"] == {"b"}
    assert update(ddb, base, "DELETE ns :v", {":v": {2}})["ns"] == {1, 3}
    # removing the last element removes the attribute
    got = update(ddb, base, "DELETE ss :v", {":v": {"b"}})
    assert "ss" not in got
    # from a missing attribute: nothing happens
    assert "nope" not in update(ddb, base, "DELETE nope :v", {":v": {"x"}})
    for expr, val in [("DELETE ns :v", {"1"}), ("DELETE s :v", {"h"}), ("DELETE ns :v", 1)]:
        expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                     UpdateExpression=expr, ExpressionAttributeValues=avs({":v": val}))


def test_all_clauses_together(ddb, base):
    got = update(ddb, base, "SET a = :a, d = if_not_exists(d, :a), b = if_not_exists(b, :a) REMOVE s ADD n :one "
                            "DELETE ss :del", {":a": "A", ":one": 1, ":del": {"a"}})
    assert got["a"] == "A" and got["d"] == "A" and "s" not in got and got["n"] == 6 and got["ss"] == {"b"}
    assert got["b"] == BASE["b"]  # it existed, so if_not_exists kept it
    # clauses in any order, keywords in any case
    got = update(ddb, base, "remove a add n :one set c = :a", {":a": "C", ":one": 1})
    assert "a" not in got and got["n"] == 7 and got["c"] == "C"


UPDATE_ERRORS = [
    ("SET a = :v SET b = :v", {":v": 1}, 'The "SET" section can only be used once in an update expression'),
    ("REMOVE a REMOVE b", None, 'The "REMOVE" section can only be used once in an update expression'),
    ("SET a = :v, a = :v", {":v": 1}, "Two document paths overlap"),
    ("SET a = :v REMOVE a", {":v": 1}, "Two document paths overlap"),
    ("SET m = :v, m.x = :v", {":v": 1}, "Two document paths overlap"),
    ("SET l[1] = :v REMOVE l[1]", {":v": 1}, "Two document paths overlap"),
    ("SET a = :v,", {":v": 1}, "Syntax error"),
    ("SET a :v", {":v": 1}, "Syntax error"),
    ("SET", None, "Syntax error"),
    ("PUT a = :v", {":v": 1}, "Syntax error"),
    ("SET a = size(s)", None, None),
    ("SET a = foo(:v)", {":v": 1}, "Invalid function name"),
    ("SET a = :v", None, "An expression attribute value used in expression is not defined; attribute value: :v"),
    ("SET a = :v", {":v": 1, ":w": 2}, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"),
    ("SET name = :v", {":v": 1}, "Attribute name is a reserved keyword; reserved keyword: name"),
    ("DELETE a :v, a :v", {":v": {"x"}}, "Two document paths overlap"),
    ("SET a = :v + :v + :v", {":v": 1}, "Syntax error"),
]


@pytest.mark.parametrize("expr,values,msg", UPDATE_ERRORS, ids=[f"{i}" for i in range(len(UPDATE_ERRORS))])
def test_update_expression_errors(ddb, base, expr, values, msg):
    kw = {"ExpressionAttributeValues": avs(values)} if values else {}
    resp = expect_error("ValidationException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                        UpdateExpression=expr, **kw)
    if msg:
        assert msg in resp["Error"]["Message"], resp["Error"]["Message"]
    assert pyitem(ddb.get_item(TableName=base, Key=avs({"pk": "c"}))["Item"]) == BASE


def test_empty_update_expression(ddb_raw, base):
    expect_error("ValidationException", ddb_raw.update_item, TableName=base, Key=avs({"pk": "c"}), UpdateExpression="")


def test_update_condition_uses_old_item(ddb, base):
    got = update(ddb, base, "SET n = :six", {":six": 6, ":five": 5}, ConditionExpression="n = :five")
    assert got["n"] == 6
    expect_error("ConditionalCheckFailedException", ddb.update_item, TableName=base, Key=avs({"pk": "c"}),
                 UpdateExpression="SET n = :six", ConditionExpression="n = :five",
                 ExpressionAttributeValues=avs({":six": 6, ":five": 5}))
