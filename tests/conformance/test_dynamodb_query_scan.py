"""DynamoDB Query and Scan: key conditions on S/N/B sort keys, ordering, paging with Limit and
ExclusiveStartKey, the 1 MB page cut, filters and counts, Select and projections, local and
global secondary indexes, parallel scans, the legacy parameters (KeyConditions, QueryFilter,
ScanFilter, AttributesToGet), validation errors and boto3's paginators."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ddb_util import av, avs, expect_error, pyitem
from serval_harness import unique_name, wait_until

ONE_MB = 1024 * 1024


# --------------------------------------------------------------------------- helpers


def put_all(ddb, table, items):
    """BatchWriteItem the items (Python dicts), 25 at a time, resending anything unprocessed."""
    for i in range(0, len(items), 25):
        pending = {table: [{"PutRequest": {"Item": avs(it)}} for it in items[i:i + 25]]}
        for _ in range(100):
            resp = ddb.batch_write_item(RequestItems=pending)
            pending = resp.get("UnprocessedItems") or {}
            if not pending:
                break
        assert not pending, "items left unprocessed"


def pages_of(call, **kw):
    """Call a Query or Scan repeatedly, following LastEvaluatedKey; return the list of responses."""
    pages = []
    while True:
        resp = call(**kw)
        pages.append(resp)
        lek = resp.get("LastEvaluatedKey")
        if not lek:
            return pages
        assert len(pages) < 10000, "paging does not end"
        kw["ExclusiveStartKey"] = lek


def all_items(call, **kw):
    return [pyitem(i) for p in pages_of(call, **kw) for i in p.get("Items", [])]


def q(ddb, table, kce, values, names=None, **kw):
    """All items (Python dicts) a Query returns, following pagination."""
    kw = dict(kw, TableName=table, KeyConditionExpression=kce, ExpressionAttributeValues=avs(values))
    if names:
        kw["ExpressionAttributeNames"] = names
    return all_items(ddb.query, **kw)


def item_size(item: dict) -> int:
    """DynamoDB's size of an item of top-level strings, binaries and small integers (names + values)."""
    total = 0
    for k, v in item.items():
        total += len(k.encode())
        if isinstance(v, str):
            total += len(v.encode())
        elif isinstance(v, bytes):
            total += len(v)
        else:
            raise TypeError(v)
    return total


def key_of(item, *names):
    return {n: item[n] for n in names}


# --------------------------------------------------------------------------- data

S_KEYS = ["a", "aa", "ab", "abc", "b", "B", "Z", "0", "9", "~", "é", "ü", "a b", "a\x00", "\x7f", "zz"]
N_KEYS = [Decimal(x) for x in ["-1e20", "-100", "-10", "-1.5", "-1", "-0.001", "0", "0.001", "1", "1.5", "2",
                               "9", "10", "11", "100", "1e20", "123456789012345678901234567890123456"]]
B_KEYS = [b"\x00", b"\x00\x00", b"\x00\x01", b"\x01", b"\x01\x00", b"\x7f", b"\x80", b"\x80\x00", b"\xfe",
          b"\xff", b"\xff\x00", b"\xff\xff", b"a", b"ab"]


def s_order(v):
    return v.encode("utf-8")  # DynamoDB sorts strings by their UTF-8 bytes


def n_order(v):
    return Decimal(v)


def b_order(v):
    return bytes(v)


@pytest.fixture
def sorted_tables(ddb, make_table):
    """Three tables (sort key S, N and B), each with one partition "p" holding every key of
    S_KEYS / N_KEYS / B_KEYS, plus a neighbouring partition "other" that queries must not touch."""
    out = {}
    for typ, keys in (("S", S_KEYS), ("N", N_KEYS), ("B", B_KEYS)):
        t = make_table(range_key=("sk", typ))
        put_all(ddb, t, [{"pk": "p", "sk": k, "v": i} for i, k in enumerate(keys)]
                + [{"pk": "other", "sk": k} for k in keys[:3]])
        out[typ] = t
    return out


ORDER = {"S": (S_KEYS, s_order), "N": (N_KEYS, n_order), "B": (B_KEYS, b_order)}


def _pick(typ):
    keys, order = ORDER[typ]
    ks = sorted(keys, key=order)
    return ks, order, ks[len(ks) // 3], ks[2 * len(ks) // 3]


OPERATORS = ["=", "<", "<=", ">", ">=", "between"]


@pytest.mark.parametrize("typ", ["S", "N", "B"])
def test_query_whole_partition_is_sorted(ddb, sorted_tables, typ):
    keys, order, _, _ = _pick(typ)
    got = q(ddb, sorted_tables[typ], "pk = :p", {":p": "p"})
    assert [g["sk"] for g in got] == keys
    assert all(g["pk"] == "p" for g in got)
    # descending with ScanIndexForward=False
    got = q(ddb, sorted_tables[typ], "pk = :p", {":p": "p"}, ScanIndexForward=False)
    assert [g["sk"] for g in got] == keys[::-1]


@pytest.mark.parametrize("typ", ["S", "N", "B"])
@pytest.mark.parametrize("op", OPERATORS)
def test_key_condition_operators(ddb, sorted_tables, typ, op):
    keys, order, lo, hi = _pick(typ)
    if op == "between":
        expr, values = "pk = :p AND sk BETWEEN :lo AND :hi", {":p": "p", ":lo": lo, ":hi": hi}
        want = [k for k in keys if order(lo) <= order(k) <= order(hi)]
    else:
        expr, values = f"pk = :p AND sk {op} :v", {":p": "p", ":v": lo}
        cmp = {"=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
               ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op]
        want = [k for k in keys if cmp(order(k), order(lo))]
    for forward in (True, False):
        got = q(ddb, sorted_tables[typ], expr, values, ScanIndexForward=forward)
        assert [g["sk"] for g in got] == (want if forward else want[::-1]), (expr, values)


@pytest.mark.parametrize("typ,prefix", [("S", "a"), ("S", "ab"), ("S", "é"), ("S", "nothing"),
                                        ("B", b"\x00"), ("B", b"\xff"), ("B", b"\x80")])
def test_key_condition_begins_with(ddb, sorted_tables, typ, prefix):
    keys, order, _, _ = _pick(typ)
    want = [k for k in keys if order(k).startswith(order(prefix))]
    got = q(ddb, sorted_tables[typ], "pk = :p AND begins_with(sk, :pre)", {":p": "p", ":pre": prefix})
    assert [g["sk"] for g in got] == want


def test_key_condition_forms(ddb, sorted_tables):
    t = sorted_tables["N"]
    keys, _, _, _ = _pick("N")
    want = [k for k in keys if k > 0]
    # operands either way round, parentheses, placeholders, any keyword case, condition order
    assert [g["sk"] for g in q(ddb, t, ":z < sk AND pk = :p", {":p": "p", ":z": 0})] == want
    assert [g["sk"] for g in q(ddb, t, "(pk = :p) and (sk > :z)", {":p": "p", ":z": 0})] == want
    assert [g["sk"] for g in q(ddb, t, "#h = :p AND #r > :z", {":p": "p", ":z": 0},
                               {"#h": "pk", "#r": "sk"})] == want
    assert [g["sk"] for g in q(ddb, t, "pk = :p AND sk between :a and :b", {":p": "p", ":a": 1, ":b": 10})] == \
        [k for k in keys if 1 <= k <= 10]
    # a key value that is not in the table: no items
    assert q(ddb, t, "pk = :p", {":p": "nobody"}) == []
    # numbers compare by value whatever their spelling
    assert [g["sk"] for g in q(ddb, t, "pk = :p AND sk = :v", {":p": "p", ":v": Decimal("1.0E1")})] == [10]


def test_query_hash_only_table(ddb, table_s):
    put_all(ddb, table_s, [{"pk": f"k{i}", "v": i} for i in range(5)])
    assert q(ddb, table_s, "pk = :p", {":p": "k3"}) == [{"pk": "k3", "v": 3}]
    assert q(ddb, table_s, "pk = :p", {":p": "k9"}) == []


# --------------------------------------------------------------------------- paging


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 7, 17, 100])
def test_query_limit_paging_round_trip(ddb, sorted_tables, limit):
    t = sorted_tables["S"]
    keys, _, _, _ = _pick("S")
    for forward in (True, False):
        pages = pages_of(ddb.query, TableName=t, KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues=avs({":p": "p"}), Limit=limit, ScanIndexForward=forward)
        got = [pyitem(i)["sk"] for p in pages for i in p["Items"]]
        assert got == (keys if forward else keys[::-1])
        for page in pages:
            assert page["Count"] == len(page["Items"]) <= limit
            assert page["ScannedCount"] == page["Count"]
            if "LastEvaluatedKey" in page:
                # the key of the last item returned: the table's key attributes, nothing else
                assert page["Count"] == limit
                assert page["LastEvaluatedKey"] == key_of(page["Items"][-1], "pk", "sk")
        assert "LastEvaluatedKey" not in pages[-1]
        # a page that fills up to Limit carries a LastEvaluatedKey even when nothing is left
        if len(keys) % limit == 0:
            assert pages[-1]["Count"] == 0 and len(pages) == len(keys) // limit + 1
        else:
            assert len(pages) == -(-len(keys) // limit)


def test_exclusive_start_key_need_not_exist(ddb, sorted_tables):
    t = sorted_tables["N"]
    keys, _, _, _ = _pick("N")
    resp = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "p"}),
                     ExclusiveStartKey=avs({"pk": "p", "sk": Decimal("1.25")}))
    assert [pyitem(i)["sk"] for i in resp["Items"]] == [k for k in keys if k > Decimal("1.25")]
    resp = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "p"}),
                     ExclusiveStartKey=avs({"pk": "p", "sk": Decimal("1.25")}), ScanIndexForward=False)
    assert [pyitem(i)["sk"] for i in resp["Items"]] == [k for k in keys if k < Decimal("1.25")][::-1]


