/* fdt.c — builds the "virt" machine's flattened device tree with libfdt's
 * sequential-write API, following the shape of QEMU's hw/arm/virt.c so
 * guests that boot there boot here. Runs once on the VM-building thread;
 * no shared state, the blob is written into the caller's buffer. */
#include "fdt.h"

#include <errno.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "machine/memmap.h"

/* Interrupt specifier cells of the arm,gic-v3 binding. */
#define GIC_FDT_SPI 0
#define GIC_FDT_PPI 1
#define IRQ_EDGE_RISING 1
#define IRQ_LEVEL_HIGH 4

#define PHANDLE_GIC 1
#define PHANDLE_CLK 2
#define PHANDLE_GPIO 3

#define KEY_POWER 116 /* linux/input-event-codes.h */

/* Builder state: the first libfdt error sticks and later calls do nothing,
 * so the emitting code reads straight down like the tree it makes. */
struct fdt_w {
  void *buf;
  int rc;
};

static void chk(struct fdt_w *w, int rc) {
  if (w->rc == 0 && rc < 0)
    w->rc = rc;
}

static void begin(struct fdt_w *w, const char *name) {
  if (!w->rc)
    chk(w, fdt_begin_node(w->buf, name));
}

static void begin_at(struct fdt_w *w, const char *name, uint64_t addr) {
  char n[64];
  snprintf(n, sizeof(n), "%s@%" PRIx64, name, addr);
  begin(w, n);
}

static void end(struct fdt_w *w) {
  if (!w->rc)
    chk(w, fdt_end_node(w->buf));
}

static void prop(struct fdt_w *w, const char *name, const void *val, int len) {
  if (!w->rc)
    chk(w, fdt_property(w->buf, name, val, len));
}

static void prop_str(struct fdt_w *w, const char *name, const char *s) {
  prop(w, name, s, (int)strlen(s) + 1);
}

static void prop_u32(struct fdt_w *w, const char *name, uint32_t v) {
  if (!w->rc)
    chk(w, fdt_property_u32(w->buf, name, v));
}

static void prop_u64(struct fdt_w *w, const char *name, uint64_t v) {
  if (!w->rc)
    chk(w, fdt_property_u64(w->buf, name, v));
}

/* A list of 32-bit cells, converted to big-endian. */
static void prop_cells(struct fdt_w *w, const char *name, const uint32_t *c,
                       unsigned n) {
  fdt32_t be[16];
  if (n > 16) {
    chk(w, -FDT_ERR_INTERNAL);
    return;
  }
  for (unsigned i = 0; i < n; i++)
    be[i] = cpu_to_fdt32(c[i]);
  prop(w, name, be, (int)(n * sizeof(fdt32_t)));
}

/* reg = <base size> with #address-cells = #size-cells = 2. */
static void prop_reg(struct fdt_w *w, uint64_t base, uint64_t size) {
  uint32_t c[4] = {(uint32_t)(base >> 32), (uint32_t)base,
                   (uint32_t)(size >> 32), (uint32_t)size};
  prop_cells(w, "reg", c, 4);
}

static void prop_irq(struct fdt_w *w, uint32_t type, uint32_t n,
                     uint32_t flags) {
  uint32_t c[3] = {type, n, flags};
  prop_cells(w, "interrupts", c, 3);
}

/* Multi-string properties ("a\0b\0"): sizeof includes the final NUL. */
#define PROP_STRS(w, name, lit) prop(w, name, lit, (int)sizeof(lit))

static void add_chosen(struct fdt_w *w, const struct vmk_fdt_params *p,
                       const char *uart_path) {
  begin(w, "chosen");
  prop_str(w, "bootargs", p->cmdline ? p->cmdline : "");
  prop_str(w, "stdout-path", uart_path);
  if (p->initrd_end > p->initrd_start) {
    prop_u64(w, "linux,initrd-start", p->initrd_start);
    prop_u64(w, "linux,initrd-end", p->initrd_end);
  }
  /* Seeds let the guest's RNG and KASLR start well without waiting for
   * entropy; if the host cannot give randomness they are simply left out. */
  uint8_t seed[40];
  if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
    prop(w, "rng-seed", seed, 32);
    uint64_t k;
    memcpy(&k, seed + 32, sizeof(k));
    prop_u64(w, "kaslr-seed", k);
  }
  end(w);
}

