"""Check the WebSocket module's JSON Schemas ("contracts") straight from the template.

    python scripts/ci/check_contracts.py [FOLDER]

FOLDER defaults to the module's `contracts/` in `template/files/`; no render
is needed, since the schemas hold no Jinja. Every `*.json` in it must

- be a JSON object declaring `"$schema": "http://json-schema.org/draft-07/schema#"`,
- be valid against Draft-07's metaschema,
- have every `$ref` resolve, to a place in the same file or in another
  file of the folder, named by that file's `$id` or by its file name
  (nothing is fetched from the network), and
- have every example conform: each item of an `examples` keyword, at any
  depth, is validated against the schema that holds it, `$ref`s followed.

Every problem is printed on a line of its own, starting with the file's
name, and the exit status is 1; with none, one summary line and status 0.
The rendered project's own tests (`tests/websocket/test_contracts.py`) also
check the schemas against the Pydantic models, which needs a render.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft7Validator, SchemaError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT7

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = (
    REPO
    / "template"
    / "files"
    / "python"
    / "src"
    / "{{ package_name }}"
    / "{% if websocket_module == 'enabled' %}websocket{% endif %}"
    / "contracts"
)
DRAFT_07 = "http://json-schema.org/draft-07/schema#"

# Draft-07's keywords whose value is a schema, a list of schemas, or a map of names to schemas.
ONE_SCHEMA = (
    "additionalItems",
    "additionalProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
)
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SCHEMA_MAPS = ("definitions", "properties", "patternProperties", "dependencies")


def subschemas(
    schema: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """`schema` and every object schema inside it, each with its path as a tuple of keys.

    Boolean schemas are skipped (they hold no `$ref` and no `examples`), and so
    are the property-name lists of `dependencies`.
    """
    yield path, schema
    children: list[tuple[tuple[str, ...], Any]] = [
        ((keyword,), schema.get(keyword)) for keyword in (*ONE_SCHEMA, "items")
    ]
    for keyword in (*SCHEMA_LISTS, "items"):
        if isinstance(schema.get(keyword), list):
            children += [((keyword, str(i)), item) for i, item in enumerate(schema[keyword])]
    for keyword in SCHEMA_MAPS:
        if isinstance(schema.get(keyword), dict):
            children += [((keyword, name), item) for name, item in schema[keyword].items()]
    for child, value in children:
        if isinstance(value, dict):
            yield from subschemas(value, path + child)


def pointer(path: tuple[str, ...]) -> str:
    """The JSON pointer of `path` (RFC 6901 escapes), for a URI fragment."""
    return "".join("/" + quote(key.replace("~", "~0").replace("/", "~1"), safe="") for key in path)


def shown(path: tuple[str, ...]) -> str:
    """Where `path` is, as people read it: `#/properties/room `, or nothing for the root."""
    return "#/" + "/".join(path) + " " if path else ""


def load(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """The schema in `path` when it is a Draft-07 schema; otherwise None, its problem noted."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{path.name}: not JSON: {error}")
        return None
    if not isinstance(schema, dict):
        problems.append(f"{path.name}: not a JSON object but {type(schema).__name__}")
        return None
    declared = schema.get("$schema")
    if declared != DRAFT_07:
        problems.append(f"{path.name}: $schema is {declared!r}, not {DRAFT_07!r}")
        return None
    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as error:
        problems.append(
            f"{path.name}: not a valid Draft-07 schema: {error.message} (at {error.json_path})"
        )
        return None
    return schema


def registry_of(schemas: dict[str, dict[str, Any]], problems: list[str]) -> Registry[Any]:
    """Every schema, under its file name and under its `$id`; a repeated `$id` is a problem."""
    resources: dict[str, Resource[Any]] = {}
    owners: dict[str, str] = {}
    for name, schema in schemas.items():
        resource = DRAFT7.create_resource(schema)
        resources[name] = resource
        schema_id = schema.get("$id")
        if isinstance(schema_id, str):
            if schema_id in owners:
                problems.append(f"{name}: $id {schema_id!r} is {owners[schema_id]}'s already")
                continue
            owners[schema_id] = name
            resources[schema_id] = resource
    return Registry().with_resources(resources.items())


def base_uri(name: str, schema: dict[str, Any], registry: Registry[Any]) -> str:
    """The URI a file's schema is found under: its `$id` when that names it, else its name."""
    schema_id = schema.get("$id")
    if isinstance(schema_id, str) and registry.contents(schema_id) is schema:
        return schema_id
    return name


def check_file(
    name: str, schema: dict[str, Any], registry: Registry[Any], problems: list[str]
) -> int:
    """Check the `$ref`s and the examples of one schema; return how many examples it holds."""
    base = base_uri(name, schema, registry)
    resolver = registry.resolver()
    examples = 0
    for path, subschema in subschemas(schema):
        location = f"{base}#{pointer(path)}"
        ref = subschema.get("$ref")
        if isinstance(ref, str):
            try:
                resolver.lookup(location).resolver.lookup(ref)
            except Unresolvable:
                problems.append(f"{name}: {shown(path)}$ref {ref!r} resolves to nothing")
        found = subschema.get("examples")
        if not isinstance(found, list):
            continue
        # A schema of one `$ref` to the subschema: its own and other files' refs resolve
        # from where the subschema sits.
        validator = Draft7Validator(
            {"$ref": location}, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER
        )
        for index, example in enumerate(found):
            examples += 1
            try:
                error = best_match(validator.iter_errors(example))
            except Unresolvable:
                break  # a $ref to nowhere: the walk notes each one where it is
            if error is not None:
                problems.append(
                    f"{name}: {shown(path)}examples[{index}]: {error.message}"
                    f" (at {error.json_path})"
                )
    return examples


def check(folder: Path) -> tuple[list[str], str]:
    """The problems of the contracts in `folder`, and a summary for when there are none."""
    problems: list[str] = []
    files = sorted(folder.glob("*.json"))
    if not files:
        return [f"no contracts (*.json) in {folder}"], ""
    schemas = {}
    for path in files:
        schema = load(path, problems)
        if schema is not None:
            schemas[path.name] = schema
    registry = registry_of(schemas, problems)
    examples = sum(check_file(name, schema, registry, problems) for name, schema in schemas.items())
    plural = "" if examples == 1 else "s"
    return problems, f"{len(files)} contracts, {examples} example{plural} valid in {folder}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=CONTRACTS,
        help="the folder of *.json schemas (default: the WebSocket module's contracts)",
    )
    folder: Path = parser.parse_args(argv).folder
    problems, summary = check(folder)
    if problems:
        print("\n".join(sorted(problems)))
        print(f"contracts: {len(problems)} problem(s) in {folder}", file=sys.stderr)
        return 1
    print(f"contracts: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
