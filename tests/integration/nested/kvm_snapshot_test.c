/* kvm_snapshot_test.c — the engine-neutral machine state across engines,
 * inside the nested KVM host: a tiny guest counts in x3 and stores x3 and
 * CNTVCT to RAM without end. Each step pauses an engine, saves its state
 * (vCPU, GIC, counter), loads it into a new engine of the other kind (or
 * the same) on a copy of RAM, and checks the guest goes on counting from
 * where it was and its counter did not go back:
 *   kvm -> kvm, emu -> kvm, kvm -> emu.
 * Prints "N passed, N failed"; exit 0 when all passed.
 * Threads: main; the engines' vCPU threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/engine.h"
#include "machine/memmap.h"

#define RAM_SIZE (1u << 20)
#define SLOT_OFF 0x1000u

/* movz x2,#0x4000,lsl#16; add x2,x2,#1,lsl#12;
 * 1: add x3,x3,#1; mrs x1,cntvct_el0; stp x3,x1,[x2]; b 1b */
static const uint32_t code[] = {0xd2a80002, 0x91400442, 0x91000463,
                                0xd53be041, 0xa9000443, 0x17fffffd};

static int passes, fails;

static void check(int ok, const char *what, unsigned long long a,
                  unsigned long long b) {
  printf("%s %s (%llu, %llu)\n", ok ? "ok  " : "FAIL", what, a, b);
  if (ok)
    passes++;
  else
    fails++;
}

struct eng {
  struct vmk_guest_mem ram;
  struct vmk_bus bus;
  struct vmk_engine *e;
};

static void on_exit_cb(void *o, vmk_exit_reason r, const vmk_error *err) {
  (void)o;
  (void)r;
  if (err && err->msg[0])
    printf("engine ended: %s\n", err->msg);
}

static int make(struct eng *g, const struct vmk_engine_ops *ops,
                const uint8_t *ram_from) {
  g->ram.base = VMK_RAM_BASE;
  g->ram.size = RAM_SIZE;
  g->ram.host = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ram_from)
    memcpy(g->ram.host, ram_from, RAM_SIZE);
  else
    memcpy(g->ram.host, code, sizeof code);
  vmk_bus_init(&g->bus);
  struct vmk_engine_config cfg = {.cpus = 1,
                                  .ram = &g->ram,
                                  .bus = &g->bus,
                                  .gicd_base = VMK_GICD_BASE,
                                  .gicd_size = VMK_GICD_SIZE,
                                  .gicr_base = VMK_GICR_BASE,
                                  .gicr_size = VMK_GICR_STRIDE,
                                  .nr_spis = VMK_NR_SPIS,
                                  .on_exit = on_exit_cb};
  vmk_error err;
  if (ops->create(&cfg, &g->e, &err)) {
    printf("FAIL creating the %s engine: %s\n", ops->name, err.msg);
    fails++;
    return -1;
  }
  return 0;
}

static uint64_t slot(struct eng *g, int i) {
  return __atomic_load_n((uint64_t *)(g->ram.host + SLOT_OFF) + i,
                         __ATOMIC_SEQ_CST);
}

static int wait_past(struct eng *g, uint64_t x3) {
  for (int i = 0; i < 20000; i++) {
    if (slot(g, 0) > x3)
      return 1;
    usleep(1000);
  }
  return 0;
}

static void destroy(struct eng *g) {
  g->e->ops->destroy(g->e);
  munmap(g->ram.host, RAM_SIZE);
}

/* g runs (or ran) the loop: pause it, move its state into a new engine of
 * kind `to`, run that; returns the new engine in *out. */
static int move(struct eng *g, const struct vmk_engine_ops *to, struct eng *out,
                const char *what) {
  vmk_error err;
  struct vmk_arch_state st;
  vmk_arch_state_alloc(&st, 1);
  int r = g->e->ops->pause(g->e, &err);
  if (!r)
    r = g->e->ops->save_state(g->e, &st, &err);
  if (r) {
    printf("FAIL %s: saving: %s\n", what, err.msg);
    fails++;
    vmk_arch_state_free(&st);
    return -1;
  }
  uint64_t x3 = slot(g, 0), cnt = slot(g, 1);
  g->e->ops->stop(g->e);
  if (make(out, to, g->ram.host)) {
    vmk_arch_state_free(&st);
    return -1;
  }
  struct vmk_boot_regs boot = {.pc = VMK_RAM_BASE};
  r = out->e->ops->load_state(out->e, &st, &err);
  if (!r)
    r = out->e->ops->pause(out->e, &err);
  if (!r)
    r = out->e->ops->start(out->e, &boot, &err);
  if (!r)
    r = out->e->ops->resume(out->e, &err);
  vmk_arch_state_free(&st);
  if (r) {
    printf("FAIL %s: loading: %s\n", what, err.msg);
    fails++;
    return -1;
  }
  int going = wait_past(out, x3);
  char line[128];
  snprintf(line, sizeof line, "%s: the guest counts on from x3", what);
  check(going && slot(out, 0) > x3 && slot(out, 0) < x3 + (1ull << 40), line,
        x3, slot(out, 0));
  snprintf(line, sizeof line, "%s: the counter does not go back", what);
  check(slot(out, 1) >= cnt, line, cnt, slot(out, 1));
  return 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  vmk_error err;
  if (vmk_engine_kvm_ops.probe(&err)) {
    printf("SKIP: %s\n", err.msg);
    return 77;
  }
  struct eng k1, k2, e1, e2, k3;
  struct vmk_boot_regs boot = {.pc = VMK_RAM_BASE};
  if (make(&k1, &vmk_engine_kvm_ops, NULL) ||
      k1.e->ops->start(k1.e, &boot, &err)) {
    printf("FAIL starting kvm: %s\n", err.msg);
    return 1;
  }
  wait_past(&k1, 1000);
  usleep(300 * 1000);
  if (!move(&k1, &vmk_engine_kvm_ops, &k2, "kvm -> kvm")) {
    usleep(200 * 1000);
    if (!move(&k2, &vmk_engine_emu_ops, &e1, "kvm -> emu")) {
      usleep(200 * 1000);
      if (!move(&e1, &vmk_engine_kvm_ops, &k3, "emu -> kvm"))
        destroy(&k3);
      destroy(&e1);
    }
    destroy(&k2);
  }
  destroy(&k1);
  /* emu -> kvm from a fresh emu run too. */
  if (!make(&e2, &vmk_engine_emu_ops, NULL) &&
      !e2.e->ops->start(e2.e, &boot, &err)) {
    wait_past(&e2, 1000);
    struct eng k4;
    if (!move(&e2, &vmk_engine_kvm_ops, &k4, "emu (fresh) -> kvm"))
      destroy(&k4);
    destroy(&e2);
  }
  printf("%d passed, %d failed\n", passes, fails);
  return fails ? 1 : 0;
}
