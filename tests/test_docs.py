"""The rendered docs, followed literally from a plain shell.

A plain shell has Python, pip, make, git and curl, no `uv` on PATH and no
virtual environment active. Every `bash` block of the rendered README and
docs is run as written, in order, from the project root, with a `make run` of
a block serving in the background the way a second terminal would; the only
change is the port, a free one instead of 8000, so that runs side by side do
not collide. Every Python example of the docs is put where the docs say, and
must pass the project's linters, type checks and pylint, and answer requests.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from conftest import REPO, git, render, snapshot_working_tree

FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$", re.DOTALL | re.MULTILINE)
JWT = re.compile(r"[\w-]+\.[\w-]+\.[\w-]+")
HEREDOC = re.compile(r"<<'PY'\n(?P<body>.*?)^PY$", re.DOTALL | re.MULTILINE)
DOCS_ORDER = ["README.md", "docs/quickstart.md", "docs/modules/websockets.md"]
UPGRADE_GUIDE = "docs/upgrade-guide.md"
DOCS_PORT = "8000"
STARTUP_TIMEOUT = 60.0
# `make test` and `make quality` of the module's renders are run on every
# sample by test_samples.py; here they run for the render without the module.
EXPENSIVE = {"make test", "make quality"}


def code_blocks(path: Path, language: str) -> list[str]:
    """The bodies of the fenced blocks of `language` in the Markdown file `path`."""
    text = path.read_text(encoding="utf-8")
    return [m["body"] for m in FENCE.finditer(text) if m["lang"] == language]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def plain_environment(home: Path) -> dict[str, str]:
    """This environment as a new shell would have it: no uv, no active virtual environment.

    The template's own test run puts its `.venv/bin` first on PATH and exports
    `UV`; neither is there for someone who has just rendered a project.
    """
    drop = {"VIRTUAL_ENV", "UV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT"}
    drop |= {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}  # from `make test`
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env = {key: value for key, value in env.items() if not key.startswith(("AUTH_", "WS_"))}
    path = [
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not Path(entry, "uv").exists() and not entry.startswith(str(REPO))
    ]
    env["PATH"] = os.pathsep.join(path)
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = "Docs Reader"
        env[f"GIT_{role}_EMAIL"] = "reader@example.com"
    env["GIT_CONFIG_GLOBAL"] = str(home / "gitconfig")
    (home / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    return env


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: the server checks signatures, this checks content."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def system_python_packages(env: dict[str, str]) -> str:
    """What the shell's own `python3` has installed."""
    return subprocess.run(
        ["python3", "-m", "pip", "freeze", "--all"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


class Reader:
    """Someone at a plain shell in the project root, following the docs."""

    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.project = project
        self.port = str(free_port())
        self.env = {**env, "PORT": self.port}
        self.server: subprocess.Popen[str] | None = None
        self.server_log = project.parent / f"{project.name}-server.log"
        self.skipped: list[str] = []
        self.ran_expensive: set[str] = set()

    def localise(self, command: str) -> str:
        return command.replace(f"127.0.0.1:{DOCS_PORT}", f"127.0.0.1:{self.port}")

    def shell(self, script: str, timeout: float = 900) -> str:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.localise(script)],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{script}\nfailed ({result.returncode}):\n{output[-5000:]}"
        return result.stdout

    def start_server(self) -> None:
        """`make run`, as in a terminal of its own: stop the one before, wait for /health."""
        self.stop_server()
        log = self.server_log.open("a", encoding="utf-8")
        self.server = subprocess.Popen(  # pylint: disable=consider-using-with
            ["bash", "-c", "make run"],
            cwd=self.project,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1.0)
                return
            except httpx.TransportError:
                failed = self.server.poll() is not None or time.monotonic() > deadline
                if failed:
                    self.stop_server()
                    pytest.fail(f"make run did not serve:\n{self.server_log.read_text()}")
                time.sleep(0.2)

    def stop_server(self) -> None:
        if self.server is None:
            return
        if self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
        self.server = None

    def follow(self, block: str, expensive: bool) -> str:
        """Run one bash block; `make run` (alone or in an `&&` chain) serves in the background.

        With `expensive` false, `make test` and `make quality` are left out;
        with it true, each runs once per reader.
        """
        output = []
        pending: list[str] = []
        for line in block.splitlines(keepends=True):
            command = line.split("#", 1)[0].strip()
            parts = [part.strip() for part in command.split("&&")]
            if "make run" not in parts and not EXPENSIVE & set(parts):
                pending.append(line)
                continue
            if pending:
                output.append(self.shell("".join(pending)))
                pending = []
            for part in parts:
                if part == "make run":
                    self.start_server()
                elif part in EXPENSIVE and (not expensive or part in self.ran_expensive):
                    self.skipped.append(part)
                else:
                    self.ran_expensive.update({part} & EXPENSIVE)
                    output.append(self.shell(part))
        if "".join(pending).strip():
            output.append(self.shell("".join(pending)))
        return "".join(output)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repository of this module's own: the upgrade guide commits to it."""
    return snapshot_working_tree(tmp_path_factory.mktemp("docs-template"))


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Reader]:
    home = tmp_path / "home"
    home.mkdir()
    reader = Reader(tmp_path / "my-service", plain_environment(home))
    yield reader
    reader.stop_server()


