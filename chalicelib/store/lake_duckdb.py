"""DuckDB over the lake in S3: the local and test engine (SEARCH_ENGINE=duckdb, docs/search.md).

DuckDB and its httpfs extension are local/test dependencies only (requirements-dev.txt): nothing imports this
module unless the engine is DuckDB, so neither enters the Lambda package nor the import of app.py. It works
offline: auto-install and auto-load are off and httpfs is loaded from the file the PyPI wheel ships.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import duckdb

_LOCK = threading.Lock()


def httpfs_file() -> str:
    """The httpfs extension of the `duckdb-extension-httpfs` wheel matching the installed DuckDB."""
    import duckdb
    import duckdb_extension_httpfs  # type: ignore[import-untyped]  # the wheel ships only the extension file

    root = os.path.dirname(duckdb_extension_httpfs.__file__)
    version = duckdb.__version__
    path = os.path.join(root, "extensions", f"v{version}", "httpfs.duckdb_extension")
    if not os.path.exists(path):
        raise RuntimeError(f"duckdb-extension-httpfs has no extension for DuckDB {version} ({path})")
    return path


def _s3_secret(endpoint: str | None, region: str) -> str:
    """CREATE SECRET text for S3 with the process's AWS credentials; at an endpoint (moto), path-style over
    plain HTTP. Values are SQL string literals (DuckDB takes no parameters in CREATE SECRET)."""
    import boto3

    frozen = boto3.session.Session().get_credentials()
    credentials = frozen.get_frozen_credentials() if frozen is not None else None
    options: dict[str, str | None] = {"TYPE": "s3", "REGION": region}
    if credentials is not None:
        options["KEY_ID"] = credentials.access_key
        options["SECRET"] = credentials.secret_key
        if credentials.token:
            options["SESSION_TOKEN"] = credentials.token
    parts: list[str] = []
    for name, value in options.items():
        parts.append(f"{name} {value}" if name == "TYPE" else f"{name} {_literal(str(value))}")
    if endpoint:
        split = urlsplit(endpoint)
        parts += [f"ENDPOINT {_literal(split.netloc)}", "URL_STYLE 'path'",
                  f"USE_SSL {'true' if split.scheme == 'https' else 'false'}"]
    return f"CREATE OR REPLACE SECRET lake_s3 ({', '.join(parts)})"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def connect(endpoint: str | None = None, region: str | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection that reads and writes the lake's S3 (moto's at `endpoint`)."""
    import duckdb

    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    with _LOCK:  # loading an extension is not safe from two threads at once
        connection = duckdb.connect(config=config)
        connection.execute(f"LOAD {_literal(httpfs_file())}")
    connection.execute(_s3_secret(endpoint, region))
    return connection
