"""Running the app's background functions by hand through Chalice's test client, with the event AWS sends each.

The local stack runs them on a timer (scripts/local_stack.py); the in-process tests call them when they choose.
"""

from __future__ import annotations

from typing import Any


def invoke_function(client: Any, name: str, event: Any = None) -> Any:
    """The payload of the app's Lambda function `name` (app.py's @app.lambda_function) run on `event` ({} if
    none: purge_worker, started by the purge request's asynchronous Invoke, reads nothing from its event)."""
    return client.lambda_.invoke(name, {} if event is None else event).payload


def invoke_scheduled(client: Any, name: str) -> Any:
    """The payload of the scheduled function `name` (app.py's @app.schedule) run on the event its rule sends."""
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    return invoke_function(client, name, event)
