"""The shell commands of README.md's fenced ``bash`` blocks, so tests run the documentation as written."""

from __future__ import annotations

import re
from dataclasses import dataclass

from checkout import REPO

README = REPO / "README.md"
FENCE = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"\s+#\s.*$")


@dataclass(frozen=True)
class Command:
    """One command line of a fenced block, without its trailing comment."""

    text: str
    line: int  # 1-based line in README.md
    block: int  # which fenced block (0-based), for the variables and activation lines before it
    comment: str


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def readme_commands() -> list[Command]:
    """Every non-empty line of every fenced ``bash`` block, in README order."""
    text = readme_text()
    commands = []
    for number, block in enumerate(FENCE.finditer(text)):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for offset, raw in enumerate(block.group(1).splitlines()):
            command = COMMENT.sub("", raw).strip()
            if command:
                comment = raw[len(COMMENT.sub("", raw)):].strip().removeprefix("#").strip()
                commands.append(Command(command, first_line + offset, number, comment))
    return commands


def readme_command(containing: str) -> Command:
    """The one README command that contains ``containing``."""
    matches = [command for command in readme_commands() if containing in command.text]
    assert len(matches) == 1, f"expected one README command containing {containing!r}, found {matches}"
    return matches[0]
