#!/usr/bin/env python3
"""gen_decoder.py — vmkit's instruction decoder generator.

Reads pattern files (src/emu/isa/*.decode) and writes a C header and a C
source: `enum PREFIX_op` (one op per pattern, PREFIX_OP_UNDEF first, then
the ops declared with %op), the op name table, each op's mask/value, the
argument-set structs, and PREFIX_decode_gen(), a decision tree on the fixed
bits that extracts the pattern's fields into its argument set and calls the
pattern's decode function PREFIX_dec_NAME(out, &args) (written by hand: it
resolves what fields cannot express and returns the caller's DEC_* code).

Pattern file syntax (one item per line, '#' starts a comment):
  &SET f1 f2 ...        argument set: struct PREFIX_args_SET with members f1..
  %op NAME ...          ops with no pattern (synthetic insns, other decoders)
  %xform NAME ...       field transforms (C functions PREFIX_xf_NAME(uint32_t))
  %helper NAME ...      patterns without an exec helper (see below)
  %nohelpers            the same for every pattern after it in its file
  {  ...  }             an ordered group: its patterns may overlap, the first
                        that matches wins (a shadowed member is an error)
  NAME TOKENS...        a pattern. Bit tokens, most significant first, 32 bits
                        in all: runs of 0 / 1 / - (fixed 0, fixed 1, any) and
                        fields name:W (unsigned), name:sW (sign-extended),
                        either with @XF (apply transform XF). Then optional:
                        &SET (argument set; default: one of its own fields),
                        >DEC (decode function name; default: the pattern's
                        name in lower case), name=VALUE (constant member).

Checks, each a generation-time error with file:line: widths other than 32,
unknown tokens, fields not in the argument set, a decode function shared by
patterns of different argument sets, duplicate names, and overlapping
patterns outside an ordered group.

With --helpers, every pattern's op also gets an exec helper
PREFIX_exec_DEC (one per decode function, declared in the header, defined by
hand) and the table PREFIX_exec_helper[op]; ops from %op get NULL there.

usage: gen_decoder.py --prefix emu --header out.h --source out.c
                      [--include HDR]... [--helpers] FILE.decode...
python3 standard library only.
"""
import argparse
import re
import sys


class GenError(Exception):
    pass


class Field:
    def __init__(self, name, lo, width, signed, xform):
        self.name, self.lo, self.width = name, lo, width
        self.signed, self.xform = signed, xform


class Pattern:
    def __init__(self, name, where):
        self.name, self.where = name, where
        self.mask = self.value = 0
        self.fields = []
        self.consts = {}
        self.argset = None
        self.dec = name.lower()
        self.group = None  # index of the ordered group, or None
        self.op = None


def err(where, msg):
    raise GenError("%s: %s" % (where, msg))


