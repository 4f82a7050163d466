"""The REST API's contract, ``controller/openapi.yaml``, shipped inside the package.

Plain code (no Ryu): the controller serves :func:`load_spec` at ``GET /te/v1/openapi.json``, and tests
check real answers against it with :func:`validate_response`.

Examples
--------
>>> operation_for("GET", "/te/v1/intents/7")[0]
'/te/v1/intents/{id}'
>>> validate_response("GET", "/te/v1/intents/7", 404, {"error": "no intent with id '7'"})
>>> validate_response("DELETE", "/te/v1/intents/7", 204, None)
>>> validate_response("GET", "/te/v1/intents", 200, {"intents": [{"id": "7"}]})
Traceback (most recent call last):
...
AssertionError: GET /te/v1/intents -> 200: the body does not match the spec at $.intents[0]: \
'version' is a required property
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
JSON = "application/json"


@functools.lru_cache(maxsize=1)
def load_spec() -> dict:
    """The OpenAPI document as a dict (parsed once; callers must not change it)."""
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _path_patterns() -> tuple:
    """``(regex, template)`` for every path of the spec, literal paths before templated ones."""
    patterns = []
    for template in load_spec()["paths"]:
        parts = re.split(r"(\{[^}/]+\})", template)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        patterns.append((template.count("{"), re.compile(f"^{regex}$"), template))
    # A literal path wins over a template that also matches it (/a/b over /a/{id}).
    return tuple((regex, template) for _, regex, template in sorted(patterns, key=lambda p: p[0]))


def operation_for(method: str, path: str) -> tuple:
    """``(template, operation)`` of the spec that answers ``method`` on the concrete ``path``.

    The query string and a trailing slash are ignored, as the controller ignores them.

    >>> template, operation = operation_for("put", "/te/v1/intents/web/?x=1")
    >>> template, sorted(operation["responses"])[:3]
    ('/te/v1/intents/{id}', ['200', '400', '401'])
    """
    path = path.split("?", 1)[0]
    if path != "/":
        path = path.rstrip("/")
    for regex, template in _path_patterns():
        if regex.match(path):
            operation = load_spec()["paths"][template].get(method.lower())
            if operation is None:
                raise AssertionError(f"{method.upper()} {path}: the spec has no {method.upper()} on {template}")
            return template, operation
    raise AssertionError(f"{method.upper()} {path}: no path of the spec matches")


def _resolve(obj):
    # Local references only (#/components/...): the spec is one file.
    while isinstance(obj, dict) and "$ref" in obj:
        node = load_spec()
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def validate_response(method: str, path: str, status: int, body) -> None:
    """Check one answer of the controller against the spec; raise :class:`AssertionError` if it breaks it.

    Parameters
    ----------
    method, path : str
        The request: ``"GET"`` and a concrete path such as ``/te/v1/intents/7``.
    status : int
        The answer's status; the spec must declare it (or a ``default``) for the operation.
    body
        The decoded JSON body. Validated against the declared ``application/json`` schema; for an answer
        without content (204) or with another media type only the status is checked.
    """
    # Imported here: only tests validate, so a controller that serves the spec needs neither package.
    from jsonschema.exceptions import best_match
    from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

    where = f"{method.upper()} {path} -> {status}"
    _, operation = operation_for(method, path)
    responses = operation.get("responses", {})
    response = responses.get(str(status), responses.get(f"{str(status)[0]}XX", responses.get("default")))
    if response is None:
        raise AssertionError(f"{where}: status not declared (the spec has {', '.join(responses)})")
    media = _resolve(response).get("content", {}).get(JSON)
    if media is None:
        return
    # The whole components section goes along so that the schema's #/components/... references resolve.
    schema = {"components": load_spec().get("components", {}), "allOf": [media.get("schema", {})]}
    error = best_match(OAS30ReadValidator(schema, format_checker=oas30_format_checker).iter_errors(body))
    if error is not None:
        raise AssertionError(f"{where}: the body does not match the spec at {error.json_path}: {error.message}")
