"""Which AWS API calls the code makes, found by reading it, and which IAM actions on which resources they need.

Static on purpose: a call on a path no test reaches still needs its policy line. A call is an attribute call whose
name is an operation of a service the code builds a client or resource for (botocore's own model, reversed with
`xform_name`), plus what boto3 adds on top: resource methods (`table.batch_writer()`, `table.load()`), paginators,
waiters, the managed transfers and presigned URLs. A line that only looks like an AWS call can say `# iam: not-aws`.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

NOT_AWS = "# iam: not-aws"

# What a receiver's source text says about the service, to pick one when an operation name exists in several.
HINTS = {"dynamodb": ("table", "dynamo"), "s3": ("s3", "bucket"), "lambda": ("lambda",)}

# boto3's managed transfers call several operations each (multipart above the threshold).
S3_TRANSFERS = {
    "upload_file": ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
                    "AbortMultipartUpload"),
    "upload_fileobj": ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
                       "AbortMultipartUpload"),
    "download_file": ("HeadObject", "GetObject"),
    "download_fileobj": ("HeadObject", "GetObject"),
    "copy": ("HeadObject", "CopyObject", "CreateMultipartUpload", "UploadPartCopy", "CompleteMultipartUpload",
             "AbortMultipartUpload"),
}

# Operations whose IAM action is not `service:Operation`, or that need several (docs: "Actions, resources, and
# condition keys" of each service). The second item is the resource kind the action is checked on.
S3_ACTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "ListObjects": (("s3:ListBucket", "bucket"),),
    "ListObjectsV2": (("s3:ListBucket", "bucket"),),
    "HeadBucket": (("s3:ListBucket", "bucket"),),
    "GetBucketCors": (("s3:GetBucketCORS", "bucket"),),
    "ListObjectVersions": (("s3:ListBucketVersions", "bucket"),),
    "ListMultipartUploads": (("s3:ListBucketMultipartUploads", "bucket"),),
    "HeadObject": (("s3:GetObject", "object"),),
    "DeleteObjects": (("s3:DeleteObject", "object"),),
    "CreateMultipartUpload": (("s3:PutObject", "object"),),
    "UploadPart": (("s3:PutObject", "object"),),
    "CompleteMultipartUpload": (("s3:PutObject", "object"),),
    "UploadPartCopy": (("s3:PutObject", "object"), ("s3:GetObject", "object")),
    "CopyObject": (("s3:PutObject", "object"), ("s3:GetObject", "object")),
    "ListParts": (("s3:ListMultipartUploadParts", "object"),),
    "GetObjectAttributes": (("s3:GetObject", "object"), ("s3:GetObjectAttributes", "object")),
}
DYNAMODB_TRANSACT_KINDS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                           "ConditionCheck": "ConditionCheckItem"}


@dataclass(frozen=True)
class Call:
    where: str  # path:line
    service: str
    operation: str  # botocore's name, e.g. PutObject
    detail: str = ""  # e.g. the item kinds of a TransactWriteItems


@dataclass(frozen=True)
class Need:
    action: str  # IAM action, e.g. s3:PutObject
    resource: str  # table, index, bucket, object, function
    where: str


@dataclass(frozen=True)
class Unknown:
    where: str
    why: str


@lru_cache(maxsize=1)
def _botocore() -> Any:
    import botocore.session

    return botocore.session.get_session()


@cache
def operations(service: str) -> dict[str, str]:
    """snake_case method name -> operation name, for one service's client."""
    from botocore import xform_name

    model = _botocore().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@cache
def waiters(service: str) -> dict[str, str]:
    from botocore import xform_name

    try:
        model = _botocore().get_waiter_model(service)
    except Exception:  # a service without waiters
        return {}
    return {xform_name(name): model.get_waiter(name).operation for name in model.waiter_names}


@cache
def resource_methods(service: str) -> dict[str, dict[str, str]]:
    """resource type (lower case) -> {method -> operation}, from boto3's resource model."""
    import boto3
    from botocore import xform_name

    root = Path(boto3.__file__).parent / "data" / service
    files = sorted(root.glob("*/resources-1.json"))
    if not files:
        return {}
    model = json.loads(files[-1].read_text())
    found: dict[str, dict[str, str]] = {}
    for name, shape in model.get("resources", {}).items():
        methods: dict[str, str] = {}
        for action, spec in shape.get("actions", {}).items():
            methods[xform_name(action)] = spec["request"]["operation"]
        if "load" in shape:
            methods["load"] = methods["reload"] = shape["load"]["request"]["operation"]
        for waiter, spec in shape.get("waiters", {}).items():
            methods["wait_until_" + xform_name(waiter)] = waiters(service)[xform_name(spec["waiterName"])]
        found[name.lower()] = methods
    if service == "dynamodb":
        found.setdefault("table", {})["batch_writer"] = "BatchWriteItem"
    return found


def _services(trees: Iterable[ast.AST]) -> set[str]:
    """Services the code builds a client or resource for: `x.client("s3")`, `x.resource("dynamodb")`."""
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("client", "resource") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


def _literal_arg(node: ast.Call, keyword: str) -> str | None:
    for kw in node.keywords:
        if kw.arg == keyword:
            value = kw.value
            break
    else:
        if not node.args:
            return None
        value = node.args[0]
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None


