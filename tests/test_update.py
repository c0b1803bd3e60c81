"""`copier update` brings a later template change into a rendered project, keeping its answers."""

from __future__ import annotations

from pathlib import Path

import copier
import yaml

from conftest import git, snapshot_working_tree


def test_update_applies_template_changes_and_keeps_answers(tmp_path: Path) -> None:
    # A repository of its own: the test commits a later template change to it.
    template = snapshot_working_tree(tmp_path / "template")

    project = tmp_path / "project"
    copier.run_copy(
        str(template),
        project,
        data={"project_name": "Kept Name", "websocket_module": "enabled"},
        defaults=True,
        quiet=True,
    )
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "rendered")

    quickstart = template / "template" / "files" / "docs" / "quickstart.md.jinja"
    quickstart.write_text(quickstart.read_text() + "\nA line added by a later template.\n")
    git(template, "commit", "-qam", "later template")

    copier.run_update(project, defaults=True, overwrite=True, quiet=True)

    assert "A line added by a later template." in (project / "docs" / "quickstart.md").read_text()
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["project_name"] == "Kept Name"
    assert recorded["websocket_module"] == "enabled"
    assert recorded["_commit"] == git(template, "rev-parse", "--short", "HEAD").strip()
