#!/usr/bin/env python3
"""no_exit.py — libvmkit never ends the process: no exit(), _exit(),
_Exit(), quick_exit() or abort() call in src/ outside the places that are
the process. Comments and string literals are ignored. Usage:
no_exit.py SOURCE_ROOT"""
import re
import sys

from csource import calls, sources

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


def main():
    bad = []
    nfiles = 0
    for rel, code in sources(sys.argv[1], ALLOWED):
        nfiles += 1
        for line, m in calls(code, CALL):
            bad.append(f"{rel}:{line}: {m.group(1)}() ends the process; "
                       "return a negative errno and fill a vmk_error instead")
    if nfiles == 0:
        print(f"no source files under {sys.argv[1]}/src")
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
