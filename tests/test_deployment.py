"""The deployment rendered with the Redis backplane: what it names exists, and its commands work.

No container runtime runs here, so the Dockerfile's commands are run as
they stand, outside a container: in a scratch copy of the render playing
the image's WORKDIR, with a virtual environment playing the base image's
Python.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import REPO, render

PACKAGE = "my_service"
REDIS_URL = "redis://127.0.0.1:6379/0"
HEALTH_PATHS = {"/health", "/health/ready"}
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(
        template,
        tmp_path_factory.mktemp("deployment"),
        websocket_module="enabled",
        websocket_backplane="redis",
    )


@pytest.fixture(scope="module")
def compose(project: Path) -> dict:
    return yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))


@dataclass
class Dockerfile:
    """A Dockerfile's instructions, as `docker build` reads the ones it uses."""

    base: str = ""
    arguments: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    copies: list[list[str]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    user: str = "root"
    exposed: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    # Instructions in order: (name, argument text).
    steps: list[tuple[str, str]] = field(default_factory=list)


def expand(text: str, variables: dict[str, str]) -> str:
    """`$NAME` and `${NAME}` replaced as the Dockerfile's ARG and ENV define them."""
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda match: variables.get(match[1] or match[2], match[0]),
        text,
    )


def parse_dockerfile(path: Path) -> Dockerfile:
    lines = path.read_text(encoding="utf-8").splitlines()
    logical: list[str] = []
    pending = ""
    for line in lines:
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    parsed = Dockerfile()
    for line in logical:
        name, _, argument = line.strip().partition(" ")
        name, argument = name.upper(), argument.strip()
        parsed.steps.append((name, argument))
        variables = parsed.arguments | parsed.environment
        if name == "FROM":
            parsed.base = argument
        elif name == "ARG":
            key, _, value = argument.partition("=")
            parsed.arguments[key] = value
        elif name == "ENV":
            for pair in shlex.split(argument):
                key, _, value = pair.partition("=")
                parsed.environment[key] = expand(value, variables)
        elif name == "WORKDIR":
            parsed.workdir = argument
        elif name == "COPY":
            parsed.copies.append(argument.split())
        elif name == "RUN":
            parsed.runs.append(expand(argument, variables))
        elif name == "USER":
            parsed.user = argument
        elif name == "EXPOSE":
            parsed.exposed.extend(argument.split())
        elif name == "HEALTHCHECK":
            parsed.healthcheck = json.loads(argument.split(" CMD ", 1)[1])
        elif name == "CMD":
            parsed.command = json.loads(argument)
        else:
            raise AssertionError(f"an instruction this test does not know: {line}")
    return parsed


def environment_names(project: Path) -> set[str]:
    """The environment variables the rendered app's settings read (from their sources)."""
    names = set()
    for path in (
        project / "python" / "src" / PACKAGE / "settings.py",
        project / "python" / "src" / PACKAGE / "websocket" / "config.py",
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            prefix, fields = "", []
            for statement in node.body:
                if not isinstance(statement, ast.AnnAssign):
                    if isinstance(statement, ast.Assign) and any(
                        isinstance(target, ast.Name) and target.id == "model_config"
                        for target in statement.targets
                    ):
                        for keyword in getattr(statement.value, "keywords", []):
                            if keyword.arg == "env_prefix":
                                prefix = ast.literal_eval(keyword.value)
                    continue
                assert isinstance(statement.target, ast.Name)
                annotation = ast.unparse(statement.annotation)
                # A nested group (`auth: AuthSettings`) reads its own prefix's variables.
                if not annotation.endswith(("Settings", "Config")):
                    fields.append(statement.target.id)
            names |= {f"{prefix}{name}".upper() for name in fields}
    return names


def urls_in(command: list[str] | str) -> set[str]:
    text = command if isinstance(command, str) else " ".join(command)
    return set(re.findall(r"http://[^'\" ]+", text))


def test_the_dockerfile_builds_the_package_as_a_user_and_serves_on_all_addresses(
    project: Path,
) -> None:
    dockerfile = parse_dockerfile(project / "Dockerfile")
    assert dockerfile.base == "python:3.11-slim"
    # The same pinned uv as the template's own tools.
    pinned = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert pinned is not None
    assert dockerfile.arguments["UV_VERSION"] == pinned[1]
    assert dockerfile.runs[0] == f'pip install --no-cache-dir "uv=={pinned[1]}"'
    assert dockerfile.user not in {"root", "0"}
    assert any(
        run.startswith("useradd ") and run.split()[-1] == dockerfile.user for run in dockerfile.runs
    )
    assert dockerfile.command == ["python", "-m", PACKAGE]
    assert (project / "python" / "src" / PACKAGE / "__main__.py").is_file()
    assert dockerfile.environment["HOST"] == "0.0.0.0"
    assert dockerfile.exposed == [dockerfile.environment["PORT"]]
    assert {url.split("%s")[-1] for url in urls_in(dockerfile.healthcheck)} == {"/health"}
    # Every path copied into the image is there to copy.
    for *sources, _ in dockerfile.copies:
        for source in sources:
            matches = list(project.glob(source))
            assert matches or source.endswith("*"), source


def test_compose_names_what_exists(project: Path, compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"redis", "app", "proxy"}
    app, proxy, redis = services["app"], services["proxy"], services["redis"]

    assert app["build"] == "."
    assert (project / "Dockerfile").is_file()
    assert app["deploy"]["replicas"] == 2
    workflow = yaml.safe_load((project / ".github/workflows/image.yml").read_text())
    steps = " ".join(step.get("run", "") for step in workflow["jobs"]["image"]["steps"])
    assert f"docker build --tag {app['image']} ." in steps

    # Every variable set is one the app reads; the backplane is the Redis service.
    environment = app["environment"]
    assert set(environment) <= environment_names(project)
    assert {"WS_BACKPLANE_URL", "AUTH_SECRET_KEY", "WS_TRUSTED_PROXY_HEADER"} <= set(environment)
    assert environment["WS_BACKPLANE_URL"].startswith("redis://redis:6379/")
    assert "redis-cli" in redis["healthcheck"]["test"]

    # Readiness on each instance, liveness through the proxy.
    dockerfile = parse_dockerfile(project / "Dockerfile")
    port = dockerfile.environment["PORT"]
    assert urls_in(app["healthcheck"]["test"]) == {f"http://127.0.0.1:{port}/health/ready"}
    assert urls_in(proxy["healthcheck"]["test"]) == {"http://127.0.0.1/health"}
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"

    # The proxy's configuration is the file beside compose.yaml, pointing at the app's port.
    (volume,) = proxy["volumes"]
    source, target, _ = volume.split(":")
    assert (project / source).resolve() == (project / "nginx.conf").resolve()
    assert target == "/etc/nginx/nginx.conf"
    nginx = (project / "nginx.conf").read_text(encoding="utf-8")
    assert f"server app:{port} " in nginx
    for directive in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_read_timeout 1h;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    ):
        assert directive in nginx
    assert environment["WS_TRUSTED_PROXY_HEADER"] == "X-Forwarded-For"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError):
        return None


