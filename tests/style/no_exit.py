#!/usr/bin/env python3
"""no_exit.py — libvmkit never ends the process: no exit(), _exit(),
_Exit(), quick_exit() or abort() call in src/ outside the places that are
the process. Comments and string literals are ignored. Usage:
no_exit.py SOURCE_ROOT"""
import pathlib
import re
import sys

# Where ending the process is the job:
ALLOWED = {
    # the vmkit command: usage errors end it with status 2
    "src/cli/",
    # `vmkit exec`'s runner IS the emulated process: the program's
    # exit_group, a fatal signal or a failed execve in a forked child end
    # the host process by design, as they would natively. Nothing there
    # needs it today; the rule is written down so it is not re-argued.
    "src/emu/user/",
}
CALL = re.compile(r"\b(exit|_exit|_Exit|quick_exit|abort)\s*\(")
# Comments, string and character literals (which may contain the words).
NOISE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                   re.S)


def blank(m):
    # keep line numbers: replace everything but newlines
    return re.sub(r"[^\n]", " ", m.group(0))


def main():
    root = pathlib.Path(sys.argv[1])
    bad = []
    nfiles = 0
    for path in sorted((root / "src").rglob("*")):
        if path.suffix not in (".c", ".h"):
            continue
        rel = path.relative_to(root).as_posix()
        if any(rel.startswith(a) for a in ALLOWED):
            continue
        nfiles += 1
        code = NOISE.sub(blank, path.read_text(errors="replace"))
        for m in CALL.finditer(code):
            line = code.count("\n", 0, m.start()) + 1
            bad.append(f"{rel}:{line}: {m.group(1)}() ends the process; "
                       "return a negative errno and fill a vmk_error instead")
    if nfiles == 0:
        print(f"no source files under {root}/src")
        return 1
    for b in bad:
        print(b)
    if bad:
        return 1
    print(f"{nfiles} files below src/ (outside {', '.join(sorted(ALLOWED))}) "
          "never end the process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
