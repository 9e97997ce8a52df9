/* SPDX-License-Identifier: GPL-2.0-only */
/* Run files of running launchers, and the commands' helpers (runtime.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenkvm.h"
#include "runtime.h"

const char *xk_name_invalid(const char *name)
{
	size_t len = strlen(name);
	bool digits = true;

	if (len == 0 || len > XK_NAME_MAX || !isalnum((unsigned char)name[0]))
		return "use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or "
		       "digit";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (!isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
			return "use 1 to 64 letters, digits, '_', '.' or '-', starting with a "
			       "letter or digit";
		digits &= isdigit(ch) != 0;
	}
	return digits ? "a name cannot be all digits (those are pids)" : NULL;
}

int xk_name_check(const char *name)
{
	const char *why = xk_name_invalid(name);

	if (why)
		xk_err("--name '%s': %s", name, why);
	return why ? -1 : 0;
}

int xk_runtime_dir(char *buf, size_t len, bool create)
{
	const char *env = getenv("XENKVM_RUNTIME_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/xenkvm", xdg);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/xenkvm");
	else
		n = snprintf(buf, len, "/tmp/xenkvm-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return -1;
	if (create && mkdir(buf, 0700) && errno != EEXIST)
		return -1;
	/* Only a directory of ours (not a planted one in /tmp). */
	struct stat st;
	if (lstat(buf, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -1;
	return 0;
}

/* A string value of "key" in our own JSON (only \" and \\ escapes). */
static bool json_str(const char *js, const char *key, char *out, size_t len)
{
	char pat[32];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(js, pat);
	size_t i = 0;

	if (!p)
		return false;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != '"')
		return false;
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (i + 1 >= len)
			return false;
		out[i++] = *p;
	}
	out[i] = 0;
	return *p == '"';
}

static void json_put_str(FILE *f, const char *key, const char *v, bool last)
{
	fprintf(f, "\"%s\": \"", key);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', f);
		if ((unsigned char)*v < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*v);
		else
			fputc(*v, f);
	}
	fprintf(f, "\"%s", last ? "" : ", ");
}

/* This kernel's boot id: a run file written by a launcher under another
 * kernel (the KVM box shares the host's files over 9p) is not ours. */
static void boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/* Is pid a running xenkvm (and not a recycled pid)? */
static bool launcher_alive(long pid)
{
	char path[64], comm[32] = "";

	if (pid <= 0 || (kill((pid_t)pid, 0) && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = fgets(comm, sizeof(comm), f) && !strncmp(comm, "xenkvm", 6);
	fclose(f);
	return ok;
}

static bool read_run_file(const char *path, long pid, struct xk_run_info *ri)
{
	char js[1024];
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	size_t n = fread(js, 1, sizeof(js) - 1, f);
	fclose(f);
	js[n] = 0;
	char theirs[64], ours[64];
	boot_id(ours, sizeof(ours));
	if (json_str(js, "boot_id", theirs, sizeof(theirs)) && strcmp(theirs, ours))
		return false;
	memset(ri, 0, sizeof(*ri));
	ri->pid = pid;
	if (!json_str(js, "name", ri->name, sizeof(ri->name)) ||
	    !json_str(js, "console", ri->console, sizeof(ri->console)))
		return false;
	if (!json_str(js, "pty", ri->pty, sizeof(ri->pty)))
		ri->pty[0] = 0;
	if (!json_str(js, "control", ri->control, sizeof(ri->control)))
		ri->control[0] = 0;
	return true;
}

int xk_runtime_list(struct xk_run_info **out, size_t *nr)
{
	char dir[256], path[512];
	struct dirent *de;
	size_t n = 0, cap = 0;
	struct xk_run_info *v = NULL;

	*out = NULL;
	*nr = 0;
	if (xk_runtime_dir(dir, sizeof(dir), false))
		return 0; /* no directory: nothing runs */
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (end == de->d_name || strcmp(end, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct xk_run_info ri;
		if (!read_run_file(path, pid, &ri))
			continue; /* unreadable, or another kernel's */
		if (!launcher_alive(pid)) {
			unlink(path); /* stale: its launcher was killed */
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct xk_run_info *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
		}
		v[n++] = ri;
	}
	closedir(d);
	*out = v;
	*nr = n;
	return 0;
}

char *xk_runtime_register(const struct xk_run_info *ri, bool quiet)
{
	char dir[256], tmp[512], path[512], id[64];

	if (xk_runtime_dir(dir, sizeof(dir), true)) {
		if (!quiet)
			xk_err("warning: no run-file directory (%s): 'xenkvm console %s' will not "
			       "find this guest",
			       dir, ri->name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%ld.json", dir, ri->pid);
	snprintf(tmp, sizeof(tmp), "%s/.%ld.json.tmp", dir, ri->pid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		if (!quiet)
			xk_err("warning: cannot write %s: %s", tmp, strerror(errno));
		return NULL;
	}
	fputc('{', f);
	json_put_str(f, "name", ri->name, false);
	fprintf(f, "\"pid\": %ld, ", ri->pid);
	json_put_str(f, "console", ri->console, false);
	if (ri->pty[0])
		json_put_str(f, "pty", ri->pty, false);
	if (ri->control[0])
		json_put_str(f, "control", ri->control, false);
	boot_id(id, sizeof(id));
	json_put_str(f, "boot_id", id, true);
	fputs("}\n", f);
	if (fclose(f) || rename(tmp, path)) {
		if (!quiet)
			xk_err("warning: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return NULL;
	}
	return strdup(path);
}

void xk_runtime_unregister(char *path)
{
	if (!path)
		return;
	unlink(path);
	free(path);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int xk_runtime_find(const char *cmd, const char *target, struct xk_run_info *out)
{
	struct xk_run_info *v;
	size_t n, found = 0, at = 0;
	bool by_pid = all_digits(target);
	long pid = by_pid ? strtol(target, NULL, 10) : 0;
	char dir[256] = "?";

	if (xk_runtime_list(&v, &n)) {
		xk_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((by_pid ? v[i].pid == pid : !strcmp(v[i].name, target)) && !found++)
			at = i;
	xk_runtime_dir(dir, sizeof(dir), false);
	int rc = -1;
	if (!found) {
		xk_err("%s: no running guest %s %s (no run file in %s; see 'xenkvm list')", cmd,
		       by_pid ? "with pid" : "named", target, dir);
	} else if (found > 1) {
		char pids[256] = "";
		size_t off = 0;
		for (size_t i = 0; i < n && off < sizeof(pids) - 24; i++)
			if (!strcmp(v[i].name, target))
				off += (size_t)snprintf(pids + off, sizeof(pids) - off, "%s%ld",
							off ? ", " : "", v[i].pid);
		xk_err("%s: %zu guests are named %s (pids %s): give a pid", cmd, found, target,
		       pids);
	} else {
		*out = v[at];
		rc = 0;
	}
	free(v);
	return rc;
}

int xk_capture_stderr(char *msg, size_t len, int (*fn)(void *), void *arg)
{
	int mfd = memfd_create("xenkvm-stderr", MFD_CLOEXEC);
	int saved = mfd >= 0 ? dup(STDERR_FILENO) : -1;

	msg[0] = 0;
	fflush(stderr);
	if (saved < 0 || dup2(mfd, STDERR_FILENO) < 0) {
		if (saved >= 0)
			close(saved);
		if (mfd >= 0)
			close(mfd);
		return fn(arg);
	}
	int rc = fn(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(mfd, msg, len - 1, 0);
	close(mfd);
	msg[n > 0 ? n : 0] = 0;
	return rc;
}
