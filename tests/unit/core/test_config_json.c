/* test_config_json.c — the VM config as JSON (src/core/config_json.c): a
 * config with every field set survives config -> JSON -> config field by
 * field, defaults fill what a document leaves out, and each kind of bad
 * field (unknown key, wrong type, out of range, bad enum, missing part,
 * malformed JSON, oversize) is refused with a sentence that names it.
 * Test thread only.
 */
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

#include "core/config.h"
#include "engine/engine.h"

#define NOT_DEFAULT_MODE                                                       \
  (VMK_EMU_JIT_HOST ? VMK_EMU_MODE_INTERP : VMK_EMU_MODE_JIT)

static vmk_config *parse(const char *json, vmk_error *err) {
  vmk_config *cfg = NULL;
  int r = vmk_config_from_json(json, strlen(json), &cfg, err);
  if (r)
    assert_null(cfg);
  return cfg;
}

static void test_round_trip(void **state) {
  (void)state;
  vmk_config *a = vmk_config_new();
  assert_non_null(a);
  static const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
  assert_int_equal(vmk_config_set_engine(a, VMK_ENGINE_EMU), 0);
  /* not the default mode, so the field must make the round trip */
  assert_int_equal(vmk_config_set_emu_mode(a, NOT_DEFAULT_MODE), 0);
  assert_int_equal(vmk_config_set_cpus(a, 3), 0);
  assert_int_equal(vmk_config_set_memory(a, (768ull << 20) + 4096), 0);
  assert_int_equal(vmk_config_set_kernel(a, "/k/Image"), 0);
  assert_int_equal(vmk_config_set_initrd(a, "/k/initrd \"quoted\""), 0);
  assert_int_equal(vmk_config_set_cmdline(a, "console=hvc0 x=\u00e9"), 0);
  assert_int_equal(vmk_config_add_disk(a, "/d/a.img", false), 0);
  assert_int_equal(vmk_config_add_disk(a, "/d/b.img", true), 0);
  assert_int_equal(vmk_config_set_entropy(a, false), 0);
  assert_int_equal(vmk_config_set_console_file(a, "/tmp/console.log"), 0);
  assert_int_equal(vmk_config_add_share(a, "/srv/data", NULL, true), 0);
  assert_int_equal(vmk_config_add_share(a, "/src", "code", false), 0);
  assert_int_equal(vmk_config_set_vsock(a, "/tmp/v.sock", 42), 0);
  assert_int_equal(vmk_config_add_port(a, "org.example.agent", "/tmp/a.sock"),
                   0);
  assert_int_equal(vmk_config_add_port(a, "log", "/tmp/log.sock"), 0);
  assert_int_equal(vmk_config_add_net(a, VMK_NET_NAT, NULL, NULL, 0), 0);
  assert_int_equal(
      vmk_config_add_net(a, VMK_NET_SOCKET_LISTEN, "/tmp/wire", mac, 9000), 0);
  assert_int_equal(vmk_config_add_net(a, VMK_NET_TAP, "tap0", NULL, 0), 0);
  assert_int_equal(vmk_config_add_forward(a, false, NULL, 8080, 80), 0);
  assert_int_equal(vmk_config_add_forward(a, true, "0.0.0.0", 53, 5353), 0);
  assert_int_equal(vmk_config_set_boot_timer(a, true), 0);
  assert_int_equal(vmk_config_set_balloon(a, false), 0);
  assert_int_equal(vmk_config_set_balloon_target(a, 384ull << 20), 0);

  char *j1, *j2;
  vmk_error err;
  assert_int_equal(vmk_config_to_json(a, &j1, &err), 0);
  vmk_config *b = parse(j1, &err);
  assert_non_null(b);
  assert_int_equal(vmk_config_to_json(b, &j2, &err), 0);
  assert_string_equal(j1, j2);

  assert_int_equal(b->engine, VMK_ENGINE_EMU);
  assert_int_equal(b->emu_mode, NOT_DEFAULT_MODE);
  assert_int_equal(b->cpus, 3);
  assert_int_equal(b->memory, (768ull << 20) + 4096);
  assert_string_equal(b->kernel, "/k/Image");
  assert_string_equal(b->initrd, "/k/initrd \"quoted\"");
  assert_string_equal(b->cmdline, "console=hvc0 x=\u00e9");
  assert_int_equal(b->ndisks, 2);
  assert_string_equal(b->disks[1].path, "/d/b.img");
  assert_true(b->disks[1].read_only);
  assert_false(b->disks[0].read_only);
  assert_false(b->entropy);
  assert_int_equal(b->console, VMK_CONSOLE_FILE);
  assert_string_equal(b->console_file, "/tmp/console.log");
  assert_int_equal(b->nshares, 2);
  assert_string_equal(b->shares[0].tag, "data");
  assert_true(b->shares[0].read_only);
  assert_string_equal(b->shares[1].tag, "code");
  assert_string_equal(b->vsock_path, "/tmp/v.sock");
  assert_int_equal(b->nports, 2);
  assert_string_equal(b->ports[0].name, "org.example.agent");
  assert_string_equal(b->ports[1].path, "/tmp/log.sock");
  assert_int_equal(b->vsock_cid, 42);
  assert_int_equal(b->nnets, 3);
  assert_int_equal(b->nets[1].kind, VMK_NET_SOCKET_LISTEN);
  assert_string_equal(b->nets[1].target, "/tmp/wire");
  assert_true(b->nets[1].mac_set);
  assert_memory_equal(b->nets[1].mac, mac, 6);
  assert_int_equal(b->nets[1].mtu, 9000);
  assert_int_equal(b->nets[2].kind, VMK_NET_TAP);
  assert_false(b->nets[2].mac_set);
  assert_int_equal(b->nforwards, 2);
  assert_true(b->forwards[1].udp);
  assert_int_equal(b->forwards[1].host_addr, 0);
  assert_int_equal(b->forwards[1].host_port, 53);
  assert_int_equal(b->forwards[1].guest_port, 5353);
  assert_int_equal(b->forwards[0].host_addr, 0x7f000001);
  assert_true(b->boot_timer);
  assert_false(b->balloon);
  assert_int_equal(b->balloon_target, 384ull << 20);
  free(j1);
  free(j2);
  vmk_config_free(a);
  vmk_config_free(b);
}