@pytest.mark.parametrize("limit", [1, 4, 13, 1000])
def test_scan_limit_paging_round_trip(ddb, make_table, limit):
    t = make_table(range_key=("sk", "N"))
    items = [{"pk": f"h{i % 7}", "sk": i, "v": "x" * (i % 5)} for i in range(60)]
    put_all(ddb, t, items)
    pages = pages_of(ddb.scan, TableName=t, Limit=limit)
    got = [pyitem(i) for p in pages for i in p["Items"]]
    assert sorted(got, key=lambda x: x["sk"]) == items
    assert len(got) == len(items)  # each item exactly once
    for page in pages[:-1]:
        assert page["Count"] == limit
        assert set(page["LastEvaluatedKey"]) == {"pk", "sk"}
        assert page["LastEvaluatedKey"] == key_of(page["Items"][-1], "pk", "sk")
    # the items of one partition come together, in sort-key order
    seen = [(g["pk"], g["sk"]) for g in got]
    for h in {x["pk"] for x in items}:
        part = [s for p, s in seen if p == h]
        assert part == sorted(part)
        first = seen.index((h, part[0]))
        assert seen[first:first + len(part)] == [(h, s) for s in part]


def test_scan_order_is_stable(ddb, make_table):
    t = make_table()
    put_all(ddb, t, [{"pk": f"k{i}"} for i in range(30)])
    once = all_items(ddb.scan, TableName=t)
    assert all_items(ddb.scan, TableName=t, Limit=4) == once
    assert all_items(ddb.scan, TableName=t) == once


def _big_items(n, pk="big", size=10_000):
    return [{"pk": pk, "sk": f"{i:04d}", "v": "x" * size} for i in range(n)]


@pytest.fixture
def big_table(ddb, make_table):
    """~1.5 MB in one partition: 150 items of about 10 KB."""
    t = make_table(range_key=("sk", "S"))
    items = _big_items(150)
    put_all(ddb, t, items)
    return t, items


def _assert_one_mb_page(items_on_page, all_items_by_key, item_bytes):
    size = sum(item_size(all_items_by_key[(i["pk"], i["sk"])]) for i in items_on_page)
    # the page stops once about 1 MB has been read (give or take the item that crossed the line)
    assert ONE_MB - item_bytes <= size <= ONE_MB + item_bytes, size


def test_one_mb_page_cut_query(ddb, big_table):
    t, items = big_table
    by_key = {(i["pk"], i["sk"]): i for i in items}
    isize = item_size(items[0])
    first = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "big"}))
    assert "LastEvaluatedKey" in first
    got = [pyitem(i) for i in first["Items"]]
    assert 0 < len(got) < len(items)
    _assert_one_mb_page(got, by_key, isize)
    assert first["LastEvaluatedKey"] == key_of(first["Items"][-1], "pk", "sk")
    pages = pages_of(ddb.query, TableName=t, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues=avs({":p": "big"}))
    assert len(pages) == 2
    assert [pyitem(i) for p in pages for i in p["Items"]] == items

    # Select=COUNT reads the same data, so it is cut at the same place
    c = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "big"}),
                  Select="COUNT")
    assert "Items" not in c
    assert c["Count"] == len(got) and c["ScannedCount"] == len(got)
    assert c["LastEvaluatedKey"] == first["LastEvaluatedKey"]

    # a projection does not change how much is read
    p = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "big"}),
                  ProjectionExpression="sk")
    assert p["Count"] == len(got)
    assert p["LastEvaluatedKey"] == first["LastEvaluatedKey"]

    # nor does a filter that matches nothing: an empty page that still says where to go on
    f = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "big", ":n": "none"}),
                  FilterExpression="v = :n")
    assert f["Count"] == 0 and f["Items"] == []
    assert f["ScannedCount"] == len(got)
    assert f["LastEvaluatedKey"] == first["LastEvaluatedKey"]

    # a Limit under the cut wins
    lim = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "big"}),
                    Limit=10)
    assert lim["Count"] == 10


def test_one_mb_page_cut_scan(ddb, big_table):
    t, items = big_table
    by_key = {(i["pk"], i["sk"]): i for i in items}
    first = ddb.scan(TableName=t)
    assert "LastEvaluatedKey" in first
    got = [pyitem(i) for i in first["Items"]]
    assert 0 < len(got) < len(items)
    _assert_one_mb_page(got, by_key, item_size(items[0]))
    pages = pages_of(ddb.scan, TableName=t)
    assert len(pages) == 2
    assert sorted(pyitem(i)["sk"] for p in pages for i in p["Items"]) == [i["sk"] for i in items]
    c = ddb.scan(TableName=t, Select="COUNT")
    assert c["Count"] == len(got) and "LastEvaluatedKey" in c


# --------------------------------------------------------------------------- filters and counts


