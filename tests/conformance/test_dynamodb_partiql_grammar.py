"""DynamoDB PartiQL beyond the basics: number literals and parameters, WHERE functions and IS,
set_add/set_delete, the FROM-first UPDATE, OR branches over the key, and the exact messages
DynamoDB refuses statements with.

Expectations are those the dynamodb-conformance suite pins against real DynamoDB (its
tier2/partiql and tier3/error-messages/partiql* files, October 2026) unless a comment says
otherwise. Messages with a position (`at line:column:length`) count characters from 1."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ddb_util import av, avs, expect_error, pyitem

NWF = "Statement wasn't well formed, can't be processed: "
LEFTOVER = NWF + "Unexpected token after expression"
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
UNCONVERTIBLE = "The parameter cannot be converted to a numeric value"
OVERLAP = "Overlapping conditions with range keys are not supported in where clause"
KEY_EQ = "Where clause does not contain a mandatory equality on all key attributes"


def run(ddb, statement, *params, **kw):
    if params:
        kw["Parameters"] = [p if isinstance(p, dict) and len(p) == 1 and next(iter(p)) in
                            ("S", "N", "B", "SS", "NS", "BS", "L", "M", "NULL", "BOOL") else av(p) for p in params]
    return [pyitem(i) for i in ddb.execute_statement(Statement=statement, **kw)["Items"]]


def _get(ddb, table, key):
    return pyitem(ddb.get_item(TableName=table, Key=avs(key), ConsistentRead=True).get("Item"))


def at(statement, token, length=None, start=0):
    """`1:<column>:<length>` of the first `token` at or after `start`."""
    return f"1:{statement.index(token, start) + 1}:{length or len(token)}"


@pytest.fixture
def table_n(make_table):
    return make_table(hash_key=("pk", "N"))


# --------------------------------------------------------------------------- numbers


def test_number_literals(ddb, table_n):
    for n in ("7310000", "7.3", "-7.3"):
        ddb.put_item(TableName=table_n, Item={"pk": {"N": n}})
    for lit in ("7.31e6", "7.31E6", "7.31e+6", "731e4", "73100000e-1"):
        assert run(ddb, f'SELECT * FROM "{table_n}" WHERE pk = {lit}') == [{"pk": 7310000}], lit
    # no leading digit, and signs before a number
    assert run(ddb, f'SELECT * FROM "{table_n}" WHERE pk = .73e1') == [{"pk": Decimal("7.3")}]
    assert run(ddb, f'SELECT * FROM "{table_n}" WHERE pk = -.73e1') == [{"pk": Decimal("-7.3")}]
    assert run(ddb, f'SELECT * FROM "{table_n}" WHERE pk = - - 7.3') == [{"pk": Decimal("7.3")}]
    run(ddb, f"INSERT INTO \"{table_n}\" VALUE {{'pk': .7325e1, 'l': [- 1, +2]}}")
    assert ddb.get_item(TableName=table_n, Key={"pk": {"N": "7.325"}})["Item"]["l"] == {"L": [{"N": "-1"}, {"N": "2"}]}
    for stmt, msg in [
        (f'SELECT * FROM "{table_n}" WHERE pk = 1 e5', LEFTOVER),
        # an exponent or a scale outside a 32-bit integer: nothing after the colon
        (f'SELECT * FROM "{table_n}" WHERE pk = 1e2147483648', NWF),
        (f'SELECT * FROM "{table_n}" WHERE pk = 1e99999999999', NWF),
        (f'SELECT * FROM "{table_n}" WHERE pk = 1.5e-2147483647', NWF),
        # DynamoDB's number rules, naming where the number sits inside the value
        (f'SELECT * FROM "{table_n}" WHERE pk = 1e126', f"{OVERFLOW} under root"),
        (f'SELECT * FROM "{table_n}" WHERE pk = 1e-131', f"{UNDERFLOW} under root"),
        (f'SELECT * FROM "{table_n}" WHERE pk = 123456789012345678901234567890123456789',
         "Attempting to store more than 38 significant digits in a Number under root"),
        (f"INSERT INTO \"{table_n}\" VALUE {{'pk': 1e126}}", f"{OVERFLOW} under root"),
        (f'UPDATE "{table_n}" SET a = 1e-131 WHERE pk = 970005', f"{UNDERFLOW} under root"),
        (f"INSERT INTO \"{table_n}\" VALUE {{'pk': 970006, 'm': {{'x': 1e126}}}}", f"{OVERFLOW} under root.x"),
        (f"INSERT INTO \"{table_n}\" VALUE {{'pk': 970007, 'l': [1, 1e126]}}", f"{OVERFLOW} under root[1]"),
    ]:
        expect_error("ValidationException", ddb.execute_statement, Statement=stmt, message=msg)
    assert ddb.scan(TableName=table_n)["Count"] == 4


@pytest.mark.parametrize("value", ["1e99999999999", "-1e99999999999", "1e-99999999999", "1e2147483648", "1e-2147483648",
                                   "1e2147483647", ""])
def test_number_parameters(ddb, table_ss, value):
    """A number parameter is read as Java's BigDecimal reads it, in every place it can take."""
    want = {"1e2147483647": UNDERFLOW, "": UNCONVERTIBLE}.get(value, f"{UNCONVERTIBLE}: {value}")
    for stmt in (f"SELECT * FROM \"{table_ss}\" WHERE pk = 'pq-pn' AND n = ?",
                 f"INSERT INTO \"{table_ss}\" VALUE {{'pk': 'pq-pn-insert', 'sk': 's', 'n': ?}}",
                 f"UPDATE \"{table_ss}\" SET n = ? WHERE pk = 'pq-pn' AND sk = 's'",
                 f'SELECT * FROM "{table_ss}" WHERE pk = ?'):
        expect_error("ValidationException", ddb.execute_statement, Statement=stmt, Parameters=[{"N": value}], message=want)


