"""csource.py — what the source-rule checks (no_exit.py, small_stacks.py)
share: the C files below src/ with comments and literals blanked out, so a
word in a comment or a message never counts as a call."""
import pathlib
import re

# Comments, string and character literals (which may contain the words).
NOISE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                   re.S)


def _blank(m):
    # keep line numbers: replace everything but newlines
    return re.sub(r"[^\n]", " ", m.group(0))


def sources(root, allowed):
    """Yields (path relative to root, code without comments or literals)
    for every .c/.h file below root/src not under an allowed prefix."""
    for path in sorted((pathlib.Path(root) / "src").rglob("*")):
        if path.suffix not in (".c", ".h"):
            continue
        rel = path.relative_to(root).as_posix()
        if any(rel.startswith(a) for a in allowed):
            continue
        yield rel, NOISE.sub(_blank, path.read_text(errors="replace"))


def calls(code, pattern):
    """Yields (line, match) for each match of pattern in code."""
    for m in pattern.finditer(code):
        yield code.count("\n", 0, m.start()) + 1, m
