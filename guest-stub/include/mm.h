/* SPDX-License-Identifier: GPL-2.0-only */
/* PV MMU internals shared by mm.c and ptwr.c. */
#ifndef STUB_MM_H
#define STUB_MM_H

#include "stub.h"

#define PTE_P    0x001ULL
#define PTE_RW   0x002ULL
#define PTE_U    0x004ULL
#define PTE_A    0x020ULL
#define PTE_D    0x040ULL
#define PTE_PSE  0x080ULL
#define PTE_ADDR 0x000ffffffffff000ULL

unsigned frame_type(uint64_t mfn);
int get_l1e(uint64_t *e);
void put_l1e(uint64_t e);
int mod_l1_entry(uint64_t *slot, uint64_t val, bool preserve_ad);
uint64_t *l1e_of(struct pcpu *pc, uint64_t va, uint64_t *l1_mfn);

#endif
