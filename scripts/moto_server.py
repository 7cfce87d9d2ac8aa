"""moto's server, answering CORS as S3 does for a credentialed request.

S3 adds `Access-Control-Allow-Credentials: true` whenever a bucket CORS rule names the request's origin
(not `*`); moto never does, so a browser's `fetch(url, {credentials: 'include'})` of a recording fails
against plain moto. This WSGI wrapper adds the header (and `Vary: Origin`) exactly in that case. Run with
MOTO_DISABLE_GLOBAL_CORS=true so that moto applies the bucket's own CORS rules instead of echoing any origin.
LOCAL_S3_CREDENTIALS_CORS=0 serves plain moto, without the header: the browser tests start such a stack to show
that a bucket answering credentialed requests without it breaks the gateway's playback.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Callable, Iterable

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_s3_credentials_cors(app: WSGIApp) -> WSGIApp:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            allowed = next((v for k, v in headers if k.lower() == "access-control-allow-origin"), None)
            if origin and allowed == origin:
                headers = [h for h in headers if h[0].lower() != "access-control-allow-credentials"]
                headers += [("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return app(environ, start)

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    args = parser.parse_args()
    os.environ.setdefault("MOTO_DISABLE_GLOBAL_CORS", "true")
    os.environ.setdefault("MOTO_PORT", str(args.port))

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    from scripts import moto_speedups

    moto_speedups.install()  # transactions and queries cost what they cost on AWS, not O(table)

    app: WSGIApp = DomainDispatcherApplication(create_backend_app)
    if os.environ.get("LOCAL_S3_CREDENTIALS_CORS", "1") != "0":
        app = with_s3_credentials_cors(app)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
