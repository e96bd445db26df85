/* test_fdt.c — reads the generated device tree back with libfdt and checks
 * every node and property the machine promises; decompiles it with dtc when
 * dtc is installed. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "machine/fdt.h"
#include "machine/memmap.h"

#define BUF_SIZE (64 * 1024)

static struct vmk_fdt_params base_params(void) {
  struct vmk_fdt_params p = {
      .cpus = 2,
      .ram_base = VMK_RAM_BASE,
      .ram_size = 512ull << 20,
      .cmdline = "console=ttyAMA0 root=/dev/vda rw",
      .initrd_start = 0x44000000,
      .initrd_end = 0x44123456,
      .virtio_slots = 4,
  };
  return p;
}

static void *build(const struct vmk_fdt_params *p) {
  void *buf = malloc(BUF_SIZE);
  vmk_error err = {0};
  assert_non_null(buf);
  int rc = vmk_fdt_build(p, buf, BUF_SIZE, &err);
  if (rc)
    fail_msg("vmk_fdt_build: %s", err.msg);
  assert_int_equal(fdt_check_header(buf), 0);
  assert_true(fdt_totalsize(buf) <= BUF_SIZE);
  return buf;
}

static int node(const void *fdt, const char *path) {
  int off = fdt_path_offset(fdt, path);
  if (off < 0)
    fail_msg("node %s missing", path);
  return off;
}

static const void *getprop(const void *fdt, const char *path, const char *name,
                           int *len) {
  const void *v = fdt_getprop(fdt, node(fdt, path), name, len);
  if (!v)
    fail_msg("property %s of %s missing", name, path);
  return v;
}

static uint32_t cell(const void *fdt, const char *path, const char *name) {
  int len;
  const fdt32_t *v = getprop(fdt, path, name, &len);
  assert_int_equal(len, 4);
  return fdt32_to_cpu(v[0]);
}

/* 64-bit properties are only 4-byte aligned inside the blob. */
static uint64_t u64prop(const void *fdt, const char *path, const char *name) {
  int len;
  const void *v = getprop(fdt, path, name, &len);
  assert_int_equal(len, 8);
  fdt64_t be;
  memcpy(&be, v, sizeof(be));
  return fdt64_to_cpu(be);
}

static void assert_cells(const void *fdt, const char *path, const char *name,
                         const uint32_t *want, int n) {
  int len;
  const fdt32_t *v = getprop(fdt, path, name, &len);
  assert_int_equal(len, n * 4);
  for (int i = 0; i < n; i++)
    if (fdt32_to_cpu(v[i]) != want[i])
      fail_msg("%s %s cell %d: 0x%x, want 0x%x", path, name, i,
               fdt32_to_cpu(v[i]), want[i]);
}

static void assert_str(const void *fdt, const char *path, const char *name,
                       const char *want) {
  int len;
  const char *v = getprop(fdt, path, name, &len);
  assert_int_equal(len, (int)strlen(want) + 1);
  assert_string_equal(v, want);
}

/* Multi-string property equal to want (with embedded NULs), wlen bytes. */
static void assert_strs(const void *fdt, const char *path, const char *name,
                        const char *want, int wlen) {
  int len;
  const char *v = getprop(fdt, path, name, &len);
  assert_int_equal(len, wlen);
  assert_memory_equal(v, want, (size_t)wlen);
}
#define ASSERT_STRS(fdt, path, name, lit)                                      \
  assert_strs(fdt, path, name, lit, (int)sizeof(lit))

static void assert_empty_prop(const void *fdt, const char *path,
                              const char *name) {
  int len;
  getprop(fdt, path, name, &len);
  assert_int_equal(len, 0);
}

static void assert_reg(const void *fdt, const char *path, uint64_t base,
                       uint64_t size) {
  uint32_t want[4] = {(uint32_t)(base >> 32), (uint32_t)base,
                      (uint32_t)(size >> 32), (uint32_t)size};
  assert_cells(fdt, path, "reg", want, 4);
}

