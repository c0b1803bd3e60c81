"""scripts/ci/check_contracts.py: the module's JSON Schemas checked without a render.

The script is run as `make test` runs it, on the real contracts, and on
copies of them broken one way at a time, to prove that each kind of fault
fails the check and is named in its output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from check_contracts import CONTRACTS, DRAFT_07

from conftest import REPO

SCRIPT = REPO / "scripts" / "ci" / "check_contracts.py"


def check(*args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def read(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def write(path: Path, schema: object) -> None:
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    """A copy of the real contracts, to break."""
    return Path(shutil.copytree(CONTRACTS, tmp_path / "contracts"))


def test_the_real_contracts_pass_by_default() -> None:
    result = check()
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(list(CONTRACTS.glob("*.json")))
    assert count > 0
    assert f"{count} contracts" in result.stdout


def test_the_copy_passes(contracts: Path) -> None:
    result = check(contracts)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_schema_the_metaschema_refuses_fails(contracts: Path) -> None:
    path = contracts / "client.room.join.json"
    schema = read(path)
    schema["properties"]["room"]["type"] = "text"  # no such JSON type
    write(path, schema)
    result = check(contracts)
    assert result.returncode == 1
    assert "client.room.join.json: not a valid Draft-07 schema" in result.stdout
    assert "properties.room.type" in result.stdout
    assert result.stdout.count("\n") == 1, "one line, for the one broken file"


def test_an_example_that_does_not_conform_fails(contracts: Path) -> None:
    path = contracts / "server.error.json"
    schema = read(path)
    schema["examples"][1]["payload"]["code"] = "NOT_A_CODE"
    write(path, schema)
    result = check(contracts)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("server.error.json: examples[1]: ")
    assert "'NOT_A_CODE' is not one of" in line
    assert "$.payload.code" in line


def test_an_example_nested_in_a_subschema_is_checked(contracts: Path) -> None:
    path = contracts / "client.room.join.json"
    schema = read(path)
    schema["properties"]["room"]["examples"] = ["lobby", "two words"]
    write(path, schema)
    result = check(contracts)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("client.room.join.json: #/properties/room examples[1]: ")
    assert "'two words' does not match" in line


def test_a_file_that_is_not_json_fails(contracts: Path) -> None:
    (contracts / "server.room.left.json").write_text('{"type": "object",}', encoding="utf-8")
    result = check(contracts)
    assert result.returncode == 1
    assert result.stdout.startswith("server.room.left.json: not JSON: ")


@pytest.mark.parametrize(
    "declared",
    [None, "https://json-schema.org/draft/2020-12/schema"],
    ids=["missing", "another-draft"],
)
def test_a_schema_that_does_not_declare_draft_07_fails(
    contracts: Path, declared: str | None
) -> None:
    path = contracts / "client-envelope.json"
    schema = read(path)
    del schema["$schema"]
    if declared is not None:
        schema["$schema"] = declared
    write(path, schema)
    result = check(contracts)
    assert result.returncode == 1
    assert result.stdout.startswith(f"client-envelope.json: $schema is {declared!r}, not ")


def test_a_folder_without_contracts_fails(tmp_path: Path) -> None:
    result = check(tmp_path)
    assert result.returncode == 1
    assert f"no contracts (*.json) in {tmp_path}" in result.stdout


ROOM = {
    "$schema": DRAFT_07,
    "$id": "urn:test:room",
    "definitions": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
    "$ref": "#/definitions/name",
}


def join_schema(ref: str, examples: list[object]) -> dict[str, Any]:
    return {
        "$schema": DRAFT_07,
        "$id": "urn:test:join",
        "type": "object",
        "properties": {"room": {"$ref": ref}},
        "required": ["room"],
        "examples": examples,
    }


@pytest.mark.parametrize("ref", ["urn:test:room", "room.json", "room.json#/definitions/name"])
def test_refs_between_files_resolve(tmp_path: Path, ref: str) -> None:
    write(tmp_path / "room.json", ROOM)
    write(tmp_path / "join.json", join_schema(ref, [{"room": "lobby"}]))
    result = check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 contracts, 1 example" in result.stdout

    write(tmp_path / "join.json", join_schema(ref, [{"room": "lobby"}, {"room": "Lobby 2"}]))
    result = check(tmp_path)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("join.json: examples[1]: ")
    assert "'Lobby 2' does not match '^[a-z]+$'" in line


def test_a_ref_to_nowhere_fails_even_without_examples(tmp_path: Path) -> None:
    write(tmp_path / "room.json", ROOM)
    write(tmp_path / "join.json", join_schema("rooms.json", []))
    result = check(tmp_path)
    assert result.returncode == 1
    assert "join.json: #/properties/room $ref 'rooms.json' resolves to nothing" in result.stdout


def test_two_files_with_one_id_fail(tmp_path: Path) -> None:
    write(tmp_path / "room.json", ROOM)
    write(tmp_path / "room2.json", ROOM)
    result = check(tmp_path)
    assert result.returncode == 1
    assert "room2.json: $id 'urn:test:room' is room.json's already" in result.stdout
