/* emu_psci.c — the PSCI 1.0 firmware interface of the emu engine, called by
 * HVC from EL1 (the device tree says method = "hvc"): version, features,
 * CPU_ON/CPU_OFF/AFFINITY_INFO, CPU_SUSPEND (as WFI), MIGRATE_INFO_TYPE,
 * SYSTEM_OFF/SYSTEM_RESET. Everything else answers NOT_SUPPORTED.
 *
 * Threads: runs on the calling vCPU's thread; CPU_ON/AFFINITY_INFO touch
 * other vCPUs' power state under e->lock.
 */
#include "engine/emu.h"

#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_SUSPEND 0x84000001u
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON 0x84000003u
#define PSCI_AFFINITY_INFO 0x84000004u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_FEATURES 0x8400000au
#define PSCI_64 0x40000000u /* SMC64 calling convention bit */

#define PSCI_SUCCESS 0
#define PSCI_NOT_SUPPORTED (-1)
#define PSCI_INVALID_PARAMS (-2)
#define PSCI_ALREADY_ON (-4)
#define PSCI_ON_PENDING (-5)

/* The function id without its SMC32/SMC64 distinction, or 0 when the id
 * is not a PSCI function we know in that convention. */
static uint32_t psci_fn(uint32_t id) {
  uint32_t base = id & ~PSCI_64;
  switch (base) {
  case PSCI_CPU_SUSPEND:
  case PSCI_CPU_ON:
  case PSCI_AFFINITY_INFO:
    return base; /* both conventions */
  case PSCI_VERSION:
  case PSCI_CPU_OFF:
  case PSCI_MIGRATE_INFO_TYPE:
  case PSCI_SYSTEM_OFF:
  case PSCI_SYSTEM_RESET:
  case PSCI_FEATURES:
    return (id & PSCI_64) ? 0 : base; /* 32-bit id only */
  default:
    return 0;
  }
}

static int64_t cpu_on(struct emu_vcpu *v, uint64_t mpidr, uint64_t entry,
                      uint64_t ctx) {
  struct emu_engine *e = v->e;
  int t = emu_gicv3_cpu_of(mpidr & 0xff00ffffffull, e->cfg.cpus);
  if (t < 0)
    return PSCI_INVALID_PARAMS;
  struct emu_vcpu *tv = &e->vcpus[t];
  int64_t r = PSCI_SUCCESS;
  pthread_mutex_lock(&e->lock);
  if (tv->power == EMU_POWER_ON) {
    r = PSCI_ALREADY_ON;
  } else if (tv->power == EMU_POWER_PENDING) {
    r = PSCI_ON_PENDING;
  } else {
    tv->on_pc = entry;
    tv->on_ctx = ctx;
    tv->power = EMU_POWER_PENDING;
    pthread_cond_signal(&tv->cv);
  }
  pthread_mutex_unlock(&e->lock);
  return r;
}

static int64_t affinity_info(struct emu_vcpu *v, uint64_t mpidr,
                             uint64_t level) {
  struct emu_engine *e = v->e;
  if (level != 0)
    return PSCI_INVALID_PARAMS;
  int t = emu_gicv3_cpu_of(mpidr & 0xff00ffffffull, e->cfg.cpus);
  if (t < 0)
    return PSCI_INVALID_PARAMS;
  pthread_mutex_lock(&e->lock);
  int64_t r = e->vcpus[t].power;
  pthread_mutex_unlock(&e->lock);
  return r;
}

bool emu_psci_call(struct emu_vcpu *v) {
  uint64_t *x = v->cpu.r;
  uint32_t id = (uint32_t)x[0];
  /* SMC32 arguments are the low 32 bits of the registers. */
  bool is64 = id & PSCI_64;
  uint64_t a1 = is64 ? x[1] : (uint32_t)x[1];
  uint64_t a2 = is64 ? x[2] : (uint32_t)x[2];
  uint64_t a3 = is64 ? x[3] : (uint32_t)x[3];
  int64_t r;
  switch (psci_fn(id)) {
  case PSCI_VERSION:
    r = 0x10000; /* 1.0, as the device tree's "arm,psci-1.0" says */
    break;
  case PSCI_FEATURES:
    r = psci_fn((uint32_t)a1) ? PSCI_SUCCESS : PSCI_NOT_SUPPORTED;
    if (psci_fn((uint32_t)a1) == PSCI_CPU_SUSPEND)
      r = 0; /* original power_state format, no OS-initiated mode */
    break;
  case PSCI_CPU_ON:
    r = cpu_on(v, a1, a2, a3);
    break;
  case PSCI_AFFINITY_INFO:
    r = affinity_info(v, a1, a2);
    break;
  case PSCI_CPU_SUSPEND:
    /* A standby state: behaves like WFI (the caller re-checks). */
    r = PSCI_SUCCESS;
    break;
  case PSCI_MIGRATE_INFO_TYPE:
    r = 2; /* no Trusted OS: migration not required */
    break;
  case PSCI_CPU_OFF:
    pthread_mutex_lock(&v->e->lock);
    v->power = EMU_POWER_OFF;
    pthread_mutex_unlock(&v->e->lock);
    return false;
  case PSCI_SYSTEM_OFF:
    emu_engine_end(v->e, VMK_EXIT_POWEROFF, NULL);
    return false;
  case PSCI_SYSTEM_RESET:
    emu_engine_end(v->e, VMK_EXIT_RESET, NULL);
    return false;
  default:
    r = PSCI_NOT_SUPPORTED;
    break;
  }
  x[0] = (uint64_t)r;
  return true;
}
