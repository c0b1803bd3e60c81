"""The rendered docs, followed literally from a plain shell.

A plain shell has Python, pip, make, git and curl, no `uv` on PATH and no
virtual environment active. Every `bash` block of the rendered README and
docs is run as written, in order, from the project root, with a `make run` of
a block (`WS_DEMO_PAGE=true make run` too) serving in the background the way a
second terminal would; the only change is the port, a free one instead of
8000, so that runs side by side do not collide. Every Python example of the
docs is put where the docs say, and must pass the project's linters, type
checks and pylint, and answer requests; the quickstart's browser-client
example runs on the demo pages in Chromium.
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
import threading
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
# `make run`, after the environment variables a command line may set for it.
SERVE = re.compile(r"(?P<env>(?:[A-Z][A-Z0-9_]*=\S* +)*)make run")
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

    def start_server(self, variables: dict[str, str] | None = None) -> None:
        """`make run`, as in a terminal of its own: stop the one before, wait for /health.

        `variables` are those the command line sets before `make run`.
        """
        self.stop_server()
        log = self.server_log.open("a", encoding="utf-8")
        self.server = subprocess.Popen(  # pylint: disable=consider-using-with
            ["bash", "-c", "make run"],
            cwd=self.project,
            env={**self.env, **(variables or {})},
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
            serves = [SERVE.fullmatch(part) for part in parts]
            if not any(serves) and not EXPENSIVE & set(parts):
                pending.append(line)
                continue
            if pending:
                output.append(self.shell("".join(pending)))
                pending = []
            for part, serve in zip(parts, serves, strict=True):
                if serve is not None:
                    self.start_server(dict(pair.split("=", 1) for pair in serve["env"].split()))
                elif part in EXPENSIVE and (not expensive or part in self.ran_expensive):
                    self.skipped.append(part)
                else:
                    self.ran_expensive.update({part} & EXPENSIVE)
                    output.append(self.shell(part))
        if "".join(pending).strip():
            output.append(self.shell("".join(pending)))
        return "".join(output)


DEMO_LINK = re.compile(r"^[ \t]*(?P<page>http://\S+/ws/demo)#token=(?P<token>\S+)$", re.MULTILINE)


def assert_demo_links_open_the_page(reader: Reader, output: str) -> None:
    """The quickstart printed alice's and bob's links, to a page the server now serves."""
    links = DEMO_LINK.findall(output)
    assert [token_claims(token)["sub"] for _, token in links] == ["alice", "bob"], output
    base = f"http://127.0.0.1:{reader.port}"
    for page, _ in links:
        assert page == f"{base}/ws/demo"
        served = httpx.get(page, timeout=10)
        assert served.status_code == 200
        assert 'import { RealtimeClient } from "./client.js";' in served.text
    client = httpx.get(f"{base}/ws/client.js", timeout=10)
    assert client.status_code == 200
    assert "export class RealtimeClient" in client.text


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
            if name == "docs/quickstart.md" and module == "enabled":
                # While its `WS_DEMO_PAGE=true make run` serves.
                assert_demo_links_open_the_page(reader, "\n".join(outputs[name]))
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


def chromium_path() -> Path:
    """The system's Chromium; skips the test (fails it with `REQUIRE_BROWSER=1`) without one."""
    path = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    if not path.is_file():
        reason = f"no Chromium at {path} (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1, but {reason}")
        pytest.skip(f"{reason}; set REQUIRE_BROWSER=1 to fail instead of skipping")
    return path


