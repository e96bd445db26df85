/* test_virt.c — the assembled platform answers on the bus at the virt
 * addresses and drives the right SPIs; the boot payload's device tree in
 * guest RAM describes what the loader placed. Single-threaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/le.h"
#include "machine/memmap.h"
#include "machine/virt.h"

struct chip_rec {
  bool level[64];
};

static void rec_set(void *opaque, unsigned spi, bool level) {
  struct chip_rec *c = opaque;
  if (spi < 64)
    c->level[spi] = level;
}

static void bump(void *opaque) { (*(int *)opaque)++; }

static void test_platform_on_bus(void **state) {
  (void)state;
  struct vmk_bus bus;
  vmk_bus_init(&bus);
  struct chip_rec rec = {0};
  struct vmk_irq_chip chip = {.set_level = rec_set, .opaque = &rec};
  int out[2];
  assert_int_equal(pipe(out), 0);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  int fired = 0, panicked = 0;
  struct vmk_virt_platform_cfg cfg = {
      .console_in_fd = -1,
      .console_out_fd = out[1],
      .gpio_power_key = true,
      .boot_timer = true,
      .boot_timer_cb = bump,
      .boot_timer_opaque = &fired,
      .pvpanic = true,
      .pvpanic_cb = bump,
      .pvpanic_opaque = &panicked,
  };
  struct vmk_virt_platform p;
  vmk_error err = {0};
  int rc = vmk_virt_platform_create(&cfg, &bus, &chip, NULL, &p, &err);
  if (rc)
    fail_msg("%s", err.msg);
  assert_int_equal(bus.count, 5);

  /* UART output through the bus */
  assert_int_equal(vmk_bus_write(&bus, VMK_UART_BASE, 1, 'K'), 0);
  char c = 0;
  assert_int_equal(read(out[0], &c, 1), 1);
  assert_int_equal(c, 'K');
  /* UART TX interrupt lands on the UART's SPI */
  assert_int_equal(vmk_bus_write(&bus, VMK_UART_BASE + 0x38, 4, 0x20), 0);
  assert_true(rec.level[VMK_UART_SPI]);

  /* PrimeCell ids of each device */
  uint64_t v;
  assert_int_equal(vmk_bus_read(&bus, VMK_RTC_BASE + 0xFE0, 4, &v), 0);
  assert_int_equal(v, 0x31);
  assert_int_equal(vmk_bus_read(&bus, VMK_GPIO_BASE + 0xFE0, 4, &v), 0);
  assert_int_equal(v, 0x61);
  assert_int_equal(vmk_bus_read(&bus, VMK_RTC_BASE, 4, &v), 0);
  assert_true(v > 1700000000u);

  /* power key on the GPIO SPI */
  assert_int_equal(vmk_bus_write(&bus, VMK_GPIO_BASE + 0x408, 4, 8), 0);
  assert_int_equal(vmk_bus_write(&bus, VMK_GPIO_BASE + 0x410, 4, 8), 0);
  vmk_pl061_press_power(p.gpio);
  assert_true(rec.level[VMK_GPIO_SPI]);

  /* boot timer */
  assert_int_equal(vmk_bus_write(&bus, VMK_BOOT_TIMER_BASE, 1, 123), 0);
  assert_int_equal(fired, 1);

  /* pvpanic: offers its events, reports a panic */
  assert_int_equal(vmk_bus_read(&bus, VMK_PVPANIC_BASE, 1, &v), 0);
  assert_int_equal(v, VMK_PVPANIC_EVENTS);
  assert_int_equal(panicked, 0);
  assert_int_equal(vmk_bus_write(&bus, VMK_PVPANIC_BASE, 1, 1), 0);
  assert_int_equal(panicked, 1);

  vmk_virt_platform_destroy(&p);
  close(out[0]);
  close(out[1]);
}

