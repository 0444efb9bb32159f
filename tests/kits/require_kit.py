"""Optional parts the tests need (a module, a browser, a server, a tmpfs): skipped where absent, failed in CI.

Locally a missing part skips its tests, saying how to get it. With $ENGINE_TEST_REQUIRE_SERVICES=1 (what
`.ci/run` exports) each of those skips is a failure instead, so CI can never pass by skipping what it
was meant to run. Skips that are not about an installable part (no ../shared/artdata, an opt-in
screenshot refresh) do not come through here.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

REQUIRE_ENV = "ENGINE_TEST_REQUIRE_SERVICES"
INSTALL_HINT = "pip install -e '.[cpu,test]'"


def required() -> bool:
    """True where a missing part must fail its tests ($ENGINE_TEST_REQUIRE_SERVICES=1, CI)."""
    return os.environ.get(REQUIRE_ENV) == "1"


def missing(reason: str) -> NoReturn:
    """Skip the test (or the whole module, when called at import) for `reason`; fail it in CI."""
    if required():
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_module(name: str, hint: str = INSTALL_HINT) -> ModuleType:
    """`pytest.importorskip(name)`, routed through `missing`: the module, or a skip (a failure in CI)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"{name} cannot be imported ({exc}); {hint}")