static void add_cpus(struct fdt_w *w, const struct vmk_fdt_params *p) {
  begin(w, "cpus");
  prop_u32(w, "#address-cells", 1); /* Aff3 is always 0 here */
  prop_u32(w, "#size-cells", 0);
  for (unsigned n = 0; n < p->cpus; n++) {
    char name[32];
    snprintf(name, sizeof(name), "cpu@%u", n);
    begin(w, name);
    prop_str(w, "device_type", "cpu");
    prop_str(w, "compatible", "arm,armv8"); /* bindings/arm/cpus.yaml */
    prop_str(w, "enable-method", "psci");
    prop_u32(w, "reg", (uint32_t)vmk_cpu_mpidr_affinity(n));
    end(w);
  }
  end(w);
}

static void add_psci(struct fdt_w *w, const struct vmk_fdt_params *p) {
  begin(w, "psci");
  PROP_STRS(w, "compatible", "arm,psci-1.0\0arm,psci-0.2\0arm,psci");
  prop_str(w, "method", p->psci_smc ? "smc" : "hvc");
  /* The 0.1 binding's ids, given as QEMU does for old guests. */
  prop_u32(w, "cpu_suspend", VMK_PSCI_0_2_FN64_CPU_SUSPEND);
  prop_u32(w, "cpu_off", VMK_PSCI_0_2_FN_CPU_OFF);
  prop_u32(w, "cpu_on", VMK_PSCI_0_2_FN64_CPU_ON);
  prop_u32(w, "migrate", VMK_PSCI_0_2_FN64_MIGRATE);
  end(w);
}

static void add_timer(struct fdt_w *w) {
  begin(w, "timer");
  PROP_STRS(w, "compatible", "arm,armv8-timer\0arm,armv7-timer");
  prop(w, "always-on", NULL, 0);
  /* Order fixed by the binding: secure, non-secure, virtual, hyp. */
  uint32_t c[12] = {
      GIC_FDT_PPI, VMK_PPI_TIMER_SEC,  IRQ_LEVEL_HIGH,
      GIC_FDT_PPI, VMK_PPI_TIMER_PHYS, IRQ_LEVEL_HIGH,
      GIC_FDT_PPI, VMK_PPI_TIMER_VIRT, IRQ_LEVEL_HIGH,
      GIC_FDT_PPI, VMK_PPI_TIMER_HYP,  IRQ_LEVEL_HIGH,
  };
  prop_cells(w, "interrupts", c, 12);
  end(w);
}

static void add_gic(struct fdt_w *w) {
  begin_at(w, "intc", VMK_GICD_BASE);
  prop_str(w, "compatible", "arm,gic-v3");
  prop_u32(w, "#interrupt-cells", 3);
  prop(w, "interrupt-controller", NULL, 0);
  prop_u32(w, "#address-cells", 2);
  prop_u32(w, "#size-cells", 2);
  prop(w, "ranges", NULL, 0);
  prop_u32(w, "#redistributor-regions", 1);
  uint32_t c[8] = {
      (uint32_t)(VMK_GICD_BASE >> 32), (uint32_t)VMK_GICD_BASE,
      (uint32_t)(VMK_GICD_SIZE >> 32), (uint32_t)VMK_GICD_SIZE,
      (uint32_t)(VMK_GICR_BASE >> 32), (uint32_t)VMK_GICR_BASE,
      (uint32_t)(VMK_GICR_SIZE >> 32), (uint32_t)VMK_GICR_SIZE,
  };
  prop_cells(w, "reg", c, 8);
  prop_u32(w, "phandle", PHANDLE_GIC);
  end(w);
}

static void add_clock(struct fdt_w *w) {
  /* The PrimeCell drivers refuse to probe without an apb_pclk. */
  begin(w, "apb-pclk");
  prop_str(w, "compatible", "fixed-clock");
  prop_u32(w, "#clock-cells", 0);
  prop_u32(w, "clock-frequency", 24000000);
  prop_str(w, "clock-output-names", "clk24mhz");
  prop_u32(w, "phandle", PHANDLE_CLK);
  end(w);
}

static void add_uart(struct fdt_w *w) {
  begin_at(w, "pl011", VMK_UART_BASE);
  PROP_STRS(w, "compatible", "arm,pl011\0arm,primecell");
  prop_reg(w, VMK_UART_BASE, VMK_UART_SIZE);
  prop_irq(w, GIC_FDT_SPI, VMK_UART_SPI, IRQ_LEVEL_HIGH);
  uint32_t clk[2] = {PHANDLE_CLK, PHANDLE_CLK};
  prop_cells(w, "clocks", clk, 2);
  PROP_STRS(w, "clock-names", "uartclk\0apb_pclk");
  end(w);
}

