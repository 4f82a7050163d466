"""Write docs/rest.md, the REST reference, from docs/openapi.yaml.

    .venv/bin/python scripts/gen_rest_docs.py      # rewrites docs/rest.md

Everything about the API comes from the OpenAPI file: endpoints, parameters, request and response
fields with their constraints, status codes. The only text kept here are the examples (curl and
``te-intent``) per operation. tests/unit/test_docs.py fails when the committed page differs from what
this script writes, so edit docs/openapi.yaml (or the examples below) and run the script.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "docs" / "openapi.yaml"
OUTPUT = REPO / "docs" / "rest.md"
METHODS = ("get", "post", "put", "delete")

# Examples per operation: shell lines shown as they are; ``$TE`` is the controller's address.
EXAMPLES = {
    ("get", "/te/v1/intents"): [
        "curl -s $TE/te/v1/intents",
        "te-intent list",
    ],
    ("post", "/te/v1/intents"): [
        "curl -s -X POST $TE/te/v1/intents -H 'Content-Type: application/json' \\\n"
        "     -d '{\"name\": \"web\", \"src\": \"10.0.0.1\", \"dst\": \"10.0.0.12\", \"rate_bps\": 4e6,\n"
        "          \"priority\": 1, \"match\": {\"ip_proto\": 6, \"tp_dst\": 80}}'",
        "te-intent add --name web --src 10.0.0.1 --dst 10.0.0.12 --rate 4M --priority 1 --proto tcp --dport 80",
        "te-intent apply -f examples/b4-intents.yaml      # create or replace many, keyed by name",
    ],
    ("get", "/te/v1/intents/{id}"): [
        "curl -si $TE/te/v1/intents/1      # -i shows the ETag header: ETag: \"3\"",
        "te-intent show web      # by id or name, with its allocation",
    ],
    ("put", "/te/v1/intents/{id}"): [
        "curl -s -X PUT $TE/te/v1/intents/1 -H 'Content-Type: application/json' -H 'If-Match: \"3\"' \\\n"
        "     -d '{\"name\": \"web\", \"src\": \"10.0.0.1\", \"dst\": \"10.0.0.12\", \"rate_bps\": 6e6}'",
        "te-intent apply -f intents.yaml      # replaces the intents whose fields differ from the file",
    ],
    ("delete", "/te/v1/intents/{id}"): [
        "curl -s -X DELETE $TE/te/v1/intents/1 -H 'If-Match: \"3\"'      # 412 if it changed since version 3",
        "te-intent delete web      # sends If-Match with the version it read",
    ],
    ("post", "/te/v1/apply"): [
        "curl -s -X POST $TE/te/v1/apply -H 'Content-Type: application/json' \\\n"
        "     -d '{\"owner\": \"ops\", \"prune\": true, \"dry_run\": true, \"intents\": [\n"
        "          {\"name\": \"web\", \"src\": \"10.0.0.1\", \"dst\": \"10.0.0.12\", \"rate_bps\": 4e6}]}'",
        "te-intent apply -f intents.yaml --dry-run      # the plan; without --dry-run: the plan, then exactly it",
        "te-intent apply -f intents.yaml --prune --owner ops      # also deletes ops's intents the file lacks",
        "te-intent get -o yaml > intents.yaml      # the live intents as a file apply takes back unchanged",
    ],
    ("get", "/te/v1/groups"): [
        "curl -s $TE/te/v1/groups",
        "te-intent groups",
    ],
    ("post", "/te/v1/groups"): [
        "curl -s -X POST $TE/te/v1/groups -H 'Content-Type: application/json' \\\n"
        "     -d '{\"name\": \"tenant-a\", \"weight\": 3, \"rate_cap_bps\": 5e6}'",
        "te-intent group add tenant-a --weight 3 --cap 5M",
    ],
    ("get", "/te/v1/groups/{name}"): [
        "curl -s $TE/te/v1/groups/tenant-a",
    ],
    ("put", "/te/v1/groups/{name}"): [
        "curl -s -X PUT $TE/te/v1/groups/tenant-a -H 'Content-Type: application/json' \\\n"
        "     -d '{\"name\": \"tenant-a\", \"weight\": 3, \"rate_cap_bps\": 8e6}'",
        "te-intent group set tenant-a --cap 8M      # other fields keep their values",
    ],
    ("delete", "/te/v1/groups/{name}"): [
        "curl -s -X DELETE $TE/te/v1/groups/tenant-a      # 409 while intents name it",
        "te-intent group delete tenant-a",
    ],
    ("get", "/te/v1/classes"): [
        "curl -s $TE/te/v1/classes",
        "te-intent classes",
    ],
    ("get", "/te/v1/allocations"): [
        "curl -s $TE/te/v1/allocations",
        "te-intent allocations",
    ],
    ("get", "/te/v1/topology"): [
        "curl -s $TE/te/v1/topology",
    ],
    ("get", "/te/v1/links"): [
        "curl -s $TE/te/v1/links",
    ],
    ("get", "/te/v1/elephants"): [
        "curl -s $TE/te/v1/elephants      # with te_elephants = global-first-fit or max-min",
    ],
    ("get", "/te/v1/cluster"): [
        "curl -s $TE/te/v1/cluster        # with intent_store = etcd://...: members, leader, lease, store revision",
        "te-intent cluster",
    ],
    ("get", "/te/v1/openapi.json"): [
        "curl -s $TE/te/v1/openapi.json > openapi.json      # the contract of the running controller",
    ],
    ("get", "/metrics"): [
        "curl -s $TE/metrics | grep ^te_intent_allocated_bps",
    ],
    ("get", "/"): [
        "xdg-open $TE/      # or open http://127.0.0.1:8080/ in a browser",
    ],
}


class Spec:
    """The OpenAPI document with ``$ref`` resolution."""

    def __init__(self, data: dict):
        self.data = data

    def resolve(self, obj: dict) -> dict:
        while isinstance(obj, dict) and "$ref" in obj:
            node = self.data
            for part in obj["$ref"].lstrip("#/").split("/"):
                node = node[part]
            obj = node
        return obj

    def merged(self, schema: dict) -> dict:
        """``schema`` with ``allOf`` folded into one object schema (properties and required merged)."""
        schema = self.resolve(schema)
        if "allOf" not in schema:
            return schema
        out = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = self.merged(part)
            out["properties"].update(part.get("properties", {}))
            out["required"] += [r for r in part.get("required", []) if r not in out["required"]]
        return out


def ref_name(schema: dict) -> str | None:
    """The name of the schema ``schema`` refers to; None for an inline schema or a reference into one.

    >>> ref_name({"$ref": "#/components/schemas/Intent"})
    'Intent'
    >>> ref_name({"$ref": "#/components/schemas/IntentInput/properties/src"}) is None
    True
    """
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    name = ref.removeprefix("#/components/schemas/")
    return name if name != ref and "/" not in name else None


def link(name: str) -> str:
    return f"[{name}](#{name.lower()})"


def type_of(schema: dict) -> str:
    """A short type: ``string (ipv4)``, ``array of [Intent](#intent)``, ``number or null``.

    >>> type_of({"type": "array", "items": {"$ref": "#/components/schemas/Link"}})
    'array of [Link](#link)'
    >>> type_of({"type": "number", "nullable": True}), type_of({"type": "string", "format": "ipv4"})
    ('number or null', 'string (ipv4)')
    """
    name = ref_name(schema)
    if name:
        return link(name)
    kind = schema.get("type", "object" if "properties" in schema or "allOf" in schema else "any")
    if kind == "array":
        kind = f"array of {type_of(schema.get('items', {}))}"
    if schema.get("format"):
        kind += f" ({schema['format']})"
    if schema.get("nullable"):
        kind += " or null"
    return kind


def constraints(schema: dict) -> str:
    """Limits, default, enum and pattern of a field, as a short sentence.

    >>> constraints({"minimum": 0, "maximum": 7, "default": 0})
    '0 to 7; default 0'
    >>> constraints({"minimum": 0, "exclusiveMinimum": True, "maximum": 1000})
    '> 0, at most 1000'
    """
    parts = []
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if schema.get("exclusiveMinimum"):  # OpenAPI 3.0: a flag that makes minimum exclusive
        parts.append(f"> {_num(lo)}" + (f", at most {_num(hi)}" if hi is not None else ""))
    elif lo is not None and hi is not None:
        parts.append(f"{_num(lo)} to {_num(hi)}")
    elif hi is not None:
        parts.append(f"at most {_num(hi)}")
    elif lo is not None:
        parts.append(f"at least {_num(lo)}")
    if schema.get("maxLength") is not None:
        parts.append(f"at most {schema['maxLength']} characters")
    if schema.get("pattern"):
        parts.append(f"pattern `{schema['pattern']}`")
    if schema.get("enum"):
        parts.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if "default" in schema:
        parts.append(f"default {_num(schema['default'])}")
    if "example" in schema:
        parts.append(f"e.g. `{schema['example']}`")
    return "; ".join(parts)


def _num(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def field_rows(spec: Spec, schema: dict, prefix: str = "") -> list:
    """``[(field, type, required, description)]`` of an object schema; inline objects are flattened
    with dotted names (``solve.last_install.changes``)."""
    schema = spec.merged(schema)
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        full = prefix + name
        if ref_name(prop) is None:
            prop = spec.resolve(prop)  # a field shared with another schema (#/components/schemas/X/properties/y)
        description, limits = prop.get("description", "").strip(), constraints(spec.resolve(prop))
        text = f"{description} ({limits})" if description and limits else description or limits
        rows.append((full, type_of(prop), "yes" if name in required else "", text))
        if ref_name(prop) is None and prop.get("type") == "object" and "properties" in prop:
            rows += field_rows(spec, prop, full + ".")
        items = prop.get("items", {})
        if prop.get("type") == "array" and ref_name(items) is None and "properties" in items:
            rows += field_rows(spec, items, full + "[].")
    return rows


def fields_table(rows: list) -> list:
    out = ["| field | type | required | description |", "|---|---|---|---|"]
    out += [f"| `{f}` | {t} | {r} | {_cell(d)} |" for f, t, r, d in rows]
    return out


def body_lines(spec: Spec, content: dict) -> list:
    """What a request or response body is: a link to a named schema, or its fields."""
    out = []
    for mime, media in content.items():
        schema = media.get("schema", {})
        name = ref_name(schema)
        if name:
            out.append(f"`{mime}`: {link(name)}")
        elif spec.merged(schema).get("properties"):
            out.append(f"`{mime}`, an object:")
            out += [""] + fields_table(field_rows(spec, schema))
        else:
            out.append(f"`{mime}`: {type_of(schema)}")
    return out


def operation(spec: Spec, path: str, method: str, op: dict, path_params: list) -> list:
    out = [f"### {method.upper()} {path}", "", _cell(op.get("summary", "")) + "."]
    if op.get("description"):
        out += ["", op["description"].strip()]
    params = [spec.resolve(p) for p in path_params + op.get("parameters", [])]
    if params:
        out += ["", "Parameters:", ""]
        out += [f"- `{p['name']}` ({p['in']}, {type_of(p.get('schema', {}))}"
                f"{', required' if p.get('required') else ''}){': ' + p['description'] if p.get('description') else ''}"
                for p in params]
    if op.get("requestBody"):
        body = spec.resolve(op["requestBody"])
        out += ["", "Request body" + (" (required)" if body.get("required") else "") + ": "
                + " ".join(body_lines(spec, body.get("content", {})))]
    out += ["", "Responses:", ""]
    for status, response in op.get("responses", {}).items():
        name = response["$ref"].rsplit("/", 1)[-1] if "$ref" in response else None
        response = spec.resolve(response)
        line = f"- **{status}** {_cell(response.get('description', ''))}"
        if name:
            line += f" ([{name}](#errors))"
        headers = response.get("headers", {})
        if headers:
            line += "; headers: " + ", ".join(f"`{h}` ({_cell(v.get('description', ''))})" for h, v in headers.items())
        content = response.get("content")
        if content and not name:
            lines = body_lines(spec, content)
            if len(lines) == 1:
                line += f"; body {lines[0]}"
                out.append(line)
            else:
                out.append(line + "; body " + lines[0])
                out += ["  " + x if x else "" for x in lines[1:]]
            continue
        out.append(line)
    examples = EXAMPLES.get((method, path))
    if examples:
        out += ["", "```sh"] + examples + ["```"]
    return out + [""]


def render(data: dict) -> str:
    spec = Spec(data)
    info = data.get("info", {})
    server = (data.get("servers") or [{}])[0].get("url", "http://127.0.0.1:8080")
    out = [f"# REST reference: {info.get('title', 'API')} {info.get('version', '')}".rstrip(), "",
           "<!-- Generated by scripts/gen_rest_docs.py from docs/openapi.yaml; do not edit by hand. -->", "",
           info.get("description", "").strip(), "",
           f"Examples use `TE={server}` (`export TE={server}`); `te-intent` reads the same address from "
           "`--controller` or `$TE_CONTROLLER`. The machine-readable contract is "
           "[openapi.yaml](openapi.yaml).", "", "## Endpoints", "", "| method | path | what |", "|---|---|---|"]
    ops = []
    for path, item in data.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                ops.append((path, method, item[method], item.get("parameters", [])))
                anchor = re.sub(r"[^a-z0-9 _-]", "", f"{method} {path}".lower()).replace(" ", "-")  # GitHub's slugs
                out.append(f"| {method.upper()} | [`{path}`](#{anchor}) | {_cell(item[method].get('summary', ''))} |")
    out += ["", "## Operations", ""]
    for path, method, op, params in ops:
        out += operation(spec, path, method, op, params)
    out += ["## Schemas", ""]
    for name, schema in data.get("components", {}).get("schemas", {}).items():
        merged = spec.merged(schema)
        out += [f"### {name}", ""]
        description = schema.get("description") or merged.get("description")
        if "allOf" in schema:
            bases = [ref_name(p) for p in schema["allOf"] if ref_name(p)]
            if bases:
                out += [f"Extends {', '.join(link(b) for b in bases)}; all fields are listed below.", ""]
        if description:
            out += [_cell(description), ""]
        if merged.get("additionalProperties") is False:
            out += ["Unknown fields are refused (400).", ""]
        out += fields_table(field_rows(spec, schema)) + [""]
    out += ["## Errors", "", "Every error answer is an [Error](#error) object: `error` is one line naming the problem, "
            "`field` the offending field when there is one.", "", "| response | meaning |", "|---|---|"]
    for name, response in data.get("components", {}).get("responses", {}).items():
        out.append(f"| {name} | {_cell(response.get('description', ''))} |")
    statuses = sorted({status for _, _, op, _ in ops for status in op.get("responses", {}) if status[0] in "45"})
    out += ["", "Status codes used: " + ", ".join(statuses) + ". A method a path does not offer gets 405 with an "
            "`Allow` header; a path that does not exist gets 404.", "",
            "```sh", "$ curl -s -X POST $TE/te/v1/intents -H 'Content-Type: application/json' \\",
            "       -d '{\"src\": \"10.0.0.1\", \"dst\": \"10.0.0.2\", \"rate_bps\": -1}'",
            json.dumps(example_error()) + "   # (400)",
            "```", ""]
    return "\n".join(out)


def example_error() -> dict:
    """What the controller answers to a negative rate, from the validator it uses."""
    sys.path.insert(0, str(REPO))
    from controller.intents import IntentError, parse_intent

    try:
        parse_intent({"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": -1}, "example")
    except IntentError as exc:
        return {"error": str(exc), "field": exc.field}
    raise AssertionError("a negative rate was accepted")


def main() -> int:
    OUTPUT.write_text(render(yaml.safe_load(SPEC.read_text())))
    print(f"wrote {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
