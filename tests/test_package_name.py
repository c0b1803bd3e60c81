"""package_name is validated before anything is rendered, with a message saying why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, Render


def copier_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "copier"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("class", "is a Python keyword"),
        ("websockets", "would shadow a dependency of the project"),
        ("fastapi", "would shadow a dependency of the project"),
        ("os", "would shadow the standard library module"),
        ("asyncio", "would shadow the standard library module"),
        ("1abc", "is not a lowercase Python identifier"),
        ("My-App", "is not a lowercase Python identifier"),
        ("my app", "is not a lowercase Python identifier"),
        ("", "is not a lowercase Python identifier"),
    ],
)
def test_bad_package_names_are_refused(
    template: Path, tmp_path: Path, name: str, reason: str
) -> None:
    dest = tmp_path / "out"
    result = copier_cli(
        "copy",
        "--defaults",
        "--vcs-ref=HEAD",
        "--data",
        f"package_name={name}",
        str(template),
        str(dest),
    )
    assert result.returncode != 0
    assert f"package_name '{name}' {reason}" in result.stderr
    assert not (dest / "python").exists()


@pytest.mark.parametrize("name", ["billing", "orders_v2", "_internal"])
def test_good_package_names_are_accepted(render_project: Render, name: str) -> None:
    project = render_project(package_name=name)
    assert (project / "python" / "src" / name / "__init__.py").is_file()


def test_every_stdlib_module_is_reserved() -> None:
    questions = yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))
    reserved = set(yaml.safe_load(questions["stdlib_modules"]["default"]))
    public = {
        name for name in sys.stdlib_module_names if not name.startswith("_") and name.islower()
    }
    assert public <= reserved