static void test_root_and_chosen(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  void *fdt = build(&p);
  assert_str(fdt, "/", "compatible", "linux,dummy-virt");
  assert_int_equal(cell(fdt, "/", "#address-cells"), 2);
  assert_int_equal(cell(fdt, "/", "#size-cells"), 2);
  uint32_t gic = cell(fdt, "/intc@8000000", "phandle");
  assert_int_equal(cell(fdt, "/", "interrupt-parent"), gic);

  assert_str(fdt, "/chosen", "bootargs", p.cmdline);
  int len;
  const char *so = getprop(fdt, "/chosen", "stdout-path", &len);
  assert_string_equal(so, "/pl011@9000000");
  int uart = fdt_path_offset(fdt, so);
  assert_true(uart >= 0);
  assert_int_equal(fdt_node_check_compatible(fdt, uart, "arm,pl011"), 0);
  assert_str(fdt, "/aliases", "serial0", "/pl011@9000000");

  assert_int_equal(u64prop(fdt, "/chosen", "linux,initrd-start"),
                   p.initrd_start);
  assert_int_equal(u64prop(fdt, "/chosen", "linux,initrd-end"), p.initrd_end);
  /* rng-seed is optional (host randomness), but 32 bytes when present */
  const void *seed = fdt_getprop(fdt, node(fdt, "/chosen"), "rng-seed", &len);
  if (seed) {
    assert_int_equal(len, 32);
    assert_non_null(fdt_getprop(fdt, node(fdt, "/chosen"), "kaslr-seed", &len));
    assert_int_equal(len, 8);
  }

  assert_str(fdt, "/memory@40000000", "device_type", "memory");
  assert_reg(fdt, "/memory@40000000", VMK_RAM_BASE, 512ull << 20);
  free(fdt);
}

static void test_no_initrd_no_cmdline(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  p.initrd_start = p.initrd_end = 0;
  p.cmdline = NULL;
  void *fdt = build(&p);
  int ch = node(fdt, "/chosen");
  assert_null(fdt_getprop(fdt, ch, "linux,initrd-start", NULL));
  assert_null(fdt_getprop(fdt, ch, "linux,initrd-end", NULL));
  assert_str(fdt, "/chosen", "bootargs", "");
  free(fdt);
}

static void check_cpus(unsigned n) {
  struct vmk_fdt_params p = base_params();
  p.cpus = n;
  void *fdt = build(&p);
  int cpus = node(fdt, "/cpus");
  assert_int_equal(cell(fdt, "/cpus", "#address-cells"), 1);
  assert_int_equal(cell(fdt, "/cpus", "#size-cells"), 0);
  unsigned count = 0;
  int sub;
  fdt_for_each_subnode(sub, fdt, cpus) {
    char path[64];
    snprintf(path, sizeof(path), "/cpus/cpu@%u", count);
    assert_string_equal(fdt_get_name(fdt, sub, NULL), path + 6);
    assert_str(fdt, path, "device_type", "cpu");
    /* The binding's generic ARMv8 compatible (bindings/arm/cpus.yaml),
     * as QEMU gives -cpu host; "arm,arm-v8" is in no binding. */
    assert_str(fdt, path, "compatible", "arm,armv8");
    assert_str(fdt, path, "enable-method", "psci");
    /* QEMU virt + GICv3: 16 CPUs per cluster, Aff1 = n / 16 */
    uint32_t want = ((count / 16) << 8) | (count % 16);
    assert_int_equal(cell(fdt, path, "reg"), want);
    count++;
  }
  assert_int_equal(count, n);
  free(fdt);
}

static void test_cpus(void **state) {
  (void)state;
  check_cpus(1);
  check_cpus(2);
  check_cpus(8);
  check_cpus(20); /* crosses into Aff1 = 1 */
  assert_int_equal(vmk_cpu_mpidr_affinity(17), 0x101);
}