def test_number_parameters_nested_and_deep(ddb, table_ss):
    single = f"SELECT * FROM \"{table_ss}\" WHERE pk = 'pq-pn' AND x = ?"
    pair = f"SELECT * FROM \"{table_ss}\" WHERE pk = 'pq-pn' AND x = ? AND y = ?"
    bad = f"{UNCONVERTIBLE}: 1e99999999999"
    for p in ({"L": [{"N": "1"}, {"N": "1e99999999999"}]}, {"M": {"x": {"N": "1e99999999999"}}},
              {"NS": ["1", "1e99999999999"]}):
        expect_error("ValidationException", ddb.execute_statement, Statement=single, Parameters=[p], message=bad)

    def deep(depth, leaf):
        for _ in range(depth):
            leaf = {"M": {"n": leaf}}
        return leaf

    nest = ("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond "
            "supported limit")
    # the first problem in document order
    expect_error("ValidationException", ddb.execute_statement, Statement=pair,
                 Parameters=[deep(40, {"S": "x"}), {"N": "abc"}], message=nest)
    expect_error("ValidationException", ddb.execute_statement, Statement=pair,
                 Parameters=[{"N": "abc"}, deep(40, {"S": "x"})], message=f"{UNCONVERTIBLE}: abc")
    expect_error("ValidationException", ddb.execute_statement, Statement=single,
                 Parameters=[deep(40, {"N": "abc"})], message=nest)
    resp = ddb.batch_execute_statement(Statements=[{"Statement": f"{single} AND sk = 's'", "Parameters": [{"N": "1e99999999999"}]}])
    assert resp["Responses"][0]["Error"] == {"Code": "ValidationError", "Message": bad}
    expect_error("ValidationException", ddb.execute_transaction, message=bad, TransactStatements=[
        {"Statement": f"UPDATE \"{table_ss}\" SET n = ? WHERE pk = 'pq-pn' AND sk = 's'",
         "Parameters": [{"N": "1e99999999999"}]}])


# --------------------------------------------------------------------------- grammar refusals


