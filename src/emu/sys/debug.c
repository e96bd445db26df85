/* debug.c — self-hosted debug of the emulated core (see debug.h): when
 * debug exceptions are enabled, breakpoint / watchpoint matching and the
 * software step state machine (Arm ARM D2, ARMv8.0 with EL0/EL1 only).
 *
 * Software step: with MDSCR_EL1.SS set and debug exceptions enabled at the
 * current EL, PSTATE.SS = 1 is "active-not-pending" (run one instruction,
 * then clear PSTATE.SS) and PSTATE.SS = 0 is "active-pending" (take the
 * Software Step exception before the next instruction). Exception entry
 * saves PSTATE.SS in SPSR_EL1.SS (so an instruction that faults is stepped
 * again after the return) and ERET restores it.
 *
 * Guest-controlled values (every debug register) are only compared, never
 * used as pointers or counts; RES0 bits are masked when written
 * (sysregs.c) and reserved encodings (BT, PMC, MASK) never match.
 *
 * Not modelled: accesses to MMIO (non-RAM) pages never hit a watchpoint;
 * linked watchpoints (WT = 1) never match; LDTR/STTR at EL1 are matched
 * as EL1 accesses (the Arm ARM matches them as EL0's); SSC/HMC are
 * ignored (no EL2/EL3); no halting debug.
 *
 * Threads: the vCPU thread owning the emu_sys.
 */
#include "emu/sys/debug.h"

#include <string.h>

#include "emu/sys/env.h"
#include "emu/sys/exception.h"

#define FSC_DEBUG 0x22u                 /* IFSC/DFSC: debug exception */
#define VA_BITS_MASK 0x1ffffffffffffull /* VA[48:0]: both halves differ */
#define ESR_ISV (1u << 24)
#define ESR_EX (1u << 6)
#define ESR_WNR (1u << 6)

static bool os_locked(const struct emu_sys *sys) {
  bool oslk = sys->regs.oslsr & 2;
  bool dlk = (sys->regs.osdlr & 1) && !(sys->regs.dbgprcr & 1);
  return oslk || dlk;
}

bool emu_dbg_enabled(const struct emu_sys *sys) {
  if (os_locked(sys))
    return false;
  /* From EL0, a lower EL than ELd = EL1: always. From EL1 itself: only
   * with MDSCR_EL1.KDE set and PSTATE.D clear. */
  if (sys->el == 0)
    return true;
  return (sys->regs.mdscr & EMU_MDSCR_KDE) && !(sys->daif & EMU_PSTATE_D);
}

/* MDE, no OS lock: breakpoints and watchpoints can match at some EL. */
static bool bpwp_base(const struct emu_sys *sys) {
  return (sys->regs.mdscr & EMU_MDSCR_MDE) && !os_locked(sys);
}

/* PMC (breakpoints) / PAC (watchpoints), bits [2:1]: 0b01 EL1, 0b10 EL0,
 * 0b11 both; 0b00 (with HMC = 0, no EL2) matches nothing. */
static bool el_ok(uint64_t ctrl, unsigned el) {
  unsigned pmc = (unsigned)(ctrl >> 1) & 3;
  return el ? (pmc & 1) : (pmc & 2);
}

static unsigned bp_type(uint64_t bcr) { return (unsigned)(bcr >> 20) & 15; }

/* Instruction address match: VA[48:2] (A64 instructions are word
 * aligned; BAS 0b0000 never matches, anything else covers the word). */
static bool bp_addr_match(uint64_t bcr, uint64_t bvr, uint64_t pc) {
  return ((bcr >> 5) & 15) && !((pc ^ bvr) & VA_BITS_MASK & ~3ull);
}

/* Context ID match; only the last EMU_DBG_NCTX breakpoints compare it. */
static bool bp_ctx_match(const struct emu_sys *sys, unsigned i) {
  return i >= EMU_DBG_NBP - EMU_DBG_NCTX &&
         (uint32_t)sys->regs.dbgbvr[i] == (uint32_t)sys->regs.contextidr;
}

