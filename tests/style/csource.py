"""csource.py — what the source-rule checks (no_exit.py, small_stacks.py)
share: the C files below src/ with comments and literals blanked out, so a
word in a comment or a message never counts as a call, and one way to
report a rule's findings."""
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


def check_calls(root, allowed, pattern, complaint, verdict):
    """Runs one rule: every match of pattern in a source file outside the
    allowed prefixes is a finding, printed as "path:line: complaint(match)".
    Returns the exit status (1 with findings or no source files at all)."""
    bad = []
    nfiles = 0
    for rel, code in sources(root, allowed):
        nfiles += 1
        for line, m in calls(code, pattern):
            bad.append(f"{rel}:{line}: {complaint(m)}")
    if nfiles == 0:
        print(f"no source files under {root}/src")
        return 1
    for b in bad:
        print(b)
    if bad:
        return 1
    print(f"{nfiles} files below src/ (outside {', '.join(sorted(allowed))}) "
          f"{verdict}")
    return 0