static void add_rtc(struct fdt_w *w) {
  begin_at(w, "pl031", VMK_RTC_BASE);
  PROP_STRS(w, "compatible", "arm,pl031\0arm,primecell");
  prop_reg(w, VMK_RTC_BASE, VMK_RTC_SIZE);
  prop_irq(w, GIC_FDT_SPI, VMK_RTC_SPI, IRQ_LEVEL_HIGH);
  prop_u32(w, "clocks", PHANDLE_CLK);
  prop_str(w, "clock-names", "apb_pclk");
  end(w);
}

static void add_gpio(struct fdt_w *w) {
  begin_at(w, "pl061", VMK_GPIO_BASE);
  PROP_STRS(w, "compatible", "arm,pl061\0arm,primecell");
  prop_reg(w, VMK_GPIO_BASE, VMK_GPIO_SIZE);
  prop_u32(w, "#gpio-cells", 2);
  prop(w, "gpio-controller", NULL, 0);
  prop_irq(w, GIC_FDT_SPI, VMK_GPIO_SPI, IRQ_LEVEL_HIGH);
  prop_u32(w, "clocks", PHANDLE_CLK);
  prop_str(w, "clock-names", "apb_pclk");
  prop_u32(w, "phandle", PHANDLE_GPIO);
  end(w);

  begin(w, "gpio-keys");
  prop_str(w, "compatible", "gpio-keys");
  begin(w, "poweroff");
  prop_str(w, "label", "GPIO Key Poweroff");
  prop_u32(w, "linux,code", KEY_POWER);
  uint32_t g[3] = {PHANDLE_GPIO, 3, 0}; /* line 3, active high */
  prop_cells(w, "gpios", g, 3);
  end(w);
  end(w);
}

static void add_boot_timer(struct fdt_w *w) {
  begin_at(w, "boot-timer", VMK_BOOT_TIMER_BASE);
  prop_str(w, "compatible", "vmkit,boot-timer");
  prop_reg(w, VMK_BOOT_TIMER_BASE, VMK_BOOT_TIMER_SIZE);
  end(w);
}

/* Linux's pvpanic-mmio driver binds this compatible. */
static void add_pvpanic(struct fdt_w *w) {
  begin_at(w, "pvpanic", VMK_PVPANIC_BASE);
  prop_str(w, "compatible", "qemu,pvpanic-mmio");
  prop_reg(w, VMK_PVPANIC_BASE, VMK_PVPANIC_SIZE);
  end(w);
}

/* Documentation/devicetree/bindings/reserved-memory/ramoops.yaml; Linux
 * makes a platform device of a "ramoops" child of /reserved-memory. Only
 * panics are dumped (max-reason 1 = KMSG_DUMP_PANIC), so a record means the
 * kernel panicked. mem-type 2 maps it cached, as the host reads it (kernels
 * that ignore it use write-combine, fine on the emulator). */
static void add_ramoops(struct fdt_w *w, const struct vmk_fdt_params *p) {
  begin(w, "reserved-memory");
  prop_u32(w, "#address-cells", 2);
  prop_u32(w, "#size-cells", 2);
  prop(w, "ranges", NULL, 0);
  begin_at(w, "ramoops", p->ramoops_base);
  prop_str(w, "compatible", "ramoops");
  prop_reg(w, p->ramoops_base, p->ramoops_size);
  prop_u32(w, "record-size", (uint32_t)p->ramoops_record_size);
  prop_u32(w, "max-reason", 1);
  prop_u32(w, "mem-type", 2);
  end(w);
  end(w);
}

static void add_virtio(struct fdt_w *w, unsigned slots) {
  /* Lowest address first, the order QEMU's finished tree has. */
  for (unsigned i = 0; i < slots; i++) {
    uint64_t base = VMK_VIRTIO_MMIO_BASE + i * VMK_VIRTIO_MMIO_STRIDE;
    begin_at(w, "virtio_mmio", base);
    prop_str(w, "compatible", "virtio,mmio");
    prop_reg(w, base, VMK_VIRTIO_MMIO_STRIDE);
    prop_irq(w, GIC_FDT_SPI, VMK_VIRTIO_MMIO_SPI0 + i, IRQ_EDGE_RISING);
    prop(w, "dma-coherent", NULL, 0);
    end(w);
  }
}

