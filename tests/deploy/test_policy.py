"""The stages' IAM policies grant exactly what the code calls, on the table, its indexes and the bucket.

A new boto3 call without its policy line fails here, in CI, before a deploy fails at run time (moto checks no IAM).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import awscalls, iam

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILES = {stage: ROOT / ".chalice" / f"policy-{stage}.json" for stage in ("dev", "prod")}

# Packaged into the Lambda but never run there: it builds the local stack's table and bucket.
NOT_RUN_ON_AWS = ("chalicelib/store/schema.py",)

# Statements AWS needs that no boto3 call in the code shows.
IMPLICIT_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "kms:GenerateDataKey", "kms:Decrypt"}


def code_sources() -> dict[str, str]:
    return awscalls.source_files(ROOT, exclude=NOT_RUN_ON_AWS)


def required(files: dict[str, str], kms: bool) -> list[awscalls.Need]:
    calls, unknown = awscalls.find_calls(files)
    assert not unknown, "calls the policy check cannot read: " + "; ".join(f"{u.where}: {u.why}" for u in unknown)
    found = [need for call in calls for need in awscalls.needs(call)]
    return found + awscalls.implicit_needs(found, kms)


def missing(policy: Any, files: dict[str, str]) -> list[str]:
    """One line per action a call needs and the policy does not grant, with and without a KMS key."""
    problems = []
    for kms in (False, True):
        document = iam.resolved(policy, kms)
        for need in required(files, kms):
            if not iam.allows(document, need.action, iam.PROBES[need.resource]):
                problems.append(f"{need.where}: {need.action} on the {need.resource} ({iam.PROBES[need.resource]})"
                                + (" with a KMS key" if kms else ""))
    return sorted(set(problems))


def packaged_policies(template: dict[str, Any]) -> dict[str, Any]:
    """Each function's role's policy documents, by function."""
    resources = template["Resources"]
    found = {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = resources[role]["Properties"]["Policies"]
        assert len(policies) == 1, f"{role}: one inline policy expected"
        found[name] = policies[0]["PolicyDocument"]
    return found


@pytest.mark.parametrize("stage", sorted(POLICY_FILES))
def test_policy_file_grants_every_call(stage: str) -> None:
    problems = missing(json.loads(POLICY_FILES[stage].read_text()), code_sources())
    assert not problems, f".chalice/policy-{stage}.json lacks:\n" + "\n".join(problems)


def test_packaged_roles_grant_every_call_on_the_stack_resources(prod_template: dict[str, Any]) -> None:
    policies = packaged_policies(prod_template)
    assert "APIHandler" in policies
    for function, policy in policies.items():
        problems = missing(policy, code_sources())
        assert not problems, f"{function}'s role lacks:\n" + "\n".join(problems)
        text = json.dumps(policy)
        # the policy names what the template creates, not a table or bucket found by name
        assert '"AuditTable"' in text and "session-audit-prod" not in text


@pytest.mark.parametrize("stage", sorted(POLICY_FILES))
def test_policy_grants_nothing_the_code_does_not_call(stage: str) -> None:
    policy = json.loads(POLICY_FILES[stage].read_text())
    used = {need.action for need in required(code_sources(), kms=True)}
    unused = iam.granted_actions(iam.resolved(policy, kms=True)) - used - IMPLICIT_ACTIONS
    assert not unused, f"policy-{stage}.json grants actions no code calls: {sorted(unused)}"


@pytest.mark.parametrize("stage", sorted(POLICY_FILES))
def test_no_wildcard_action_or_resource(stage: str) -> None:
    for kms in (False, True):
        for statement in iam.statements(iam.resolved(json.loads(POLICY_FILES[stage].read_text()), kms)):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in actions), statement
            assert "*" not in resources, statement
            for resource in resources:
                assert resource.startswith("arn:aws:"), resource
                assert ":*:" not in resource, f"{resource}: region and account are always named"


def test_dev_and_prod_policies_are_the_same() -> None:
    # Both name the stack's own resources; a difference would be a forgotten edit.
    assert json.loads(POLICY_FILES["dev"].read_text()) == json.loads(POLICY_FILES["prod"].read_text())


def test_check_fails_on_a_call_without_its_policy_line() -> None:
    files = code_sources()
    fixture = ROOT / "tests" / "deploy" / "fixtures" / "uncovered.py"
    files["tests/deploy/fixtures/uncovered.py"] = fixture.read_text()
    problems = missing(json.loads(POLICY_FILES["prod"].read_text()), files)
    assert any("uncovered.py:7: dynamodb:DeleteTable on the table" in p for p in problems), problems
    assert any("uncovered.py:8: s3:DeleteBucket on the bucket" in p for p in problems), problems
    assert all("uncovered.py" in p for p in problems), problems


def test_check_fails_when_a_line_is_taken_out() -> None:
    policy = json.loads(POLICY_FILES["prod"].read_text())
    for statement in policy["Statement"]:
        if "dynamodb:Query" in statement.get("Action", ()):  # a Fn::If statement (KMS) has none
            statement["Resource"] = [r for r in statement["Resource"] if "index" not in json.dumps(r)]
    problems = missing(policy, code_sources())
    assert any("dynamodb:Query on the index" in p for p in problems), problems


def test_rendered_policy_for_chalice_deploy_names_real_resources() -> None:
    from scripts.render_policy import literal_refs, render

    refs = literal_refs("prod", "audit", "recordings", "eu-west-1", "123456789012", kms_key=iam.KMS_KEY)
    text = json.dumps(render(json.loads(POLICY_FILES["prod"].read_text()), refs))
    assert "Fn::" not in text and '"Ref"' not in text
    assert "arn:aws:dynamodb:eu-west-1:123456789012:table/audit/index/*" in text
    assert "logs:CreateLogGroup" in text  # chalice deploy leaves the log groups to Lambda
