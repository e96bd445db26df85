/* control.h — the vmkit command's side of named VMs: the API socket, the
 * HTTP client the VM verbs use, the detached console, and the verbs.
 * Main thread, except the console relay (its own thread, see control.c).
 */
#ifndef VMK_CLI_CONTROL_H
#define VMK_CLI_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmkit/vmkit.h"

/* A Unix stream socket listening at path, 0600 (the folder is 0700). */
int vmk_cli_listen(const char *path, vmk_error *err);

/* One HTTP/1.1 request over the Unix socket sock_path: returns the status
 * (or a negative errno with err filled) and a malloc'd body in *resp. */
int vmk_cli_http(const char *sock_path, const char *method, const char *path,
                 const char *body, char **resp, vmk_error *err);

/* A named VM's console: guest output from out_fd appended to log_path
 * (bounded: beyond log_max bytes it is moved to log_path.1 and a new one
 * starts) and sent to the client of the console socket and, for a VM in
 * the foreground, to its terminal (term_out); the client's keys and the
 * terminal's (term_in, when vmkit does not read it itself for the Ctrl-a
 * escapes) go to in_fd. Runs on its own thread until
 * vmk_console_relay_stop, which first passes on the output left. */
#define VMK_CONSOLE_LOG_MAX (4ull << 20)
struct vmk_console_relay;
struct vmk_console_relay_opts {
  int out_fd, in_fd; /* the guest's output to read, its input to write */
  const char *log_path, *sock_path;
  int term_out, term_in; /* the terminal, or -1 */
  uint64_t log_max;      /* 0: VMK_CONSOLE_LOG_MAX */
};
int vmk_console_relay_start_opts(const struct vmk_console_relay_opts *o,
                                 struct vmk_console_relay **out,
                                 vmk_error *err);
/* A detached VM's: no terminal, the default bound. */
int vmk_console_relay_start(int out_fd, int in_fd, const char *log_path,
                            const char *sock_path,
                            struct vmk_console_relay **out, vmk_error *err);
void vmk_console_relay_stop(struct vmk_console_relay *r);

/* The verbs; each returns the exit status (0 ok, 1 failed, 2 usage). */
int vmk_cmd_list(int argc, char **argv);
int vmk_cmd_vm_verb(const char *verb, int argc, char **argv);
int vmk_cmd_inspect(int argc, char **argv);
int vmk_cmd_save(int argc, char **argv);
int vmk_cmd_console(int argc, char **argv);
int vmk_cmd_serve(int argc, char **argv);

#endif