@pytest.mark.parametrize("tail,message", [
    ("WHERE pk = 'a' foo", LEFTOVER),
    ("WHERE pk = 'a')", LEFTOVER),
    ("WHERE", NWF + "Unexpected term"),
    ("WHERE;", NWF + "Unexpected term"),
    ("WHERE   ", NWF + "Unexpected term"),
    ("WHERE NOT", NWF + "Unexpected term"),
    ("WHERE (", NWF + "Unexpected term"),
    ("WHERE pk = 'p1' AND", NWF + "Missing right-hand side expression of infix operator"),
    ("WHERE pk = 'p1' OR", NWF + "Missing right-hand side expression of infix operator"),
    ("WHERE ORDER BY pk", NWF + "Unexpected keyword"),
    ("WHERE IS NULL", NWF + "Unexpected operator"),
    ("WHERE pk = LIKE", NWF + "Unexpected operator"),
    ("WHERE pk = 'a' AND x IS FOO", NWF + "Expected type name"),
    ("WHERE pk = 'a' AND attribute_exists(m.inner)", NWF + "Invalid path dot component"),
])
def test_where_refusals(ddb, table_s, tail, message):
    expect_error("ValidationException", ddb.execute_statement, Statement=f'SELECT * FROM "{table_s}" {tail}',
                 message=message)


@pytest.mark.parametrize("statement,message", [
    ("SELECT * FROM", NWF + "Unexpected term"),
    ("DELETE FROM", NWF + "Expected identifier for simple path"),
    ("DELETE FROM   ", NWF + "Expected identifier for simple path"),
    ("DELETE FROM;", NWF + "Expected identifier for simple path"),
    ("DELETE FROM WHERE pk = 'a'", NWF + "Expected identifier for simple path"),
    # a bare type test parses, and is refused as an operation DynamoDB does not run
    ("x IS INT4", "Unsupported operation: IsType"),
    ("x IS DOUBLE PRECISION", "Unsupported operation: IsType"),
    ("x IS CHARACTER VARYING", "Unsupported operation: IsType"),
])
def test_statement_refusals(ddb, statement, message):
    expect_error("ValidationException", ddb.execute_statement, Statement=statement, message=message)


def test_empty_where_in_batch_and_transaction(ddb, table_s):
    resp = ddb.batch_execute_statement(Statements=[{"Statement": f'SELECT * FROM "{table_s}" WHERE'}])
    assert resp["Responses"][0]["Error"] == {"Code": "ValidationError", "Message": NWF + "Unexpected term"}
    expect_error("ValidationException", ddb.execute_transaction,
                 TransactStatements=[{"Statement": f'SELECT * FROM "{table_s}" WHERE'}],
                 message=f"Validation failed in TransactStatements[0]: {NWF}Unexpected term")


def test_delete_returning_only_all_old(ddb, table_s):
    for ret in ("MODIFIED OLD", "ALL NEW", "MODIFIED NEW"):
        expect_error("ValidationException", ddb.execute_statement,
                     Statement=f"DELETE FROM \"{table_s}\" WHERE pk = 'x' RETURNING {ret} *",
                     message=f"Invalid returning clause: RETURNING {ret} *. Only RETURNING ALL OLD * is allowed in "
                             "DELETE statements.")


def test_from_clause_refusals(ddb, table_s):
    """The FROM clause's own messages (the suite's tier3 PartiQL error messages)."""
    expect_error("ValidationException", ddb.execute_statement,
                 Statement=f"SELECT * FROM \"{table_s}\".\"{table_s}\" WHERE pk = 'p'",
                 message="The table does not have the specified index")
    expect_error("ValidationException", ddb.execute_statement, Statement=f"SELECT * FROM \"{table_s}\".\"\" WHERE pk = 'p'",
                 message="Path component cannot be an empty string")
    expect_error("ValidationException", ddb.execute_statement, Statement="SELECT * FROM \"\" WHERE pk = 'p'",
                 message="Path component cannot be an empty string")


# --------------------------------------------------------------------------- WHERE functions and IS


@pytest.fixture
def fn_item(ddb, table_s):
    ddb.put_item(TableName=table_s, Item=avs({"pk": "pq-fn-item", "ss": {"a", "b", "c"}, "s": "str", "m": {"sub": "x"},
                                              "nul": None, "flag": True, "pqFnMarker": "present"}))
    return table_s


