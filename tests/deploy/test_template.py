"""The packaged prod template: what a deploy creates, checked before anyone deploys it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from chalicelib.model.recording import QuotaCharge
from chalicelib.store import schema
from chalicelib.store.counters import daily_bytes_update
from tests.support.clients import ROOT
from tests.support.packaging import BIN

STACK_VARIABLES = {
    "TABLE_NAME": {"Ref": "AuditTable"},
    "TABLE_ARN": {"Fn::GetAtt": ["AuditTable", "Arn"]},
    "BUCKET_NAME": {"Ref": "RecordingsBucket"},
    "BUCKET_ARN": {"Fn::GetAtt": ["RecordingsBucket", "Arn"]},
    "JWT_SECRET": {"Ref": "JwtSecret"},
    "PLAYBACK_ORIGINS": {"Ref": "PlaybackOrigins"},
    "KMS_KEY_ID": {"Ref": "KmsKeyArn"},
}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def effective_environment(template: dict[str, Any], function: dict[str, Any]) -> dict[str, Any]:
    """SAM's rule: the function's own variables are merged over Globals' and win."""
    global_vars = template["Globals"]["Function"]["Environment"]["Variables"]
    own = function["Properties"].get("Environment", {}).get("Variables", {})
    return {**global_vars, **own}


def test_every_function_gets_the_stack_table_bucket_and_secret(prod_template: dict[str, Any]) -> None:
    found = functions(prod_template)
    assert "APIHandler" in found
    for name, function in found.items():
        env = effective_environment(prod_template, function)
        for variable, value in STACK_VARIABLES.items():
            assert env[variable] == value, f"{name}: {variable} is {env.get(variable)!r}"
        assert "LoggingConfig" not in function["Properties"], f"{name} must log to the stack's log group"
    assert prod_template["Globals"]["Function"]["LoggingConfig"]["LogGroup"] == {"Ref": "AppLogGroup"}


def test_api_handler_answers_within_api_gateway_limit(prod_template: dict[str, Any]) -> None:
    assert prod_template["Resources"]["APIHandler"]["Properties"]["Timeout"] <= 29


def test_secret_is_never_shown(prod_template: dict[str, Any]) -> None:
    secret = prod_template["Parameters"]["JwtSecret"]
    assert secret["NoEcho"] is True and secret["MinLength"] >= 32
    assert "Default" not in secret


def test_table_is_on_demand_recoverable_and_protected_in_prod(prod_template: dict[str, Any]) -> None:
    table = prod_template["Resources"]["AuditTable"]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert prod_template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert prod_template["Parameters"]["Stage"]["Default"] == "prod"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    # the local stack and the tests build the very same keys and indexes
    local = schema.table_definition()
    for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"):
        assert props[key] == local[key]


def test_table_expires_the_daily_user_byte_counters_by_ttl(prod_template: dict[str, Any]) -> None:
    props = prod_template["Resources"]["AuditTable"]["Properties"]
    update = daily_bytes_update("t", QuotaCharge("alice", "2026-12-03", 10, 1), 1)["Update"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": update["ExpressionAttributeNames"]["#expiresAt"],
                                                "Enabled": True}


def test_bucket_is_private_encrypted_tls_only_and_cleans_up_uploads(prod_template: dict[str, Any]) -> None:
    resources = prod_template["Resources"]
    props = resources["RecordingsBucket"]["Properties"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    default = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == {"Fn::If": ["UseKms", "aws:kms", "AES256"]}
    assert default["KMSMasterKeyID"] == {"Fn::If": ["UseKms", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any(r["Status"] == "Enabled" and r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
               for r in rules)
    assert "VersioningConfiguration" not in props  # decided against: docs/deploy.md
    cors = props["CorsConfiguration"]["CorsRules"][0]
    assert cors["AllowedOrigins"] == {"Fn::Split": [",", {"Ref": "PlaybackOrigins"}]}
    assert "Range" in cors["AllowedHeaders"] and "Content-Range" in cors["ExposedHeaders"]

    policy = resources["RecordingsBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "RecordingsBucket"}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [{"Fn::GetAtt": ["RecordingsBucket", "Arn"]},
                                {"Fn::Sub": "${RecordingsBucket.Arn}/*"}]


def test_gateway_answers_are_json_errors_with_cors(prod_template: dict[str, Any]) -> None:
    body = prod_template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    expected = {"UNAUTHORIZED": "401", "ACCESS_DENIED": "403", "MISSING_AUTHENTICATION_TOKEN": "404",
                "REQUEST_TOO_LARGE": "413", "THROTTLED": "429", "QUOTA_EXCEEDED": "429", "INTEGRATION_TIMEOUT": "504",
                "DEFAULT_4XX": None, "DEFAULT_5XX": None}
    for kind, status in expected.items():
        response = responses[kind]
        assert response.get("statusCode") == status, kind
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
        template = response["responseTemplates"]["application/json"]
        # the template is JSON once API Gateway puts a quoted string in place of $context.error.messageString
        parsed = json.loads(template.replace("$context.error.messageString", '"Unauthorized"'))
        assert set(parsed) == {"error"} and parsed["error"], kind
    # Chalice's own definition is kept: the merge adds keys, it does not replace the body
    assert body["paths"] and "x-amazon-apigateway-binary-media-types" in body


def test_cfn_lint_passes_on_the_packaged_prod_template(prod_template_path: Path) -> None:
    result = subprocess.run([str(BIN / "cfn-lint"), str(prod_template_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
