/* SPDX-License-Identifier: GPL-2.0-only */
/* A 4-level x86-64 page-table walker over a test's guest RAM buffer. */
#ifndef XK_TEST_PTWALK_H
#define XK_TEST_PTWALK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define PTW_P	 0x001ULL
#define PTW_RW	 0x002ULL
#define PTW_U	 0x004ULL
#define PTW_A	 0x020ULL
#define PTW_D	 0x040ULL
#define PTW_PS	 0x080ULL
#define PTW_ADDR 0x000ffffffffff000ULL

struct ptw {
	uint64_t pa;	   /* physical (machine) address of va */
	uint64_t l1e;	   /* the leaf entry */
	uint64_t upper[3]; /* L4e, L3e, L2e */
	uint64_t table[4]; /* machine addresses of the L4, L3, L2, L1 used */
};

/* Returns false if va is not mapped, or a table lies outside RAM. */
static inline bool ptw_walk(const uint8_t *ram, uint64_t nr_pages, uint64_t cr3, uint64_t va,
			    struct ptw *w)
{
	uint64_t table = cr3 & PTW_ADDR;

	for (int level = 4; level >= 1; level--) {
		unsigned idx = (va >> (12 + 9 * (level - 1))) & 511;
		uint64_t e;

		if (table / 4096 >= nr_pages)
			return false;
		w->table[4 - level] = table;
		memcpy(&e, ram + table + idx * 8, 8);
		if (!(e & PTW_P) || (level > 1 && (e & PTW_PS)))
			return false;
		if (level > 1)
			w->upper[4 - level] = e;
		else
			w->l1e = e;
		table = e & PTW_ADDR;
	}
	w->pa = table | (va & 0xfff);
	return true;
}

#endif
