/* fuzz_api.c — the REST API's request handling and the config JSON parser
 * on untrusted bytes. Byte 0 picks the method and serve mode, byte 1 the
 * path (from the real routes and near misses), the rest is the body. The
 * body also goes through vmk_config_from_json; what parses must write back
 * as JSON that parses to the same JSON (the round trip is exact).
 * The API has no VM and, in serve mode, is never asked to start one (that
 * would boot whatever the fuzzer configured). Single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "vmkit/vmkit.h"

static const char *const methods[] = {"GET",  "PUT",   "POST",    "DELETE",
                                      "HEAD", "PATCH", "OPTIONS", "put"};
static const char *const paths[] = {"/v1/vm",
                                    "/v1/vm/state",
                                    "/v1/vm/request-stop",
                                    "/v1/vm/save",
                                    "/v1/vm/config",
                                    "/v1/vm/counters",
                                    "/v1/events",
                                    "/",
                                    "/v1/vm/",
                                    "/v1/vm/state/x",
                                    "/v1//vm",
                                    "/V1/VM",
                                    "/v1/vm?x=1",
                                    "",
                                    "/v1/vm/state\n",
                                    "/../v1/vm"};

static void round_trip(const char *data, size_t size) {
  vmk_config *cfg;
  if (vmk_config_from_json(data, size, &cfg, NULL))
    return;
  char *a, *b;
  if (vmk_config_to_json(cfg, &a, NULL))
    abort();
  vmk_config *again;
  if (vmk_config_from_json(a, strlen(a), &again, NULL))
    abort(); /* what we write we must read */
  if (vmk_config_to_json(again, &b, NULL) || strcmp(a, b))
    abort();
  free(a);
  free(b);
  vmk_config_free(cfg);
  vmk_config_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  const char *method = methods[data[0] & 7];
  bool serve = data[0] & 8;
  const char *path = paths[data[1] % (sizeof(paths) / sizeof(paths[0]))];
  const char *body = (const char *)data + 2;
  size_t len = size - 2;
  round_trip(body, len);
  if (serve && !strcmp(path, "/v1/vm/state"))
    return 0;
  struct vmk_api_opts o = {.name = "fuzz", .serve = serve};
  struct vmk_api *api = vmk_api_new_detached(&o);
  if (!api)
    return 0;
  char *resp = NULL;
  int st = vmk_api_handle(api, method, path, body, len, &resp);
  if (st < 200 || st > 599 || !resp || resp[0] != '{')
    abort(); /* every answer is a status and a JSON object */
  free(resp);
  vmk_api_free_detached(api);
  return 0;
}