@pytest.fixture
def filtered(ddb, table_sn):
    items = [{"pk": "f", "sk": i, "x": i % 3, "tag": "even" if i % 2 == 0 else "odd"} for i in range(30)]
    items[5]["extra"] = "yes"
    put_all(ddb, table_sn, items + [{"pk": "g", "sk": 1, "x": 0}])
    return table_sn, items


def test_query_filter_expression_counts(ddb, filtered):
    t, items = filtered
    resp = ddb.query(TableName=t, KeyConditionExpression="pk = :p AND sk < :hi", FilterExpression="x = :z",
                     ExpressionAttributeValues=avs({":p": "f", ":hi": 20, ":z": 0}))
    assert resp["ScannedCount"] == 20
    assert resp["Count"] == len([i for i in items if i["sk"] < 20 and i["x"] == 0])
    assert [pyitem(i) for i in resp["Items"]] == [i for i in items if i["sk"] < 20 and i["x"] == 0]
    # Limit counts items read, before the filter
    resp = ddb.query(TableName=t, KeyConditionExpression="pk = :p", FilterExpression="x = :z",
                     ExpressionAttributeValues=avs({":p": "f", ":z": 0}), Limit=4)
    assert resp["ScannedCount"] == 4
    assert resp["Count"] == 2  # sk 0 and 3
    assert pyitem(resp["LastEvaluatedKey"]) == {"pk": "f", "sk": 3}
    # paging through a filter still finds everything exactly once
    got = all_items(ddb.query, TableName=t, KeyConditionExpression="pk = :p", FilterExpression="x = :z",
                    ExpressionAttributeValues=avs({":p": "f", ":z": 0}), Limit=4)
    assert got == [i for i in items if i["x"] == 0]
    # a filter on an attribute few items have, and with functions and logic
    assert q(ddb, t, "pk = :p", {":p": "f"}, FilterExpression="attribute_exists(extra)") == [items[5]]
    got = q(ddb, t, "pk = :p", {":p": "f", ":odd": "odd", ":one": 1}, FilterExpression="tag = :odd AND NOT x = :one")
    assert got == [i for i in items if i["tag"] == "odd" and i["x"] != 1]


def test_query_filter_with_select_count(ddb, filtered):
    t, items = filtered
    resp = ddb.query(TableName=t, KeyConditionExpression="pk = :p", FilterExpression="tag = :e",
                     ExpressionAttributeValues=avs({":p": "f", ":e": "even"}), Select="COUNT")
    assert "Items" not in resp
    assert resp["Count"] == 15 and resp["ScannedCount"] == 30


def test_scan_filter_expression(ddb, filtered):
    t, items = filtered
    # a Scan may filter on key attributes
    got = all_items(ddb.scan, TableName=t, FilterExpression="sk BETWEEN :a AND :b AND pk = :f",
                    ExpressionAttributeValues=avs({":a": 3, ":b": 6, ":f": "f"}))
    assert sorted(got, key=lambda i: i["sk"]) == items[3:7]
    resp = ddb.scan(TableName=t, FilterExpression="x = :z", ExpressionAttributeValues=avs({":z": 0}))
    assert resp["ScannedCount"] == 31
    assert resp["Count"] == 11
    resp = ddb.scan(TableName=t, FilterExpression="x = :z", ExpressionAttributeValues=avs({":z": 0}), Select="COUNT")
    assert resp["Count"] == 11 and "Items" not in resp


# --------------------------------------------------------------------------- Select and projections


@pytest.fixture
def rich(ddb, table_ss):
    items = [{"pk": "r", "sk": f"s{i}", "a": i, "b": f"b{i}", "m": {"x": i, "y": [i, i + 1]}, "name": "n"}
             for i in range(4)]
    put_all(ddb, table_ss, items)
    return table_ss, items


def test_select_values(ddb, rich):
    t, items = rich
    base = dict(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "r"}))
    resp = ddb.query(**base, Select="ALL_ATTRIBUTES")
    assert [pyitem(i) for i in resp["Items"]] == items
    resp = ddb.query(**base, Select="COUNT")
    assert "Items" not in resp and resp["Count"] == 4 and resp["ScannedCount"] == 4
    resp = ddb.query(**base, Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="a, m.y[1]")
    assert [pyitem(i) for i in resp["Items"]] == [{"a": i, "m": {"y": [i + 1]}} for i in range(4)]
    resp = ddb.scan(TableName=t, Select="COUNT")
    assert resp["Count"] == 4 and "Items" not in resp
    resp = ddb.scan(TableName=t, Select="SPECIFIC_ATTRIBUTES", AttributesToGet=["b"])
    assert sorted(pyitem(i)["b"] for i in resp["Items"]) == ["b0", "b1", "b2", "b3"]


def test_select_errors(ddb, ddb_raw, rich):
    t, _ = rich
    base = dict(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "r"}))
    # ALL_PROJECTED_ATTRIBUTES needs an index
    expect_error("ValidationException", ddb.query, **base, Select="ALL_PROJECTED_ATTRIBUTES",
                 contains="ALL_PROJECTED_ATTRIBUTES")
    expect_error("ValidationException", ddb.scan, TableName=t, Select="ALL_PROJECTED_ATTRIBUTES",
                 contains="ALL_PROJECTED_ATTRIBUTES")
    # SPECIFIC_ATTRIBUTES needs something to select
    expect_error("ValidationException", ddb.query, **base, Select="SPECIFIC_ATTRIBUTES")
    expect_error("ValidationException", ddb.scan, TableName=t, Select="SPECIFIC_ATTRIBUTES")
    # a projection contradicts any other Select
    for sel in ("ALL_ATTRIBUTES", "COUNT"):
        expect_error("ValidationException", ddb.query, **base, Select=sel, ProjectionExpression="a",
                     contains="ProjectionExpression")
        expect_error("ValidationException", ddb.scan, TableName=t, Select=sel, AttributesToGet=["a"],
                     contains="AttributesToGet")
    expect_error("ValidationException", ddb_raw.query, **base, Select="EVERYTHING")


def test_projection_expression_query_scan(ddb, rich):
    t, items = rich
    got = q(ddb, t, "pk = :p", {":p": "r"}, ProjectionExpression="#n, m.x, nothere", names={"#n": "name"})
    assert got == [{"name": "n", "m": {"x": i}} for i in range(4)]
    # key attributes are returned only when asked for
    got = q(ddb, t, "pk = :p", {":p": "r"}, ProjectionExpression="sk")
    assert got == [{"sk": f"s{i}"} for i in range(4)]
    # items with none of the projected attributes are still counted, as empty maps
    resp = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "r"}),
                     ProjectionExpression="nothere")
    assert resp["Items"] == [{}] * 4 and resp["Count"] == 4
    got = all_items(ddb.scan, TableName=t, ProjectionExpression="a, b", FilterExpression="a >= :two",
                    ExpressionAttributeValues=avs({":two": 2}))
    assert sorted(got, key=lambda i: i["a"]) == [{"a": 2, "b": "b2"}, {"a": 3, "b": "b3"}]
    # the filter may use attributes that the projection drops
    got = q(ddb, t, "pk = :p", {":p": "r", ":b": "b1"}, ProjectionExpression="a", FilterExpression="b = :b")
    assert got == [{"a": 1}]


# --------------------------------------------------------------------------- local secondary indexes


