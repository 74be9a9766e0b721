"""Self-tests of the README and the pages under docs/: the README stays a user's page, and every
relative link in them leads to a file of the repository.

Nothing here imports Keras; the tests read Markdown only.
"""

import re
from pathlib import Path

import pytest

from tools import budgets, environment_sizes
from tools.outputs import generated_block

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The README is the user's page; what maintainers need lives under docs/. A little above the
# 2,500 words the page is meant to hold, so that a sentence added in passing does not fail CI.
MAX_README_WORDS = 2600
# [text](target) and ![alt](target); the target ends at whitespace (a title may follow) or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
GENERATED = ("SPEC.md", "compatibility.md")  # written by a run of the spec and by tools/compatibility.py


def pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def relative_links(page: Path) -> list[str]:
    """The link targets of a Markdown page that name a file: not a URL, not an anchor of the page itself.
    Code blocks are left out: a link shown as code is not followed by a reader."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    targets = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def written_by_hand(text: str) -> str:
    """A page without the tables that tools write into it."""
    for tool in (budgets, environment_sizes):
        text = generated_block(tool.BEGIN, tool.END).sub("", text)
    return text


def test_the_readme_is_a_page_a_user_reads():
    """README.md holds at most MAX_README_WORDS words written by hand (counted as `wc -w` counts them;
    the tables that tools/budgets.py and tools/environment_sizes.py write are left out)."""
    words = len(written_by_hand(README.read_text(encoding="utf-8")).split())
    assert words <= MAX_README_WORDS, (
        f"README.md has {words} words, more than {MAX_README_WORDS}: move what maintainers need to a page under docs/"
    )


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file(page):
    """Every relative link of README.md and docs/*.md names a file or folder of the repository."""
    missing = [target for target in relative_links(page) if not (page.parent / target).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to what does not exist: {missing}"


def test_the_link_check_sees_links(tmp_path):
    """The check is not vacuous: it finds the README's links to docs/ and leaves URLs and anchors out."""
    sample = tmp_path / "sample.md"
    sample.write_text("[a](docs/x.md#part) ![b](img.png) [c](https://example.org) [d](#top)\n```\n[e](f.md)\n```\n")
    assert relative_links(sample) == ["docs/x.md", "img.png"]
    assert any(target.startswith("docs/") for target in relative_links(README))


# A run's counts ("204 passed") and install sizes ("0.4 GB"): figures that change with every release
# and that no test regenerates, so the hand-written pages state none (the report and the run say them).
COPIED_FIGURE = re.compile(r"\b\d[\d,]* (?:passed|skipped|xfailed|failed|tests)\b|\b\d+(?:\.\d+)? ?(?:GB|MB|GiB|MiB)\b")


def copied_figures(text: str) -> list[str]:
    return COPIED_FIGURE.findall(text)


WRITTEN_BY_HAND = [page for page in pages() if page.name not in GENERATED] + [ROOT / "requirements.txt", ROOT / "requirements-all-frameworks.txt"]


@pytest.mark.parametrize("page", WRITTEN_BY_HAND, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_no_page_copies_a_run_count_or_an_install_size(page):
    """README.md, the hand-written pages of docs/ and the requirements copy no run count and no install size."""
    assert not copied_figures(written_by_hand(page.read_text(encoding="utf-8")))


def test_the_figure_check_finds_the_old_readmes_figures():
    """The check is not vacuous: it finds the counts and sizes the README once copied by hand."""
    assert copied_figures("gives 204 passed, 70 skipped; about 0.4 GB, 466 MB; 1934 tests") == ["204 passed", "70 skipped", "0.4 GB", "466 MB", "1934 tests"]
