"""schemathesis generates requests from ``/openapi.json``; none may get a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from helpers import ServerProcess, new_project


@pytest.fixture(scope="module")
def project_key(live_server: ServerProcess) -> str:
    api, project = new_project(live_server.url)
    api.close()
    return project["apiKey"]


@pytest.fixture
def api_schema(live_server: ServerProcess):
    return schemathesis.openapi.from_url(live_server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_the_schema_allows_gets_a_server_error(case, project_key):
    response = case.call(headers={"Authorization": f"Bearer {project_key}"}, timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}\n"
        f"{case.as_curl_command()}"
    )
    if response.status_code >= 400:  # every error has the stable shape
        error = response.json()["error"]
        assert error["code"] and error["message"]