@pytest.fixture
def lsi_table(ddb, make_table):
    lsk = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lsk", "KeyType": "RANGE"}]
    t = make_table(range_key=("sk", "S"), extra_defs=[("lsk", "N")], LocalSecondaryIndexes=[
        {"IndexName": "lsi_keys", "KeySchema": lsk, "Projection": {"ProjectionType": "KEYS_ONLY"}},
        {"IndexName": "lsi_all", "KeySchema": lsk, "Projection": {"ProjectionType": "ALL"}},
        {"IndexName": "lsi_inc", "KeySchema": lsk,
         "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]}},
    ])
    # lsk runs the other way round from sk; item s3 has no lsk (so is in no index)
    items = [{"pk": "p", "sk": f"s{i}", "lsk": 10 - i, "a": f"a{i}", "b": f"b{i}"} for i in range(6)]
    del items[3]["lsk"]
    put_all(ddb, t, items + [{"pk": "q", "sk": "s0", "lsk": 1, "a": "other"}])
    return t, items


def test_lsi_query_order_and_sparseness(ddb, lsi_table):
    t, items = lsi_table
    indexed = sorted([i for i in items if "lsk" in i], key=lambda i: i["lsk"])
    got = q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_all")
    assert got == indexed
    got = q(ddb, t, "pk = :p AND lsk > :v", {":p": "p", ":v": 6}, IndexName="lsi_all", ScanIndexForward=False)
    assert got == [i for i in indexed if i["lsk"] > 6][::-1]
    # LSIs allow strongly consistent reads
    assert q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_all", ConsistentRead=True) == indexed


def test_lsi_projections(ddb, lsi_table):
    t, items = lsi_table
    indexed = sorted([i for i in items if "lsk" in i], key=lambda i: i["lsk"])
    keys_only = [{k: i[k] for k in ("pk", "sk", "lsk")} for i in indexed]
    assert q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_keys") == keys_only
    assert q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_keys", Select="ALL_PROJECTED_ATTRIBUTES") == keys_only
    assert q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_inc") == [
        {k: i[k] for k in ("pk", "sk", "lsk", "a")} for i in indexed]
    # an LSI can fetch what it does not project from the table
    assert q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_keys", Select="ALL_ATTRIBUTES") == indexed
    assert q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_all", Select="COUNT") == []


def test_lsi_specific_non_projected_attributes(ddb, lsi_table):
    t, items = lsi_table
    indexed = sorted([i for i in items if "lsk" in i], key=lambda i: i["lsk"])
    assert q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_keys", ProjectionExpression="b") == [
        {"b": i["b"]} for i in indexed]
    assert q(ddb, t, "pk = :p", {":p": "p"}, IndexName="lsi_inc", ProjectionExpression="a, b") == [
        {"a": i["a"], "b": i["b"]} for i in indexed]


def test_lsi_paging(ddb, lsi_table):
    t, items = lsi_table
    indexed = sorted([i for i in items if "lsk" in i], key=lambda i: i["lsk"])
    pages = pages_of(ddb.query, TableName=t, IndexName="lsi_keys", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues=avs({":p": "p"}), Limit=2)
    assert [pyitem(i)["sk"] for p in pages for i in p["Items"]] == [i["sk"] for i in indexed]
    lek = pages[0]["LastEvaluatedKey"]
    # an index's LastEvaluatedKey holds the table's key and the index's key
    assert set(lek) == {"pk", "sk", "lsk"}
    assert lek == pages[0]["Items"][-1]
    # scan of an LSI
    got = all_items(ddb.scan, TableName=t, IndexName="lsi_all", Limit=3)
    assert sorted(got, key=lambda i: (i["pk"], i["sk"])) == sorted(
        [i for i in items if "lsk" in i] + [{"pk": "q", "sk": "s0", "lsk": 1, "a": "other"}],
        key=lambda i: (i["pk"], i["sk"]))


# --------------------------------------------------------------------------- global secondary indexes


@pytest.fixture
def gsi_table(ddb, make_table):
    def gsi(name, proj, range_key=True):
        ks = [{"AttributeName": "g", "KeyType": "HASH"}]
        if range_key:
            ks.append({"AttributeName": "gs", "KeyType": "RANGE"})
        return {"IndexName": name, "KeySchema": ks, "Projection": proj}

    t = make_table(range_key=("sk", "N"), extra_defs=[("g", "S"), ("gs", "N")], GlobalSecondaryIndexes=[
        gsi("g_keys", {"ProjectionType": "KEYS_ONLY"}),
        gsi("g_inc", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]}),
        gsi("g_all", {"ProjectionType": "ALL"}),
        gsi("g_hash", {"ProjectionType": "ALL"}, range_key=False),
    ])
    items = []
    for i in range(12):
        it = {"pk": f"p{i % 4}", "sk": i, "a": f"a{i}", "b": f"b{i}"}
        if i % 3 != 2:  # sparse: every third item has no g and is in no index
            it["g"] = "G1" if i < 6 else "G2"
        if i != 4:
            it["gs"] = 100 - i
        items.append(it)
    put_all(ddb, t, items)
    return t, items


def _in_gsi(items, g, with_range=True):
    return [i for i in items if i.get("g") == g and (not with_range or "gs" in i)]


def test_gsi_query_projections(ddb, gsi_table):
    t, items = gsi_table
    want = sorted(_in_gsi(items, "G1"), key=lambda i: i["gs"])
    assert want
    assert q(ddb, t, "g = :g", {":g": "G1"}, IndexName="g_all") == want
    assert q(ddb, t, "g = :g", {":g": "G1"}, IndexName="g_keys") == [
        {k: i[k] for k in ("pk", "sk", "g", "gs")} for i in want]
    assert q(ddb, t, "g = :g", {":g": "G1"}, IndexName="g_inc") == [
        {k: i[k] for k in ("pk", "sk", "g", "gs", "a")} for i in want]
    assert q(ddb, t, "g = :g", {":g": "G1"}, IndexName="g_inc", Select="ALL_PROJECTED_ATTRIBUTES") == [
        {k: i[k] for k in ("pk", "sk", "g", "gs", "a")} for i in want]
    assert q(ddb, t, "g = :g", {":g": "G1"}, IndexName="g_inc", ProjectionExpression="a, sk") == [
        {"a": i["a"], "sk": i["sk"]} for i in want]
    # range conditions on the index sort key, descending
    got = q(ddb, t, "g = :g AND gs BETWEEN :a AND :b", {":g": "G2", ":a": 90, ":b": 94}, IndexName="g_all",
            ScanIndexForward=False)
    assert got == sorted([i for i in _in_gsi(items, "G2") if 90 <= i["gs"] <= 94], key=lambda i: -i["gs"])


def test_gsi_sparse_and_hash_only(ddb, gsi_table):
    t, items = gsi_table
    # items without the index key attributes are not in the index
    scanned = all_items(ddb.scan, TableName=t, IndexName="g_all")
    assert sorted(scanned, key=lambda i: i["sk"]) == [i for i in items if "g" in i and "gs" in i]
    # a hash-only index holds items that lack gs, too
    got = q(ddb, t, "g = :g", {":g": "G1"}, IndexName="g_hash")
    assert sorted(got, key=lambda i: i["sk"]) == _in_gsi(items, "G1", with_range=False)
    assert any("gs" not in i for i in got)
    # the index follows updates: a changed key moves the item, a removed key drops it
    ddb.update_item(TableName=t, Key=avs({"pk": "p0", "sk": 0}), UpdateExpression="SET g = :g",
                    ExpressionAttributeValues=avs({":g": "G3"}))
    ddb.update_item(TableName=t, Key=avs({"pk": "p1", "sk": 1}), UpdateExpression="REMOVE g")
    assert [i["sk"] for i in q(ddb, t, "g = :g", {":g": "G3"}, IndexName="g_all")] == [0]
    assert 1 not in [i["sk"] for i in q(ddb, t, "g = :g", {":g": "G1"}, IndexName="g_all")]
    ddb.delete_item(TableName=t, Key=avs({"pk": "p0", "sk": 0}))
    assert q(ddb, t, "g = :g", {":g": "G3"}, IndexName="g_all") == []


