"""Renders for a newer lowest Python (3.12, 3.13) pass their static checks.

`test_samples.py` runs the whole `make quality` of the samples, which ask for
3.11; here the answers that change what ruff, mypy and pylint are told about
the target (`python_version`) are rendered and checked with `make lint
typecheck pylint`, on an interpreter of that version. Each test skips, saying
why, on a machine without one.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

from conftest import Render


def interpreter(version: str) -> str:
    """A working `python<version>`: $PYTHON312-style override, pyenv's, or on PATH."""
    candidates = [
        os.environ.get(f"PYTHON{version.replace('.', '')}", ""),
        *sorted(
            glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))
        ),
        shutil.which(f"python{version}") or "",
    ]
    wanted = str(tuple(int(part) for part in version.split(".")))
    for candidate in filter(None, candidates):
        answer = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if answer.returncode == 0 and answer.stdout.strip() == wanted:
            return candidate
    pytest.skip(f"no Python {version} here (set PYTHON{version.replace('.', '')} to one)")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("version", "answers"),
    [
        ("3.12", {"websocket_module": "enabled", "websocket_backplane": "memory"}),
        ("3.13", {"websocket_module": "enabled", "websocket_backplane": "redis"}),
        ("3.13", {"websocket_module": "disabled"}),
    ],
    ids=["3.12-memory", "3.13-redis", "3.13-no-module"],
)
def test_static_checks_pass_for_a_newer_lowest_python(
    render_project: Render, version: str, answers: dict[str, str]
) -> None:
    python = interpreter(version)
    project = render_project(python_version=version, **answers)
    env = os.environ | {"UV_PYTHON": python}
    checked = subprocess.run(
        ["make", "--no-print-directory", "install", "lint", "typecheck", "pylint"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout[-6000:] + checked.stderr[-4000:]
    assert f'requires-python = ">={version}"' in (project / "python" / "pyproject.toml").read_text()
