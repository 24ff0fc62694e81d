"""The shell commands of the documentation's fenced ``bash`` blocks (README.md and every ``docs/*.md``
page), so tests run the documentation as written, wherever a command lives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from checkout import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
FENCE = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"\s+#\s.*$")


@dataclass(frozen=True)
class Command:
    """One command line of a fenced block, without its trailing comment."""

    text: str
    page: str  # the page it is on, relative to the repository: README.md, docs/cluster.md
    line: int  # 1-based line on that page
    block: int  # which fenced block of the page (0-based), for the variables and activation lines before it
    comment: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def documentation_pages(docs: Path = DOCS) -> list[Path]:
    """README.md, then every page under ``docs`` in name order: the pages whose commands are tested."""
    return [README, *sorted(docs.glob("*.md"))]


def documentation_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in documentation_pages())


def page_commands(page: Path) -> list[Command]:
    """Every non-empty line of every fenced ``bash`` block of ``page``, in page order."""
    text = page.read_text(encoding="utf-8")
    name = page.relative_to(REPO).as_posix() if page.is_relative_to(REPO) else str(page)
    commands = []
    for number, block in enumerate(FENCE.finditer(text)):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for offset, raw in enumerate(block.group(1).splitlines()):
            command = COMMENT.sub("", raw).strip()
            if command:
                comment = raw[len(COMMENT.sub("", raw)) :].strip().removeprefix("#").strip()
                commands.append(Command(command, name, first_line + offset, number, comment))
    return commands


def documented_commands() -> list[Command]:
    """The commands of every documentation page (README first), in page order."""
    return [command for page in documentation_pages() for command in page_commands(page)]


def documented_command(containing: str) -> Command:
    """The one documented command (by its text; a page may repeat another's) that contains ``containing``."""
    matches = [command for command in documented_commands() if containing in command.text]
    assert len({command.text for command in matches}) == 1, (
        f"expected one documented command containing {containing!r}, found {[m.where for m in matches]}"
    )
    return matches[0]


def fenced_block(page: Path, language: str, containing: str) -> str:
    """The one fenced ``language`` block of ``page`` whose text contains ``containing`` (a documented file,
    such as a Snakefile, that a test writes out as the page shows it)."""
    fence = re.compile(rf"^```{re.escape(language)}\n(.*?)^```", re.MULTILINE | re.DOTALL)
    blocks = [block for block in fence.findall(page.read_text(encoding="utf-8")) if containing in block]
    assert len(blocks) == 1, f"{page}: expected one ```{language} block containing {containing!r}, found {len(blocks)}"
    return blocks[0]
