/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Run files: each running launcher describes itself in <dir>/<pid>.json
 * (name, pid, console mode, pty) so that `xenkvm console NAME` and
 * `xenkvm list` can find it, and removes the file when it exits.  dir is
 * $XENKVM_RUNTIME_DIR, else $XDG_RUNTIME_DIR/xenkvm, else /run/xenkvm for
 * root, else /tmp/xenkvm-UID.  Files carry the kernel's boot id: those of
 * launchers under another kernel sharing the directory are not listed.
 */
#ifndef XENKVM_RUNTIME_H
#define XENKVM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#define XK_NAME_MAX	64
#define XK_DEFAULT_NAME "xenkvm-guest"

struct xk_run_info {
	char name[XK_NAME_MAX + 1];
	long pid;
	char console[8];   /* stdio, pty, none */
	char pty[64];	   /* pty mode: the slave's path */
	char control[108]; /* the control socket (hot-plug), "" if none */
};

/* A usable --name: 1..64 of [A-Za-z0-9_.-], starting with a letter or
 * digit, not all digits (those are pids).  0, or -1 after a one-line
 * error. */
int xk_name_check(const char *name);
/* NULL for a usable name, else why not (without the name). */
const char *xk_name_invalid(const char *name);
/* The run files' directory (created if create); -1 if there is none. */
int xk_runtime_dir(char *buf, size_t len, bool create);
/* Every running launcher (stale files of dead ones are skipped, and removed
 * when they are ours).  *out is malloc'ed; 0 or -1. */
int xk_runtime_list(struct xk_run_info **out, size_t *n);
/* The running guest named by target (a name, or a pid if all digits) into
 * *out; 0, or -1 after a one-line error prefixed by cmd (none, or several
 * guests of that name). */
int xk_runtime_find(const char *cmd, const char *target, struct xk_run_info *out);
/* Writes this process's run file; returns its path (malloc'ed) or NULL
 * after a warning unless quiet (the guest runs anyway, it is just not
 * findable). */
char *xk_runtime_register(const struct xk_run_info *ri, bool quiet);
/* Removes it and frees path. */
void xk_runtime_unregister(char *path);

/* Run fn(arg) with stderr going to a memory file (a helper started meanwhile,
 * e.g. qemu-nbd, may keep it without harm): what fn wrote is left in msg
 * (at most len - 1 bytes), "" if nothing, or if no memory file could be
 * made (then fn wrote to stderr).  fn's result. */
int xk_capture_stderr(char *msg, size_t len, int (*fn)(void *), void *arg);

/* attach.c: `xenkvm console` and `xenkvm list` */
int xk_cmd_console(int argc, char **argv);
int xk_cmd_list(int argc, char **argv);
/* This terminal on target's pty console (xenkvm console's work); *gone,
 * if given, tells whether it ended because the guest went away. */
int xk_console_attach(const char *target, bool *gone);

#endif
