#!/usr/bin/env python3
"""test_gen_decoder.py — tools/emu/gen_decoder.py refuses broken pattern
files with a message naming the problem and the line, and accepts a good
one. Usage: test_gen_decoder.py GENERATOR DIR (DIR holds *.decode)."""
import os
import subprocess
import sys
import tempfile

gen, d = sys.argv[1], sys.argv[2]
bad = {
    "overlap.decode": "overlap.decode:2: pattern 'B' overlaps 'A'",
    "width.decode": "is 31 bits wide, not 32",
    "field.decode": "field 'rm' is not in argument set 'r2'",
    "shadow.decode": "pattern 'B' can never match",
    "argset.decode": "decode function 'f' is used with argument sets",
    "xform.decode": "unknown transform 'sp'",
    "nohelpers_bad.decode": "'%nohelpers' takes no names",
}
fails = 0
with tempfile.TemporaryDirectory() as t:
    def run(name, *opts):
        return subprocess.run(
            [sys.executable, gen, "--prefix", "t", "--header",
             os.path.join(t, "t.h"), "--source", os.path.join(t, "t.c")]
            + list(opts) + [os.path.join(d, name)],
            capture_output=True, text=True)
    for name, msg in bad.items():
        r = run(name)
        if r.returncode == 0 or msg not in r.stderr:
            print("FAIL %s: rc %d, stderr %r (wanted %r)"
                  % (name, r.returncode, r.stderr, msg))
            fails += 1
        else:
            print("ok   %s refused: %s" % (name, r.stderr.strip()))
    r = run("good.decode")
    if r.returncode != 0:
        print("FAIL good.decode refused: %s" % r.stderr)
        fails += 1
    else:
        print("ok   good.decode accepted")
    # %nohelpers: A keeps its helper, B (after it) has none; the file's
    # ops are bounded by T_OPS_NOHELPERS_FIRST/_LAST
    r = run("nohelpers.decode", "--helpers")
    src = open(os.path.join(t, "t.c")).read() if r.returncode == 0 else ""
    hdr = open(os.path.join(t, "t.h")).read() if r.returncode == 0 else ""
    if ("[T_OP_A] = t_exec_a," not in src or "t_exec_b" in src + hdr
            or "#define T_OPS_NOHELPERS_FIRST T_OP_A" not in hdr
            or "#define T_OPS_NOHELPERS_LAST T_OP_B" not in hdr):
        print("FAIL nohelpers.decode: rc %d %s" % (r.returncode, r.stderr))
        fails += 1
    else:
        print("ok   nohelpers.decode: helper for A only, op range A..B")
sys.exit(1 if fails else 0)
