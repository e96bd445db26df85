/* api.h — the REST API (HTTP/1.1 + JSON) of one VM on a Unix socket;
 * docs/api.md lists the endpoints.
 *
 * Threads: libmicrohttpd runs a listening thread and one thread per
 * connection (bounded by max_connections), so a slow or stuck client holds
 * only its own thread and never a vCPU, the I/O loop or another client.
 * The owner (the vmkit command) runs vmk_api_set_vm and the wait calls on
 * its own thread. Locks: api->vm_lock guards the VM pointer and is held
 * across each VM operation, so the VM is never freed under a request;
 * api->ev_lock (taken last, also from the VM's state callback) guards the
 * event ring the /v1/events streams read.
 */
#ifndef VMK_CORE_API_H
#define VMK_CORE_API_H

#include <stdbool.h>
#include <stddef.h>

#include "vmkit/vmkit.h"

struct vmk_api;

struct vmk_api_opts {
  int listen_fd;           /* a bound, listening Unix socket; the API owns it */
  const char *name;        /* the VM's name, for GET /v1/vm */
  bool serve;              /* vmkit serve: PUT /v1/vm/config, then start */
  unsigned idle_timeout_s; /* drop a client silent this long (0: 30) */
  unsigned max_connections; /* 0: 16 */
  size_t max_body;          /* request body limit in bytes (0: 64 KiB) */
};

#define VMK_API_DEFAULT_IDLE_S 30
#define VMK_API_DEFAULT_CONNECTIONS 16
#define VMK_API_DEFAULT_MAX_BODY (64u << 10)

/* Starts serving. -ENOTSUP (with a sentence) in a build without
 * libmicrohttpd. */
int vmk_api_start(const struct vmk_api_opts *opts, struct vmk_api **out,
                  vmk_error *err);
/* Stops serving (ends event streams, closes every connection and the
 * socket) and frees the API, and a VM it created (serve mode). */
void vmk_api_stop(struct vmk_api *api);

/* The VM the API drives from now on (NULL: none, e.g. between a guest
 * reboot's two VMs). Waits for requests using the previous VM to finish;
 * reports the previous VM's end on the event stream. cfg is the VM's
 * config (copied as JSON for GET /v1/vm). Install before vmk_vm_start so
 * the stream sees every state change. */
void vmk_api_set_vm(struct vmk_api *api, vmk_vm *vm, const vmk_config *cfg);

/* Restores a VM from the snapshot in dir (vmk_vm_restore_watched) with
 * the event stream watching it from its first change (restoring ->
 * paused, or -> error), and GET /v1/vm saying "restoring" meanwhile; the
 * owner then hands the VM to vmk_api_set_vm as any other. Owner's
 * thread. */
int vmk_api_restore(struct vmk_api *api, const char *dir, const vmk_config *cfg,
                    vmk_vm **out, vmk_error *err);

/* Run mode: true once if a client asked to stop (PUT /v1/vm/state
 * stopped) while there was no VM, e.g. between a guest reboot's two VMs;
 * the owner then ends the run. */
bool vmk_api_take_stop(struct vmk_api *api);

/* Serve mode: waits until a client started a VM through the API (PUT
 * /v1/vm/state running) or timeout_ms passes (-1: forever); returns the
 * VM (owned by the API) or NULL. */
vmk_vm *vmk_api_wait_started(struct vmk_api *api, int timeout_ms);

/* An API with no socket (tests, fuzzing: drive it with vmk_api_handle);
 * opts->listen_fd is ignored. Free it with vmk_api_free_detached. */
struct vmk_api *vmk_api_new_detached(const struct vmk_api_opts *opts);
void vmk_api_free_detached(struct vmk_api *api);

/* Handles one request without a socket (tests, fuzzing): returns the HTTP
 * status and sets *resp to a malloc'd JSON body. */
int vmk_api_handle(struct vmk_api *api, const char *method, const char *url,
                   const char *body, size_t len, char **resp);

#endif
