#!/usr/bin/env python3
"""small_stacks.py — vmkit starts its threads with vmk_thread_create
(src/base/thread.h), never with pthread_create and glibc's 8 MiB stack: on
a host whose transparent huge pages are "always", such a stack gets a 2 MiB
huge page the moment the thread runs, and glibc keeps it cached after the
thread ends. One loader thread started that way took the kvm VMM's memory
overhead from 2.5 to 4.5 MiB (bench/kvm_boot.sh). Comments and string
literals are ignored. Usage: small_stacks.py SOURCE_ROOT"""
import re
import sys

from csource import calls, sources

ALLOWED = {
    # the wrapper itself
    "src/base/thread.c",
    # the emu engine's vCPU threads run the interpreter and the translator's
    # helpers, whose stack use no one has bounded; its memory is not the
    # kvm VMM's overhead
    "src/engine/emu.c",
}
CALL = re.compile(r"\bpthread_create\s*\(")


def main():
    bad = []
    nfiles = 0
    for rel, code in sources(sys.argv[1], ALLOWED):
        nfiles += 1
        for line, _ in calls(code, CALL):
            bad.append(f"{rel}:{line}: pthread_create() gives the thread an "
                       "8 MiB stack (a 2 MiB huge page of RSS); use "
                       "vmk_thread_create() from base/thread.h")
    if nfiles == 0:
        print(f"no source files under {sys.argv[1]}/src")
        return 1
    for b in bad:
        print(b)
    if bad:
        return 1
    print(f"{nfiles} files below src/ (outside {', '.join(sorted(ALLOWED))}) "
          "start threads with small stacks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