FIELD_RE = re.compile(r"^([a-z_][a-z0-9_]*):(s?)([0-9]+)(?:@([a-z_][a-z0-9_]*))?$")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse(files):
    argsets = {}  # name -> ordered list of members
    extra_ops = []
    xforms = set()
    no_helper = set()
    patterns = []
    groups = 0
    for path in files:
        with open(path) as f:
            lines = f.read().split("\n")
        group = None
        file_no_helper = False
        for ln, line in enumerate(lines, 1):
            where = "%s:%d" % (path, ln)
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            toks = line.split()
            if toks[0] == "{":
                if group is not None or len(toks) != 1:
                    err(where, "'{' must stand alone and groups do not nest")
                group = groups
                groups += 1
                continue
            if toks[0] == "}":
                if group is None or len(toks) != 1:
                    err(where, "'}' without an open group")
                group = None
                continue
            if toks[0].startswith("&"):
                name = toks[0][1:]
                if not NAME_RE.match(name) or name in argsets:
                    err(where, "bad or duplicate argument set '%s'" % name)
                members = toks[1:]
                for m in members:
                    if not NAME_RE.match(m):
                        err(where, "bad member name '%s'" % m)
                if len(set(members)) != len(members):
                    err(where, "argument set '%s' repeats a member" % name)
                argsets[name] = members
                continue
            if toks[0] == "%nohelpers":
                if len(toks) != 1:
                    err(where, "'%nohelpers' takes no names")
                file_no_helper = True
                continue
            if toks[0] in ("%op", "%xform", "%helper"):
                for t in toks[1:]:
                    if not NAME_RE.match(t):
                        err(where, "bad name '%s'" % t)
                {"%op": extra_ops.extend, "%xform": xforms.update,
                 "%helper": no_helper.update}[toks[0]](toks[1:])
                continue
            if toks[0].startswith("%"):
                err(where, "unknown directive '%s'" % toks[0])
            p = Pattern(toks[0], where)
            if not NAME_RE.match(p.name):
                err(where, "bad pattern name '%s'" % p.name)
            p.group = group
            pos = 32
            for t in toks[1:]:
                m = FIELD_RE.match(t)
                if t.startswith("&"):
                    p.argset = t[1:]
                elif t.startswith(">"):
                    p.dec = t[1:]
                    if not NAME_RE.match(p.dec):
                        err(where, "bad decode function name '%s'" % p.dec)
                elif "=" in t:
                    k, v = t.split("=", 1)
                    try:
                        p.consts[k] = int(v, 0)
                    except ValueError:
                        err(where, "bad constant '%s'" % t)
                elif m:
                    w = int(m.group(3))
                    if w < 1 or w > 32:
                        err(where, "field '%s' has width %d" % (t, w))
                    pos -= w
                    if pos < 0:
                        err(where, "pattern '%s' is wider than 32 bits" % p.name)
                    if m.group(4) and m.group(4) not in xforms:
                        err(where, "unknown transform '%s' (declare it with %%xform)"
                            % m.group(4))
                    if any(f.name == m.group(1) for f in p.fields):
                        err(where, "field '%s' appears twice" % m.group(1))
                    p.fields.append(Field(m.group(1), pos, w, m.group(2) == "s",
                                          m.group(4)))
                elif re.match(r"^[01.-]+$", t):
                    for c in t:
                        pos -= 1
                        if pos < 0:
                            err(where, "pattern '%s' is wider than 32 bits" % p.name)
                        if c in "01":
                            p.mask |= 1 << pos
                            p.value |= int(c) << pos
                else:
                    err(where, "unknown token '%s'" % t)
            if pos != 0:
                err(where, "pattern '%s' is %d bits wide, not 32" % (p.name, 32 - pos))
            names = [f.name for f in p.fields] + list(p.consts)
            if p.argset is None:
                p.argset = p.name.lower()
                if p.argset in argsets:
                    err(where, "implicit argument set '%s' exists already" % p.argset)
                argsets[p.argset] = names
            elif p.argset not in argsets:
                err(where, "unknown argument set '%s'" % p.argset)
            for n in names:
                if n not in argsets[p.argset]:
                    err(where, "field '%s' is not in argument set '%s'" % (n, p.argset))
            if file_no_helper:
                no_helper.add(p.name)
            patterns.append(p)
        if group is not None:
            err(path, "group not closed at end of file")
    return argsets, extra_ops, patterns, no_helper


def overlap(a, b):
    return ((a.mask & b.mask) & (a.value ^ b.value)) == 0


