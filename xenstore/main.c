/* SPDX-License-Identifier: GPL-2.0-only */
/* "xenkvm xenstored": the daemon on its own, serving host tools. */
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstored.h"

static void usage(FILE *f, const char *prog)
{
	char def[256];

	fprintf(f,
		"Usage: %s [--socket PATH] [--trace] [--help]\n"
		"Run xenkvm's xenstore daemon, serving host tools on a unix socket.\n"
		"\n"
		"  -s, --socket PATH  listen on PATH (default: %s)\n"
		"  -T, --trace        log every request to stderr\n"
		"  -h, --help         show this help\n"
		"\n"
		"Point libxenstore tools and pyxs at it with XENSTORED_PATH=PATH, e.g.\n"
		"  XENSTORED_PATH=PATH xenstore-ls /local/domain\n"
		"The default is $XENSTORED_PATH, else $XDG_RUNTIME_DIR/xenkvm/xenstored.sock,\n"
		"else /run/xenkvm/xenstored.sock.  SIGINT/SIGTERM stop the daemon.\n",
		prog, xsd_default_socket_path(def, sizeof(def)));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int xk_xenstored_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "trace", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = argc > 0 && argv[0] ? argv[0] : "xenstored";
	char path[256];
	const char *sock = NULL;
	struct xsd_options xo = { 0 };
	struct event_base *base;
	struct event *sigint, *sigterm;
	struct xsd *x;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:Th", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'T':
			xo.trace = true;
			break;
		case 'h':
			usage(stdout, prog);
			return 0;
		default:
			usage(stderr, prog);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr, prog);
		return 2;
	}
	if (!sock)
		sock = xsd_default_socket_path(path, sizeof(path));
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base) {
		fprintf(stderr, "%s: cannot create event loop\n", prog);
		return 1;
	}
	x = xsd_new(base, &xo);
	if (!x) {
		fprintf(stderr, "%s: out of memory\n", prog);
		event_base_free(base);
		return 1;
	}
	err = xsd_listen(x, sock);
	if (err) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, sock, strerror(-err));
		xsd_free(x);
		event_base_free(base);
		return 1;
	}
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (sigint)
		event_add(sigint, NULL);
	if (sigterm)
		event_add(sigterm, NULL);
	fprintf(stderr, "%s: listening on %s\n", prog, sock);
	event_base_dispatch(base);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	xsd_free(x);
	event_base_free(base);
	return 0;
}
