#!/usr/bin/env python3
"""Writes the compact input-shape model that serval_wire::shapes validates
JSON-protocol requests against, from botocore's service model.

usage: scripts/gen-shapes.py SERVICE OUT.json [OPAQUE_SHAPE | SHAPE.CONSTRAINT ...]

Only the shapes reachable from operation inputs are kept, with the
constraints AWS checks before an operation runs (required members, enum,
length, pattern, range). OPAQUE_SHAPE names shapes the service parses
itself (DynamoDB's AttributeValue); they are kept as type "any".
SHAPE.CONSTRAINT drops one constraint the service checks itself with its
own message (DynamoDB's AttributeName.max: "Attribute name is too large").
Regenerate when botocore's model of the service changes; the output is
committed so that building Serval needs no Python.

AWS does not follow the model's declaration order in its messages: it lists
an enum's values in an order of its own (a hash order) and checks a
structure's members in an order of its own. Where those orders were
recorded from AWS's answers they are in ENUM_ORDER and MEMBER_ORDER below;
an enum's order is only used while its set of values is the model's.
"""
import glob
import gzip
import json
import os
import sys

import botocore

# Recorded orders, per service. Sources: the paritysuite and nubo-db
# DynamoDB conformance suites (AWS answers captured in 2026) and dynalite's
# validation tables, which its tests check against AWS; the two agree
# wherever both recorded an enum.
ENUM_ORDER = {
    "dynamodb": {
        "Select": ["SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"],
        "ScalarAttributeType": ["B", "N", "S"],
        "ReturnValue": ["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"],
        "ConditionalOperator": ["OR", "AND"],
        "ComparisonOperator": ["IN", "NULL", "BETWEEN", "LT", "NOT_CONTAINS", "EQ", "GT",
                               "NOT_NULL", "NE", "LE", "BEGINS_WITH", "GE", "CONTAINS"],
        "ProjectionType": ["ALL", "INCLUDE", "KEYS_ONLY"],
    },
}
MEMBER_ORDER = {
    "dynamodb": {
        # returnConsumedCapacity; tableName; returnValues; key (paritysuite,
        # us-east-1 and eu-west-2, 2026-10-09), the rest as dynalite has it
        "UpdateItemInput": ["ReturnConsumedCapacity", "TableName", "ReturnItemCollectionMetrics",
                            "ReturnValues", "Key", "ConditionalOperator", "Expected",
                            "AttributeUpdates", "ConditionExpression", "UpdateExpression",
                            "ExpressionAttributeValues", "ExpressionAttributeNames"],
    },
}

service, out = sys.argv[1], sys.argv[2]
opaque = {a for a in sys.argv[3:] if "." not in a}
dropped = {tuple(a.split(".", 1)) for a in sys.argv[3:] if "." in a}
root = os.path.join(os.path.dirname(botocore.__file__), "data", service)
path = sorted(glob.glob(os.path.join(root, "*", "service-2.json*")))[-1]
opener = gzip.open if path.endswith(".gz") else open
with opener(path, "rt") as f:
    model = json.load(f)
shapes = model["shapes"]
kept = {}


def keep(name):
    if name in kept:
        return
    s = shapes[name]
    if name in opaque:
        kept[name] = {"type": "any"}
        return
    c = {"type": s["type"]}
    for k in ("min", "max", "pattern", "enum", "required"):
        if k in s and (name, k) not in dropped:
            c[k] = s[k]
    order = ENUM_ORDER.get(service, {}).get(name)
    if order and "enum" in c:
        if sorted(order) != sorted(c["enum"]):
            sys.exit(f"{name}: the recorded enum order {order} no longer matches {c['enum']}")
        c["enum"] = order
    members = MEMBER_ORDER.get(service, {}).get(name)
    if members:
        c["order"] = members
    kept[name] = c
    if s["type"] == "structure":
        c["members"] = {m: v["shape"] for m, v in s.get("members", {}).items()}
        for v in c["members"].values():
            keep(v)
    elif s["type"] == "list":
        c["member"] = s["member"]["shape"]
        keep(c["member"])
    elif s["type"] == "map":
        c["key"] = s["key"]["shape"]
        c["value"] = s["value"]["shape"]
        keep(c["key"])
        keep(c["value"])


ops = {}
for name, op in sorted(model["operations"].items()):
    if "input" in op:
        ops[name] = op["input"]["shape"]
        keep(ops[name])
with open(out, "w") as f:
    json.dump({"ops": ops, "shapes": dict(sorted(kept.items()))}, f, separators=(",", ":"), sort_keys=True)
    f.write("\n")
print(f"{out}: {len(ops)} operations, {len(kept)} shapes")
