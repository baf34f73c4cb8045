"""The manual stays true to the code: every setting and command documented, the site builds strictly,
the README stays short and user documentation carries no issue numbers."""
from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from xkld_geo import cli, settings
from xkld_geo.settings import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"


def _choices(argv: list[str]) -> list[str]:
    """The sub-commands ``python -m xkld_geo ARGV --help`` lists (its first ``{a,b,...}``)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli._parser().parse_args([*argv, "--help"])
    found = re.search(r"\{([a-z_,-]+)\}\s+\.\.\.", out.getvalue())
    return found.group(1).split(",") if found else []


def _command_paths() -> list[tuple[str, ...]]:
    """Every command of the command line, nested ones as (group, command)."""
    paths: list[tuple[str, ...]] = []
    for name in _choices([]):
        nested = _choices([name])
        paths.extend([(name, sub) for sub in nested] or [(name,)])
    return paths


def test_the_settings_page_is_the_generated_table() -> None:
    page = (DOCS / "settings.md").read_text(encoding="utf-8")
    block = page.split("<!-- settings:begin -->\n", 1)[1].split("\n<!-- settings:end -->", 1)[0]
    assert block == settings.markdown_table(), (
        "docs/settings.md is out of date: python -m xkld_geo settings --markdown")


def test_every_setting_is_documented_with_its_variable() -> None:
    page = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [d.env for d in settings.DECLARED if f"`{d.env}`" not in page]
    assert not missing


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_command_is_documented(path: tuple[str, ...]) -> None:
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert re.search(r"xkld_geo " + r"\s+".join(map(re.escape, path)) + r"\b", page), path


def test_the_readme_is_short_and_points_to_the_docs() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 120
    assert "bash scripts/run.sh" in readme and "bash scripts/test.sh" in readme
    assert "docs/" in readme


@pytest.mark.parametrize("page", sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")) + ["../README.md"])
def test_no_issue_numbers_in_user_documentation(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    assert not re.search(r"\b[Ii]ssues? ?#?\d+|(?<![\w&/#,.])#\d{1,3}\b", text), page


def test_the_manual_builds_strictly(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                           "--site-dir", str(tmp_path / "site")],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").exists()