@pytest.mark.parametrize("condition,holds", [
    ("attribute_exists(ss)", True), ("attribute_exists(nope)", False),
    ("attribute_not_exists(nope)", True), ("attribute_not_exists(ss)", False),
    ("NOT attribute_exists(nope)", True), ("ATTRIBUTE_EXISTS(ss)", True),
    ("(attribute_exists(nope) OR attribute_exists(ss))", True),
    ("attribute_exists(ss) = true", True), ("attribute_exists(nope) = false", True),
    ("true = attribute_exists(s)", True), ("contains(nope, 'z') = false", True),
    ('attribute_exists("ss")', True), ("attribute_exists(m.sub)", True), ("attribute_exists(m.nope)", False),
    ("size(s) = 3", True), ("size(s) = 4", False),
    ("attribute_type(ss, 'SS')", True), ("attribute_type(ss, 'S')", False),
    ("nul IS NULL", True), ("s IS NULL", False), ("nope IS NULL", False),
    ("s IS NOT NULL", True), ("nul IS NOT NULL", False), ("nope IS NOT NULL", True),
    ("flag IS BOOL", True), ("flag IS BOOLEAN", True), ("s IS STRING", True), ("s IS BOOL", False),
    ("nope IS MISSING", True), ("s IS NOT MISSING", True),
])
def test_where_functions_and_is(ddb, fn_item, condition, holds):
    got = run(ddb, f"SELECT pk FROM \"{fn_item}\" WHERE pk = 'pq-fn-item' AND {condition}", ConsistentRead=True)
    assert got == ([{"pk": "pq-fn-item"}] if holds else [])


def test_where_functions_as_write_conditions(ddb, fn_item):
    t = fn_item
    assert run(ddb, f'SELECT pk FROM "{t}" WHERE attribute_exists(pqFnMarker)') == [{"pk": "pq-fn-item"}]
    for k in ("upd", "not", "del", "del2", "tx"):
        ddb.put_item(TableName=t, Item=avs({"pk": k, "a": 5}))
    run(ddb, f"UPDATE \"{t}\" SET z = 1 WHERE pk = 'upd' AND attribute_exists(a)")
    assert _get(ddb, t, {"pk": "upd"})["z"] == 1
    expect_error("ConditionalCheckFailedException", ddb.execute_statement,
                 Statement=f"UPDATE \"{t}\" SET z = 2 WHERE pk = 'upd' AND attribute_exists(nope)")
    run(ddb, f"UPDATE \"{t}\" SET y = 1 WHERE pk = 'not' AND attribute_not_exists(y)")
    expect_error("ConditionalCheckFailedException", ddb.execute_statement,
                 Statement=f"UPDATE \"{t}\" SET y = 2 WHERE pk = 'not' AND attribute_not_exists(y)")
    assert _get(ddb, t, {"pk": "not"})["y"] == 1
    expect_error("ConditionalCheckFailedException", ddb.execute_statement,
                 Statement=f"DELETE FROM \"{t}\" WHERE pk = 'del' AND attribute_exists(nope)")
    assert _get(ddb, t, {"pk": "del"}) is not None
    run(ddb, f"DELETE FROM \"{t}\" WHERE pk = 'del2' AND attribute_not_exists(nope)")
    assert _get(ddb, t, {"pk": "del2"}) is None
    expect_error("ConditionalCheckFailedException", ddb.execute_statement,
                 Statement=f"UPDATE \"{t}\" SET z = 1 WHERE pk = 'absent' AND attribute_not_exists(pk)")
    assert _get(ddb, t, {"pk": "absent"}) is None
    ddb.execute_transaction(TransactStatements=[{"Statement": f"UPDATE \"{t}\" SET z = 1 WHERE pk = 'tx' AND attribute_exists(a)"}])
    assert _get(ddb, t, {"pk": "tx"})["z"] == 1