static void test_platform_minimal_and_rollback(void **state) {
  (void)state;
  struct vmk_bus bus;
  vmk_bus_init(&bus);
  struct vmk_irq_chip chip = {.set_level = rec_set, .opaque = NULL};
  struct vmk_virt_platform_cfg cfg = {.console_in_fd = -1,
                                      .console_out_fd = -1};
  struct vmk_virt_platform p;
  vmk_error err = {0};
  assert_int_equal(vmk_virt_platform_create(&cfg, &bus, &chip, NULL, &p, &err),
                   0);
  assert_int_equal(bus.count, 2);
  assert_null(p.gpio);
  assert_null(p.boot_timer);
  assert_null(p.pvpanic);
  uint64_t v;
  assert_int_equal(vmk_bus_read(&bus, VMK_GPIO_BASE, 4, &v), -ENOENT);

  /* a second platform on the same bus overlaps: error, nothing left */
  struct vmk_virt_platform p2;
  assert_int_equal(vmk_virt_platform_create(&cfg, &bus, &chip, NULL, &p2, &err),
                   -EEXIST);
  assert_int_equal(bus.count, 2);
  assert_null(p2.uart);
  vmk_virt_platform_destroy(&p);
}

static void test_boot_prepare(void **state) {
  (void)state;
  char dir[] = "/tmp/vmk-virt-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char kpath[128], ipath[128];
  snprintf(kpath, sizeof(kpath), "%s/Image", dir);
  snprintf(ipath, sizeof(ipath), "%s/initrd", dir);
  uint8_t hdr[4096] = {0};
  vmk_put_le64(hdr + 16, 3u << 20); /* image_size */
  memcpy(hdr + 56, "ARM\x64", 4);
  FILE *f = fopen(kpath, "wb");
  fwrite(hdr, 1, sizeof(hdr), f);
  fclose(f);
  f = fopen(ipath, "wb");
  fwrite("070701", 1, 6, f);
  fclose(f);

  struct vmk_guest_mem gm = {.base = VMK_RAM_BASE, .size = 64u << 20};
  gm.host = calloc(1, gm.size);
  struct vmk_virt_boot_cfg cfg = {.kernel = kpath,
                                  .initrd = ipath,
                                  .cmdline = "console=ttyAMA0",
                                  .cpus = 2,
                                  .virtio_slots = 3};
  struct vmk_boot_layout l;
  vmk_error err = {0};
  int rc = vmk_virt_boot_prepare(&gm, &cfg, &l, &err);
  if (rc)
    fail_msg("%s", err.msg);
  void *fdt = vmk_gm_ptr(&gm, l.fdt_gpa, l.fdt_max);
  assert_int_equal(fdt_check_header(fdt), 0);
  assert_true(fdt_totalsize(fdt) <= l.fdt_max);
  int ch = fdt_path_offset(fdt, "/chosen");
  const char *args = fdt_getprop(fdt, ch, "bootargs", NULL);
  assert_string_equal(args, "console=ttyAMA0");
  fdt64_t be;
  memcpy(&be, fdt_getprop(fdt, ch, "linux,initrd-start", NULL), 8);
  assert_int_equal(fdt64_to_cpu(be), l.initrd_gpa);
  memcpy(&be, fdt_getprop(fdt, ch, "linux,initrd-end", NULL), 8);
  assert_int_equal(fdt64_to_cpu(be), l.initrd_gpa + 6);
  assert_memory_equal(vmk_gm_ptr(&gm, l.initrd_gpa, 6), "070701", 6);

  /* loader errors come through unchanged */
  cfg.kernel = ipath;
  assert_int_equal(vmk_virt_boot_prepare(&gm, &cfg, &l, &err), -EINVAL);
  assert_non_null(strstr(err.msg, ipath));
  /* device tree errors too */
  cfg.kernel = kpath;
  cfg.cpus = 0;
  assert_int_equal(vmk_virt_boot_prepare(&gm, &cfg, &l, &err), -EINVAL);
  assert_non_null(strstr(err.msg, "CPU"));

  free(gm.host);
  unlink(kpath);
  unlink(ipath);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_platform_on_bus),
      cmocka_unit_test(test_platform_minimal_and_rollback),
      cmocka_unit_test(test_boot_prepare),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