def test_gsi_paging_with_duplicate_keys(ddb, make_table):
    t = make_table(extra_defs=[("g", "S")], GlobalSecondaryIndexes=[{
        "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    put_all(ddb, t, [{"pk": f"k{i:02d}", "g": "same"} for i in range(23)] + [{"pk": "x", "g": "else"}])
    pages = pages_of(ddb.query, TableName=t, IndexName="by_g", KeyConditionExpression="g = :g",
                     ExpressionAttributeValues=avs({":g": "same"}), Limit=5)
    got = [pyitem(i)["pk"] for p in pages for i in p["Items"]]
    assert sorted(got) == [f"k{i:02d}" for i in range(23)]
    assert len(got) == len(set(got))
    lek = pages[0]["LastEvaluatedKey"]
    assert set(lek) == {"pk", "g"}
    assert lek == pages[0]["Items"][-1]


def test_gsi_errors(ddb, gsi_table):
    t, _ = gsi_table
    kw = dict(TableName=t, KeyConditionExpression="g = :g", ExpressionAttributeValues=avs({":g": "G1"}))
    expect_error("ValidationException", ddb.query, IndexName="g_all", ConsistentRead=True, **kw,
                 contains="Consistent reads are not supported on global secondary indexes")
    expect_error("ValidationException", ddb.scan, TableName=t, IndexName="g_all", ConsistentRead=True,
                 contains="Consistent reads are not supported on global secondary indexes")
    # the index key, not the table key, is what a Query on the index conditions on
    expect_error("ValidationException", ddb.query, TableName=t, IndexName="g_all",
                 KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "p0"}),
                 contains="Query condition missed key schema element")


def test_gsi_select_beyond_projection(ddb, gsi_table):
    t, _ = gsi_table
    kw = dict(TableName=t, KeyConditionExpression="g = :g", ExpressionAttributeValues=avs({":g": "G1"}))
    # a GSI cannot fetch from the table: asking for what it does not project is an error
    expect_error("ValidationException", ddb.query, IndexName="g_keys", Select="ALL_ATTRIBUTES", **kw,
                 contains="ALL_ATTRIBUTES")
    expect_error("ValidationException", ddb.query, IndexName="g_inc", ProjectionExpression="b", **kw,
                 contains="project")
    # but ALL_ATTRIBUTES is fine on an index that projects everything
    assert ddb.query(IndexName="g_all", Select="ALL_ATTRIBUTES", **kw)["Count"] > 0


def test_gsi_key_type_mismatch_rejects_write(ddb, gsi_table):
    t, _ = gsi_table
    # an index key attribute of the wrong type fails the whole write (an absent one just leaves it out)
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "w", "sk": 1, "g": 5}),
                 contains="Type mismatch for Index Key")
    expect_error("ValidationException", ddb.update_item, TableName=t, Key=avs({"pk": "w", "sk": 2}),
                 UpdateExpression="SET gs = :v", ExpressionAttributeValues=avs({":v": "str"}),
                 contains="Type mismatch for Index Key")
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "w", "sk": 3, "g": ""}),
                 contains="empty")
    for sk in (1, 2, 3):
        assert "Item" not in ddb.get_item(TableName=t, Key=avs({"pk": "w", "sk": sk}), ConsistentRead=True)


def test_gsi_exclusive_start_key(ddb, gsi_table):
    t, items = gsi_table
    want = sorted(_in_gsi(items, "G2"), key=lambda i: i["gs"])
    first = ddb.query(TableName=t, IndexName="g_all", KeyConditionExpression="g = :g",
                      ExpressionAttributeValues=avs({":g": "G2"}), Limit=1)
    lek = first["LastEvaluatedKey"]
    assert set(lek) == {"pk", "sk", "g", "gs"}
    rest = all_items(ddb.query, TableName=t, IndexName="g_all", KeyConditionExpression="g = :g",
                     ExpressionAttributeValues=avs({":g": "G2"}), ExclusiveStartKey=lek)
    assert [pyitem(first["Items"][0])] + rest == want
    # a starting key from another index partition does not belong to this query
    other = dict(lek, g=av("G1"))
    expect_error("ValidationException", ddb.query, TableName=t, IndexName="g_all", KeyConditionExpression="g = :g",
                 ExpressionAttributeValues=avs({":g": "G2"}), ExclusiveStartKey=other,
                 contains="The provided starting key is invalid")


# --------------------------------------------------------------------------- parallel scan


@pytest.mark.parametrize("total", [1, 2, 3, 7, 64])
def test_parallel_scan_covers_everything_once(ddb, make_table, total):
    t = make_table(range_key=("sk", "N"))
    items = [{"pk": f"h{i}", "sk": j} for i in range(40) for j in range(2)]
    put_all(ddb, t, items)
    seen = []
    for seg in range(total):
        part = all_items(ddb.scan, TableName=t, Segment=seg, TotalSegments=total, Limit=7)
        # a partition is never split across segments
        for other in seen:
            assert not ({i["pk"] for i in part} & {i["pk"] for i in other})
        seen.append(part)
    got = [i for part in seen for i in part]
    assert len(got) == len(items)
    assert sorted(got, key=lambda i: (i["pk"], i["sk"])) == sorted(items, key=lambda i: (i["pk"], i["sk"]))
    # a repeated segment scan gives the same items
    assert all_items(ddb.scan, TableName=t, Segment=0, TotalSegments=total) == seen[0]


def test_parallel_scan_start_key_outside_segment(ddb, make_table):
    t = make_table()
    put_all(ddb, t, [{"pk": f"k{i}"} for i in range(40)])
    seg1 = ddb.scan(TableName=t, Segment=1, TotalSegments=2, Limit=1)
    assert seg1["Count"] == 1 and "LastEvaluatedKey" in seg1
    expect_error("ValidationException", ddb.scan, TableName=t, Segment=0, TotalSegments=2,
                 ExclusiveStartKey=seg1["LastEvaluatedKey"], contains="Exclusive")
    # within its own segment it resumes the scan
    rest = all_items(ddb.scan, TableName=t, Segment=1, TotalSegments=2, ExclusiveStartKey=seg1["LastEvaluatedKey"])
    assert [pyitem(seg1["Items"][0])] + rest == all_items(ddb.scan, TableName=t, Segment=1, TotalSegments=2)


def test_binary_hash_key_paging(ddb, make_table):
    t = make_table(hash_key=("pk", "B"))
    keys = [bytes([i, 255 - i]) for i in range(0, 256, 16)]
    put_all(ddb, t, [{"pk": k} for k in keys])
    pages = pages_of(ddb.scan, TableName=t, Limit=3)
    got = [pyitem(i)["pk"] for p in pages for i in p["Items"]]
    assert sorted(got) == sorted(keys)
    assert all(isinstance(p["LastEvaluatedKey"]["pk"]["B"], bytes) for p in pages[:-1])
    assert q(ddb, t, "pk = :k", {":k": keys[3]}) == [{"pk": keys[3]}]


