"""Render the template with the real Copier, from this working tree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import copier
import pytest

REPO = Path(__file__).resolve().parents[1]

Render = Callable[..., Path]


def render(dest: Path, **answers: str) -> Path:
    """Render the template into `dest` with `answers`, taking defaults for the rest.

    `vcs_ref="HEAD"` renders this working tree, uncommitted changes included, even
    once the repository has release tags (Copier would otherwise take the latest).
    """
    copier.run_copy(
        str(REPO),
        dest,
        data=answers,
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
    )
    return dest


@pytest.fixture
def render_project(tmp_path: Path) -> Render:
    """Render into a fresh folder per call: `render_project(websocket_module="enabled")`."""
    counter = iter(range(1_000))

    def _render(**answers: str) -> Path:
        return render(tmp_path / f"project{next(counter)}", **answers)

    return _render


def text_files(root: Path) -> list[Path]:
    """Every rendered file, text or not, outside virtual environments and caches."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not any(part in {".venv", "__pycache__"} for part in path.parts)
    )