def wait_until_serving(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            httpx.get(f"{base}/health", timeout=1.0)
            return
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                os.killpg(server.pid, signal.SIGKILL)
                pytest.fail(f"make run did not serve:\n{server.communicate()[0]}")
            time.sleep(0.2)


# Begins every script that drives demo pages: Playwright on the system's Chromium
# (argv[1]), and a page opened from a link, connected and in `lobby` through its
# own controls.
DEMO_PAGES_PRELUDE = """
import json, sys
from playwright.sync_api import sync_playwright

def launch(playwright):
    return playwright.chromium.launch(executable_path=sys.argv[1], args=["--no-sandbox"])

def open_in_lobby(browser, link):
    page = browser.new_page()
    page.goto(link)
    page.wait_for_selector("#state[data-state=connected]")
    page.fill("#room-name", "lobby")
    page.click("#join")
    page.wait_for_selector("#room-tabs [data-room=lobby]")
    return page
"""


def drive_demo_pages(
    python_dir: Path, script: str, chromium: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run `script`, after `DEMO_PAGES_PRELUDE`, with the project's Python and `chromium, *args`."""
    return subprocess.run(
        [".venv/bin/python", "-c", DEMO_PAGES_PRELUDE + script, str(chromium), *args],
        cwd=python_dir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_the_quickstart_browser_client_example_talks_to_the_demo_pages(
    template: Path, tmp_path: Path
) -> None:
    """The quickstart's console example, pasted into alice's demo page in Chromium.

    Both pages, alice's and bob's, have joined `lobby` through their own
    controls. What the example broadcasts shows up on both, and what bob says
    reaches the example's handler. The server listens on a free port, not on
    the docs' 8000, so its origin is named in WS_ALLOWED_ORIGINS.
    """
    chromium = chromium_path()
    project = render(template, tmp_path / "my-service", websocket_module="enabled")
    (example,) = code_blocks(project / "docs" / "quickstart.md", "js")
    make(project, "install")
    base = f"http://127.0.0.1:{free_port()}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AUTH_", "WS_"))}
    env |= {"PORT": base.rpartition(":")[2], "WS_DEMO_PAGE": "true", "WS_ALLOWED_ORIGINS": base}
    server = subprocess.Popen(  # pylint: disable=consider-using-with
        ["make", "--no-print-directory", "run"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until_serving(base, server)
        tokens = [make(project, "token", f"USER={user}").strip() for user in ("alice", "bob")]
        drove = drive_demo_pages(
            project / "python", DRIVE_DEMO_PAGES, chromium, base, *tokens, example
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        log = server.communicate(timeout=30)[0]
    assert drove.returncode == 0, drove.stdout + drove.stderr + log
    seen = json.loads(drove.stdout)
    # Neither the page nor the client logs anything: every line is the example's.
    assert seen["logged"][:2] == [
        {"type": "log", "args": ["state:", "connecting"]},
        {"type": "log", "args": ["state:", "connected"]},
    ]
    assert not [line for line in seen["logged"] if line["type"] != "log"]  # no error frame
    assert seen["said"] == ["lobby", "bob", {"text": "hi alice"}]
    for user in ("alice", "bob"):
        assert "hello from the console" in seen["lobby"][user]


# Opens bob's and then alice's demo page, joins `lobby` on each, runs the example
# (argv[5]) in alice's page as its console would, and has bob say "hi alice".
# Prints what alice's page logged, the `lobby bob ...` line, and each page's lobby.
DRIVE_DEMO_PAGES = """
base, alice, bob, example = sys.argv[2:]
HELLO = "document.querySelector('#messages').innerText.includes('hello from the console')"
with sync_playwright() as playwright:
    browser = launch(playwright)
    pages = {}
    for user, token in (("bob", bob), ("alice", alice)):
        pages[user] = open_in_lobby(browser, f"{base}/ws/demo#token={token}")
    logged = []
    pages["alice"].on("console", lambda message: logged.append(message))
    pages["alice"].evaluate("async () => {\\n" + example + "\\n}")
    for page in pages.values():
        page.wait_for_function(HELLO)
    with pages["alice"].expect_console_message(lambda m: m.text.startswith("lobby bob")) as said:
        pages["bob"].fill("#say-text", "hi alice")
        pages["bob"].click("#say")
    print(json.dumps({
        "logged": [
            {"type": message.type, "args": [arg.json_value() for arg in message.args]}
            for message in logged
        ],
        "said": [arg.json_value() for arg in said.value.args],
        "lobby": {user: page.inner_text("#messages") for user, page in pages.items()},
    }))
    browser.close()
"""


@pytest.mark.slow
def test_make_demo_prints_links_to_pages_that_connect_and_talk(tmp_path: Path) -> None:
    """README's first command: `make demo` renders, serves and prints two links.

    The links, alice's and bob's, open pages that connect; what alice says in
    `lobby` shows on bob's page; the page without a token connects too (to the
    public echo endpoint). The demo is served from a folder and a port of the
    test's own, and Ctrl-C (SIGINT to its process group) stops it.
    """
    chromium = chromium_path()
    demo = tmp_path / "demo"
    port = str(free_port())
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AUTH_", "WS_"))}
    server = subprocess.Popen(  # pylint: disable=consider-using-with
        ["make", "--no-print-directory", "demo", f"DEMO_DIR={demo}", f"DEMO_PORT={port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    # The links are printed before the server starts; read them as they come.
    lines: list[str] = []
    reading = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reading.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server)
        links = DEMO_LINK.findall("".join(lines))
        assert [page for page, _ in links] == [f"{base}/ws/demo"] * 2, "".join(lines)
        assert [token_claims(token)["sub"] for _, token in links] == ["alice", "bob"]
        drove = drive_demo_pages(
            demo / "python",
            DRIVE_MAKE_DEMO,
            chromium,
            base,
            *[f"{page}#token={token}" for page, token in links],
        )
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)
        reading.join(timeout=10)
    output = "".join(lines)
    assert "Without #token=... the page uses the public echo endpoint" in output
    assert drove.returncode == 0, drove.stdout + drove.stderr + output
    assert json.loads(drove.stdout) == {
        "alice": "connected",
        "bob": "connected",
        "public": "connected",
        "bob heard alice": True,
        "alice got bob's direct message": True,
        "alice left lobby": True,
    }


# Opens alice's and bob's links (argv[3:5]), joins `lobby` on both pages, has
# alice say hello, bob send alice a direct message through the form, and alice
# leave `lobby` with its tab's button (the server's `room.left` shows in her frame
# log); then opens the page without a token. Prints each page's connection state
# and what each page showed.
DRIVE_MAKE_DEMO = """
base, alice, bob = sys.argv[2:]
HEARD = "document.querySelector('#messages').innerText.includes('hello bob')"
DIRECT = "document.querySelector('#direct-messages').innerText.includes('just to you')"
LEFT = "document.querySelector('#log').innerText.includes('room.left')"
with sync_playwright() as playwright:
    browser = launch(playwright)
    pages, states = {}, {}
    for user, link in (("bob", bob), ("alice", alice)):
        pages[user] = open_in_lobby(browser, link)
        states[user] = pages[user].get_attribute("#state", "data-state")
    pages["alice"].fill("#say-text", "hello bob")
    pages["alice"].click("#say")
    pages["bob"].wait_for_function(HEARD)
    pages["bob"].fill("#direct-to", "alice")
    pages["bob"].fill("#direct-text", "just to you")
    pages["bob"].click("#direct-send")
    pages["alice"].wait_for_function(DIRECT)
    pages["alice"].click("#room-tabs [data-room=lobby] button")
    pages["alice"].wait_for_function(LEFT)
    public = browser.new_page()
    public.goto(f"{base}/ws/demo")
    public.wait_for_selector("#state[data-state=connected]")
    states["public"] = public.get_attribute("#state", "data-state")
    print(json.dumps(states | {
        "bob heard alice": pages["bob"].evaluate(HEARD),
        "alice got bob's direct message": pages["alice"].evaluate(DIRECT),
        "alice left lobby": pages["alice"].evaluate(LEFT),
    }))
    browser.close()
"""
