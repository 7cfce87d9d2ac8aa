"""Build the table and bucket from infra/resources.yaml, the same file the deploy template merges.

Used by `make run`, the tests and the benchmarks; never on a request path (PyYAML is a dev dependency).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RESOURCES_FILE = Path(__file__).resolve().parents[2] / "infra" / "resources.yaml"
TABLE_RESOURCE = "AuditTable"
BUCKET_RESOURCE = "RecordingsBucket"


def resources(path: Path = RESOURCES_FILE) -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(path.read_text())["Resources"]
    return loaded


def table_definition(path: Path = RESOURCES_FILE) -> dict[str, Any]:
    """CreateTable arguments equal to the template's table (name aside)."""
    props = resources(path)[TABLE_RESOURCE]["Properties"]
    definition: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition


def cors_rules(origins: list[str] | tuple[str, ...], path: Path = RESOURCES_FILE) -> list[dict[str, Any]]:
    """The template's CORS rules with the given origins, in PutBucketCors's spelling."""
    rules = resources(path)[BUCKET_RESOURCE]["Properties"]["CorsConfiguration"]["CorsRules"]
    # The template takes its origins from the PlaybackOrigins parameter (an Fn::Split); locally they are given.
    return [
        {
            "AllowedMethods": rule["AllowedMethods"],
            "AllowedOrigins": list(origins),
            "AllowedHeaders": rule.get("AllowedHeaders", []),
            "ExposeHeaders": rule.get("ExposedHeaders", []),
            "MaxAgeSeconds": rule.get("MaxAge", 0),
        }
        for rule in rules
    ]


def ensure(dynamodb: Any, s3: Any, table_name: str, bucket_name: str, origins: tuple[str, ...] = ()) -> None:
    """Create the table and bucket if missing (idempotent), as the template declares them."""
    existing = dynamodb.list_tables()["TableNames"]
    if table_name not in existing:
        dynamodb.create_table(TableName=table_name, **table_definition())
        dynamodb.get_waiter("table_exists").wait(TableName=table_name)
    buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket_name not in buckets:
        s3.create_bucket(Bucket=bucket_name)
    if origins:
        s3.put_bucket_cors(Bucket=bucket_name, CORSConfiguration={"CORSRules": cors_rules(origins)})
    s3.put_bucket_encryption(
        Bucket=bucket_name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
