"""The packaged template's logging: every function logs JSON at one level, the app's LOG_LEVEL and Lambda's own."""

from __future__ import annotations

from typing import Any

from chalicelib.settings import LOG_LEVELS


def test_every_function_logs_json_at_the_stacks_log_level(prod_template: dict[str, Any]) -> None:
    """Before, nothing set a level and Lambda's runtime left Python's WARNING: the INFO summaries were lost."""
    parameter = prod_template["Parameters"]["LogLevel"]
    assert parameter["Default"] == "INFO"
    assert set(parameter["AllowedValues"]) <= set(LOG_LEVELS)  # each one the app accepts as LOG_LEVEL
    glob = prod_template["Globals"]["Function"]
    assert glob["LoggingConfig"]["LogFormat"] == "JSON"  # Lambda filters by level in this format only
    assert glob["LoggingConfig"]["ApplicationLogLevel"] == {"Ref": "LogLevel"}
    assert glob["Environment"]["Variables"]["LOG_LEVEL"] == {"Ref": "LogLevel"}
    functions = {n: r for n, r in prod_template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert {"APIHandler", "PurgeWorker"} <= set(functions)
    for name, function in functions.items():
        own = function["Properties"]
        assert "LOG_LEVEL" not in own.get("Environment", {}).get("Variables", {}), name
        assert "LoggingConfig" not in own, name
