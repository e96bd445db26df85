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

from csource import check_calls

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
    return check_calls(
        sys.argv[1], ALLOWED, CALL,
        lambda m: "pthread_create() gives the thread an "
        "8 MiB stack (a 2 MiB huge page of RSS); use "
        "vmk_thread_create() from base/thread.h",
        "start threads with small stacks")


if __name__ == "__main__":
    sys.exit(main())
