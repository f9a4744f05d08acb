"""The README and docs/ as a reader meets them: the README stays a short user's page, every relative link
in them leads to a file (and a heading) that exists, the commands the README tells a user to run exist,
and every test the reliability page names is a real test file.

Cheap: text, the Makefile and the CLI's command table only; nothing runs a sweep.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
MAX_README_LINES = 350

# Files a link may name before they are in this tree. docs/columns.md is generated from the record's
# declarations by a change that lands beside this one; once the file exists the test below fails until
# its name is removed here, so this list cannot hide a broken link for long.
NOT_YET_IN_TREE: set[str] = set()

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)|<img src=\"([^\"]+)\"")


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} +(.+?) *$", text, flags=re.M)}


def test_readme_is_a_short_users_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move reference text to docs/"
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[0] == "## Two commands on a fresh machine", headings


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, mailto:, ...: not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        name = dest.relative_to(REPO).as_posix() if dest.is_relative_to(REPO) else str(dest)
        if name in NOT_YET_IN_TREE:
            assert not dest.exists(), f"{name} is in the tree now: remove it from NOT_YET_IN_TREE"
            continue
        if not dest.exists():
            broken.append(f"{target} (no {name})")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {name})")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_the_board_install_block_is_marked_once_in_the_readme() -> None:
    """The emulated Pi 5 (tests/machine/test_board.py) runs what lies between these markers: they must
    stay, once each, in order, around the commands that install the run side on a bare Pi OS."""
    text = README.read_text(encoding="utf-8")
    assert text.count("<!-- board-install:start -->") == 1 and text.count("<!-- board-install:end -->") == 1
    block = text.split("<!-- board-install:start -->")[1].split("<!-- board-install:end -->")[0]
    assert "```bash" in block and "edgeq[device]" in block and "g++" in block, block


def test_the_readmes_commands_exist() -> None:
    """`make bench`, `make test` and `make ui` are Makefile targets, and every `edgeq <command>` (or
    `python -m suite <command>`) in the README's code blocks is a command of the CLI."""
    import typer

    from suite.cli.main import app

    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    text = README.read_text(encoding="utf-8")
    for target in ("bench", "test", "ui"):
        assert f"make {target}" in text, f"the README no longer shows make {target}"
        assert re.search(rf"^{target}:", makefile, flags=re.M), f"Makefile has no {target} target"
    code = "\n".join(re.findall(r"```\w*\n(.*?)```", text, flags=re.S))
    named = set(re.findall(r"(?:^|[\s/])(?:edgeq|-m suite) ([a-z]+)\b", code, flags=re.M))
    known = set(typer.main.get_command(app).commands)
    assert {"bench", "validate", "run"} <= named, named
    assert named <= known, f"the README names commands the CLI does not have: {sorted(named - known)}"


def test_every_test_the_reliability_page_names_exists() -> None:
    text = (DOCS / "reliability.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| tried")]
    table = [row for row in rows if row.count(" | ") >= 2 and not set(row) <= set("|- ")]
    named = set(re.findall(r"`(tests/[\w/]+\.py)`", text))
    assert len(named) >= 5, named
    for path in sorted(named):
        assert (REPO / path).is_file() and "def test_" in (REPO / path).read_text(encoding="utf-8"), path
    checked = [row for row in table if "`tests/" in row.rsplit(" | ", 1)[-1]]
    assert len(checked) >= 15, "the 'what was tried' table lost its 'checked by' column"


def test_the_license_is_one_and_the_same_everywhere() -> None:
    """LICENSE holds the Apache-2.0 text, pyproject.toml declares it as an SPDX expression (which the
    wheel's metadata carries), and the README names it."""
    import tomllib

    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the whole text, not a pointer to it
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert "[LICENSE](LICENSE)" in README.read_text(encoding="utf-8")
