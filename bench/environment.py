"""The environment every benchmark runs the app under: dummy AWS credentials, its own table and bucket."""

from __future__ import annotations

import os


def use_bench_environment(table: str, bucket: str, secret: str, **extra: str) -> None:
    """Point the app at `table`/`bucket` with dummy credentials; AWS_ENDPOINT_URL only if given in `extra`
    (without it, moto in process intercepts)."""
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "TABLE_NAME": table, "BUCKET_NAME": bucket,
                       "JWT_SECRET": secret, **extra})