/* An empty object is the library's defaults; sizes with suffixes. */
static void test_defaults_and_sizes(void **state) {
  (void)state;
  vmk_error err;
  vmk_config *c = parse("{}", &err);
  assert_non_null(c);
  vmk_config *d = vmk_config_new();
  assert_int_equal(c->cpus, d->cpus);
  assert_int_equal(c->memory, d->memory);
  assert_int_equal(c->entropy, d->entropy);
  assert_true(c->balloon && d->balloon);
  assert_int_equal(c->balloon_target, 0);
  assert_int_equal(c->engine, d->engine);
  /* the translator where it runs (x86-64), else the interpreter */
  assert_int_equal(d->emu_mode,
                   VMK_EMU_JIT_HOST ? VMK_EMU_MODE_JIT : VMK_EMU_MODE_INTERP);
  assert_int_equal(c->emu_mode, d->emu_mode);
  assert_int_equal(c->nnets, 0);
  vmk_config_free(c);
  vmk_config_free(d);
  c = parse("{\"memory\": \"2G\", \"console\": \"stdio\", \"vsock\": null,"
            " \"cmdline\": \"\"}",
            &err);
  assert_non_null(c);
  assert_int_equal(c->memory, 2ull << 30);
  assert_int_equal(c->console, VMK_CONSOLE_FDS);
  assert_int_equal(c->console_in, 0);
  assert_int_equal(c->console_out, 1);
  assert_null(c->vsock_path);
  assert_string_equal(c->cmdline, "");
  vmk_config_free(c);
  c = parse("{\"memory\": 134217728}", &err);
  assert_non_null(c);
  assert_int_equal(c->memory, 128ull << 20);
  vmk_config_free(c);
  c = parse("{\"balloon_target\": 0, \"balloon\": true}", &err);
  assert_non_null(c);
  assert_int_equal(c->balloon_target, 0);
  assert_true(c->balloon);
  vmk_config_free(c);
}