static int check_params(const struct vmk_fdt_params *p, vmk_error *err) {
  if (p->cpus == 0 || p->cpus > VMK_FDT_MAX_CPUS)
    return vmk_err(err, -EINVAL,
                   "the machine supports 1 to %u CPUs, not %u; change the "
                   "CPU count",
                   VMK_FDT_MAX_CPUS, p->cpus);
  if (p->ram_size == 0 || p->ram_base + p->ram_size < p->ram_base)
    return vmk_err(err, -EINVAL,
                   "guest RAM of %" PRIu64 " bytes at 0x%" PRIx64
                   " is not a valid range; give a non-zero memory size",
                   p->ram_size, p->ram_base);
  if (p->cmdline && strlen(p->cmdline) >= VMK_FDT_CMDLINE_MAX)
    return vmk_err(err, -EINVAL,
                   "the kernel command line is %zu bytes long but arm64 "
                   "Linux accepts at most %u; shorten it",
                   strlen(p->cmdline), VMK_FDT_CMDLINE_MAX - 1);
  if (p->virtio_slots > VMK_VIRTIO_MMIO_SLOTS)
    return vmk_err(err, -EINVAL,
                   "the machine has %u virtio-mmio slots, %u were asked for; "
                   "use fewer devices",
                   VMK_VIRTIO_MMIO_SLOTS, p->virtio_slots);
  if (p->initrd_end < p->initrd_start ||
      (p->initrd_end > p->initrd_start &&
       (p->initrd_start < p->ram_base ||
        p->initrd_end > p->ram_base + p->ram_size)))
    return vmk_err(err, -EINVAL,
                   "the initrd range 0x%" PRIx64 "-0x%" PRIx64
                   " is not inside guest RAM; this is a vmkit bug",
                   p->initrd_start, p->initrd_end);
  uint64_t rs = p->ramoops_size, rr = p->ramoops_record_size;
  if (rs && (p->ramoops_base < p->ram_base ||
             p->ramoops_base - p->ram_base > p->ram_size ||
             rs > p->ram_size - (p->ramoops_base - p->ram_base) || rr == 0 ||
             rr > rs || (rr & (rr - 1)) || rr > UINT32_MAX))
    return vmk_err(err, -EINVAL,
                   "the panic log 0x%" PRIx64 "+0x%" PRIx64
                   " (records of 0x%" PRIx64
                   ") is not inside guest RAM or not a whole number of "
                   "records; this is a vmkit bug",
                   p->ramoops_base, rs, rr);
  return 0;
}

int vmk_fdt_build(const struct vmk_fdt_params *p, void *buf, size_t bufsize,
                  vmk_error *err) {
  int rc = check_params(p, err);
  if (rc)
    return rc;
  if (bufsize > INT32_MAX)
    bufsize = INT32_MAX;

  struct fdt_w w = {.buf = buf, .rc = 0};
  chk(&w, fdt_create(buf, (int)bufsize));
  if (!w.rc)
    chk(&w, fdt_finish_reservemap(buf));
  begin(&w, "");
  prop_str(&w, "compatible", "linux,dummy-virt");
  prop_u32(&w, "#address-cells", 2);
  prop_u32(&w, "#size-cells", 2);
  prop_u32(&w, "interrupt-parent", PHANDLE_GIC);

  char uart_path[32];
  snprintf(uart_path, sizeof(uart_path), "/pl011@%llx", VMK_UART_BASE);
  add_chosen(&w, p, uart_path);
  begin(&w, "aliases");
  prop_str(&w, "serial0", uart_path);
  end(&w);

  begin_at(&w, "memory", p->ram_base);
  prop_str(&w, "device_type", "memory");
  prop_reg(&w, p->ram_base, p->ram_size);
  end(&w);

  add_cpus(&w, p);
  add_psci(&w, p);
  add_timer(&w);
  add_gic(&w);
  add_clock(&w);
  add_uart(&w);
  add_rtc(&w);
  if (p->gpio_power_key)
    add_gpio(&w);
  if (p->boot_timer)
    add_boot_timer(&w);
  if (p->pvpanic)
    add_pvpanic(&w);
  if (p->ramoops_size)
    add_ramoops(&w, p);
  add_virtio(&w, p->virtio_slots);
  end(&w); /* root */
  if (!w.rc)
    chk(&w, fdt_finish(buf));

  if (w.rc == -FDT_ERR_NOSPACE)
    return vmk_err(err, -ENOSPC,
                   "the device tree does not fit in %zu bytes; this is a "
                   "vmkit bug (the buffer must be larger)",
                   bufsize);
  if (w.rc)
    return vmk_err(err, -EINVAL, "cannot build the device tree: %s",
                   fdt_strerror(w.rc));
  return 0;
}
