"""What each answer combination renders, and what it leaves out."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from conftest import REPO, Render, render, text_files

COMBINATIONS = [
    {"websocket_module": "disabled", "python_version": version}
    for version in ("3.11", "3.12", "3.13")
] + [
    {"websocket_module": "enabled", "websocket_backplane": backplane, "python_version": version}
    for backplane, version in itertools.product(("memory", "redis"), ("3.11", "3.12", "3.13"))
]

# A Jinja opener left behind; a closing `}}` alone is ordinary Python (nested dicts).
JINJA_LEFTOVER = re.compile(r"\{\{|\{%|\{#")

ALWAYS = [
    "README.md",
    "AGENTS.md",
    "Makefile",
    "module_catalog.json",
    ".copier-answers.yml",
    ".gitignore",
    ".github/workflows/quality.yml",
    ".github/copilot-instructions.md",
    "docs/quickstart.md",
    "docs/upgrade-guide.md",
    "python/pyproject.toml",
    "python/src/my_service/__init__.py",
    "python/src/my_service/__main__.py",
    "python/src/my_service/settings.py",
    "python/src/my_service/server.py",
    "python/src/my_service/workers.py",
    "python/src/my_service/settings_check.py",
    "python/src/my_service/api/routes/me.py",
    "python/src/my_service/api/main.py",
    "python/src/my_service/api/routes/health.py",
    "python/src/my_service/auth/tokens.py",
    "python/src/my_service/auth/dependencies.py",
    "python/src/my_service/auth/cli.py",
    "python/src/my_service/auth/__main__.py",
    "python/tests/conftest.py",
    "python/tests/api/test_health.py",
    "python/tests/api/test_server.py",
    "python/tests/api/test_me.py",
    "python/tests/test_settings_check.py",
    "python/tests/auth/test_tokens.py",
]

WEBSOCKET_MODULE = [
    "docs/modules/websockets.md",
    "python/scripts/loadtest.py",
    "python/scripts/bench_heartbeat.py",
    "python/scripts/soak.py",
    "python/scripts/handshake_abuse.py",
    "python/scripts/measuring.py",
    "python/src/my_service/api/websocket_endpoints.py",
    *(
        f"python/src/my_service/websocket/{name}.py"
        for name in (
            "__init__",
            "backplane",
            "config",
            "connection",
            "decorators",
            "dependencies",
            "exceptions",
            "handlers",
            "handshake_limit",
            "heartbeat",
            "manager",
            "middleware",
            "models",
            "schemas",
            "session",
            "strict_json",
            "utils",
            "testing/__init__",
            "testing/assertions",
            "testing/client",
            "testing/plugin",
            "static_assets",
            "testing/server",
        )
    ),
    "python/src/my_service/websocket/contracts/client-envelope.json",
    "python/src/my_service/websocket/contracts/server.error.json",
    "python/src/my_service/websocket/static/client.js",
    "python/src/my_service/websocket/static/client.d.ts",
    "python/src/my_service/websocket/static/demo.html",
    "python/tests/websocket/browser/conftest.py",
    "python/tests/websocket/browser/harness.js",
    "python/tests/websocket/browser/test_browser_client.py",
    "python/tests/websocket/browser/test_client_types.py",
    "python/tests/websocket/conftest.py",
    "python/tests/websocket/test_config.py",
    "python/tests/websocket/test_contracts.py",
    "python/tests/websocket/test_health_and_instances.py",
    "python/tests/websocket/test_workers.py",
]

# Rendered with `websocket_backplane=redis` only.
REDIS_BACKPLANE = [
    "python/src/my_service/websocket/redis_backplane.py",
    "python/tests/websocket/backplane/test_across_instances.py",
    "python/tests/websocket/backplane/test_redis_backplane.py",
    # Several instances make sense only with the backplane: the deployment files.
    "Dockerfile",
    ".dockerignore",
    "compose.yaml",
    "nginx.conf",
    ".github/workflows/image.yml",
    "python/scripts/bench_workers.py",
]


def combination_id(answers: dict[str, str]) -> str:
    return "-".join(answers.values())


@pytest.fixture(scope="module", params=COMBINATIONS, ids=combination_id)
def combination(
    request: pytest.FixtureRequest, template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return render(template, tmp_path_factory.mktemp("combination"), **request.param)


def relative_files(project: Path) -> set[str]:
    return {path.relative_to(project).as_posix() for path in text_files(project)}


def test_no_template_syntax_is_left_in_names_or_contents(combination: Path) -> None:
    for path in text_files(combination):
        relative = path.relative_to(combination).as_posix()
        assert not JINJA_LEFTOVER.search(relative), relative
        assert not relative.endswith(".jinja"), relative
        text = path.read_text(encoding="utf-8")
        match = JINJA_LEFTOVER.search(text)
        assert match is None, f"{relative}: {text[max(0, match.start() - 40) : match.end() + 40]!r}"


def test_expected_files_are_rendered(combination: Path) -> None:
    files = relative_files(combination)
    assert set(ALWAYS) <= files
    answers = (combination / ".copier-answers.yml").read_text()
    if "websocket_module: enabled" in answers:
        assert set(WEBSOCKET_MODULE) <= files
    else:
        assert not set(WEBSOCKET_MODULE) & files
    if "websocket_backplane: redis" in answers:
        assert set(REDIS_BACKPLANE) <= files
    else:
        assert not set(REDIS_BACKPLANE) & files
        pyproject = (combination / "python" / "pyproject.toml").read_text()
        assert "redis" not in pyproject
        assert not any("redis" in path for path in files)


def test_disabled_module_leaves_no_trace(render_project: Render) -> None:
    project = render_project(websocket_module="disabled")
    empty = [path for path in project.rglob("*") if path.is_dir() and not any(path.iterdir())]
    assert not empty, f"empty folders left by switched-off files: {empty}"
    for path in text_files(project):
        relative = path.relative_to(project).as_posix()
        assert "websocket" not in relative.lower(), relative
        if relative in {"module_catalog.json", ".copier-answers.yml"}:
            continue  # these two say, on purpose, that the module is off
        text = path.read_text(encoding="utf-8").lower()
        # The module's name, its URLs, its settings (WS_*) and helpers (ws_url).
        trace = re.search(r"websocket|ws://|\bws_", text)
        assert trace is None, f"{relative} mentions {trace[0]!r}"


def test_websocket_module_sources_hold_no_template_logic() -> None:
    """The module's files read as plain Python: no Jinja inside them in the template."""
    module_dir = next((REPO / "template" / "files" / "python" / "src").glob("*/*websocket*"))
    sources = list(module_dir.rglob("*.py.jinja"))
    assert sources
    for path in sources:
        assert not JINJA_LEFTOVER.search(path.read_text(encoding="utf-8")), path.name
