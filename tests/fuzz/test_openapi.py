"""Schemathesis against the live server's /openapi.json: no 5xx, no response that breaks the
schema, for anonymous callers and for a logged-in trader; the engine's invariants hold after."""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES = 12


def _fuzz(server: dict[str, Any], headers: dict[str, str], examples: int,
          skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Every operation, `examples` generated cases each; returns status counts."""
    api = schemathesis.openapi.from_url(server["base"] + "/openapi.json")
    seen: dict[str, int] = {}
    for result in api.get_all_operations():
        operation = result.ok()
        if operation.path in skip:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call(base_url=server["base"], headers=headers)
            seen[str(response.status_code)] = seen.get(str(response.status_code), 0) + 1
            assert response.status_code < 500, (case.method, case.formatted_path, case.body,
                                                response.text[:300])
            case.validate_response(response, checks=[
                schemathesis.checks.not_a_server_error,
                schemathesis.specs.openapi.checks.response_schema_conformance])

        run()
    return seen


def test_no_server_errors_as_a_trader(server: dict[str, Any]) -> None:
    headers = {"Cookie": f"foretell_session={server['cookie']}", "X-CSRF-Token": server["csrf"]}
    seen = _fuzz(server, headers, EXAMPLES, skip=("/api/v1/auth/logout",))
    assert sum(seen.values()) > 200 and any(code.startswith("2") for code in seen), seen


def test_no_server_errors_anonymous(server: dict[str, Any]) -> None:
    seen = _fuzz(server, {}, EXAMPLES // 2)
    assert "401" in seen, seen


def test_invariants_hold_after_fuzzing(server: dict[str, Any]) -> None:
    from foretell.engine.audit import audit

    svc = server["app"].state.service

    async def on_the_loop() -> Any:  # the engine is read on the serving loop, nowhere else
        return audit(svc.engine)

    report = asyncio.run_coroutine_threadsafe(on_the_loop(), svc.node.loop).result(60)
    assert report.ok, report.violations[:5]