def test_parallel_scan_errors(ddb_raw, table_s):
    expect_error("ValidationException", ddb_raw.scan, TableName=table_s, Segment=3, TotalSegments=3,
                 contains="The Segment parameter is zero-based and must be less than parameter TotalSegments")
    expect_error("ValidationException", ddb_raw.scan, TableName=table_s, Segment=7, TotalSegments=5,
                 contains="Segment")
    expect_error("ValidationException", ddb_raw.scan, TableName=table_s, Segment=0,
                 contains="TotalSegments")
    expect_error("ValidationException", ddb_raw.scan, TableName=table_s, TotalSegments=2,
                 contains="Segment")
    expect_error("ValidationException", ddb_raw.scan, TableName=table_s, Segment=0, TotalSegments=1000001,
                 contains="otalSegments")
    expect_error("ValidationException", ddb_raw.scan, TableName=table_s, Segment=0, TotalSegments=0)
    expect_error("ValidationException", ddb_raw.scan, TableName=table_s, Segment=-1, TotalSegments=2)


# --------------------------------------------------------------------------- legacy parameters


def test_legacy_key_conditions(ddb, sorted_tables):
    t = sorted_tables["N"]
    keys, _, _, _ = _pick("N")
    p = {"AttributeValueList": [av("p")], "ComparisonOperator": "EQ"}

    def kc(op, *vals, **kw):
        cond = {"pk": p}
        if op:
            cond["sk"] = {"AttributeValueList": [av(v) for v in vals], "ComparisonOperator": op}
        return [i["sk"] for i in all_items(ddb.query, TableName=t, KeyConditions=cond, **kw)]

    assert kc(None) == keys
    assert kc("EQ", 10) == [10]
    assert kc("LT", 0) == [k for k in keys if k < 0]
    assert kc("LE", 0) == [k for k in keys if k <= 0]
    assert kc("GT", 10) == [k for k in keys if k > 10]
    assert kc("GE", 10) == [k for k in keys if k >= 10]
    assert kc("BETWEEN", -1, 1) == [k for k in keys if -1 <= k <= 1]
    assert kc("GE", 10, ScanIndexForward=False, Limit=2) == [k for k in keys if k >= 10][::-1]
    s = sorted_tables["S"]
    got = all_items(ddb.query, TableName=s, KeyConditions={
        "pk": p, "sk": {"AttributeValueList": [av("a")], "ComparisonOperator": "BEGINS_WITH"}})
    assert [i["sk"] for i in got] == [k for k in _pick("S")[0] if k.startswith("a")]


def test_legacy_key_conditions_errors(ddb, ddb_raw, sorted_tables):
    t = sorted_tables["N"]
    p = {"AttributeValueList": [av("p")], "ComparisonOperator": "EQ"}
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={
        "pk": {"AttributeValueList": [av("p")], "ComparisonOperator": "GT"}}, contains="not supported")
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={
        "sk": {"AttributeValueList": [av(1)], "ComparisonOperator": "EQ"}}, contains="missed key schema element")
    for op in ("NE", "CONTAINS", "NOT_CONTAINS", "IN"):
        expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={
            "pk": p, "sk": {"AttributeValueList": [av(1)], "ComparisonOperator": op}})
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={
        "pk": p, "sk": {"AttributeValueList": [av(1)], "ComparisonOperator": "BEGINS_WITH"}})
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={
        "pk": p, "sk": {"AttributeValueList": [av(1)], "ComparisonOperator": "BETWEEN"}})
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={
        "pk": p, "sk": {"AttributeValueList": [av("1")], "ComparisonOperator": "EQ"}})
    # expression and legacy parameters do not mix
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={"pk": p},
                 KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "p"}),
                 contains="Can not use both expression and non-expression parameters in the same request")
    # (the one exception: KeyConditions may go with a FilterExpression)
    got = all_items(ddb.query, TableName=t, KeyConditions={"pk": p}, FilterExpression="v > :z",
                    ExpressionAttributeValues=avs({":z": 14}))
    assert [i["v"] for i in got] == [15, 16]
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditionExpression="pk = :p",
                 ExpressionAttributeValues=avs({":p": "p"}), AttributesToGet=["v"],
                 contains="Can not use both expression and non-expression parameters in the same request")
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditionExpression="pk = :p",
                 ExpressionAttributeValues=avs({":p": "p"}),
                 QueryFilter={"v": {"AttributeValueList": [av(1)], "ComparisonOperator": "EQ"}},
                 contains="Can not use both expression and non-expression parameters in the same request")


def test_legacy_query_filter_and_attributes_to_get(ddb, filtered):
    t, items = filtered
    kc = {"pk": {"AttributeValueList": [av("f")], "ComparisonOperator": "EQ"}}
    got = all_items(ddb.query, TableName=t, KeyConditions=kc, QueryFilter={
        "x": {"AttributeValueList": [av(0)], "ComparisonOperator": "EQ"},
        "tag": {"AttributeValueList": [av("even")], "ComparisonOperator": "EQ"}})
    assert got == [i for i in items if i["x"] == 0 and i["tag"] == "even"]
    got = all_items(ddb.query, TableName=t, KeyConditions=kc, ConditionalOperator="OR", QueryFilter={
        "x": {"AttributeValueList": [av(0)], "ComparisonOperator": "EQ"},
        "extra": {"ComparisonOperator": "NOT_NULL"}})
    assert got == [i for i in items if i["x"] == 0 or "extra" in i]
    got = all_items(ddb.query, TableName=t, KeyConditions=kc, AttributesToGet=["sk", "tag"], QueryFilter={
        "x": {"AttributeValueList": [av(1), av(2)], "ComparisonOperator": "IN"}})
    assert got == [{"sk": i["sk"], "tag": i["tag"]} for i in items if i["x"] in (1, 2)]
    resp = ddb.query(TableName=t, KeyConditions=kc, Limit=6,
                     QueryFilter={"tag": {"AttributeValueList": [av("odd")], "ComparisonOperator": "EQ"}})
    assert resp["ScannedCount"] == 6 and resp["Count"] == 3
    # QueryFilter may not name key attributes
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions=kc,
                 QueryFilter={"sk": {"AttributeValueList": [av(3)], "ComparisonOperator": "EQ"}}, contains="sk")


