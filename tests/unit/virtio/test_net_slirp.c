/* test_net_slirp.c — the NAT backend (libslirp) without a guest: a forward
 * listens on its host port while the backend lives and frees the port when
 * it is freed (a VM restarted on reboot binds it again); a port someone
 * else holds gives -EADDRINUSE and a sentence naming it; an ARP request
 * for the gateway sent into the stack is answered with 10.0.2.2's
 * reply, delivered through the receive callback. Test thread only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/net.h"

static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  socklen_t l = sizeof(sa);
  getsockname(fd, (struct sockaddr *)&sa, &l);
  close(fd);
  return ntohs(sa.sin_port);
}

static bool can_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons(port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
  close(fd);
  return ok;
}

static void test_forward_lifecycle(void **state) {
  (void)state;
  uint16_t port = free_port();
  struct vmk_net_forward fwd = {
      .host_addr = INADDR_LOOPBACK, .host_port = port, .guest_port = 80};
  vmk_error err;
  for (int round = 0; round < 2; round++) {
    struct vmk_net_backend *be;
    if (vmk_net_slirp_create(&fwd, 1, 1500, &be, &err))
      fail_msg("round %d: %s", round, err.msg);
    assert_true(can_connect(port));
    vmk_net_backend_free(be);
    assert_false(can_connect(port));
  }
}

static void test_port_in_use(void **state) {
  (void)state;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(fd, 1), 0);
  socklen_t l = sizeof(sa);
  getsockname(fd, (struct sockaddr *)&sa, &l);
  struct vmk_net_forward fwd = {.host_addr = INADDR_LOOPBACK,
                                .host_port = ntohs(sa.sin_port),
                                .guest_port = 22};
  struct vmk_net_backend *be;
  vmk_error err;
  assert_int_equal(vmk_net_slirp_create(&fwd, 1, 1500, &be, &err), -EADDRINUSE);
  char want[64];
  snprintf(want, sizeof(want), "127.0.0.1:%u (tcp)", ntohs(sa.sin_port));
  assert_non_null(strstr(err.msg, want));
  close(fd);
}

struct sink {
  unsigned frames;
  uint8_t last[1514];
  size_t len;
};
static int on_rx(void *opaque, const uint8_t *frame, size_t len) {
  struct sink *s = opaque;
  s->frames++;
  s->len = len < sizeof(s->last) ? len : sizeof(s->last);
  memcpy(s->last, frame, s->len);
  return 0;
}

static void test_arp_reply(void **state) {
  (void)state;
  struct vmk_net_backend *be;
  vmk_error err;
  if (vmk_net_slirp_create(NULL, 0, 1500, &be, &err))
    fail_msg("%s", err.msg);
  struct sink sink = {0};
  be->rx = on_rx;
  be->rx_opaque = &sink;
  struct vmk_io_loop loop;
  assert_int_equal(vmk_io_loop_init(&loop, &err), 0);
  assert_int_equal(be->ops->start(be, &loop, &err), 0);
  static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  uint8_t f[42] = {0};
  memset(f, 0xff, 6); /* broadcast */
  memcpy(f + 6, mac, 6);
  f[12] = 0x08, f[13] = 0x06;                 /* ARP */
  f[14] = 0, f[15] = 1, f[16] = 8, f[17] = 0; /* Ethernet, IPv4 */
  f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1; /* request */
  memcpy(f + 22, mac, 6);
  uint8_t me[4] = {10, 0, 2, 15}, gw[4] = {10, 0, 2, 2};
  memcpy(f + 28, me, 4);
  memcpy(f + 38, gw, 4);
  assert_int_equal(be->ops->send(be, f, sizeof(f)), 0);
  for (int i = 0; i < 20 && !sink.frames; i++)
    vmk_io_loop_run_once(&loop, 50);
  assert_int_equal(sink.frames, 1);
  assert_true(sink.len >= 42);
  assert_memory_equal(sink.last, mac, 6);     /* to us */
  assert_int_equal(sink.last[21], 2);         /* a reply */
  assert_memory_equal(sink.last + 28, gw, 4); /* from 10.0.2.2 */
  be->ops->stop(be);
  vmk_net_backend_free(be);
  vmk_io_loop_destroy(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_lifecycle),
      cmocka_unit_test(test_port_in_use),
      cmocka_unit_test(test_arp_reply),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