static const struct bad {
  const char *json, *want;
} bads[] = {
    {"{\"cpu\": 2}", "unknown key 'cpu' in the config"},
    {"[1]", "must be an object"},
    {"\"x\"", "not valid JSON"},
    {"{\"cpus\": 2", "not valid JSON"},
    {"{\"cpus\": 1, \"cpus\": 2}", "not valid JSON"},
    {"{\"cpus\": \"2\"}", "'cpus' must be a whole number, not a string"},
    {"{\"cpus\": 0}", "'cpus' is 0; it must be from 1 to 8"},
    {"{\"cpus\": 9}", "'cpus' is 9"},
    {"{\"cpus\": -1}", "'cpus' is -1"},
    {"{\"cpus\": 1.5}", "'cpus' must be a whole number, not a number"},
    {"{\"memory\": 1}", "'memory' is 1"},
    {"{\"memory\": \"lots\"}", "'memory' is 'lots'"},
    {"{\"memory\": \"1M\"}", "'memory' is '1M'"},
    {"{\"memory\": \"99999999999G\"}", "'memory' is"},
    {"{\"memory\": \"-512M\"}", "'memory' is"},
    {"{\"memory\": true}", "'memory' must be a byte count"},
    {"{\"engine\": \"xen\"}", "'engine' is 'xen'; use auto, kvm or emu"},
    {"{\"emu_mode\": \"fast\"}", "'emu_mode' is 'fast'; use interp or jit"},
    {"{\"emu_mode\": 1}", "'emu_mode' must be a string, not a number"},
    {"{\"kernel\": \"\"}", "'kernel' must be a non-empty string"},
    {"{\"kernel\": 5}", "'kernel' must be a string, not a number"},
    {"{\"kernel\": \"a\\u0000b\"}", "is not allowed"},
    {"{\"cmdline\": []}", "'cmdline' must be a string or null"},
    {"{\"entropy\": 1}", "'entropy' must be true or false"},
    {"{\"balloon\": \"on\"}", "'balloon' must be true or false"},
    {"{\"balloon_target\": \"1M\"}", "'balloon_target' is '1M'"},
    {"{\"balloon_target\": -5}", "'balloon_target' is -5"},
    {"{\"boot_timer\": \"yes\"}", "'boot_timer' must be true or false"},
    {"{\"balloon\": \"off\"}", "'balloon' must be true or false"},
    {"{\"balloon_target\": \"lots\"}", "'balloon_target' is 'lots'"},
    {"{\"balloon_target\": []}", "'balloon_target' must be a byte count"},
    {"{\"disks\": {}}", "'disks' must be an array"},
    {"{\"disks\": [\"a.img\"]}", "'disks[0]' must be an object"},
    {"{\"disks\": [{}]}", "'disks[0]' needs a \"path\""},
    {"{\"disks\": [{\"path\": \"a\", \"ro\": true}]}",
     "unknown key 'ro' in disks[0]"},
    {"{\"disks\": [{\"path\": \"a\", \"read_only\": \"no\"}]}",
     "'disks[].read_only' must be true or false"},
    {"{\"disks\": [{\"path\":\"a\"},{\"path\":\"a\"},{\"path\":\"a\"},{\"path\""
     ":\"a\"},{\"path\":\"a\"},{\"path\":\"a\"},{\"path\":\"a\"},{\"path\":"
     "\"a\"},{\"path\":\"a\"}]}",
     "'disks' has 9 entries; at most 8"},
    {"{\"shares\": [{\"tag\": \"x\"}]}", "'shares[0]' needs a \"dir\""},
    {"{\"shares\": [{\"dir\": \"/x\", \"tag\": 1}]}",
     "'shares[].tag' must be a string"},
    {"{\"console\": \"tty\"}", "'console' must be \"stdio\", \"none\""},
    {"{\"console\": {\"path\": \"x\"}}", "unknown key 'path' in console"},
    {"{\"console\": {}}", "'console' needs a \"file\""},
    {"{\"vsock\": {\"cid\": 3}}", "'vsock' needs a \"path\""},
    {"{\"ports\": [{\"name\": \"a\"}]}",
     "'ports[0]' needs a \"name\" and a \"path\""},
    {"{\"ports\": [{\"name\": 1, \"path\": \"/p\"}]}",
     "'ports[].name' must be a string"},
    {"{\"ports\": [{\"name\": \"a\", \"path\": \"/p\", \"mode\": 1}]}",
     "unknown key 'mode' in ports[0]"},
    {"{\"ports\": {}}", "'ports' must be an array"},
    {"{\"vsock\": {\"path\": \"/v\", \"cid\": 2}}", "'vsock.cid' is 2"},
    {"{\"vsock\": \"/v\"}", "'vsock' must be an object or null"},
    {"{\"nets\": [{\"kind\": \"bridge\"}]}", "'nets[].kind' is 'bridge'"},
    {"{\"nets\": [{}]}", "'nets[0]' needs a \"kind\""},
    {"{\"nets\": [{\"kind\": \"tap\"}]}", "'nets[0]' needs a \"target\""},
    {"{\"nets\": [{\"kind\": \"nat\", \"target\": \"x\"}]}",
     "a nat network takes no target"},
    {"{\"nets\": [{\"kind\": \"nat\", \"mac\": \"52:54:00:12:34\"}]}",
     "'nets[].mac' is '52:54:00:12:34'"},
    {"{\"nets\": [{\"kind\": \"nat\", \"mtu\": 67}]}", "'nets[].mtu' is 67"},
    {"{\"nets\": [{\"kind\": \"nat\", \"vlan\": 1}]}",
     "unknown key 'vlan' in nets[0]"},
    {"{\"forwards\": [{\"host_port\": 1}]}",
     "needs \"host_port\" and \"guest_port\""},
    {"{\"forwards\": [{\"host_port\": 0, \"guest_port\": 80}]}",
     "'forwards[].host_port' is 0"},
    {"{\"forwards\": [{\"host_port\": 80, \"guest_port\": 65536}]}",
     "'forwards[].guest_port' is 65536"},
    {"{\"forwards\": [{\"proto\": \"sctp\", \"host_port\": 80, "
     "\"guest_port\": 80}]}",
     "'forwards[].proto' is 'sctp'"},
    {"{\"forwards\": [{\"host_addr\": \"localhost\", \"host_port\": 80, "
     "\"guest_port\": 80}]}",
     "'forwards[].host_addr' is 'localhost'"},
};