def test_function_refusals(ddb, table_s):
    t = table_s
    ddb.put_item(TableName=t, Item=avs({"pk": "pq-fn-msg", "ss": {"a", "b", "c"}, "ns": {1, 2, 3}, "s": "str",
                                        "m": {"inner": {"x"}}}))

    def where(c):
        return f"SELECT * FROM \"{t}\" WHERE pk = 'pq-fn-msg' AND {c}"

    def update(s):
        return f"UPDATE \"{t}\" SET {s} WHERE pk = 'pq-fn-msg'"

    needs_path = "Operator or function requires a document path; operator or function: attribute_exists"
    count = "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: "
    incorrect_type = "An operand in the update expression has an incorrect data type"
    cases = [
        (where("attribute_exists('ss')"), needs_path),
        (where("attribute_exists()"), count + "0"),
        (where("attribute_exists(ss, ns)"), count + "2"),
        (update("ss = set_add(ss, <<1>>)"), incorrect_type),
        (update("s = set_add(s, <<'x'>>)"), incorrect_type),
        (update("ss = set_delete(ss, <<1>>)"), incorrect_type),
        (update("ss = set_add(ss, <<'x', 'x'>>)"),
         "One or more parameter values were invalid: Input collection [x, x] contains duplicates."),
        (update("ss = set_add(ss, <<>>)"), "Empty bags are not supported"),
        (update("m.inner = set_add(m.inner, <<'y'>>)"), NWF + "Invalid path dot component"),
    ]
    s = f"SELECT attribute_exists(ss) FROM \"{t}\" WHERE pk = 'pq-fn-msg'"
    cases.append((s, f"Unexpected path component at {at(s, 'attribute_exists')}"))
    s = where("EXISTS(ss)")
    cases.append((s, f"Unrecognized function: exists at {at(s, 'EXISTS')}"))
    s = where("set_add(ss, <<'x'>>) = ss")
    cases.append((s, f"Unrecognized function: set_add at {at(s, 'set_add')}"))
    for fn, up in (("set_add", "ADD"), ("set_delete", "DELETE")):
        s = update(f"t = {fn}(ss, <<'a'>>)")
        cases.append((s, f"The first argument to SET_{up} must equal the assignment value at {at(s, fn)}"))
        s = update(f"ss = {fn}(ss, 'x')")
        cases.append((s, f"The second argument to SET_{up} must be a value with type SET at {at(s, 'ss', 2, s.index(fn + '('))}"))
    s = update("ss = set_add(<<'a'>>, <<'b'>>)")
    cases.append((s, f"The first argument to SET_ADD must equal the assignment value at {at(s, 'set_add')}"))
    s = update("ss = set_add(ss, ['x'])")
    cases.append((s, f"The second argument to SET_ADD must be a value with type SET at {at(s, 'ss', 2, s.index('set_add('))}"))
    for s in (update("ss = set_add(ss)"), update("ss = set_add(ss, <<'x'>>, <<'y'>>)")):
        cases.append((s, f"SET_ADD must have exactly two arguments at {at(s, 'set_add')}"))
    s = f"INSERT INTO \"{t}\" VALUE {{'pk': 'pq-fn-msg-insert', 'ss': set_add(<<'a'>>, <<'b'>>)}}"
    cases.append((s, f"Unsupported data type: set_add under key root at {at(s, 'set_add')}"))
    for stmt, msg in cases:
        expect_error("ValidationException", ddb.execute_statement, Statement=stmt, message=msg)
    expect_error("ValidationException", ddb.execute_statement, Statement=where("attribute_exists(?)"),
                 Parameters=[av("ss")], message=needs_path)
    assert _get(ddb, t, {"pk": "pq-fn-msg"})["ss"] == {"a", "b", "c"}
    assert _get(ddb, t, {"pk": "pq-fn-msg-insert"}) is None


def test_ordering_operand_types(ddb, table_s):
    """An ordering comparison refuses an operand whose type has no order, whatever the other side
    (the suite's comparison file); = and <> take any type."""
    ddb.put_item(TableName=table_s, Item=avs({"pk": "cmp", "val": b"\x01\x02\x03"}))
    stmt = f'SELECT pk FROM "{table_s}" WHERE pk = ? AND val {{}} ?'
    for op in ("<", "<=", ">", ">="):
        expect_error("ValidationException", ddb.execute_statement, Statement=stmt.format(op),
                     Parameters=[av("cmp"), av(True)],
                     message=f"Incorrect operand type for operator or function; operator or function: {op}, operand type: BOOL")
    for v in (None, ["a"], {"a": "b"}, {"a"}):
        expect_error("ValidationException", ddb.execute_statement, Statement=stmt.format("<"), Parameters=[av("cmp"), av(v)])
        assert run(ddb, stmt.format("="), "cmp", av(v)) == []
        assert run(ddb, stmt.format("<>"), "cmp", av(v)) == [{"pk": "cmp"}]
    assert run(ddb, stmt.format("<"), "cmp", 5) == []
    assert run(ddb, stmt.format("<"), "cmp", b"\x01\x02\x04") == [{"pk": "cmp"}]


# --------------------------------------------------------------------------- set_add and set_delete


