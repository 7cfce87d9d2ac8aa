"""Shared test helpers: what tests, conftests and benches import (docs/testing.md, "Where the tests live").

Nothing here is collected by pytest and nothing here imports a test module or a conftest; fixtures stay in the
conftest.py files, which build them from these helpers."""
