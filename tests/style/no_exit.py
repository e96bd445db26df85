#!/usr/bin/env python3
"""no_exit.py — libvmkit never ends the process: no exit(), _exit(),
_Exit(), quick_exit() or abort() call in src/ outside the places that are
the process. Comments and string literals are ignored. Usage:
no_exit.py SOURCE_ROOT"""
import re
import sys

from csource import check_calls

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
    return check_calls(
        sys.argv[1], ALLOWED, CALL,
        lambda m: f"{m.group(1)}() ends the process; "
        "return a negative errno and fill a vmk_error instead",
        "never end the process")


if __name__ == "__main__":
    sys.exit(main())
