"""Each Copier question has its effect on the rendered project."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import Render


def pyproject(project: Path) -> dict:
    return tomllib.loads((project / "python" / "pyproject.toml").read_text(encoding="utf-8"))


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def test_defaults_render_a_service_named_after_the_project(render_project: Render) -> None:
    project = render_project()
    assert (project / "python" / "src" / "my_service" / "api" / "main.py").is_file()
    meta = pyproject(project)["project"]
    assert meta["name"] == "my-service"
    assert meta["requires-python"] == ">=3.11"
    assert (project / "README.md").read_text(encoding="utf-8").startswith("# My Service\n")


def test_package_name_is_derived_from_the_project_name(render_project: Render) -> None:
    project = render_project(project_name="Fancy API-Server 2")
    assert (project / "python" / "src" / "fancy_api_server_2").is_dir()
    assert answers(project)["package_name"] == "fancy_api_server_2"


def test_text_answers_reach_the_metadata(render_project: Render) -> None:
    project = render_project(
        project_name="Ledger",
        package_name="ledger_api",
        description="Keeps the books",
        author_name="Ada Lovelace",
        author_email="ada@example.org",
    )
    meta = pyproject(project)["project"]
    assert meta["name"] == "ledger-api"
    assert meta["description"] == "Keeps the books"
    assert meta["authors"] == [{"name": "Ada Lovelace", "email": "ada@example.org"}]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Ledger\n\nKeeps the books\n")
    assert "python/src/ledger_api/" in readme
    assert "make token USER=alice" in readme
    # make token runs the package's own token command.
    assert "python -m ledger_api.auth token" in (project / "Makefile").read_text(encoding="utf-8")


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_python_version_sets_the_floor_everywhere(render_project: Render, version: str) -> None:
    project = render_project(python_version=version)
    config = pyproject(project)
    assert config["project"]["requires-python"] == f">={version}"
    assert config["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert config["tool"]["mypy"]["python_version"] == version
    assert config["tool"]["pylint"]["main"]["py-version"] == version
    workflow = yaml.safe_load(
        (project / ".github" / "workflows" / "quality.yml").read_text(encoding="utf-8")
    )
    setup = next(
        s for s in workflow["jobs"]["quality"]["steps"] if "setup-python" in s.get("uses", "")
    )
    assert setup["with"]["python-version"] == version


def dependency_names(project: Path) -> set[str]:
    names = set()
    for requirement in pyproject(project)["project"]["dependencies"]:
        name = requirement.split(";")[0]
        for separator in "<>=!~[ ":
            name = name.split(separator)[0]
        names.add(name.lower())
    return names


@pytest.mark.parametrize(
    ("module", "backplane", "expected_extra"),
    [
        ("disabled", None, set()),
        ("enabled", "memory", {"websockets", "jsonschema", "prometheus-client"}),
        ("enabled", "redis", {"websockets", "jsonschema", "prometheus-client", "redis"}),
    ],
)
def test_module_answers_choose_the_dependencies(
    render_project: Render, module: str, backplane: str | None, expected_extra: set[str]
) -> None:
    data = {"websocket_module": module}
    if backplane:
        data["websocket_backplane"] = backplane
    project = render_project(**data)
    base = {"fastapi", "uvicorn", "pydantic", "pydantic-settings", "python-jose"}
    assert dependency_names(project) == base | expected_extra


@pytest.mark.parametrize("module", ["enabled", "disabled"])
def test_module_catalog_lists_the_module_state(render_project: Render, module: str) -> None:
    project = render_project(websocket_module=module)
    catalog = json.loads((project / "module_catalog.json").read_text(encoding="utf-8"))
    assert catalog["modules"] == [
        {
            "name": "websocket",
            "enabled": module == "enabled",
            "description": catalog["modules"][0]["description"],
        }
    ]
    assert catalog["modules"][0]["description"].strip()


def test_answers_file_records_answers_for_copier_update(
    render_project: Render, template: Path
) -> None:
    project = render_project(websocket_module="enabled", websocket_backplane="redis")
    recorded = answers(project)
    assert recorded["_src_path"] == str(template)
    assert recorded["websocket_module"] == "enabled"
    assert recorded["websocket_backplane"] == "redis"
    # Validation lists are not questions and never reach the answers file.
    assert not {"python_keywords", "stdlib_modules", "dependency_modules"} & recorded.keys()


def test_backplane_is_not_asked_without_the_module(render_project: Render) -> None:
    assert "websocket_backplane" not in answers(render_project(websocket_module="disabled"))


def test_cli_renders_with_only_the_module_answer_and_no_trust(
    template: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "service"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "copier"),
            "copy",
            "--defaults",
            "--vcs-ref=HEAD",
            "--data",
            "websocket_module=enabled",
            str(template),
            str(dest),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (dest / "python" / "src" / "my_service" / "websocket" / "config.py").is_file()
