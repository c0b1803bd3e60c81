"""Every sample renders, installs, serves its smoke test and passes its own `make quality`.

Each sample is rendered and installed once, by the same script people run
(`scripts/render-samples.sh NAME`), into a folder of this test session.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from conftest import REPO

SAMPLES = sorted(path.parent.name for path in (REPO / "samples").glob("*/copier-answers.yml"))
QUESTIONS = {
    key
    for key, value in yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8")).items()
    if not key.startswith("_") and value.get("when") is not False
}


def test_the_three_samples_exist() -> None:
    assert SAMPLES == ["default", "full-stack", "minimal"]


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_answers_are_known_questions(sample: str) -> None:
    answers = yaml.safe_load((REPO / "samples" / sample / "copier-answers.yml").read_text())
    assert set(answers) <= QUESTIONS


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_renders_serves_and_passes_quality(
    sample: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    render_root = tmp_path_factory.mktemp("samples")
    result = subprocess.run(
        [str(REPO / "scripts" / "render-samples.sh"), sample],
        env={**os.environ, "RENDER_ROOT": str(render_root)},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert f"== {sample}: ok" in result.stdout
    assert "smoke test passed" in result.stdout
    project = render_root / sample
    assert (project / "python" / ".venv").is_dir()
