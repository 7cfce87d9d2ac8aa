"""A small IAM evaluator: does a resolved identity policy allow an action on a resource?

Enough for the policies this project writes (Allow and Deny statements with Action and Resource lists and IAM
wildcards); anything fancier (NotAction, NotResource, Condition) is refused so the check never guesses.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from scripts.render_policy import resolve

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "session-audit-test"
TABLE = "session-audit-test-AuditTable-ABC123"
BUCKET = "session-audit-test-recordingsbucket-abc123"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# What the packaged template's references resolve to in a stack named STACK.
REFS: dict[str, Any] = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": STACK,
    "AuditTable": TABLE,
    "AuditTable.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}",
    "RecordingsBucket": BUCKET,
    "RecordingsBucket.Arn": f"arn:aws:s3:::{BUCKET}",
    "AppLogGroup": f"{STACK}-AppLogGroup-XYZ",
    "AppLogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{STACK}-AppLogGroup-XYZ:*",
    "KmsKeyArn": KMS_KEY,
}

# One real ARN of each kind of resource the code touches, to ask the policy about.
PROBES = {
    "table": REFS["AuditTable.Arn"],
    "index": REFS["AuditTable.Arn"] + "/index/GSI1",
    "bucket": REFS["RecordingsBucket.Arn"],
    "object": REFS["RecordingsBucket.Arn"] + "/recordings/0123/recording.webm",
    # functions the code invokes are named ${AWS::StackName}-<chalice name> (docs/deploy.md)
    "function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-purge_worker",
    "key": KMS_KEY,
    "log-stream": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{STACK}-AppLogGroup-XYZ:log-stream:2025/01/01/x",
}


def resolved(policy: Any, kms: bool) -> dict[str, Any]:
    refs = dict(REFS, KmsKeyArn=KMS_KEY if kms else "")
    document: dict[str, Any] = resolve(policy, refs, {"UseKms": kms, "IsProd": True})
    return document


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = _list(document["Statement"])
    for statement in found:
        unsupported = {"NotAction", "NotResource", "NotPrincipal", "Condition"} & set(statement)
        assert not unsupported, f"the policy check does not understand {sorted(unsupported)}: {statement}"
    return found


def _matches(patterns: list[str], value: str, case_sensitive: bool) -> bool:
    if not case_sensitive:
        value = value.lower()
        patterns = [p.lower() for p in patterns]
    return any(fnmatchcase(value, p) for p in patterns)


def allows(document: dict[str, Any], action: str, resource: str) -> bool:
    allowed = False
    for statement in statements(document):
        if not (_matches(_list(statement["Action"]), action, case_sensitive=False)
                and _matches(_list(statement["Resource"]), resource, case_sensitive=True)):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def granted_actions(document: dict[str, Any]) -> set[str]:
    return {a for s in statements(document) if s["Effect"] == "Allow" for a in _list(s["Action"])}
