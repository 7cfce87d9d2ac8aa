"""The stage's IAM policy with its CloudFormation references replaced by real names, for `chalice deploy`.

`.chalice/policy-<stage>.json` names the table, bucket and log group the packaged template creates
(`Fn::GetAtt`, `Fn::Sub`, `Fn::If`), which CloudFormation resolves. `chalice deploy` hands the file to IAM as it
is, so where the table and bucket already exist, render a literal copy and point a stage's `iam_policy_file` at it:

    python -m scripts.render_policy --stage prod --table NAME --bucket NAME --region eu-west-1 \
        --account 123456789012 [--kms-key ARN] > .chalice/policy-existing.json

The tests use `resolve` to read the packaged policy the same way.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class _NoValue:
    """AWS::NoValue: the property or list item disappears."""


NO_VALUE = _NoValue()


def resolve(node: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> Any:
    """`node` with Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join and Fn::Split evaluated.

    `refs` maps logical ids and pseudo parameters to Ref values, and `Name.Attribute` to GetAtt values.
    """

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            items = [walk(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else refs[arg]
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return refs[f"{name}.{attribute}"]
            if key == "Fn::Sub":
                text, local = (arg[0], walk(arg[1])) if isinstance(arg, list) else (arg, {})
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(local.get(m[1], refs.get(m[1], m[0]))), text)
            if key == "Fn::If":
                condition, when_true, when_false = arg
                return walk(when_true if conditions[condition] else when_false)
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in walk(arg[1]))
            if key == "Fn::Split":
                return str(walk(arg[1])).split(arg[0])
        resolved = {k: walk(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    return walk(node)


def literal_refs(
    stage: str, table: str, bucket: str, region: str, account: str, kms_key: str = "", partition: str = "aws"
) -> dict[str, Any]:
    """What the template's references stand for under `chalice deploy` (functions named session-audit-<stage>-*)."""
    prefix = f"session-audit-{stage}"
    return {
        "AWS::Partition": partition,
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackName": prefix,
        "AuditTable": table,
        "AuditTable.Arn": f"arn:{partition}:dynamodb:{region}:{account}:table/{table}",
        "RecordingsBucket": bucket,
        "RecordingsBucket.Arn": f"arn:{partition}:s3:::{bucket}",
        # Lambda creates one group per function itself: see the CreateLogGroup added in `render`.
        "AppLogGroup.Arn": f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{prefix}-*",
        "KmsKeyArn": kms_key,
    }


def render(policy: Mapping[str, Any], refs: Mapping[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = resolve(policy, refs, {"UseKms": bool(refs.get("KmsKeyArn"))})
    for statement in rendered["Statement"]:
        if statement.get("Sid") == "Logs":
            statement["Action"] = ["logs:CreateLogGroup", *statement["Action"]]
    return rendered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--kms-key", default="")
    parser.add_argument("--partition", default="aws")
    args = parser.parse_args(argv)
    policy = json.loads((ROOT / ".chalice" / f"policy-{args.stage}.json").read_text())
    refs = literal_refs(args.stage, args.table, args.bucket, args.region, args.account, args.kms_key, args.partition)
    json.dump(render(policy, refs), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
