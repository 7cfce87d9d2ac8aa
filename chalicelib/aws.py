"""AWS clients, built lazily on first use so that importing the app touches nothing (cold starts stay cheap).

boto3 itself honours AWS_ENDPOINT_URL, which is how the local stack points everything at moto's server.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_lambda.client import LambdaClient
    from mypy_boto3_s3.client import S3Client


@lru_cache(maxsize=1)
def session() -> Any:
    import boto3

    return boto3.session.Session()


def _config(**extra: Any) -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 4}, **extra)


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    client: DynamoDBClient = session().client("dynamodb", config=_config())
    return client


@lru_cache(maxsize=4)
def table(name: str) -> Table:
    found: Table = session().resource("dynamodb", config=_config()).Table(name)
    return found


@lru_cache(maxsize=2)
def s3_client(addressing_style: str = "auto") -> S3Client:
    # SigV4 always: presigned URLs must be SigV4 on AWS (SigV2 is refused for new buckets and KMS objects).
    client: S3Client = session().client(
        "s3", config=_config(signature_version="s3v4", s3={"addressing_style": addressing_style})
    )
    return client


@lru_cache(maxsize=1)
def lambda_client() -> LambdaClient:
    client: LambdaClient = session().client("lambda", config=_config())
    return client


def reset() -> None:
    """Forget every client, so the next use builds new ones (tests call this between moto contexts).

    The boto3 session stays: it holds only the parsed service models, which are costly to load again.
    """
    for getter in (dynamodb_client, table, s3_client, lambda_client):
        getter.cache_clear()
