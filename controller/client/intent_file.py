"""Intent files for ``te-intent apply``: YAML or JSON, validated in full before anything is sent."""
from __future__ import annotations

import yaml

from controller.intents import IntentError, parse_intent

from .errors import UsageError
from .formatting import parse_rate


def read_intent_file(path: str) -> list:
    """Validated intents from a YAML or JSON file; raises :class:`UsageError` naming the culprit."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)  # YAML is a superset of JSON: one reader for both
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is neither YAML nor JSON: {' '.join(str(exc).split())}") from None
    return parse_intent_list(data, path)


def parse_intent_list(data, source: str = "the file") -> list:
    """Validate the decoded content of an intent file: every intent valid and uniquely named.

    Examples
    --------
    >>> [i.name for i in parse_intent_list({"intents": [
    ...     {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "4M"}]})]
    ['a']
    >>> parse_intent_list([{"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": 1e6}])
    Traceback (most recent call last):
    ...
    controller.client.errors.UsageError: the file: intent #1 has no name (apply matches intents by name)
    """
    if isinstance(data, dict) and set(data) == {"intents"}:
        data = data["intents"]
    if data is None:
        data = []  # an empty file asks for no intents
    if not isinstance(data, list):
        raise UsageError(f"{source}: expected a list of intents or {{intents: [...]}}, not {type(data).__name__}")
    intents, seen = [], {}
    for n, body in enumerate(data, 1):
        where = f"{source}: intent #{n}"
        if isinstance(body, dict) and isinstance(body.get("name"), str):
            where += f" ({body['name']})"
        if isinstance(body, dict) and isinstance(body.get("rate_bps"), str):
            try:
                body = body | {"rate_bps": parse_rate(body["rate_bps"])}
            except ValueError as exc:
                raise UsageError(f"{where}: rate_bps: {exc}") from None
        try:
            intent = parse_intent(body, f"#{n}")
        except IntentError as exc:
            raise UsageError(f"{where}: {exc}") from None
        if intent.name is None:
            raise UsageError(f"{where} has no name (apply matches intents by name)")
        if intent.name in seen:
            raise UsageError(f"{where}: name {intent.name!r} is already used by intent #{seen[intent.name]}")
        seen[intent.name] = n
        intents.append(intent)
    return intents
