"""Render the template with the real Copier, from a snapshot of this working tree."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import copier
import pytest

REPO = Path(__file__).resolve().parents[1]

Render = Callable[..., Path]


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with a fixed identity; return its output."""
    return subprocess.run(
        ["git", "-c", "user.name=Template Tests", "-c", "user.email=tests@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def snapshot_working_tree(dest: Path) -> Path:
    """Commit this working tree's files (tracked or new, not ignored) into a new repo at `dest`.

    Copier renders a dirty repository by committing its changes into a fresh
    clone, for every render; rendering from one clean snapshot renders the same
    files many times faster.
    """
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "working tree snapshot")
    return dest


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template to render: a committed snapshot of this working tree."""
    return snapshot_working_tree(tmp_path_factory.mktemp("template"))


def render(template: Path, dest: Path, **answers: str) -> Path:
    """Render `template` into `dest` with `answers`, taking defaults for the rest.

    `vcs_ref="HEAD"` renders the snapshot's commit even once release tags exist
    (Copier would otherwise take the latest tag).
    """
    copier.run_copy(
        str(template),
        dest,
        data=answers,
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
    )
    return dest


@pytest.fixture
def render_project(template: Path, tmp_path: Path) -> Render:
    """Render into a fresh folder per call: `render_project(websocket_module="enabled")`."""
    counter = iter(range(1_000))

    def _render(**answers: str) -> Path:
        return render(template, tmp_path / f"project{next(counter)}", **answers)

    return _render


def text_files(root: Path) -> list[Path]:
    """Every rendered file, outside virtual environments and caches."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not any(part in {".venv", "__pycache__"} for part in path.parts)
    )