static bool bp_matches(const struct emu_sys *sys, unsigned i, uint64_t pc) {
  uint64_t bcr = sys->regs.dbgbcr[i], bvr = sys->regs.dbgbvr[i];
  if (!(bcr & 1) || !el_ok(bcr, sys->el))
    return false;
  switch (bp_type(bcr)) {
  case 0: /* unlinked instruction address match */
    return bp_addr_match(bcr, bvr, pc);
  case 1: { /* address match linked to a linked context breakpoint */
    unsigned l = (unsigned)(bcr >> 16) & 15;
    if (l >= EMU_DBG_NBP || !bp_addr_match(bcr, bvr, pc))
      return false;
    uint64_t lcr = sys->regs.dbgbcr[l];
    return (lcr & 1) && bp_type(lcr) == 3 && bp_ctx_match(sys, l);
  }
  case 2: /* unlinked context ID match: at every instruction */
    return bp_ctx_match(sys, i);
  default: /* 3 only matches through a link; the rest needs EL2 */
    return false;
  }
}

bool emu_dbg_bp_at(const struct emu_sys *sys, uint64_t pc) {
  for (unsigned i = 0; i < EMU_DBG_NBP; i++) {
    uint64_t bcr = sys->dbg.bp[i][0];
    if (!(bcr & 1))
      continue;
    unsigned bt = bp_type(bcr);
    if (bt == 2 || (bt <= 1 && bp_addr_match(bcr, sys->dbg.bp[i][1], pc)))
      return true;
  }
  return false;
}

uint32_t emu_dbg_bp_check(const struct emu_sys *sys, uint64_t pc) {
  if (!bpwp_base(sys) || !emu_dbg_enabled(sys))
    return 0;
  for (unsigned i = 0; i < EMU_DBG_NBP; i++)
    if (bp_matches(sys, i, pc))
      return emu_esr(sys->el ? EMU_EC_BKPT_SAME : EMU_EC_BKPT_LOWER, FSC_DEBUG);
  return 0;
}

/* [a, a+alen) and [b, b+blen) overlap (in VA[48:0], wrapping). */
static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  return ((b - a) & VA_BITS_MASK) < alen || ((a - b) & VA_BITS_MASK) < blen;
}

/* The bytes watchpoint i watches meet [va, va+len). */
static bool wp_range_match(uint64_t wcr, uint64_t wvr, uint64_t va,
                           uint64_t len) {
  unsigned mask = (unsigned)(wcr >> 24) & 31;
  if (mask) { /* a 2^MASK-byte aligned range; MASK 1 and 2 are reserved */
    if (mask < 3)
      return false;
    uint64_t size = 1ull << mask;
    return overlap(va, len, wvr & ~(size - 1), size);
  }
  /* BAS[i]: the byte at (DBGWVR & ~3) + i; with DBGWVR[2] set only
   * BAS[3:0] are meaningful, and then they name the same bytes. */
  unsigned bas = (unsigned)(wcr >> 5) & 0xff;
  uint64_t base = wvr & ~3ull;
  for (unsigned b = 0; b < 8; b++)
    if ((bas >> b) & 1 && overlap(va, len, base + b, 1))
      return true;
  return false;
}

uint32_t emu_dbg_watch_check(const struct emu_sys *sys, uint64_t va,
                             unsigned size, bool write) {
  if (!bpwp_base(sys) || !emu_dbg_enabled(sys))
    return 0;
  for (unsigned i = 0; i < EMU_DBG_NWP; i++) {
    uint64_t wcr = sys->regs.dbgwcr[i];
    unsigned lsc = (unsigned)(wcr >> 3) & 3;
    /* WT (linked watchpoints) is not implemented: never matches. */
    if (!(wcr & 1) || !el_ok(wcr, sys->el) || !(lsc & (write ? 2 : 1)) ||
        (wcr & (1ull << 20)))
      continue;
    if (wp_range_match(wcr, sys->regs.dbgwvr[i], va, size))
      return emu_esr(sys->el ? EMU_EC_WPT_SAME : EMU_EC_WPT_LOWER,
                     (write ? ESR_WNR : 0) | FSC_DEBUG);
  }
  return 0;
}