def test_legacy_scan_filter(ddb, filtered):
    t, items = filtered
    everything = items + [{"pk": "g", "sk": 1, "x": 0}]

    def sf(flt, **kw):
        got = all_items(ddb.scan, TableName=t, ScanFilter=flt, **kw)
        return sorted(got, key=lambda i: (i["pk"], i["sk"]))

    def want(pred):
        return sorted([i for i in everything if pred(i)], key=lambda i: (i["pk"], i["sk"]))

    assert sf({"x": {"AttributeValueList": [av(2)], "ComparisonOperator": "GE"}}) == want(lambda i: i["x"] >= 2)
    assert sf({"x": {"AttributeValueList": [av(0)], "ComparisonOperator": "NE"}}) == want(lambda i: i["x"] != 0)
    assert sf({"extra": {"ComparisonOperator": "NULL"}}) == want(lambda i: "extra" not in i)
    assert sf({"tag": {"AttributeValueList": [av("dd")], "ComparisonOperator": "CONTAINS"}}) == \
        want(lambda i: "dd" in i.get("tag", ""))
    assert sf({"tag": {"AttributeValueList": [av("dd")], "ComparisonOperator": "NOT_CONTAINS"},
               "pk": {"AttributeValueList": [av("f")], "ComparisonOperator": "EQ"}}) == \
        want(lambda i: i["pk"] == "f" and "dd" not in i["tag"])
    assert sf({"tag": {"AttributeValueList": [av("ev")], "ComparisonOperator": "BEGINS_WITH"}}) == \
        want(lambda i: i.get("tag", "").startswith("ev"))
    # the key attributes may be filtered on in a Scan
    assert sf({"pk": {"AttributeValueList": [av("g")], "ComparisonOperator": "EQ"}}) == want(lambda i: i["pk"] == "g")
    assert sf({"sk": {"AttributeValueList": [av(3), av(5)], "ComparisonOperator": "BETWEEN"},
               "pk": {"AttributeValueList": [av("f")], "ComparisonOperator": "EQ"}}) == \
        want(lambda i: i["pk"] == "f" and 3 <= i["sk"] <= 5)
    assert sf({"sk": {"AttributeValueList": [av(3)], "ComparisonOperator": "LT"},
               "extra": {"ComparisonOperator": "NOT_NULL"}}, ConditionalOperator="OR") == \
        want(lambda i: i["sk"] < 3 or "extra" in i)
    got = all_items(ddb.scan, TableName=t, AttributesToGet=["pk"],
                    ScanFilter={"x": {"AttributeValueList": [av(0)], "ComparisonOperator": "EQ"}})
    assert sorted(i["pk"] for i in got) == sorted(i["pk"] for i in everything if i["x"] == 0)
    expect_error("ValidationException", ddb.scan, TableName=t, ScanFilter={
        "x": {"AttributeValueList": [av(1), av(2)], "ComparisonOperator": "EQ"}})
    expect_error("ValidationException", ddb.scan, TableName=t, FilterExpression="x = :z",
                 ExpressionAttributeValues=avs({":z": 0}),
                 ScanFilter={"x": {"AttributeValueList": [av(0)], "ComparisonOperator": "EQ"}},
                 contains="Can not use both expression and non-expression parameters in the same request")


def test_legacy_filters_on_any_type_and_validation(ddb, ddb_raw, table_sn):
    t = table_sn
    items = [{"pk": "a", "sk": i, "l": [1, i], "b": i == 1, "m": {"x": i}} for i in range(3)]
    put_all(ddb, t, items)
    kc = {"pk": {"AttributeValueList": [av("a")], "ComparisonOperator": "EQ"}}
    # EQ and NE take an operand of any type, documents and booleans included
    got = all_items(ddb.query, TableName=t, KeyConditions=kc,
                    QueryFilter={"l": {"AttributeValueList": [av([1, 2])], "ComparisonOperator": "EQ"}})
    assert got == [items[2]]
    got = all_items(ddb.query, TableName=t, KeyConditions=kc,
                    QueryFilter={"b": {"AttributeValueList": [av(True)], "ComparisonOperator": "EQ"}})
    assert got == [items[1]]
    got = all_items(ddb.scan, TableName=t, ScanFilter={"m": {"AttributeValueList": [av({"x": 1})],
                                                              "ComparisonOperator": "NE"}})
    assert sorted(i["sk"] for i in got) == [0, 2]
    # operator names are an enum, case and all
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={
        "pk": {"AttributeValueList": [av("a")], "ComparisonOperator": "eq"}}, contains="comparisonOperator")
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions=kc, QueryFilter={
        "l": {"AttributeValueList": [av(1)], "ComparisonOperator": "DOG"}}, contains="comparisonOperator")
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions=kc, ConditionalOperator="DOG",
                 QueryFilter={"b": {"AttributeValueList": [av(True)], "ComparisonOperator": "EQ"}})
    # ConditionalOperator needs a filter to combine
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions=kc, ConditionalOperator="OR",
                 contains="ConditionalOperator")
    expect_error("ValidationException", ddb_raw.query, TableName=t, KeyConditions=kc, AttributesToGet=[])
    expect_error("ValidationException", ddb_raw.scan, TableName=t, AttributesToGet=[])


def test_gsi_key_size_limits(ddb, make_table):
    t = make_table(extra_defs=[("g", "S"), ("gs", "B")], GlobalSecondaryIndexes=[{
        "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                           {"AttributeName": "gs", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    ddb.put_item(TableName=t, Item=avs({"pk": "ok", "g": "g" * 2048, "gs": b"s" * 1024}))
    assert q(ddb, t, "g = :g", {":g": "g" * 2048}, IndexName="by_g") == [{"pk": "ok", "g": "g" * 2048, "gs": b"s" * 1024}]
    # an index key past the key limits fails the write; the item is stored nowhere
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "h", "g": "g" * 2049, "gs": b"s"}),
                 contains="2048")
    expect_error("ValidationException", ddb.put_item, TableName=t, Item=avs({"pk": "r", "g": "g", "gs": b"s" * 1025}),
                 contains="1024")
    for pk in ("h", "r"):
        assert "Item" not in ddb.get_item(TableName=t, Key=avs({"pk": pk}), ConsistentRead=True)