def check(argsets, extra_ops, patterns, no_helper):
    seen = {}
    for p in patterns:
        if p.name.upper() in seen or p.name.upper() == "UNDEF":
            err(p.where, "duplicate op name '%s'" % p.name)
        seen[p.name.upper()] = p
    for n in extra_ops:
        if n.upper() in seen or n.upper() == "UNDEF":
            err("%op", "duplicate op name '%s'" % n)
        seen[n.upper()] = None
    for n in no_helper:
        if n.upper() not in seen or seen[n.upper()] is None:
            err("%helper", "'%s' is not a pattern" % n)
    decs = {}
    for p in patterns:
        if decs.setdefault(p.dec, p.argset) != p.argset:
            err(p.where, "decode function '%s' is used with argument sets '%s' "
                "and '%s'" % (p.dec, decs[p.dec], p.argset))
    for i, a in enumerate(patterns):
        for b in patterns[i + 1:]:
            if not overlap(a, b):
                continue
            if a.group is not None and a.group == b.group:
                # b comes later in the same group: reachable unless a covers it
                if (a.mask & ~b.mask) == 0:
                    err(b.where, "pattern '%s' can never match: '%s' (%s) above it "
                        "in its group matches every encoding it does"
                        % (b.name, a.name, a.where))
                continue
            err(b.where, "pattern '%s' overlaps '%s' (%s), e.g. %08x; put both in "
                "one ordered group { } or make them disjoint"
                % (b.name, a.name, a.where,
                   (a.value | b.value) & 0xffffffff))


class Item:
    """A pattern or an ordered group, as one node of the decision tree."""

    def __init__(self, members):
        self.members = members
        m = 0xffffffff
        for p in members:
            m &= p.mask
        # keep only bits on which every member agrees
        v0 = members[0].value
        for p in members[1:]:
            m &= ~(p.value ^ v0)
        self.mask, self.value = m, v0 & m


def runs(mask):
    """Contiguous runs (lo, width) of the set bits of mask, high first."""
    out = []
    b = 31
    while b >= 0:
        if mask >> b & 1:
            hi = b
            while b >= 0 and mask >> b & 1:
                b -= 1
            out.append((b + 1, hi - b))
        else:
            b -= 1
    return out


def extract_expr(mask):
    parts, off = [], 0
    for lo, w in reversed(runs(mask)):
        e = "(insn >> %d & 0x%x)" % (lo, (1 << w) - 1) if lo else "(insn & 0x%x)" % ((1 << w) - 1)
        parts.append("%s << %d" % (e, off) if off else e)
        off += w
    return " | ".join(parts)


def extract_val(mask, value):
    out, off = 0, 0
    for lo, w in reversed(runs(mask)):
        out |= ((value >> lo) & ((1 << w) - 1)) << off
        off += w
    return out


class Emitter:
    def __init__(self, prefix):
        self.prefix = prefix
        self.lines = []

    def w(self, depth, s):
        self.lines.append("  " * depth + s)

    def call(self, depth, p):
        pf = self.prefix
        self.w(depth, "{")
        inits = []
        for f in p.fields:
            if f.lo:
                e = "insn >> %d & 0x%x" % (f.lo, (1 << f.width) - 1)
            else:
                e = "insn & 0x%x" % ((1 << f.width) - 1)
            if f.width == 32:
                e = "insn"
            if f.signed:
                e = "(uint32_t)((int32_t)(insn << %d) >> %d)" % (32 - f.lo - f.width, 32 - f.width)
            if f.xform:
                e = "%s_xf_%s(%s)" % (pf, f.xform, e)
            inits.append(".%s = %s" % (f.name, e))
        for k, v in p.consts.items():
            inits.append(".%s = %d" % (k, v))
        self.w(depth + 1, "const struct %s_args_%s a = {%s};" % (pf, p.argset, ", ".join(inits)))
        self.w(depth + 1, "out->op = %s_OP_%s;" % (pf.upper(), p.name.upper()))
        self.w(depth + 1, "return %s_dec_%s(out, &a);" % (pf, p.dec))
        self.w(depth, "}")

    def leaf(self, depth, item, known):
        for p in item.members:
            # bits the path has tested on the item's behalf (and so on
            # every member's) need no second test
            m = p.mask & ~(known & item.mask)
            if m:
                self.w(depth, "if ((insn & 0x%08xu) == 0x%08xu)" % (m, p.value & m))
                self.call(depth + 1, p)
            else:
                self.call(depth, p)
                return  # later members are unreachable here
        self.w(depth, "return %s_DEC_NOMATCH;" % self.prefix.upper())

    def tree(self, depth, items, known):
        if not items:
            self.w(depth, "return %s_DEC_NOMATCH;" % self.prefix.upper())
            return
        if len(items) == 1:
            self.leaf(depth, items[0], known)
            return
        common = 0xffffffff & ~known
        for it in items:
            common &= it.mask
        if common:
            parts = {}
            for it in items:
                parts.setdefault(extract_val(common, it.value), []).append(it)
            self.w(depth, "switch (%s) {" % extract_expr(common))
            for v in sorted(parts):
                self.w(depth, "case 0x%x:" % v)
                self.tree(depth + 1, parts[v], known | common)
            self.w(depth, "default:")
            self.w(depth + 1, "return %s_DEC_NOMATCH;" % self.prefix.upper())
            self.w(depth, "}")
            return
        best, bestn = None, 0
        for b in range(32):
            if known >> b & 1:
                continue
            n = sum(1 for it in items if it.mask >> b & 1)
            if n > bestn:
                best, bestn = b, n
        if best is None:
            raise GenError("internal: items %s cannot be told apart"
                           % [it.members[0].name for it in items])
        ones = [it for it in items if not (it.mask >> best & 1) or it.value >> best & 1]
        zeros = [it for it in items if not (it.mask >> best & 1) or not it.value >> best & 1]
        self.w(depth, "if (insn >> %d & 1) {" % best)
        self.tree(depth + 1, ones, known | 1 << best)
        self.w(depth, "} else {")
        self.tree(depth + 1, zeros, known | 1 << best)
        self.w(depth, "}")