bool emu_dbg_page_watched(const struct emu_sys *sys, uint64_t va, bool *r,
                          bool *w) {
  *r = *w = false;
  uint64_t page = va & ~0xfffull;
  for (unsigned i = 0; i < EMU_DBG_NWP; i++) {
    uint64_t wcr = sys->dbg.wp[i][0];
    if ((wcr & 1) && wp_range_match(wcr, sys->dbg.wp[i][1], page, 4096)) {
      *r |= (wcr >> 3) & 1;
      *w |= (wcr >> 4) & 1;
    }
  }
  return *r || *w;
}

/* Software step syndrome: ISV says whether EX is meaningful (an
 * instruction was stepped), EX whether it was a load-exclusive. */
uint32_t emu_dbg_step_before(struct emu_sys *sys) {
  if (sys->ss)
    return 0; /* active-not-pending: step this instruction */
  uint32_t iss = FSC_DEBUG;
  if (sys->dbg.step_isv)
    iss |= ESR_ISV | (sys->dbg.step_ex ? ESR_EX : 0);
  return emu_esr(sys->el ? EMU_EC_SSTEP_SAME : EMU_EC_SSTEP_LOWER, iss);
}

void emu_dbg_step_done(struct emu_sys *sys, uint32_t raw) {
  sys->ss = false; /* active-pending */
  sys->dbg.step_isv = true;
  /* LDXR, LDAXR, LDXP, LDAXP: size:001000:o2=0:L=1:o1:... */
  sys->dbg.step_ex = (raw & 0x3fc00000u) == 0x08400000u;
}

void emu_dbg_update_step(struct emu_sys *sys) {
  if (sys->cpu)
    sys->cpu->dbg_step =
        (sys->regs.mdscr & EMU_MDSCR_SS) && emu_dbg_enabled(sys);
}

void emu_dbg_update(struct emu_sys *sys) {
  uint64_t bp[EMU_DBG_NBP][2], wp[EMU_DBG_NWP][2];
  bool base = bpwp_base(sys), any_bp = false, any_wp = false;
  memset(bp, 0, sizeof bp);
  memset(wp, 0, sizeof wp);
  for (unsigned i = 0; i < EMU_DBG_NBP; i++) {
    uint64_t bcr = sys->regs.dbgbcr[i];
    if (base && (bcr & 1) && bp_type(bcr) <= 2) {
      bp[i][0] = bcr;
      bp[i][1] = sys->regs.dbgbvr[i];
      any_bp = true;
    }
  }
  for (unsigned i = 0; i < EMU_DBG_NWP; i++) {
    uint64_t wcr = sys->regs.dbgwcr[i];
    if (base && (wcr & 1)) {
      wp[i][0] = wcr;
      wp[i][1] = sys->regs.dbgwvr[i];
      any_wp = true;
    }
  }
  if (memcmp(bp, sys->dbg.bp, sizeof bp)) {
    memcpy(sys->dbg.bp, bp, sizeof bp);
    /* Blocks decoded before carry no (or stale) breakpoint checks. */
    if (sys->ops && sys->ops->ic_inval)
      sys->ops->ic_inval(sys->opaque, false, true, 0);
  }
  if (memcmp(wp, sys->dbg.wp, sizeof wp)) {
    memcpy(sys->dbg.wp, wp, sizeof wp);
    sys->dbg.wp_armed = any_wp;
    /* Entries filled before let accesses to watched pages hit. */
    if (sys->cpu)
      emu_sys_tlb_flush(sys);
  }
  if (sys->cpu)
    sys->cpu->dbg_bp = any_bp;
  emu_dbg_update_step(sys);
}