def test_gsi_backfill_leaves_out_unindexable_items(ddb, table_s):
    # items written before the index exists, with index keys of the wrong type, empty or too long
    put_all(ddb, table_s, [{"pk": "num", "g": 5}, {"pk": "empty", "g": ""}, {"pk": "long", "g": "z" * 3000},
                           {"pk": "ok", "g": "fine"}, {"pk": "none"}])
    ddb.update_table(TableName=table_s, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {
                         "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "KEYS_ONLY"}}}])

    def active():
        for g in ddb.describe_table(TableName=table_s)["Table"].get("GlobalSecondaryIndexes", []):
            if g["IndexName"] == "by_g" and g["IndexStatus"] == "ACTIVE" and not g.get("Backfilling"):
                return True
        return False

    wait_until(active, timeout=30, interval=0.1, message="index by_g ACTIVE")
    assert all_items(ddb.scan, TableName=table_s, IndexName="by_g") == [{"pk": "ok", "g": "fine"}]
    # and the table still holds them all
    assert len(all_items(ddb.scan, TableName=table_s)) == 5


# --------------------------------------------------------------------------- errors


def test_query_key_condition_errors(ddb, ddb_raw, table_sn):
    t = table_sn

    def bad(kce, values, contains=None, names=None, **kw):
        extra = {"ExpressionAttributeNames": names} if names else {}
        return expect_error("ValidationException", ddb.query, TableName=t, KeyConditionExpression=kce,
                            ExpressionAttributeValues=avs(values), contains=contains, **extra, **kw)

    bad("sk = :v", {":v": 1}, "Query condition missed key schema element: pk")
    bad("pk > :p", {":p": "a"}, "Query key condition not supported")
    bad("pk = :p OR sk = :v", {":p": "a", ":v": 1}, "Invalid operator used in KeyConditionExpression: OR")
    bad("pk = :p AND NOT sk = :v", {":p": "a", ":v": 1}, "KeyConditionExpression")
    bad("pk = :p AND sk <> :v", {":p": "a", ":v": 1}, "KeyConditionExpression")
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditionExpression="pk = :p AND sk > :a AND sk < :b",
                 ExpressionAttributeValues=avs({":p": "a", ":a": 1, ":b": 5}),
                 message="Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key")
    expect_error("ValidationException", ddb.query, TableName=t,
                 KeyConditionExpression="pk = :p AND sk > :a AND extra = :b",
                 ExpressionAttributeValues=avs({":p": "a", ":a": 1, ":b": 5}),
                 message="The number of query conditions (3) exceeds the number of key attributes defined in the "
                         "schema (2)")
    # KeyConditions keep the older sentence
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditions={
        "pk": {"AttributeValueList": [{"S": "a"}], "ComparisonOperator": "EQ"},
        "sk": {"AttributeValueList": [{"N": "1"}], "ComparisonOperator": "EQ"},
        "x": {"AttributeValueList": [{"N": "1"}], "ComparisonOperator": "EQ"}},
        message="Conditions can be of length 1 or 2 only")
    bad("pk = :p AND sk = :v AND sk > :v", {":p": "a", ":v": 1})
    bad("pk = :p AND pk = :p", {":p": "a"})
    bad("pk = :p AND other = :v", {":p": "a", ":v": 1})
    bad("pk = :p AND begins_with(sk, :v)", {":p": "a", ":v": 1}, "begins_with")
    bad("pk = :p AND attribute_exists(sk)", {":p": "a"})
    bad("pk = :p AND sk IN (:v)", {":p": "a", ":v": 1})
    bad("pk = :p", {":p": 5}, "Condition parameter type does not match schema type")
    bad("pk = :p AND sk > :v", {":p": "a", ":v": "1"}, "Condition parameter type does not match schema type")
    bad("pk = :p AND sk BETWEEN :b AND :a", {":p": "a", ":a": 1, ":b": 2}, "BETWEEN")
    bad("pk = :p AND sk = :v", {":p": "a", ":v": 1, ":w": 2}, "unused in expressions: keys: {:w}")
    bad("pk = :p AND sk = :undefined", {":p": "a"}, "An expression attribute value used in expression is not defined")
    bad("pk = :p AND", {":p": "a"}, "Syntax error")
    bad("pk = :p", {":p": "a"}, "ExpressionAttributeNames unused", names={"#x": "x"})
    expect_error("ValidationException", ddb_raw.query, TableName=t, KeyConditionExpression="",
                 ExpressionAttributeValues=avs({":p": "a"}))
    expect_error("ValidationException", ddb.query, TableName=t,
                 contains="Either the KeyConditions or KeyConditionExpression parameter must be specified")


def test_query_filter_on_key_attribute(ddb, table_sn):
    t = table_sn
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditionExpression="pk = :p",
                 FilterExpression="sk > :v", ExpressionAttributeValues=avs({":p": "a", ":v": 1}),
                 contains="Filter Expression can only contain non-primary key attributes: Primary key attribute: sk")
    expect_error("ValidationException", ddb.query, TableName=t, KeyConditionExpression="pk = :p",
                 FilterExpression="pk = :p AND x = :v", ExpressionAttributeValues=avs({":p": "a", ":v": 1}),
                 contains="Primary key attribute: pk")


def test_query_scan_misc_errors(ddb, ddb_raw, table_sn):
    t = table_sn
    kw = dict(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "a"}))
    # Query's Limit is worded by DynamoDB's newer validation framework (us-east-1, 2026); Scan's not yet
    expect_error("ValidationException", ddb_raw.query, Limit=0, **kw,
                 message="1 validation error detected: Value at 'Limit' failed to satisfy constraint: Member must "
                         "have value greater than or equal to 1")
    expect_error("ValidationException", ddb_raw.scan, TableName=t, Limit=0,
                 message="1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must "
                         "have value greater than or equal to 1")
    expect_error("ValidationException", ddb_raw.scan, TableName=t, Limit=-5)
    expect_error("ValidationException", ddb.query, IndexName="nope", **kw,
                 contains="The table does not have the specified index: nope")
    expect_error("ValidationException", ddb.scan, TableName=t, IndexName="nope",
                 contains="The table does not have the specified index: nope")
    missing = unique_name("t-missing")
    expect_error("ResourceNotFoundException", ddb.query, TableName=missing, KeyConditionExpression="pk = :p",
                 ExpressionAttributeValues=avs({":p": "a"}))
    expect_error("ResourceNotFoundException", ddb.scan, TableName=missing)
    expect_error("ResourceNotFoundException", ddb.scan, TableName=missing, IndexName="any")
    expect_error("ValidationException", ddb.scan, TableName=t, FilterExpression="x = ",
                 contains="Invalid FilterExpression")
    expect_error("ValidationException", ddb.scan, TableName=t, ProjectionExpression="a, a",
                 contains="Invalid ProjectionExpression")


def test_exclusive_start_key_errors(ddb, table_sn):
    t = table_sn
    kw = dict(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "a"}))
    expect_error("ValidationException", ddb.query, **kw, ExclusiveStartKey=avs({"pk": "a", "sk": "1"}),
                 contains="The provided key element does not match the schema")
    expect_error("ValidationException", ddb.query, **kw, ExclusiveStartKey=avs({"pk": "a"}))
    expect_error("ValidationException", ddb.query, **kw, ExclusiveStartKey=avs({"pk": "b", "sk": 1}),
                 contains="The provided starting key is invalid")
    expect_error("ValidationException", ddb.scan, TableName=t, ExclusiveStartKey=avs({"pk": 1, "sk": 1}),
                 contains="The provided key element does not match the schema")


# --------------------------------------------------------------------------- boto3 paginators, capacity


def test_boto3_paginators(ddb, make_table):
    t = make_table(range_key=("sk", "N"))
    items = [{"pk": "p" if i < 40 else "q", "sk": i} for i in range(55)]
    put_all(ddb, t, items)
    pages = list(ddb.get_paginator("query").paginate(
        TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "p"}),
        PaginationConfig={"PageSize": 7}))
    assert len(pages) == 6
    assert [pyitem(i) for p in pages for i in p["Items"]] == items[:40]
    full = ddb.get_paginator("scan").paginate(TableName=t, PaginationConfig={"PageSize": 10}).build_full_result()
    assert sorted((pyitem(i) for i in full["Items"]), key=lambda i: i["sk"]) == items
    assert full["Count"] == 55 and full["ScannedCount"] == 55
    # MaxItems with a resume token
    first = ddb.get_paginator("scan").paginate(TableName=t, PaginationConfig={"PageSize": 10, "MaxItems": 12}) \
        .build_full_result()
    assert len(first["Items"]) == 12 and first.get("NextToken")
    rest = ddb.get_paginator("scan").paginate(
        TableName=t, PaginationConfig={"PageSize": 10, "StartingToken": first["NextToken"]}).build_full_result()
    assert sorted(pyitem(i)["sk"] for i in first["Items"] + rest["Items"]) == list(range(55))


def test_query_scan_consumed_capacity(ddb, table_sn):
    put_all(ddb, table_sn, [{"pk": "c", "sk": i} for i in range(3)])
    resp = ddb.query(TableName=table_sn, KeyConditionExpression="pk = :p", ExpressionAttributeValues=avs({":p": "c"}),
                     ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["TableName"] == table_sn
    assert resp["ConsumedCapacity"]["CapacityUnits"] > 0
    resp = ddb.scan(TableName=table_sn, ReturnConsumedCapacity="TOTAL", ConsistentRead=True)
    assert resp["ConsumedCapacity"]["CapacityUnits"] > 0
    assert "ConsumedCapacity" not in ddb.scan(TableName=table_sn)
