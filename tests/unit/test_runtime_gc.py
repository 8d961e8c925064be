"""A running service collects cycles rarely and leaves what start-up built out of every collection."""

import gc

import pytest

from shared.runtime import GC_THRESHOLDS, tune_gc

pytestmark = pytest.mark.unit


def test_tune_gc_raises_the_thresholds_and_freezes_start_up_objects() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > 10 * before[0]
        assert gc.get_freeze_count() > 1000  # the modules and models imported so far
        assert gc.isenabled()  # cycles are still collected, only less often
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
