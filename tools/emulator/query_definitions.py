"""CloudWatch Logs Insights query definitions for the emulator: moto 5 has none.

PutQueryDefinition, DescribeQueryDefinitions and DeleteQueryDefinition, kept per account and region,
with the limits AWS documents for PutQueryDefinition (name 1-255 characters, query 1-10,000, at
most 50 log group names) so that the AWS provider's aws_cloudwatch_query_definition can be applied
and destroyed, and tests can read back what was saved. Queries are not run here (moto's StartQuery
knows only a few commands); tests run the saved text with their own evaluator.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
from moto.logs.models import LogsBackend
from moto.logs.responses import LogsResponse

NAME_MAX = 255
QUERY_MAX = 10_000
LOG_GROUPS_MAX = 50


def _store(backend: LogsBackend) -> dict[str, dict[str, Any]]:
    if not hasattr(backend, "query_definitions"):
        backend.query_definitions = {}  # type: ignore[attr-defined]
    return backend.query_definitions  # type: ignore[attr-defined,no-any-return]


def _check(name: Any, query: Any, groups: list[Any]) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX:
        raise InvalidParameterException(
            constraint=f"Member must have length between 1 and {NAME_MAX}",
            parameter="name",
            value=name,
        )
    if not isinstance(query, str) or not 1 <= len(query) <= QUERY_MAX:
        raise InvalidParameterException(
            constraint=f"Member must have length between 1 and {QUERY_MAX}",
            parameter="queryString",
            value=f"{len(query or '')} characters",
        )
    if len(groups) > LOG_GROUPS_MAX:
        raise InvalidParameterException(
            constraint=f"Member must have at most {LOG_GROUPS_MAX} items",
            parameter="logGroupNames",
            value=f"{len(groups)} names",
        )


def put_query_definition(self: LogsResponse) -> str:
    store = _store(self.logs_backend)
    name, query = self._get_param("name"), self._get_param("queryString")
    groups = list(self._get_param("logGroupNames") or [])
    _check(name, query, groups)
    query_id = self._get_param("queryDefinitionId")
    if query_id and query_id not in store:
        raise ResourceNotFoundException("The specified query definition does not exist.")
    query_id = query_id or str(uuid.uuid4())
    store[query_id] = {
        "queryLanguage": "CWLI",
        "queryDefinitionId": query_id,
        "name": name,
        "queryString": query,
        "lastModified": int(time.time() * 1000),
        "logGroupNames": groups,  # replaced as a whole, as PutQueryDefinition documents
    }
    return json.dumps({"queryDefinitionId": query_id})


def describe_query_definitions(self: LogsResponse) -> str:
    prefix = self._get_param("queryDefinitionNamePrefix") or ""
    found = [
        definition
        for definition in _store(self.logs_backend).values()
        if definition["name"].startswith(prefix)
    ]
    return json.dumps({"queryDefinitions": sorted(found, key=lambda d: d["name"])})


def delete_query_definition(self: LogsResponse) -> str:
    store = _store(self.logs_backend)
    query_id = self._get_param("queryDefinitionId")
    if query_id not in store:
        raise ResourceNotFoundException("The specified query definition does not exist.")
    del store[query_id]
    return json.dumps({"success": True})


def install() -> None:
    LogsResponse.put_query_definition = put_query_definition  # type: ignore[attr-defined]
    LogsResponse.describe_query_definitions = describe_query_definitions  # type: ignore[attr-defined]
    LogsResponse.delete_query_definition = delete_query_definition  # type: ignore[attr-defined]
