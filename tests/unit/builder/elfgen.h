/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Synthetic kernel images for the builder tests: ELF64 (or ELF32) files with
 * Xen notes in a PT_NOTE segment and/or a SHT_NOTE section, or a legacy
 * __xen_guest string, and bzImage wrappers with every payload compression.
 */
#ifndef XK_TEST_ELFGEN_H
#define XK_TEST_ELFGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EG_MAX_NOTES 24
#define EG_MAX_LOADS 20

struct eg_note {
	const char *name; /* NULL = "Xen" */
	uint32_t type;
	uint8_t desc[64];
	uint32_t descsz;
};

struct eg_load {
	uint64_t vaddr, paddr, filesz, memsz;
	uint32_t type;	/* 0 = PT_LOAD */
	uint32_t flags; /* 0 = PF_R|PF_W|PF_X */
	uint8_t fill;	/* file bytes are fill ^ (offset-in-segment & 0xff) */
};

struct eg_elf {
	bool elf32;
	uint16_t machine; /* 0 = EM_X86_64 */
	uint64_t entry;
	struct eg_load load[EG_MAX_LOADS];
	unsigned nr_load;
	struct eg_note note[EG_MAX_NOTES];
	unsigned nr_note;
	bool notes_phdr;       /* emit a PT_NOTE segment */
	bool notes_section;    /* emit a SHT_NOTE section */
	const char *xen_guest; /* legacy __xen_guest section contents */
	bool no_sections;      /* e_shoff = 0 */
};

/* Standard note helpers. */
void eg_note_str(struct eg_elf *e, uint32_t type, const char *s);
void eg_note_num(struct eg_elf *e, uint32_t type, uint64_t v, unsigned size);

/* A Linux-6.1-like 64-bit kernel: VIRT_BASE 0xffffffff80000000, text at paddr
 * kbase, data+bss after it, a percpu-style segment with vaddr 0, notes as the
 * Debian kernel has (INIT_P2M / MOD_START_PFN / HYPERCALL_PAGE optional). */
struct eg_linux_opts {
	uint64_t kbase; /* paddr of the text, default 0x200000 */
	bool init_p2m;	/* INIT_P2M 0x8000000000 */
	bool mod_start_pfn;
	bool hypercall_page;	 /* HYPERCALL_PAGE at text + 0x2000 */
	bool notes_section_only; /* SHT_NOTE section, no PT_NOTE */
};
void eg_linux(struct eg_elf *e, const struct eg_linux_opts *o);
#define EG_VIRT_BASE   0xffffffff80000000ULL
#define EG_TEXT_SIZE   0x3000ULL
#define EG_DATA_FILESZ 0x1800ULL
#define EG_DATA_MEMSZ  0x5000ULL
#define EG_PERCPU_SIZE 0x1000ULL

/* Serialise; returns a malloc'ed buffer. */
uint8_t *eg_build(const struct eg_elf *e, size_t *len);
/* Byte the generator put at file offset `off` of segment i. */
uint8_t eg_seg_byte(const struct eg_elf *e, unsigned i, uint64_t off);

/* bzImage around payload bytes: comp is "gzip", "xz", "lzma", "bzip2",
 * "lz4", "zstd" or "none" (payload copied as is).  Adds the kernel's
 * trailing size word except for gzip. */
uint8_t *eg_compress(const char *comp, const uint8_t *in, size_t len, size_t *out_len);
uint8_t *eg_bzimage(const uint8_t *payload, size_t plen, uint8_t setup_sects, size_t *len);

#endif