def generate(prefix, argsets, extra_ops, patterns, no_helper, helpers, inputs,
             includes):
    P = prefix.upper()
    ops = ["UNDEF"] + [p.name.upper() for p in patterns] + [n.upper() for n in extra_ops]
    for i, p in enumerate(patterns):
        p.op = i + 1
    src_list = " ".join(inputs)
    h = []
    h.append("/* Generated by tools/emu/gen_decoder.py from %s: do not edit. */" % src_list)
    h.append("#pragma once")
    h.append("#include <stdint.h>")
    h.append("struct emu_insn;")
    h.append("struct emu_cpu;")
    h.append("")
    h.append("enum %s_op {" % prefix)
    for o in ops:
        h.append("  %s_OP_%s," % (P, o))
    h.append("  %s_OP_COUNT" % P)
    h.append("};")
    h.append("#define %s_DEC_NOMATCH (-1)" % P)
    h.append("/* The ops of each pattern file, in file order: FILE_FIRST..FILE_LAST. */")
    for f in inputs:
        mine = [p for p in patterns if p.where.split(":")[0].split("/")[-1] == f]
        if mine:
            base = re.sub(r"[^A-Za-z0-9]", "_", f.rsplit(".", 1)[0]).upper()
            h.append("#define %s_OPS_%s_FIRST %s_OP_%s" % (P, base, P, mine[0].name.upper()))
            h.append("#define %s_OPS_%s_LAST %s_OP_%s" % (P, base, P, mine[-1].name.upper()))
    h.append("/* Names for diagnostics and statistics, indexed by op. */")
    h.append("extern const char *const %s_op_name[%s_OP_COUNT];" % (prefix, P))
    h.append("/* Fixed bits of each op's pattern (0/0 for ops without one). */")
    h.append("struct %s_op_pattern { uint32_t mask, value; };" % prefix)
    h.append("extern const struct %s_op_pattern %s_op_pattern[%s_OP_COUNT];" % (prefix, prefix, P))
    h.append("")
    used = sorted({p.argset for p in patterns})
    for a in used:
        h.append("struct %s_args_%s {" % (prefix, a))
        signed = {f.name for p in patterns if p.argset == a for f in p.fields if f.signed}
        for m in argsets[a]:
            h.append("  %s %s;" % ("int32_t" if m in signed else "uint32_t", m))
        if not argsets[a]:
            h.append("  char unused_;")
        h.append("};")
    h.append("")
    decs = {}
    for p in patterns:
        decs.setdefault(p.dec, p.argset)
    for d, a in decs.items():
        h.append("int %s_dec_%s(struct emu_insn *out, const struct %s_args_%s *a);"
                 % (prefix, d, prefix, a))
    h.append("")
    h.append("/* Picks the pattern matching insn, sets out->op, extracts the fields")
    h.append(" * and returns its decode function's result; %s_DEC_NOMATCH (with"
             % P)
    h.append(" * out untouched) when no pattern matches. */")
    h.append("int %s_decode_gen(struct emu_insn *out, uint32_t insn);" % prefix)
    if helpers:
        hdecs = {}
        for p in patterns:
            if p.name not in no_helper:
                hdecs.setdefault(p.dec, 1)
        h.append("")
        h.append("/* Exec helpers: perform one decoded insn of that op (see cpu.h). */")
        h.append("typedef void (*%s_exec_fn)(struct emu_cpu *cpu, const struct emu_insn *in);" % prefix)
        for d in hdecs:
            h.append("void %s_exec_%s(struct emu_cpu *cpu, const struct emu_insn *in);" % (prefix, d))
        h.append("extern const %s_exec_fn %s_exec_helper[%s_OP_COUNT];" % (prefix, prefix, P))

    c = []
    c.append("/* Generated by tools/emu/gen_decoder.py from %s: do not edit. */" % src_list)
    c.append("#include <stddef.h>")
    c.append("#include <stdint.h>")
    for inc in includes:
        c.append('#include "%s"' % inc)
    c.append("")
    c.append("const char *const %s_op_name[%s_OP_COUNT] = {" % (prefix, P))
    for o in ops:
        c.append('    [%s_OP_%s] = "%s",' % (P, o, o.lower()))
    c.append("};")
    c.append("const struct %s_op_pattern %s_op_pattern[%s_OP_COUNT] = {" % (prefix, prefix, P))
    for p in patterns:
        c.append("    [%s_OP_%s] = {0x%08xu, 0x%08xu}," % (P, p.name.upper(), p.mask, p.value))
    c.append("};")
    if helpers:
        c.append("const %s_exec_fn %s_exec_helper[%s_OP_COUNT] = {" % (prefix, prefix, P))
        for p in patterns:
            if p.name not in no_helper:
                c.append("    [%s_OP_%s] = %s_exec_%s," % (P, p.name.upper(), prefix, p.dec))
        c.append("};")
    c.append("")
    # items in file order; a group is one item
    items, groups = [], {}
    for p in patterns:
        if p.group is None:
            items.append(Item([p]))
        elif p.group not in groups:
            groups[p.group] = [p]
            items.append(groups[p.group])
        else:
            groups[p.group].append(p)
    items = [it if isinstance(it, Item) else Item(it) for it in items]
    e = Emitter(prefix)
    e.w(0, "int %s_decode_gen(struct emu_insn *out, uint32_t insn) {" % prefix)
    e.tree(1, items, 0)
    e.w(0, "}")
    c.extend(e.lines)
    return "\n".join(h) + "\n", "\n".join(c) + "\n"


def main(argv):
    ap = argparse.ArgumentParser(description="vmkit decoder generator")
    ap.add_argument("--prefix", default="emu")
    ap.add_argument("--header", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--helpers", action="store_true")
    ap.add_argument("--include", action="append", default=[],
                    help="header the source includes (it must declare the "
                    "PREFIX_xf_* transforms and struct emu_insn)")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args(argv)
    try:
        argsets, extra, pats, nohelp = parse(a.inputs)
        check(argsets, extra, pats, nohelp)
        hdr, src = generate(a.prefix, argsets, extra, pats, nohelp, a.helpers,
                            [x.split("/")[-1] for x in a.inputs], a.include)
    except (GenError, OSError) as ex:
        print("gen_decoder: error: %s" % ex, file=sys.stderr)
        return 1
    with open(a.header, "w") as f:
        f.write(hdr)
    with open(a.source, "w") as f:
        f.write(src)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
