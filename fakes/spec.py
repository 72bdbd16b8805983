"""Vendor API descriptions (OpenAPI 3.0, Swagger 2.0) from specs/, as cached jsonschema checks."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import cache, cached_property
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT4
from werkzeug.datastructures import MultiDict

SPECS_DIR = Path(__file__).resolve().parents[1] / "specs"
NO_BODY = object()  # an empty request or response body, distinct from a JSON null
_URI = "urn:spec"  # the document's own URI: every "#/..." $ref resolves against it
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# OpenAPI 3.0: header parameters with these names "SHALL be ignored" (HTTP itself carries them);
# PagerDuty declares a required Content-Type on every GET, which no client sends.
_HTTP_HEADERS = {"accept", "content-type", "authorization"}
# Swagger 2.0 non-body parameters carry their schema inline, among these keys.
_SCHEMA_KEYS = {"type", "format", "items", "enum", "default", "pattern", "multipleOf"}
_SCHEMA_KEYS |= {f"{a}{b}" for a in ("min", "max") for b in ("imum", "Length", "Items")}
_SCHEMA_KEYS |= {"exclusiveMinimum", "exclusiveMaximum", "uniqueItems"}


Patches = tuple[tuple[tuple[str, ...], Any], ...]  # ((keys from the root, new value), ...)


def load(source: str | Path, patches: Patches = ()) -> Spec:
    """A spec file, by name in specs/ or by path; parsed and compiled once per process."""
    return _load(str(source), json.dumps(patches))


@cache
def _load(source: str, patches: str) -> Spec:
    return Spec(json.loads((SPECS_DIR / source).read_text()), json.loads(patches))


def _patched(doc: dict, patches) -> dict:
    """A copy of doc with each value set at its key path (adding or replacing)."""
    doc = copy.deepcopy(doc)
    for keys, value in patches:
        node = doc
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return doc


def _normalize(node: Any) -> Any:
    """Rewrite, bottom-up, what the vendor dialects say that JSON Schema draft 4 reads otherwise."""
    if isinstance(node, list):
        return [_normalize(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _normalize(value) for key, value in node.items()}
    if isinstance(node.get("items"), list):
        # Slack writes unions as a list of `items` ("one of these"), even on non-arrays.
        union = {"anyOf": node.pop("items")}
        node.update({"items": union} if node.get("type") == "array" else union)
    if node.get("nullable") is True:  # OpenAPI 3.0 `nullable` is not JSON Schema
        del node["nullable"]
        if "type" not in node or {"$ref", "allOf", "anyOf", "oneOf"} & node.keys():
            return {"anyOf": [{"type": "null"}, node]}
        node["type"] = [*_listed(node["type"]), "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
    return node


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _pointer(*parts: str) -> str:
    """A JSON pointer from raw keys (escaping "~" and "/")."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def compile_template(template: str, greedy: frozenset[str] = frozenset()) -> re.Pattern:
    """Regex for a path template: `{name}` matches one segment, or the rest if `name` is greedy."""

    def param(match: re.Match) -> str:
        return "(.+)" if match[1] in greedy else "([^/]+)"

    return re.compile(re.sub(r"\\\{([^}]+)\\\}", param, re.escape(template)) + "$")


def names(template: str) -> list[str]:
    """Parameter names of a path template, in order."""
    return re.findall(r"\{([^}]+)\}", template)


def by_specificity(templates: list[str]) -> list[str]:
    """Literal segments win: /schedules/preview is tried before /schedules/{id}."""
    return sorted(templates, key=lambda t: (t.count("{"), -len(t)))