static void test_psci(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  void *fdt = build(&p);
  ASSERT_STRS(fdt, "/psci", "compatible",
              "arm,psci-1.0\0arm,psci-0.2\0arm,psci");
  assert_str(fdt, "/psci", "method", "hvc");
  assert_int_equal(cell(fdt, "/psci", "cpu_suspend"), 0xc4000001);
  assert_int_equal(cell(fdt, "/psci", "cpu_off"), 0x84000002);
  assert_int_equal(cell(fdt, "/psci", "cpu_on"), 0xc4000003);
  assert_int_equal(cell(fdt, "/psci", "migrate"), 0xc4000005);
  free(fdt);
  p.psci_smc = true;
  fdt = build(&p);
  assert_str(fdt, "/psci", "method", "smc");
  free(fdt);
}

static void test_timer_gic_clock(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  void *fdt = build(&p);
  ASSERT_STRS(fdt, "/timer", "compatible", "arm,armv8-timer\0arm,armv7-timer");
  assert_empty_prop(fdt, "/timer", "always-on");
  uint32_t t[12] = {1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4};
  assert_cells(fdt, "/timer", "interrupts", t, 12);

  assert_str(fdt, "/intc@8000000", "compatible", "arm,gic-v3");
  assert_int_equal(cell(fdt, "/intc@8000000", "#interrupt-cells"), 3);
  assert_empty_prop(fdt, "/intc@8000000", "interrupt-controller");
  assert_int_equal(cell(fdt, "/intc@8000000", "#redistributor-regions"), 1);
  assert_int_equal(cell(fdt, "/intc@8000000", "#address-cells"), 2);
  assert_int_equal(cell(fdt, "/intc@8000000", "#size-cells"), 2);
  assert_empty_prop(fdt, "/intc@8000000", "ranges");
  uint32_t reg[8] = {0, 0x08000000, 0, 0x10000, 0, 0x080A0000, 0, 0xF60000};
  assert_cells(fdt, "/intc@8000000", "reg", reg, 8);

  assert_str(fdt, "/apb-pclk", "compatible", "fixed-clock");
  assert_int_equal(cell(fdt, "/apb-pclk", "#clock-cells"), 0);
  assert_int_equal(cell(fdt, "/apb-pclk", "clock-frequency"), 24000000);
  assert_str(fdt, "/apb-pclk", "clock-output-names", "clk24mhz");
  free(fdt);
}

static void test_uart_rtc(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  void *fdt = build(&p);
  uint32_t clk = cell(fdt, "/apb-pclk", "phandle");
  ASSERT_STRS(fdt, "/pl011@9000000", "compatible", "arm,pl011\0arm,primecell");
  assert_reg(fdt, "/pl011@9000000", VMK_UART_BASE, VMK_UART_SIZE);
  uint32_t uirq[3] = {0, VMK_UART_SPI, 4};
  assert_cells(fdt, "/pl011@9000000", "interrupts", uirq, 3);
  uint32_t clocks[2] = {clk, clk};
  assert_cells(fdt, "/pl011@9000000", "clocks", clocks, 2);
  ASSERT_STRS(fdt, "/pl011@9000000", "clock-names", "uartclk\0apb_pclk");

  ASSERT_STRS(fdt, "/pl031@9010000", "compatible", "arm,pl031\0arm,primecell");
  assert_reg(fdt, "/pl031@9010000", VMK_RTC_BASE, VMK_RTC_SIZE);
  uint32_t rirq[3] = {0, VMK_RTC_SPI, 4};
  assert_cells(fdt, "/pl031@9010000", "interrupts", rirq, 3);
  assert_int_equal(cell(fdt, "/pl031@9010000", "clocks"), clk);
  assert_str(fdt, "/pl031@9010000", "clock-names", "apb_pclk");
  free(fdt);
}