def test_set_functions(ddb, table_s):
    t = table_s

    def seed(pk):
        ddb.put_item(TableName=t, Item=avs({"pk": pk, "ss": {"a", "b", "c"}, "ns": {1, 2, 3}, "bs": {b"\x01", b"\x02"}}))
        return pk

    run(ddb, f"UPDATE \"{t}\" SET ss = set_add(ss, <<'0', 'z'>>) WHERE pk = '{seed('a1')}'")
    assert _get(ddb, t, {"pk": "a1"})["ss"] == {"0", "a", "b", "c", "z"}
    run(ddb, f"UPDATE \"{t}\" SET ns = set_add(ns, <<4, 1>>) WHERE pk = '{seed('a2')}'")
    assert _get(ddb, t, {"pk": "a2"})["ns"] == {1, 2, 3, 4}
    run(ddb, f"UPDATE \"{t}\" SET bs = set_add(bs, ?) WHERE pk = '{seed('a3')}'", {b"\x01", b"\x03"})
    assert _get(ddb, t, {"pk": "a3"})["bs"] == {b"\x01", b"\x02", b"\x03"}
    run(ddb, f"UPDATE \"{t}\" SET nss = set_add(nss, <<'x'>>) WHERE pk = '{seed('a4')}'")
    assert _get(ddb, t, {"pk": "a4"})["nss"] == {"x"}
    run(ddb, f"UPDATE \"{t}\" SET ss = SET_ADD(ss, <<'x'>>) SET ns = set_add(ns, <<9>>) WHERE pk = '{seed('a5')}'")
    assert _get(ddb, t, {"pk": "a5"})["ss"] == {"a", "b", "c", "x"} and _get(ddb, t, {"pk": "a5"})["ns"] == {1, 2, 3, 9}
    got = run(ddb, f"UPDATE \"{t}\" SET ss = set_add(ss, <<'r'>>) WHERE pk = '{seed('a6')}' RETURNING ALL NEW *")
    assert got[0]["ss"] == {"a", "b", "c", "r"}
    expect_error("ConditionalCheckFailedException", ddb.execute_statement,
                 Statement=f"UPDATE \"{t}\" SET ss = set_add(ss, <<'x'>>) WHERE pk = 'absent'")
    run(ddb, f"UPDATE \"{t}\" SET ss = set_delete(ss, <<'a'>>) WHERE pk = '{seed('d1')}'")
    assert _get(ddb, t, {"pk": "d1"})["ss"] == {"b", "c"}
    run(ddb, f"UPDATE \"{t}\" SET ss = set_delete(ss, <<'a', 'b', 'c'>>) WHERE pk = '{seed('d2')}'")
    assert "ss" not in _get(ddb, t, {"pk": "d2"})
    run(ddb, f"UPDATE \"{t}\" SET nss = set_delete(nss, <<'a'>>) WHERE pk = '{seed('d3')}'")
    assert "nss" not in _get(ddb, t, {"pk": "d3"})
    ddb.execute_transaction(TransactStatements=[{"Statement": f"UPDATE \"{t}\" SET ss = set_add(ss, <<'t'>>) WHERE pk = '{seed('x1')}'"}])
    resp = ddb.batch_execute_statement(Statements=[{"Statement": f"UPDATE \"{t}\" SET ss = set_add(ss, <<'t'>>) WHERE pk = '{seed('x2')}'"}])
    assert "Error" not in resp["Responses"][0]
    assert _get(ddb, t, {"pk": "x1"})["ss"] == _get(ddb, t, {"pk": "x2"})["ss"] == {"a", "b", "c", "t"}


def test_bag_literals(ddb, table_s):
    """Refusals floci captured from AWS."""
    for bag, msg in (("<<>>", "Empty bags are not supported"),
                     ("<<1, 'a'>>", "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags"),
                     ("<<'a', 'a'>>", "One or more parameter values were invalid: Input collection [a, a] contains duplicates.")):
        expect_error("ValidationException", ddb.execute_statement,
                     Statement=f"INSERT INTO \"{table_s}\" VALUE {{'pk': 'bag', 's': {bag}}}", message=msg)
    assert _get(ddb, table_s, {"pk": "bag"}) is None


# --------------------------------------------------------------------------- FROM-first UPDATE


