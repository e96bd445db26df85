/* test_net_tap.c — the tap backend against the host kernel, inside a
 * network namespace of its own (net_tap.sh runs it under `unshare -rn`):
 * the backend creates tap interface vmktap0, the test gives it 10.99.0.1
 * and brings it up, sends an ARP request for 10.99.0.1 through the
 * backend and expects the kernel's ARP reply back through the receive
 * callback. Also: a name that is not a tap (the loopback) is refused with
 * a sentence. Test thread only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/net.h"

struct sink {
  unsigned arp_replies;
  uint8_t sender_ip[4];
};
static int on_rx(void *opaque, const uint8_t *f, size_t len) {
  struct sink *s = opaque;
  if (len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2) {
    s->arp_replies++;
    memcpy(s->sender_ip, f + 28, 4);
  }
  return 0;
}

static void test_arp_through_kernel(void **state) {
  (void)state;
  struct vmk_net_backend *be;
  vmk_error err;
  if (vmk_net_tap_create("vmktap0", &be, &err))
    fail_msg("%s", err.msg);
  assert_int_equal(system("ip addr add 10.99.0.1/24 dev vmktap0 && "
                          "ip link set vmktap0 up"),
                   0);
  struct sink sink = {0};
  be->rx = on_rx;
  be->rx_opaque = &sink;
  struct vmk_io_loop loop;
  assert_int_equal(vmk_io_loop_init(&loop, &err), 0);
  assert_int_equal(be->ops->start(be, &loop, &err), 0);
  static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x99, 0x00, 0x02};
  uint8_t f[42] = {0};
  memset(f, 0xff, 6);
  memcpy(f + 6, mac, 6);
  f[12] = 0x08, f[13] = 0x06;
  f[14] = 0, f[15] = 1, f[16] = 8, f[17] = 0;
  f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;
  memcpy(f + 22, mac, 6);
  uint8_t me[4] = {10, 99, 0, 2}, host[4] = {10, 99, 0, 1};
  memcpy(f + 28, me, 4);
  memcpy(f + 38, host, 4);
  for (int i = 0; i < 50 && !sink.arp_replies; i++) {
    if (i % 10 == 0)
      be->ops->send(be, f, sizeof(f));
    vmk_io_loop_run_once(&loop, 100);
  }
  assert_true(sink.arp_replies >= 1);
  assert_memory_equal(sink.sender_ip, host, 4);
  be->ops->stop(be);
  vmk_net_backend_free(be);
  vmk_io_loop_destroy(&loop);
}

static void test_not_a_tap(void **state) {
  (void)state;
  struct vmk_net_backend *be;
  vmk_error err;
  int r = vmk_net_tap_create("lo", &be, &err);
  assert_true(r < 0);
  assert_non_null(strstr(err.msg, "lo"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arp_through_kernel),
      cmocka_unit_test(test_not_a_tap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
