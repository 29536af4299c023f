"""Property test of the web API from its own OpenAPI schema (schemathesis): requests
generated from `/openapi.json` for every operation, valid and invalid, sent to the real app
over a private copy of the seeded demo; none may get a 5xx, and every response must match
the schema (status code documented, body shaped as declared, JSON content type).

Small and repeatable: a few examples per operation, derandomized (the same cases each run).
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402
from web_support import demo_settings, seeded_demo  # noqa: E402

from assistant.web import create_app  # noqa: E402

pytestmark = [pytest.mark.slow]

TOKEN = "schema-token"
EXAMPLES = 8


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data_dir = tmp_path_factory.mktemp("schema") / "data"
    shutil.copytree(seeded_demo(), data_dir)  # posted events land in this copy
    app = create_app(demo_settings(data_dir, api_tokens=[TOKEN], rate_limit_per_minute=100_000,
                                   audit_retention_days=0), warm=False)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")

CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance]


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)


def test_the_schema_lists_every_api_route(api_schema: Any) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/api/chat", "/api/chat/stream", "/api/events", "/api/alertmanager",
            "/api/conversations/{conversation_id}", "/healthz"} <= paths, paths