static void test_gpio_power_key(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  void *fdt = build(&p);
  assert_int_equal(fdt_path_offset(fdt, "/pl061@9030000"), -FDT_ERR_NOTFOUND);
  assert_int_equal(fdt_path_offset(fdt, "/gpio-keys"), -FDT_ERR_NOTFOUND);
  free(fdt);

  p.gpio_power_key = true;
  fdt = build(&p);
  const char *g = "/pl061@9030000";
  ASSERT_STRS(fdt, g, "compatible", "arm,pl061\0arm,primecell");
  assert_reg(fdt, g, VMK_GPIO_BASE, VMK_GPIO_SIZE);
  uint32_t girq[3] = {0, VMK_GPIO_SPI, 4};
  assert_cells(fdt, g, "interrupts", girq, 3);
  assert_empty_prop(fdt, g, "gpio-controller");
  assert_int_equal(cell(fdt, g, "#gpio-cells"), 2);
  assert_str(fdt, g, "clock-names", "apb_pclk");
  uint32_t ph = cell(fdt, g, "phandle");
  assert_str(fdt, "/gpio-keys", "compatible", "gpio-keys");
  assert_int_equal(cell(fdt, "/gpio-keys/poweroff", "linux,code"), 116);
  uint32_t gp[3] = {ph, 3, 0};
  assert_cells(fdt, "/gpio-keys/poweroff", "gpios", gp, 3);
  free(fdt);
}

static void test_virtio_nodes(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  p.virtio_slots = 5;
  void *fdt = build(&p);
  for (unsigned i = 0; i < VMK_VIRTIO_MMIO_SLOTS; i++) {
    char path[64];
    uint64_t base = VMK_VIRTIO_MMIO_BASE + i * VMK_VIRTIO_MMIO_STRIDE;
    snprintf(path, sizeof(path), "/virtio_mmio@%llx", (unsigned long long)base);
    if (i >= p.virtio_slots) {
      assert_int_equal(fdt_path_offset(fdt, path), -FDT_ERR_NOTFOUND);
      continue;
    }
    assert_str(fdt, path, "compatible", "virtio,mmio");
    assert_reg(fdt, path, base, 0x200);
    uint32_t irq[3] = {0, 16 + i, 1}; /* SPI, edge rising, as QEMU */
    assert_cells(fdt, path, "interrupts", irq, 3);
    assert_empty_prop(fdt, path, "dma-coherent");
  }
  /* ascending address order, as in QEMU's finished tree */
  int prev = -1, off = -1, count = 0;
  while ((off = fdt_node_offset_by_compatible(fdt, off, "virtio,mmio")) >= 0) {
    assert_true(off > prev);
    char want[64];
    snprintf(want, sizeof(want), "virtio_mmio@%llx",
             (unsigned long long)(VMK_VIRTIO_MMIO_BASE + count * 0x200));
    assert_string_equal(fdt_get_name(fdt, off, NULL), want);
    prev = off;
    count++;
  }
  assert_int_equal(count, 5);
  free(fdt);

  p.virtio_slots = 0;
  fdt = build(&p);
  assert_int_equal(fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio"),
                   -FDT_ERR_NOTFOUND);
  free(fdt);
}

static void test_boot_timer_opt_in(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  void *fdt = build(&p);
  assert_int_equal(fdt_node_offset_by_compatible(fdt, -1, "vmkit,boot-timer"),
                   -FDT_ERR_NOTFOUND);
  free(fdt);
  p.boot_timer = true;
  fdt = build(&p);
  int off = fdt_node_offset_by_compatible(fdt, -1, "vmkit,boot-timer");
  assert_true(off >= 0);
  assert_int_equal(off, node(fdt, "/boot-timer@90f0000"));
  assert_reg(fdt, "/boot-timer@90f0000", VMK_BOOT_TIMER_BASE,
             VMK_BOOT_TIMER_SIZE);
  free(fdt);
}

