"""Hypothesis profiles for fastnet's property tests; import this module before using them.

* ``ci`` (default): 25 examples per property, the same ones every run (``derandomize``), so
  the default test run is fast and never flaky.
* ``thorough``: 500 fresh random examples per property, for a long local run:
  ``HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_properties.py``.

No deadline in either: the first example of a dtype may include Numba's compile time.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
