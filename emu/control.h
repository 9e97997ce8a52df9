/* SPDX-License-Identifier: GPL-2.0-only */
/* The launcher's control socket (hot-plug) and its client commands. */
#ifndef XENKVM_CONTROL_H
#define XENKVM_CONTROL_H

struct event_base;
struct xk_devices;
struct xk_control;

/* Listen on <runtime dir>/<pid>.sock (mode 0600) on base; NULL after a
 * warning (the guest runs without hot-plug). */
struct xk_control *xk_control_new(struct event_base *base, struct xk_devices *devices);
/* The socket's path (for the run file); NULL for NULL. */
const char *xk_control_path(const struct xk_control *ctl);
/* Closes every connection, removes the socket. */
void xk_control_free(struct xk_control *ctl);

/* xenkvm block-attach|block-detach|block-list|network-attach|
 * network-detach|network-list: argv[0] is the command. */
int xk_cmd_hotplug(int argc, char **argv);
/* xenkvm shutdown|reboot [-w] NAME|PID, xenkvm destroy NAME|PID. */
int xk_cmd_domctl(int argc, char **argv);

#endif