class Spec:
    """One API description: its operations, matched by method and path, with their checks."""

    def __init__(self, doc: dict, patches: Patches = ()):
        self.doc = _normalize(_patched(doc, patches))
        self.swagger = "swagger" in self.doc
        self.registry = Registry().with_resource(_URI, DRAFT4.create_resource(self.doc))
        self.operations = {
            (method.upper(), template): Operation(self, method.upper(), template)
            for template, item in self.doc["paths"].items()
            for method in item
            if method in _METHODS
        }
        self._matchers: dict[frozenset[str], list] = {}
        self._validators: dict[str, Draft4Validator] = {}
        self._seen: dict[bytes, list[str]] = {}  # digest of (pointer, instance) -> its errors

    @property
    def base_path(self) -> str:
        """Path prefix of the API on its server (Swagger `basePath`, OpenAPI `servers[0]`)."""
        if self.swagger:
            return self.doc.get("basePath", "").rstrip("/")
        servers = self.doc.get("servers") or [{"url": "/"}]
        return urlsplit(servers[0]["url"]).path.rstrip("/")

    def match(self, method: str, path: str, greedy=frozenset()) -> tuple[Operation, dict] | None:
        """The operation for a request path below base_path, and its path parameters."""
        if greedy not in self._matchers:
            templates = by_specificity(list({t for _, t in self.operations}))
            self._matchers[greedy] = [(t, compile_template(t, greedy)) for t in templates]
        for template, regex in self._matchers[greedy]:
            if (op := self.operations.get((method, template))) and (m := regex.match(path)):
                return op, dict(zip(names(template), m.groups(), strict=True))
        return None

    def resolve(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow local $refs of non-schema objects (parameters, request bodies, responses)."""
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.doc
            for part in pointer.split("/")[1:]:
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def errors(self, pointer: str, instance: Any) -> list[str]:
        """What is wrong with `instance` per the schema at `pointer` (validator compiled once)."""
        # jsonschema takes ~0.3 ms per PagerDuty user, and benchmarks repeat the same bodies.
        key = hashlib.blake2b(f"{pointer}\0{json.dumps(instance, sort_keys=True)}".encode())
        if (known := self._seen.get(key.digest())) is not None:
            return known
        validator = self._validators.get(pointer)
        if validator is None:
            ref = {"$ref": f"{_URI}#{quote(pointer, safe='/~')}"}
            validator = self._validators[pointer] = Draft4Validator(ref, registry=self.registry)
        if len(self._seen) > 10_000:
            self._seen.clear()  # bounded memory; the working set is refilled quickly
        found = self._seen[key.digest()] = schema_errors(validator, instance)
        return found


def schema_errors(validator: Draft4Validator, instance: Any, limit: int = 3) -> list[str]:
    """Readable errors: message, where in the instance, and for unions the closest branch."""
    out = []
    for error in islice(validator.iter_errors(instance), limit):
        alternatives = len({e.relative_schema_path[0] for e in error.context})
        error = _likeliest(error)
        message = error.message if len(error.message) < 300 else error.message[:300] + "..."
        closest = f", in the closest of {alternatives} alternatives" if alternatives else ""
        out.append(f"{message} (at {error.json_path}{closest})")
    return out


def _likeliest(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf, the first error of the alternative that fails least."""
    while error.context:
        branches: dict[Any, list] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        error = min(branches.values(), key=len)[0]
    return error


class Param:
    """One declared parameter: where it goes, whether required, and how to check its text."""

    def __init__(self, spec: Spec, node: dict, pointer: str):
        self.spec, self.pointer = spec, pointer
        self.name, self.loc = node["name"], node["in"]
        self.required = bool(node.get("required")) or self.loc == "path"
        if spec.swagger:
            self.schema = {k: v for k, v in node.items() if k in _SCHEMA_KEYS}
            self.explode = node.get("collectionFormat") == "multi"
        else:
            self.schema, _ = spec.resolve(node.get("schema", {}), "")
            self.explode = node.get("explode", node.get("style", "form") == "form")

    @cached_property
    def _validator(self) -> Draft4Validator:
        return Draft4Validator(self.schema)  # Swagger 2.0 parameters hold no $ref

    def errors(self, texts: list[str]) -> list[str]:
        value = self.coerce(texts)
        if self.spec.swagger:
            return schema_errors(self._validator, value)
        return self.spec.errors(self.pointer + "/schema", value)

    def coerce(self, texts: list[str]) -> Any:
        """The typed value of query/path/header text, so that `type` checks mean something."""
        if self.schema.get("type") != "array":
            return _scalar(texts[-1], self.schema.get("type"))
        if len(texts) == 1 and not self.explode:
            texts = texts[0].split(",")
        item_type = self.schema.get("items", {}).get("type")
        return [_scalar(text, item_type) for text in texts]


def _scalar(text: str, kind: str | None) -> Any:
    if kind == "integer" and re.fullmatch(r"-?\d+", text):
        return int(text)
    if kind == "number" and re.fullmatch(r"-?\d+(\.\d*)?([eE][-+]?\d+)?", text):
        return float(text)
    if kind == "boolean":  # slack_sdk sends booleans as 1/0
        return {"true": True, "false": False, "1": True, "0": False}.get(text.lower(), text)
    return text


class Operation:
    """One method on one path template, with its request and response checks."""

    def __init__(self, spec: Spec, method: str, template: str):
        self.spec, self.method, self.template = spec, method, template
        self.pointer = _pointer("paths", template, method.lower())
        self.node = spec.doc["paths"][template][method.lower()]
        self.params: dict[tuple[str, str], Param] = {}
        path_item = spec.doc["paths"][template]
        for where, item in ((_pointer("paths", template), path_item), (self.pointer, self.node)):
            for i, raw in enumerate(item.get("parameters", [])):
                node, pointer = spec.resolve(raw, f"{where}/parameters/{i}")
                self.params[node["in"], node["name"]] = Param(spec, node, pointer)  # op wins

    def __repr__(self) -> str:
        return f"{self.method} {self.template}"

    def check_request(
        self, req, path_params: dict, ignore=frozenset(), anywhere: bool = False
    ) -> list[str]:
        """Problems with a request: parameters (declared, required, typed) and body.

        With `anywhere` (Slack), query and formData arguments may come in the query string, a form
        body or a JSON body alike; JSON members are checked for presence only (native types).
        """
        texts = {"path": MultiDict(path_params), "header": req.headers}
        texts["query"], texts["formData"] = req.query, req.form
        if anywhere:
            merged = MultiDict([*req.query.items(multi=True), *req.form.items(multi=True)])
            texts["query"] = texts["formData"] = merged
        loose = set(req.json) if isinstance(req.json, dict) and self._json_args(anywhere) else set()
        problems = []
        for (loc, name), param in self.params.items():
            if (loc, name) in ignore or loc not in texts or self._http_header(param):
                continue
            given = texts[loc].getlist(name)
            if given:
                problems += [f"{loc} parameter {name!r}: {e}" for e in param.errors(given)]
            elif param.required and not (loc in ("query", "formData") and name in loose):
                problems.append(f"missing required {loc} parameter {name!r}")
        problems += self._undeclared(req, loose, ignore, anywhere)
        return problems + self._check_body(req, anywhere)

    def _http_header(self, param: Param) -> bool:
        oas3_header = not self.spec.swagger and param.loc == "header"
        return oas3_header and param.name.lower() in _HTTP_HEADERS

    def _json_args(self, anywhere: bool) -> bool:
        """A JSON body holds arguments (not a document) for Slack, or for Swagger formData."""
        return anywhere or any(loc == "formData" for loc, _ in self.params)

    def _undeclared(self, req, loose: set, ignore, anywhere: bool) -> list[str]:
        """Arguments the operation does not declare (misspelt, or invented by the caller)."""
        declared = {loc: {n for at, n in self.params if at == loc} for loc in ("query", "formData")}
        form = set(req.form) | loose if self._json_args(anywhere) else set()
        given = {"query": set(req.query), "formData": form}
        if anywhere:  # one pool of arguments, wherever they came from
            given = {"argument": given["query"] | form}
            declared["argument"] = declared["query"] | declared["formData"]
        skip = {name for _, name in ignore}
        return [
            f"undeclared {loc if anywhere else loc + ' parameter'} {name!r}"
            for loc, names in given.items()
            for name in sorted(names - declared[loc] - skip)
        ]

    def _check_body(self, req, anywhere: bool) -> list[str]:
        if self.spec.swagger:
            return self._check_swagger_body(req, anywhere)
        at = self.pointer + "/requestBody"
        node, pointer = self.spec.resolve(self.node.get("requestBody"), at)
        if not req.data:
            return ["missing required request body"] if node and node.get("required") else []
        if node is None:
            return [] if anywhere else ["operation takes no request body"]
        content = node.get("content", {})
        media = req.content_type if req.content_type in content else "*/*"
        if media not in content:
            return [f"content type {req.content_type!r} not accepted ({', '.join(content)})"]
        return self._body_errors(req, _pointer("content", media, "schema"), pointer)

    def _check_swagger_body(self, req, anywhere: bool) -> list[str]:
        body = next((p for (loc, _), p in self.params.items() if loc == "body"), None)
        if body is None:
            takes_args = self._json_args(anywhere)  # then the body holds formData arguments
            return [] if takes_args or not req.data else ["operation takes no request body"]
        if not req.data:
            return ["missing required request body"] if body.required else []
        return self._body_errors(req, "/schema", body.pointer)

    def _body_errors(self, req, schema_path: str, pointer: str) -> list[str]:
        if req.json_error:
            return [f"request body is not JSON: {req.json_error}"]
        value = req.json if req.json is not None else req.form.to_dict()
        return [f"request body: {e}" for e in self.spec.errors(pointer + schema_path, value)]

    def check_response(self, key: str, body: Any) -> list[str]:
        """Problems with a response: `key` (a status, or "default") documented, body valid."""
        responses = self.node.get("responses", {})
        found = next((k for k in (key, f"{key[0]}XX", "default") if k in responses), None)
        if found is None:
            return [f"response status {key} not documented (only {', '.join(responses)})"]
        node, pointer = self.spec.resolve(responses[found], _pointer(*self._at(), found))
        schema = self._response_schema(node)
        if schema is None:
            return [] if body is NO_BODY else [f"response {found} documents no body, got one"]
        if body is NO_BODY:
            return [f"response {found} documents a body, got none"]
        errors = self.spec.errors(pointer + schema, body)
        return [f"response {found} body: {e}" for e in errors]

    def _at(self) -> list[str]:
        return ["paths", self.template, self.method.lower(), "responses"]

    def _response_schema(self, node: dict) -> str | None:
        """Pointer suffix of the JSON schema a response documents, if any."""
        if self.spec.swagger:
            return "/schema" if "schema" in node else None
        media = next((m for m in node.get("content", {}) if "json" in m), None)
        if media is None or "schema" not in node["content"][media]:
            return None
        return _pointer("content", media, "schema")
