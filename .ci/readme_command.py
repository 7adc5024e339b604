"""Print the shell command that README.md marks with <!-- command: NAME -->.

The marker stands on the line before a fenced ```sh block; the block's lines are joined
with ' && ' so CI runs exactly what a user copies.
"""

import re
import sys


def command(readme: str, name: str) -> str:
    match = re.search(r"<!-- command: " + re.escape(name) + r" -->\s*```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    if match is None:
        raise SystemExit(f"README.md has no <!-- command: {name} --> block")
    lines = [line.strip() for line in match.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
    return " && ".join(lines)


if __name__ == "__main__":
    with open("README.md", encoding="utf-8") as handle:
        print(command(handle.read(), sys.argv[1]))
