"""The scheduled `lake_export`'s entry point: the outbox's marks to the audit lake (domain/lake.py)."""

from __future__ import annotations

from chalicelib.container import services


def export() -> dict[str, int]:
    return services().lake_export.run()