@pytest.mark.slow
def test_the_dockerfile_commands_build_and_serve_here(
    project: Path, compose: dict, tmp_path: Path
) -> None:
    dockerfile = parse_dockerfile(project / "Dockerfile")
    # The scratch copy plays the image: its base Python, and WORKDIR.
    base = tmp_path / "base"
    subprocess.run([sys.executable, "-m", "venv", base], check=True)
    workdir = tmp_path / dockerfile.workdir.strip("/")
    workdir.mkdir(parents=True)
    here = {
        key: value
        for key, value in os.environ.items()
        if key != "VIRTUAL_ENV" and not key.startswith("UV_")
    }
    environment = here | {"PATH": f"{base / 'bin'}:{here['PATH']}"}

    for name, argument in dockerfile.steps:
        if name == "ENV":
            for pair in shlex.split(argument):
                key, _, value = pair.partition("=")
                environment[key] = expand(value, dockerfile.arguments | environment).replace(
                    dockerfile.workdir, str(workdir)
                )
        elif name == "COPY":
            *sources, destination = argument.split()
            target = workdir / destination
            for source in sources:
                for path in project.glob(source):
                    if path.is_dir():
                        shutil.copytree(path, target)
                    else:
                        shutil.copy2(path, target)
        elif name == "RUN":
            if argument.startswith("useradd "):
                continue  # creating a user on this machine is not this test's business
            # As in `docker build`: a shell runs it, with the ARGs in its environment.
            subprocess.run(
                ["/bin/sh", "-c", argument],
                cwd=workdir,
                env=dockerfile.arguments | environment,
                check=True,
            )

    port = str(free_port())
    served = environment | {
        "PORT": port,
        "WS_BACKPLANE_URL": REDIS_URL,
        "AUTH_SECRET_KEY": "deployment-test-secret-key-of-32-bytes",
    }
    server = subprocess.Popen(
        dockerfile.command,
        cwd=workdir,
        env=served,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while http_status(f"http://127.0.0.1:{port}/health") != 200:
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        # The image's own liveness check, and each health route compose.yaml names.
        subprocess.run(dockerfile.healthcheck, cwd=workdir, env=served, check=True, timeout=10)
        named = urls_in(compose["services"]["app"]["healthcheck"]["test"]) | urls_in(
            compose["services"]["proxy"]["healthcheck"]["test"]
        )
        paths = {re.sub(r"^http://[^/]+", "", url) for url in named}
        assert paths == HEALTH_PATHS
        for path in sorted(paths):
            assert http_status(f"http://127.0.0.1:{port}{path}") == 200, path
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=STOP_TIMEOUT)
    assert server.returncode in {0, -signal.SIGTERM}, output
