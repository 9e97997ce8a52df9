/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenstored throughput and latency as a toolstack sees it: libxenstore
 * clients on the unix socket doing reads, writes and 10-operation
 * transactions, with 1 and 8 concurrent clients.  Starts its own daemon
 * (the binary given with --daemon) on a temporary socket unless --socket
 * points at a running one.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

enum kind { K_READ, K_WRITE, K_TXN };
static const char *const kind_name[] = { "read", "write", "txn10" };

struct worker {
	pthread_t th;
	int id;
	enum kind kind;
	double secs;
	uint64_t ops;
	double *lat; /* microseconds per op */
	size_t nlat, cap;
	int failed;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int one_op(struct xs_handle *h, struct worker *w, uint64_t i)
{
	char path[64], val[32];
	unsigned int len;
	void *r;
	int k;

	switch (w->kind) {
	case K_READ:
		snprintf(path, sizeof(path), "/bench/%d/k%llu", w->id,
			 (unsigned long long)(i % 16));
		r = xs_read(h, XBT_NULL, path, &len);
		free(r);
		return r ? 0 : -1;
	case K_WRITE:
		snprintf(path, sizeof(path), "/bench/%d/k%llu", w->id,
			 (unsigned long long)(i % 16));
		snprintf(val, sizeof(val), "%llu", (unsigned long long)i);
		return xs_write(h, XBT_NULL, path, val, (unsigned int)strlen(val)) ? 0 : -1;
	case K_TXN:
		/* Five reads and five writes in one transaction, retried on EAGAIN. */
		for (;;) {
			xs_transaction_t t = xs_transaction_start(h);

			if (t == XBT_NULL)
				return -1;
			for (k = 0; k < 10; k++) {
				snprintf(path, sizeof(path), "/bench/%d/k%d", w->id, k);
				if (k & 1) {
					snprintf(val, sizeof(val), "%llu", (unsigned long long)i);
					if (!xs_write(h, t, path, val, (unsigned int)strlen(val)))
						return -1;
				} else {
					r = xs_read(h, t, path, &len);
					free(r);
				}
			}
			if (xs_transaction_end(h, t, false))
				return 0;
			if (errno != EAGAIN)
				return -1;
		}
	}
	return -1;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	struct xs_handle *h = xs_open(0);
	double end, t0, t1;
	uint64_t i = 0;
	char path[64];
	int k;

	if (!h) {
		w->failed = 1;
		return NULL;
	}
	for (k = 0; k < 16; k++) {
		snprintf(path, sizeof(path), "/bench/%d/k%d", w->id, k);
		xs_write(h, XBT_NULL, path, "0", 1);
	}
	end = now() + w->secs;
	do {
		t0 = now();
		if (one_op(h, w, i++)) {
			w->failed = 1;
			break;
		}
		t1 = now();
		if (w->nlat == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 65536;
			w->lat = realloc(w->lat, w->cap * sizeof(*w->lat));
			if (!w->lat) {
				w->failed = 1;
				break;
			}
		}
		w->lat[w->nlat++] = (t1 - t0) * 1e6;
	} while (t1 < end);
	w->ops = w->nlat;
	xs_close(h);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int bench(enum kind kind, int nclients, double secs)
{
	struct worker *w = calloc((size_t)nclients, sizeof(*w));
	double t0, elapsed, *all;
	size_t total = 0, off = 0;
	int i, failed = 0;

	t0 = now();
	for (i = 0; i < nclients; i++) {
		w[i].id = i;
		w[i].kind = kind;
		w[i].secs = secs;
		pthread_create(&w[i].th, NULL, run_worker, &w[i]);
	}
	for (i = 0; i < nclients; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].nlat;
		failed |= w[i].failed;
	}
	elapsed = now() - t0;
	all = malloc((total ? total : 1) * sizeof(*all));
	for (i = 0; i < nclients; i++) {
		memcpy(all + off, w[i].lat, w[i].nlat * sizeof(*all));
		off += w[i].nlat;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp_d);
	printf("| %-6s | %7d | %10.0f | %8.1f | %8.1f |%s\n", kind_name[kind], nclients,
	       (double)total / elapsed, total ? all[total / 2] : 0.0,
	       total ? all[(size_t)((double)total * 0.99)] : 0.0, failed ? " (errors)" : "");
	free(all);
	free(w);
	return failed;
}

int main(int argc, char **argv)
{
	const char *daemon = NULL, *sock = NULL;
	char tmpdir[] = "/tmp/xs-bench.XXXXXX", path[128];
	double secs = 2.0;
	pid_t pid = -1;
	int i, failed = 0;
	static const int clients[] = { 1, 8 };

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--daemon") && i + 1 < argc)
			daemon = argv[++i];
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			secs = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: %s (--daemon BIN | --socket PATH) [--seconds N]\n",
				argv[0]);
			return 2;
		}
	}
	if (!sock) {
		if (!daemon || !mkdtemp(tmpdir)) {
			fprintf(stderr, "need --daemon or --socket\n");
			return 2;
		}
		snprintf(path, sizeof(path), "%s/sock", tmpdir);
		sock = path;
		pid = fork();
		if (pid == 0) {
			execl(daemon, "xenstored", "--socket", sock, (char *)NULL);
			_exit(127);
		}
		for (i = 0; i < 200 && access(sock, F_OK); i++)
			usleep(10000);
	}
	setenv("XENSTORED_PATH", sock, 1);
	printf("xenstored over its unix socket, libxenstore clients, %.0f s per row\n\n", secs);
	printf("| op     | clients |   ops/s    | p50 (us) | p99 (us) |\n");
	printf("|--------|---------|------------|----------|----------|\n");
	for (i = 0; i < 3; i++) {
		failed |= bench((enum kind)i, clients[0], secs);
		failed |= bench((enum kind)i, clients[1], secs);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		rmdir(tmpdir);
	}
	return failed;
}