static void test_pvpanic_node(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  void *fdt = build(&p);
  assert_int_equal(fdt_node_offset_by_compatible(fdt, -1, "qemu,pvpanic-mmio"),
                   -FDT_ERR_NOTFOUND);
  free(fdt);
  p.pvpanic = true;
  fdt = build(&p);
  /* The compatible Linux's pvpanic-mmio driver binds. */
  int off = fdt_node_offset_by_compatible(fdt, -1, "qemu,pvpanic-mmio");
  assert_true(off >= 0);
  assert_int_equal(off, node(fdt, "/pvpanic@90c0000"));
  assert_reg(fdt, "/pvpanic@90c0000", VMK_PVPANIC_BASE, VMK_PVPANIC_SIZE);
  free(fdt);
}

static void test_ramoops_node(void **state) {
  (void)state;
  struct vmk_fdt_params p = base_params();
  void *fdt = build(&p);
  assert_int_equal(fdt_node_offset_by_compatible(fdt, -1, "ramoops"),
                   -FDT_ERR_NOTFOUND);
  free(fdt);
  p.ramoops_base = 0x5fdf0000;
  p.ramoops_size = 0x10000;
  p.ramoops_record_size = 0x4000;
  fdt = build(&p);
  /* The shape Linux's early reserved-memory scan and drivers/of/platform.c
   * (a "ramoops" child of /reserved-memory becomes a device) expect. */
  const char *rm = "/reserved-memory";
  assert_int_equal(cell(fdt, rm, "#address-cells"), 2);
  assert_int_equal(cell(fdt, rm, "#size-cells"), 2);
  int len;
  getprop(fdt, rm, "ranges", &len);
  assert_int_equal(len, 0);
  const char *ro = "/reserved-memory/ramoops@5fdf0000";
  int off = fdt_node_offset_by_compatible(fdt, -1, "ramoops");
  assert_int_equal(off, node(fdt, ro));
  assert_reg(fdt, ro, 0x5fdf0000, 0x10000);
  assert_int_equal(cell(fdt, ro, "record-size"), 0x4000);
  assert_int_equal(cell(fdt, ro, "max-reason"), 1); /* KMSG_DUMP_PANIC */
  assert_int_equal(cell(fdt, ro, "mem-type"), 2);   /* cached */
  free(fdt);

  /* outside RAM, past its end, records that do not divide it */
  char buf[BUF_SIZE];
  vmk_error err = {0};
  struct vmk_fdt_params bad = p;
  bad.ramoops_base = VMK_RAM_BASE - 0x1000;
  assert_int_equal(vmk_fdt_build(&bad, buf, sizeof(buf), &err), -EINVAL);
  assert_non_null(strstr(err.msg, "panic log"));
  bad = p;
  bad.ramoops_base = VMK_RAM_BASE + p.ram_size - 0x8000;
  assert_int_equal(vmk_fdt_build(&bad, buf, sizeof(buf), &err), -EINVAL);
  bad = p;
  bad.ramoops_base = UINT64_MAX - 0x1000;
  assert_int_equal(vmk_fdt_build(&bad, buf, sizeof(buf), &err), -EINVAL);
  bad = p;
  bad.ramoops_record_size = 0x3000;
  assert_int_equal(vmk_fdt_build(&bad, buf, sizeof(buf), &err), -EINVAL);
  bad.ramoops_record_size = 0;
  assert_int_equal(vmk_fdt_build(&bad, buf, sizeof(buf), &err), -EINVAL);
  bad.ramoops_record_size = 0x20000;
  assert_int_equal(vmk_fdt_build(&bad, buf, sizeof(buf), &err), -EINVAL);
}

