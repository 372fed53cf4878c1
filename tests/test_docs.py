"""The README and docs/ stay one consistent set: every relative link and image resolves, anchors included."""

import glob
import os
import re

import pytest

from tests.conftest import ROOT
from tfxmodal.cli.reference_docs import github_anchor

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def markdown_files():
    """README.md, CHANGELOG.md, saved_models/README.md and every page under docs/, relative to the root."""
    paths = ["README.md", "CHANGELOG.md", os.path.join("saved_models", "README.md")]
    paths += sorted(glob.glob("docs/**/*.md", root_dir=ROOT, recursive=True))
    return [path for path in paths if os.path.isfile(os.path.join(ROOT, path))]


def prose_lines(text):
    """`(line number, line)` outside fenced code blocks, with inline code spans blanked."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        if not inside:
            yield number, re.sub(r"`[^`]*`", "``", line)


def links(text):
    """`(line number, target)` of every inline link and image."""
    found = []
    for number, line in prose_lines(text):
        found += [(number, match.group(1)) for match in LINK.finditer(line)]
    return found


def anchors(text):
    """The ids GitHub gives the headings of a Markdown text (repeats get -1, -2, …)."""
    seen = {}
    ids = set()
    inside = False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        match = None if inside else HEADING.match(line)
        if match:
            base = github_anchor(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            ids.add(base if count == 0 else f"{base}-{count}")
    return ids


def broken_links(path, root=ROOT):
    """`path:line: target (why)` for each relative link of `path` (under `root`) that does not resolve."""
    with open(os.path.join(root, path), encoding="utf-8") as handle:
        text = handle.read()
    problems = []
    for number, target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        full = os.path.join(root, resolved)
        if not os.path.exists(full):
            problems.append(f"{path}:{number}: {target} ({resolved} does not exist)")
            continue
        if fragment and resolved.endswith(".md"):
            with open(full, encoding="utf-8") as handle:
                if fragment not in anchors(handle.read()):
                    problems.append(f"{path}:{number}: {target} (no heading #{fragment} in {resolved})")
    return problems


@pytest.mark.parametrize("path", markdown_files())
def test_every_relative_link_resolves(path):
    problems = broken_links(path)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_every_docs_page_is_linked_from_the_readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        linked = {os.path.normpath(target.partition("#")[0]) for _, target in links(handle.read())}
    pages = {path for path in markdown_files() if path.startswith("docs")}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"


def test_the_readme_stays_a_front_page():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    # .ci/run runs the README's test command; the README must keep stating it.
    assert "make test" in text and "make demo" in text
    assert len(text.splitlines()) <= 250, "README.md is the front page; put reference material under docs/"


def test_the_checker_finds_broken_links_and_anchors(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# Title\n\n## Face → music: `x`\n\n```\n# not a heading\n[not a link](missing.md)\n```\n"
        "[ok](#face--music-x) [ok](../README.md) ![img](missing.png) [bad](#not-a-heading) "
        "[web](https://example.com) `[code](missing.md)`\n"
    )
    (tmp_path / "README.md").write_text("[a](docs/a.md#title) [b](docs/b.md)\n")
    assert broken_links("README.md", tmp_path) == ["README.md:1: docs/b.md (docs/b.md does not exist)"]
    assert broken_links(os.path.join("docs", "a.md"), tmp_path) == [
        "docs/a.md:9: missing.png (docs/missing.png does not exist)",
        "docs/a.md:9: #not-a-heading (no heading #not-a-heading in docs/a.md)",
    ]
