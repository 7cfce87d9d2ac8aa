"""`concurrently`: independent AWS requests sent side by side (store/dynamo.py)."""

from __future__ import annotations

import threading

import pytest

from chalicelib.store.dynamo import concurrently


def test_results_come_back_in_input_order():
    assert concurrently(lambda n: n * n, list(range(20))) == [n * n for n in range(20)]


def test_up_to_in_flight_requests_run_at_once():
    """Eight calls that each wait for all eight to have started can only finish if they run side by side."""
    everyone = threading.Barrier(8, timeout=10)

    def wait_for_the_others(n: int) -> int:
        everyone.wait()
        return n

    assert concurrently(wait_for_the_others, list(range(8)), in_flight=8) == list(range(8))


def test_one_input_runs_on_the_callers_thread():
    assert concurrently(lambda _: threading.current_thread().name, ["x"]) == [threading.current_thread().name]


def test_the_first_error_reaches_the_caller():
    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n

    with pytest.raises(ValueError, match="three"):
        concurrently(fail_on_three, list(range(6)))