def test_from_first_update(ddb, table_s):
    t = table_s

    def seed(pk):
        ddb.put_item(TableName=t, Item=avs({"pk": pk, "a": 1, "b": "bee"}))
        return pk

    run(ddb, f"FROM \"{t}\" WHERE pk = '{seed('f1')}' SET c = 1")
    assert _get(ddb, t, {"pk": "f1"})["c"] == 1
    run(ddb, f"FROM \"{t}\" WHERE pk = '{seed('f2')}' SET c = 2 REMOVE a")
    assert _get(ddb, t, {"pk": "f2"}) == {"pk": "f2", "b": "bee", "c": 2}
    assert run(ddb, f"FROM \"{t}\" WHERE pk = '{seed('f3')}' SET d = 3 RETURNING ALL NEW *") == \
        [{"pk": "f3", "a": 1, "b": "bee", "d": 3}]
    run(ddb, f"from \"{t}\" where pk = ? set e = ?", seed("f4"), 4)
    assert _get(ddb, t, {"pk": "f4"})["e"] == 4
    run(ddb, f"FROM \"{t}\" WHERE pk = '{seed('f5')}' AND a = 1 SET c = 5")
    expect_error("ConditionalCheckFailedException", ddb.execute_statement,
                 Statement=f"FROM \"{t}\" WHERE pk = 'f5' AND a = 2 SET c = 6")
    expect_error("ConditionalCheckFailedException", ddb.execute_statement, Statement=f"FROM \"{t}\" WHERE pk = 'absent' SET c = 1")
    assert _get(ddb, t, {"pk": "f5"})["c"] == 5 and _get(ddb, t, {"pk": "absent"}) is None
    ddb.execute_transaction(TransactStatements=[{"Statement": f"FROM \"{t}\" WHERE pk = '{seed('f6')}' SET c = 1"}])
    resp = ddb.batch_execute_statement(Statements=[{"Statement": f"FROM \"{t}\" WHERE pk = '{seed('f7')}' SET c = 1"}])
    assert "Error" not in resp["Responses"][0]
    assert _get(ddb, t, {"pk": "f6"})["c"] == _get(ddb, t, {"pk": "f7"})["c"] == 1
    for stmt in (f'FROM "{t}" SET c = 1', f'FROM "{t}" REMOVE a', f'FROM "{t}" WHERE a = 1 SET c = 1'):
        expect_error("ValidationException", ddb.execute_statement, Statement=stmt, message=KEY_EQ)
    for stmt in (f"FROM \"{t}\" SET c = 1 WHERE pk = 'f1'", f"FROM \"{t}\" SET c = 1 WHERE pk = 'f1' SET d = 2"):
        expect_error("ValidationException", ddb.execute_statement, Statement=stmt, message=LEFTOVER)
    expect_error("ResourceNotFoundException", ddb.execute_statement,
                 Statement=f"FROM \"{t}-never-created\" WHERE pk = 'x' SET c = 1", message="Requested resource not found")


def test_write_key_conditions(ddb, table_ss):
    """A key given two values is refused on a write; given twice with one value, it is the key
    (floci's AWS captures)."""
    ddb.put_item(TableName=table_ss, Item=avs({"pk": "c", "sk": "1"}))
    for stmt in (f"UPDATE \"{table_ss}\" SET a = 1 WHERE pk = 'c' AND sk = '1' AND pk = 'other'",
                 f"DELETE FROM \"{table_ss}\" WHERE pk = 'c' AND sk = '1' AND pk = 'other'"):
        expect_error("ValidationException", ddb.execute_statement, Statement=stmt,
                     message="Multiple conditions on same key pk. Only single item Update/Insert/Delete are supported")
    run(ddb, f"UPDATE \"{table_ss}\" SET a = 2 WHERE pk = 'c' AND sk = '1' AND pk = 'c'")
    run(ddb, f"UPDATE \"{table_ss}\" SET b = 3 WHERE (pk = 'c' AND sk = '1') AND a = 2")
    assert _get(ddb, table_ss, {"pk": "c", "sk": "1"}) == {"pk": "c", "sk": "1", "a": 2, "b": 3}


