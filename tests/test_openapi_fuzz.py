"""schemathesis generates requests from ``/openapi.json``; none may get a 5xx.

Driven through hypothesis directly (``operation.as_strategy()``) rather than schemathesis's
pytest plugin, which breaks with some pytest releases.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from helpers import ServerProcess, new_project

EXAMPLES_PER_OPERATION = 50
#: streams that stay open while the caller reads: every example would wait out the timeout,
#: and they take no parameter to fuzz (test_activity_stream.py tests this one)
ENDLESS = {"GET /activity/events"}


def test_no_request_the_schema_allows_gets_a_server_error(live_server: ServerProcess):
    api, project = new_project(live_server.url)
    headers = {"Authorization": f"Bearer {project['apiKey']}"}
    schema = schemathesis.openapi.from_url(live_server.url + "/openapi.json")
    checked = []
    for found in schema.get_all_operations():
        operation = found.ok()
        if f"{operation.method.upper()} {operation.path}" in ENDLESS:
            assert not operation.query and not operation.path_parameters, "it takes input now"
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def no_server_error(case) -> None:
            response = case.call(base_url=live_server.url, headers=headers, timeout=30)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:500]}\n{case.as_curl_command()}"
            )
            if response.status_code >= 400:  # every error has the stable shape
                error = response.json()["error"]
                assert error["code"] and error["message"]

        no_server_error()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 25, checked  # the whole API was covered, not an empty schema
    assert (
        "POST /orchestrations" in checked
        and "POST /orchestrations/{orchestration_id}/cancel" in checked
    )