static void test_bad_fields(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
    vmk_error err = {0};
    vmk_config *cfg = NULL;
    /* Sized by strlen, except the embedded-NUL case which jansson reads
     * from an escape. */
    int r =
        vmk_config_from_json(bads[i].json, strlen(bads[i].json), &cfg, &err);
    if (r >= 0 || cfg || !strstr(err.msg, bads[i].want) || err.code != r) {
      fprintf(stderr, "FAIL %s -> %d '%s' (want '%s')\n", bads[i].json, r,
              err.msg, bads[i].want);
      failures++;
    }
    vmk_config_free(cfg);
  }
  assert_int_equal(failures, 0);
}

static void test_oversize_and_file(void **state) {
  (void)state;
  vmk_error err;
  vmk_config *cfg;
  size_t n = VMK_CONFIG_JSON_MAX + 1;
  char *big = malloc(n);
  memset(big, ' ', n);
  assert_int_equal(vmk_config_from_json(big, n, &cfg, &err), -E2BIG);
  free(big);
  assert_non_null(strstr(err.msg, "at most"));

  assert_int_equal(vmk_config_load_json("/nonexistent/vm.json", &cfg, &err),
                   -ENOENT);
  assert_non_null(strstr(err.msg, "/nonexistent/vm.json"));
  assert_int_equal(vmk_config_load_json("/", &cfg, &err), -EINVAL);

  char path[] = "/tmp/vmkit-cfgjson-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char doc[] = "{\"cpus\": 4, \"kernel\": \"/k\"}";
  assert_int_equal(write(fd, doc, sizeof(doc) - 1), (ssize_t)sizeof(doc) - 1);
  close(fd);
  assert_int_equal(vmk_config_load_json(path, &cfg, &err), 0);
  assert_int_equal(cfg->cpus, 4);
  assert_string_equal(cfg->kernel, "/k");
  vmk_config_free(cfg);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_defaults_and_sizes),
      cmocka_unit_test(test_bad_fields),
      cmocka_unit_test(test_oversize_and_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