def _pick(candidates: list[str], receiver: str) -> list[str]:
    if len(candidates) <= 1:
        return candidates
    hinted = [s for s in candidates if any(h in receiver for h in HINTS.get(s, (s,)))]
    return hinted or candidates


def _transact_kinds(trees: Iterable[ast.AST]) -> str:
    """The item kinds a TransactWriteItems can carry: the dict keys Put/Update/Delete/ConditionCheck anywhere in
    the code (entries are often built by helpers in other modules, as counters.counter_update is)."""
    kinds = set()
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and key.value in DYNAMODB_TRANSACT_KINDS:
                    kinds.add(key.value)
    return ",".join(sorted(kinds)) or ",".join(sorted(DYNAMODB_TRANSACT_KINDS))


def find_calls(files: dict[str, str]) -> tuple[list[Call], list[Unknown]]:
    """The AWS calls in the given sources ({path: text})."""
    trees = {path: ast.parse(text, filename=path) for path, text in files.items()}
    services = sorted(_services(trees.values()))
    transact_kinds = _transact_kinds(trees.values())
    calls: list[Call] = []
    unknown: list[Unknown] = []
    for path, tree in trees.items():
        lines = files[path].splitlines()
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if NOT_AWS in lines[node.lineno - 1]:
                continue
            name = node.func.attr
            receiver = ast.unparse(node.func.value).lower()
            where = f"{path}:{node.lineno}"

            def add(service: str, operation: str, detail: str = "", where: str = where) -> None:
                calls.append(Call(where, service, operation, detail))

            if name in ("generate_presigned_url", "get_paginator", "can_paginate"):
                method = _literal_arg(node, "ClientMethod" if name == "generate_presigned_url" else "operation_name")
                if method is None:
                    unknown.append(Unknown(where, f"{name} with a name that is not a string literal"))
                    continue
                for service in _pick([s for s in services if method in operations(s)], receiver):
                    add(service, operations(service)[method])
            elif name == "generate_presigned_post":
                add("s3", "PutObject")
            elif name == "get_waiter":
                waiter = _literal_arg(node, "waiter_name")
                if waiter is None:
                    unknown.append(Unknown(where, "get_waiter with a name that is not a string literal"))
                    continue
                for service in _pick([s for s in services if waiter in waiters(s)], receiver):
                    add(service, waiters(service)[waiter])
            elif name in S3_TRANSFERS and "s3" in services and any(h in receiver for h in HINTS["s3"]):
                for operation in S3_TRANSFERS[name]:
                    add("s3", operation)
            else:
                matched = False
                for service in services:
                    for kind, methods in resource_methods(service).items():
                        if kind in receiver and name in methods:
                            add(service, methods[name])
                            matched = True
                if matched:
                    continue
                for service in _pick([s for s in services if name in operations(s)], receiver):
                    operation = operations(service)[name]
                    add(service, operation, transact_kinds if operation == "TransactWriteItems" else "")
    return calls, unknown


def needs(call: Call) -> list[Need]:
    """The IAM actions, each on a kind of resource, that one call needs."""
    if call.service == "dynamodb":
        if call.operation == "TransactWriteItems":
            return [Need(f"dynamodb:{DYNAMODB_TRANSACT_KINDS[k]}", "table", call.where)
                    for k in call.detail.split(",")]
        if call.operation == "TransactGetItems":
            return [Need("dynamodb:GetItem", "table", call.where)]
        found = [Need(f"dynamodb:{call.operation}", "table", call.where)]
        if call.operation in ("Query", "Scan"):  # the code reads the GSIs; checking both costs nothing
            found.append(Need(f"dynamodb:{call.operation}", "index", call.where))
        return found
    if call.service == "s3":
        if call.operation in S3_ACTIONS:
            return [Need(action, kind, call.where) for action, kind in S3_ACTIONS[call.operation]]
        kind = "bucket" if "Bucket" in call.operation else "object"
        return [Need(f"s3:{call.operation}", kind, call.where)]
    if call.service == "lambda":
        action = "InvokeFunction" if call.operation in ("Invoke", "InvokeWithResponseStream") else call.operation
        return [Need(f"lambda:{action}", "function", call.where)]
    return [Need(f"{call.service}:{call.operation}", "any", call.where)]


def implicit_needs(all_needs: list[Need], kms: bool) -> list[Need]:
    """What AWS checks on the caller's behalf: SSE-KMS objects need the key for writing and reading."""
    if not kms:
        return []
    found = []
    writes = [n for n in all_needs if n.action == "s3:PutObject"]
    reads = [n for n in all_needs if n.action == "s3:GetObject"]
    if writes:
        found.append(Need("kms:GenerateDataKey", "key", writes[0].where))
        found.append(Need("kms:Decrypt", "key", writes[0].where))  # multipart uploads decrypt their parts
    if reads:
        found.append(Need("kms:Decrypt", "key", reads[0].where))
    return found


def source_files(root: Path, exclude: Iterable[str] = ()) -> dict[str, str]:
    skip = set(exclude)
    paths = [root / "app.py", *sorted((root / "chalicelib").rglob("*.py"))]
    return {str(p.relative_to(root)): p.read_text() for p in paths if str(p.relative_to(root)) not in skip}