def test_write_responses(ddb, table_s):
    """What a PartiQL write answers (the suite's writeResponses file)."""
    ddb.put_item(TableName=table_s, Item=avs({"pk": "w", "a": 1}))
    assert ddb.execute_statement(Statement=f"INSERT INTO \"{table_s}\" VALUE {{'pk': 'w2'}}")["Items"] == []
    assert ddb.execute_statement(Statement=f"UPDATE \"{table_s}\" SET a = 2 WHERE pk = 'w'")["Items"] == []
    assert ddb.execute_statement(Statement=f"DELETE FROM \"{table_s}\" WHERE pk = 'w2'")["Items"] == []
    resp = ddb.execute_transaction(TransactStatements=[{"Statement": f"UPDATE \"{table_s}\" SET a = 3 WHERE pk = 'w'"}],
                                   ReturnConsumedCapacity="TOTAL")
    assert resp["Responses"] == [] and [c["TableName"] for c in resp["ConsumedCapacity"]] == [table_s]


# --------------------------------------------------------------------------- OR branches over the key


@pytest.fixture
def ranges(ddb, table_ss):
    for sk in ("1", "2", "3"):
        ddb.put_item(TableName=table_ss, Item=avs({"pk": "r", "sk": sk, "flag": f"f{sk}"}))
    return table_ss


@pytest.mark.parametrize("where", [
    "pk = 'r' AND x = '1' OR pk = 'r' AND sk = '2'",
    "pk = 'r' AND x <> '1' OR pk = 'r' AND sk = '2'",
    "pk IN ['r', 'r']",
    "pk = 'r' OR pk = 'r'",
    "pk = 'r' AND (sk > '0' OR sk < '5')",
    "pk = 'r' AND (sk = '1' OR flag = 'f2')",
    "(pk = 'r' AND flag = 'f1') OR (pk = 'r' AND flag = 'f2')",
])
def test_overlapping_branches_refused(ddb, ranges, where):
    expect_error("ValidationException", ddb.execute_statement, Statement=f'SELECT * FROM "{ranges}" WHERE {where}',
                 message=OVERLAP)


@pytest.mark.parametrize("where,sks", [
    # a negated sort key condition turns the check off (the suite's whereOverlap)
    ("pk = 'r' AND NOT sk = '1' OR pk = 'r' AND sk = '2'", ["2", "3"]),
    ("pk = 'r' AND sk <> '1' OR pk = 'r' AND sk = '2'", ["2", "3"]),
    ("pk = 'r' AND NOT begins_with(sk, 'x') OR pk = 'r' AND sk = '2'", ["1", "2", "3"]),
    ("pk = 'r' AND NOT sk IN ['1', '3'] OR pk = 'r' AND sk = '2'", ["2"]),
    ("pk = 'r' AND NOT (sk = '1') OR pk = 'r' AND sk = '2'", ["2", "3"]),
    ("pk = 'r' OR pk = 'r' AND NOT sk = '1'", ["1", "2", "3"]),
    # branches that read different items (floci's captures)
    ("pk = 'r' AND (sk = '1' OR sk = '2')", ["1", "2"]),
    ("pk = 'r' AND sk IN ['1', '2']", ["1", "2"]),
    ("pk = 'r' AND (sk < '1' OR sk > '1' OR sk = '1')", ["1", "2", "3"]),
    ("pk = 'r' AND (flag = 'f1' OR flag = 'f3')", ["1", "3"]),
    ("pk = 'r' OR sk = '1'", ["1", "2", "3"]),
])
def test_branches_that_run(ddb, ranges, where, sks):
    got = run(ddb, f'SELECT sk FROM "{ranges}" WHERE {where}', ConsistentRead=True)
    assert sorted(i["sk"] for i in got) == sks


def test_overlap_in_a_transaction(ddb, ranges):
    expect_error("ValidationException", ddb.execute_transaction,
                 TransactStatements=[{"Statement": f"SELECT * FROM \"{ranges}\" WHERE pk IN ['r', 'r'] AND sk = '1'"}],
                 message=f"Validation failed in TransactStatements[0]: {OVERLAP}")
    # a one-value IN names the key
    resp = ddb.execute_transaction(TransactStatements=[
        {"Statement": f"SELECT sk FROM \"{ranges}\" WHERE pk IN ['r'] AND sk IN ['1']"}])
    assert pyitem(resp["Responses"][0]["Item"]) == {"sk": "1"}