static void test_errors(void **state) {
  (void)state;
  char small[256];
  vmk_error err = {0};
  struct vmk_fdt_params p = base_params();
  assert_int_equal(vmk_fdt_build(&p, small, sizeof(small), &err), -ENOSPC);
  assert_int_equal(err.code, -ENOSPC);
  assert_non_null(strstr(err.msg, "does not fit"));

  char *buf = malloc(BUF_SIZE);
  p.cpus = 0;
  assert_int_equal(vmk_fdt_build(&p, buf, BUF_SIZE, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "CPU"));
  p.cpus = VMK_FDT_MAX_CPUS + 1;
  assert_int_equal(vmk_fdt_build(&p, buf, BUF_SIZE, &err), -EINVAL);
  p = base_params();
  p.virtio_slots = VMK_VIRTIO_MMIO_SLOTS + 1;
  assert_int_equal(vmk_fdt_build(&p, buf, BUF_SIZE, &err), -EINVAL);
  p = base_params();
  p.ram_size = 0;
  assert_int_equal(vmk_fdt_build(&p, buf, BUF_SIZE, &err), -EINVAL);
  p = base_params();
  p.initrd_start = 0x1000; /* below RAM */
  p.initrd_end = 0x2000;
  assert_int_equal(vmk_fdt_build(&p, buf, BUF_SIZE, &err), -EINVAL);
  p = base_params();
  char *longcmd = malloc(VMK_FDT_CMDLINE_MAX + 1);
  memset(longcmd, 'x', VMK_FDT_CMDLINE_MAX);
  longcmd[VMK_FDT_CMDLINE_MAX] = '\0';
  p.cmdline = longcmd;
  assert_int_equal(vmk_fdt_build(&p, buf, BUF_SIZE, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "command line"));
  longcmd[VMK_FDT_CMDLINE_MAX - 1] = '\0'; /* 2047 bytes: accepted */
  assert_int_equal(vmk_fdt_build(&p, buf, BUF_SIZE, &err), 0);
  free(longcmd);
  free(buf);
}

/* dtc must be able to decompile the blob; its output is a second, text
 * view of the same checks. Skipped when dtc is not installed. */
static void test_dtc_decompiles(void **state) {
  (void)state;
  if (system("command -v dtc >/dev/null 2>&1") != 0)
    skip();
  struct vmk_fdt_params p = base_params();
  p.gpio_power_key = true;
  p.boot_timer = true;
  void *fdt = build(&p);
  char dir[] = "/tmp/vmk-fdt-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char dtb[128], dts[128], log[128], cmd[512];
  snprintf(dtb, sizeof(dtb), "%s/virt.dtb", dir);
  snprintf(dts, sizeof(dts), "%s/virt.dts", dir);
  snprintf(log, sizeof(log), "%s/dtc.log", dir);
  FILE *f = fopen(dtb, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(fdt, 1, fdt_totalsize(fdt), f), fdt_totalsize(fdt));
  fclose(f);
  snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o %s %s 2>%s", dts, dtb, log);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);

  f = fopen(dts, "r");
  assert_non_null(f);
  static char text[64 * 1024];
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  text[n] = '\0';
  fclose(f);
  assert_non_null(strstr(text, "compatible = \"linux,dummy-virt\";"));
  assert_non_null(strstr(text, "bootargs = \"console=ttyAMA0"));
  assert_non_null(strstr(text, "virtio_mmio@a000600 {"));
  assert_non_null(strstr(text, "compatible = \"arm,gic-v3\";"));

  /* dtc's checks of the binding rules: print them, fail on any. */
  f = fopen(log, "r");
  assert_non_null(f);
  n = fread(text, 1, sizeof(text) - 1, f);
  text[n] = '\0';
  fclose(f);
  if (n)
    fail_msg("dtc warnings:\n%s", text);
  unlink(dtb);
  unlink(dts);
  unlink(log);
  rmdir(dir);
  free(fdt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_root_and_chosen),
      cmocka_unit_test(test_no_initrd_no_cmdline),
      cmocka_unit_test(test_cpus),
      cmocka_unit_test(test_psci),
      cmocka_unit_test(test_timer_gic_clock),
      cmocka_unit_test(test_uart_rtc),
      cmocka_unit_test(test_gpio_power_key),
      cmocka_unit_test(test_virtio_nodes),
      cmocka_unit_test(test_boot_timer_opt_in),
      cmocka_unit_test(test_pvpanic_node),
      cmocka_unit_test(test_ramoops_node),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_dtc_decompiles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
