"""Hypothesis settings for the stock tests: modest by default, thorough on request.

Set PASAR_THOROUGH_PROPERTIES=1 to run many more examples (before a release, or in CI at night).
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

settings.register_profile(
    "inventory",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "inventory-thorough",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def inventory_settings(**overrides: Any) -> settings:
    thorough = os.environ.get("PASAR_THOROUGH_PROPERTIES") == "1"
    profile = settings.get_profile("inventory-thorough" if thorough else "inventory")
    if thorough:
        overrides = {
            name: value * 10 if name == "max_examples" else value
            for name, value in overrides.items()
        }
    return settings(profile, **overrides)
