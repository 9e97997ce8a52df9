/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event channels inside core/: the port table and hypercalls (evtchn.c) and
 * the two ABIs a guest can choose between.  Each ABI is a set of port
 * operations on its own guest-visible state: 2-level (shared_info bitmaps,
 * evtchn.c, the default) and FIFO (control blocks and event array pages,
 * evtchn_fifo.c, once the guest calls EVTCHNOP_init_control).
 */
#ifndef STUB_EVTCHN_H
#define STUB_EVTCHN_H

#include "stub.h"

/* Ports 1..EVTCHN_NR_PORTS-1 for both ABIs (2-level's own limit; the FIFO
 * event array is therefore at most 4 pages). */
#define EVTCHN_NR_PORTS 4096

struct evtchn_port_ops {
	/* Mark port pending and queue/notify it on vCPU vcpu (an existing one). */
	void (*set_pending)(unsigned port, unsigned vcpu);
	/* The channel is closed: drop a pending event. */
	void (*clear_pending)(unsigned port);
	/* EVTCHNOP_unmask: clear the mask, re-raise on vcpu if pending. */
	void (*unmask)(unsigned port, unsigned vcpu);
	bool (*is_pending)(unsigned port);
	bool (*is_masked)(unsigned port);
	/* Still on one of the guest's queues: not to be reused yet. */
	bool (*is_busy)(unsigned port);
};

extern const struct evtchn_port_ops evtchn_ops_fifo;

/* evtchn.c, for evtchn_fifo.c */
/* Notification vCPU of a bound port, or -1 if the port is free. */
int evtchn_bound_vcpu(unsigned port);
/* First init_control: carry each bound port's 2-level pending bit over
 * (evtchn_fifo_port_init) and switch to the FIFO operations. */
void evtchn_switch_to_fifo(void);

/* evtchn_fifo.c */
long evtchn_fifo_init_control(uint64_t arg);
long evtchn_fifo_expand_array(uint64_t arg);
/* port already validated; -ENOSYS while the 2-level ABI is in use. */
long evtchn_fifo_set_priority(unsigned port, uint32_t priority);
/* A port was just bound (pending: an event is already pending for it). */
void evtchn_fifo_port_init(unsigned port, bool pending);
/* EVTCHNOP_reset: forget control blocks and event array (references on the
 * guest frames dropped); the caller goes back to 2-level. */
void evtchn_fifo_destroy(void);
bool evtchn_fifo_active(void);

#endif
