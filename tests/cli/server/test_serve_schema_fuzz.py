"""Schema-driven fuzzing (issue 27): schemathesis reads the live server's /openapi.json (uvicorn on 127.0.0.1,
over the session's tiny indexed home) and sends every operation generated requests: valid ones for each
operation, invalid ones for each that takes input. Each answer must be a 2xx or 4xx (never a 5xx) and match
the schema: status code, content type, headers, body.

Bounded in examples (MAX_EXAMPLES per operation and mode) and derandomized: a run is the same on every machine.
"""

from __future__ import annotations

import pytest

from require_kit import require_module

require_module("fastapi")
schemathesis = require_module("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import checks  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from cli.server import ServeConfig, create_app  # noqa: E402

MAX_EXAMPLES = 40
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=True,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
WITH_INPUT = ["POST /api/query", "POST /api/verify", "GET /api/paintings/{painting_id}",
              "GET /api/paintings/{painting_id}/similar", "GET /api/paintings/{painting_id}/thumbnail",
              # the page's endpoints (issue 26)
              "GET /api/paintings/{painting_id}/image", "POST /api/results", "POST /api/results/verify",
              "GET /api/results/{result_id}", "GET /api/results/{result_id}/images/{name}", "GET /api/pairs/{a}/{b}",
              "GET /api/artist"]
WITHOUT_INPUT = ["GET /api/health", "GET /api/artists", "GET /api/collection", "GET /api/artist-list", "GET /api/map"]  # nothing to send wrong: no invalid request exists


@pytest.fixture(scope="module")
def served(indexed, state, live_server):
    """(base URL, the schema read from its /openapi.json)."""
    app = create_app(ServeConfig(home=indexed.home, model=indexed.model), state)
    with live_server(app) as url:
        yield url, schemathesis.openapi.from_url(f"{url}/openapi.json", timeout=30)


def test_the_schema_names_every_endpoint(served):
    _, schema = served
    assert {result.ok().label for result in schema.get_all_operations()} == set(WITH_INPUT + WITHOUT_INPUT)


@pytest.mark.parametrize(("label", "mode"), [(label, "positive") for label in WITH_INPUT + WITHOUT_INPUT]
                         + [(label, "negative") for label in WITH_INPUT])
def test_every_operation_answers_2xx_or_4xx_matching_the_schema(served, label, mode):
    url, schema = served
    operation = schema.find_operation_by_label(label)

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    def fuzz(case):
        case.call_and_validate(base_url=url, checks=CHECKS, timeout=60)

    fuzz()