@pytest.mark.slow
@pytest.mark.parametrize("module", ["enabled", "disabled"])
def test_every_documented_command_works_from_a_plain_shell(
    module: str, template: Path, reader: Reader
) -> None:
    assert shutil.which("uv", path=reader.env["PATH"]) is None
    before = system_python_packages(reader.env)
    render(template, reader.project, websocket_module=module)
    project = reader.project
    outputs: dict[str, list[str]] = {}
    for name in DOCS_ORDER:
        if (project / name).is_file():
            blocks = code_blocks(project / name, "bash")
            outputs[name] = [reader.follow(block, module == "disabled") for block in blocks]
    reader.stop_server()

    # make install: a pinned uv in .tools/, nothing in the shell's own Python.
    assert (project / ".tools" / "bin" / "uv").is_file()
    pinned = re.search(r"^UV_VERSION := (\S+)$", (project / "Makefile").read_text(), re.M)
    assert pinned is not None
    version = reader.shell(".tools/bin/uv --version")
    assert version.split()[1] == pinned[1]
    assert system_python_packages(reader.env) == before
    assert shutil.which("uv", path=reader.env["PATH"]) is None

    readme = "".join(outputs["README.md"])
    me = json.loads(readme.strip().splitlines()[-1])
    assert (me["sub"], me["scopes"]) == ("alice", [])
    # make token USER=alice SCOPES=admin TTL=600, and SCOPES with two scopes.
    (token,) = [out.strip() for out in outputs["README.md"] if JWT.fullmatch(out.strip())]
    claims = token_claims(token)
    assert (claims["sub"], claims["scopes"], claims["exp"] - claims["iat"]) == (
        "alice",
        ["admin"],
        600,
    )
    claims = token_claims(reader.shell('make token USER=bob SCOPES="ops admin"').strip())
    assert (claims["sub"], claims["scopes"]) == ("bob", ["admin", "ops"])
    quickstart = "".join(outputs["docs/quickstart.md"])
    assert '{"status":"ok"}' in quickstart  # exactly as the README and the quickstart show it
    assert '"sub":"alice"' in quickstart and '"scopes":["admin"]' in quickstart
    (shown,) = code_blocks(project / "README.md", "text")
    command, *expected = shown.splitlines()
    assert command.startswith("$ ")
    refused = subprocess.run(
        ["bash", "-c", command[2:]],
        cwd=project,
        env=reader.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert [line for line in refused.stderr.splitlines() if line in expected] == expected

    if module == "enabled":
        walkthrough = outputs["docs/modules/websockets.md"][1]
        assert "'type': 'connection.ack'" in walkthrough
        assert "'correlation_id': '1'" in walkthrough
        assert set(reader.skipped) == EXPENSIVE
    else:
        assert reader.ran_expensive == EXPENSIVE
        assert not (project / "docs" / "modules").exists()

    # The upgrade guide: a later template change arrives through `copier update`.
    quickstart_source = template / "template" / "files" / "docs" / "quickstart.md.jinja"
    original = quickstart_source.read_text(encoding="utf-8")
    try:
        quickstart_source.write_text(original + "\nA later template line.\n", encoding="utf-8")
        git(template, "commit", "-qam", "a later template")
        guide = code_blocks(project / UPGRADE_GUIDE, "bash")
        assert len(guide) == 3
        # `git init && git add -A && git commit`: the README's, done already.
        assert guide[0] in code_blocks(project / "README.md", "bash")
        for block in guide[1:]:
            reader.follow(block, module == "disabled")
    finally:
        quickstart_source.write_text(original, encoding="utf-8")
        git(template, "commit", "-qam", "the template as it was")
    assert "A later template line." in (project / "docs" / "quickstart.md").read_text()
    assert reader.shell("git status --porcelain") == ""
    assert "Update from the template" in reader.shell("git log --oneline -1")


PLACED_EXAMPLES = [
    "python/src/my_service/api/chat.py",
    "python/scripts/serve.py",
    "python/tests/websocket/test_chat.py",
]
# The five-minute walk-through runs its script from a heredoc; as a file, it is linted here.
WALKTHROUGH_SCRIPT = "python/scripts/five_minutes.py"
INCLUDE_CHAT = [
    ("from . import websocket_endpoints", "from . import chat, websocket_endpoints"),
    (
        "    app.include_router(me.router)\n",
        "    app.include_router(me.router)\n    app.include_router(chat.router)\n",
    ),
]


def place_examples(project: Path) -> list[str]:
    """Write each Python example where its first line says; return those paths."""
    placed = []
    guide = project / "docs" / "modules" / "websockets.md"
    for body in code_blocks(guide, "python"):
        first = body.splitlines()[0]
        assert first.startswith("# python/"), f"a Python example that names no file:\n{body}"
        relative = first.removeprefix("# ")
        (project / relative).write_text(body, encoding="utf-8")
        placed.append(relative)
    bash_blocks = code_blocks(guide, "bash")
    (heredoc,) = [m["body"] for block in bash_blocks for m in HEREDOC.finditer(block)]
    (project / WALKTHROUGH_SCRIPT).write_text(heredoc, encoding="utf-8")
    text = guide.read_text(encoding="utf-8")
    main = project / "python" / "src" / "my_service" / "api" / "main.py"
    source = main.read_text(encoding="utf-8")
    for before, after in INCLUDE_CHAT:
        assert before.strip() in source
        assert after.strip().splitlines()[-1].strip() in " ".join(text.split())
        source = source.replace(before, after, 1)
    main.write_text(source, encoding="utf-8")
    return placed


def make(project: Path, *targets: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make {' '.join(targets)}:\n{output[-6000:]}"
    return result.stdout


@pytest.mark.slow
def test_every_python_example_passes_the_checks_and_answers(template: Path, tmp_path: Path) -> None:
    project = render(template, tmp_path / "my-service", websocket_module="enabled")
    assert place_examples(project) == PLACED_EXAMPLES
    make(project, "install")
    make(project, "lint", "typecheck", "pylint")
    # The example tests, which talk to the example endpoint over real sockets.
    tested = make(project, "test", "TEST_WORKERS=0", "PYTEST_ADDOPTS=tests/websocket/test_chat.py")
    assert "2 passed" in tested

    # The example script serves the app, example endpoint included; ask it something.
    port = str(free_port())
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AUTH_", "WS_"))}
    server = subprocess.Popen(  # pylint: disable=consider-using-with
        [".venv/bin/python", "scripts/serve.py"],
        cwd=project / "python",
        env={**env, "PORT": port},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        token = make(project, "token", "USER=alice").strip()
        said = subprocess.run(
            [".venv/bin/python", "-c", ASK_CHAT, f"ws://127.0.0.1:{port}/ws/chat", token],
            cwd=project / "python",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        log = server.communicate(timeout=30)[0]
    assert said.returncode == 0, said.stderr + log
    assert json.loads(said.stdout) == {"text": "HELLO"}


# Waits for the server, then sends one chat.say and prints the chat.said payload.
ASK_CHAT = """
import asyncio, json, sys, time
from websockets.asyncio.client import connect

async def ask(url, token):
    deadline = time.monotonic() + 30
    while True:
        try:
            ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    async with ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "chat.say", "id": "1", "payload": {"text": "hello"}}))
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "chat.said":
            pass
        print(json.dumps(frame["payload"]))

asyncio.run(ask(*sys.argv[1:]))
"""
