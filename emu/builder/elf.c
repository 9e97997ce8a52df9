/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ELF64 kernel parsing: program headers, Xen ELF notes (PT_NOTE segments,
 * then SHT_NOTE sections, then the legacy "__xen_guest" string) and the
 * address checks Xen's libelf does (libelf-dominfo.c).  A small hand parser:
 * every offset and size read from the image is checked against its length
 * before use, with 64-bit arithmetic that cannot wrap.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/elfnote.h>

#include "builder.h"

#define UNSET (~0ULL)

/* XENFEAT_* numbers (public/features.h) that FEATURES strings may name. */
static const struct {
	const char *name;
	unsigned bit;
	bool we_refuse; /* a kernel requiring this cannot run as a xenkvm PV domU */
} feature_names[] = {
    {"writable_page_tables", 0, false},
    {"writable_descriptor_tables", 1, false},
    {"auto_translated_physmap", 2, true},
    {"supervisor_mode_kernel", 3, true},
    {"pae_pgdir_above_4gb", 4, false},
    {"hvm_callback_vector", 8, true},
    {"dom0", 11, true},
};

struct parse {
	const uint8_t *img;
	size_t len;
	Elf64_Ehdr eh;
	struct xk_kernel *k;
	char *err;
	/* Raw values as found; UNSET when absent (Xen's UNSET_ADDR). */
	uint64_t virt_base, paddr_offset, entry, hypercall, init_p2m;
	unsigned nr_xen_notes;
	bool bad_features;
};

static bool in_image(const struct parse *ps, uint64_t off, uint64_t size)
{
	return off <= ps->len && size <= ps->len - off;
}

static int fail(struct parse *ps, int rc, const char *msg)
{
	snprintf(ps->err, XK_ERRLEN, "%s", msg);
	return rc;
}

static uint64_t rd_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* Copy a possibly unterminated string of at most len bytes. */
static void set_str(char *dst, size_t dstsz, const uint8_t *src, size_t len)
{
	size_t n = strnlen((const char *)src, len);

	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Xen's elf_xen_parse_features(): '|'-separated names, '!' = required. */
static void parse_features(struct parse *ps, const char *s)
{
	while (*s) {
		char tok[64];
		size_t n = strcspn(s, "|");
		bool req = s[0] == '!';
		const char *name = tok + req;
		unsigned i;

		set_str(tok, sizeof(tok), (const uint8_t *)s, n);
		s += n + (s[n] == '|');
		for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++) {
			if (strcmp(name, feature_names[i].name))
				continue;
			ps->k->feat_supported |= 1u << feature_names[i].bit;
			if (req) {
				ps->k->feat_required |= 1u << feature_names[i].bit;
				if (feature_names[i].we_refuse && !ps->bad_features) {
					ps->bad_features = true;
					snprintf(ps->err, XK_ERRLEN,
						 "kernel requires Xen feature '%s', which a "
						 "xenkvm PV domU does not provide",
						 feature_names[i].name);
				}
			}
			break;
		}
		if (i == sizeof(feature_names) / sizeof(feature_names[0]) && req &&
		    !ps->bad_features) {
			ps->bad_features = true;
			snprintf(ps->err, XK_ERRLEN, "kernel requires unknown Xen feature '%s'",
				 name);
		}
	}
}

static void xen_note(struct parse *ps, uint32_t type, const uint8_t *desc, uint32_t descsz)
{
	struct xk_kernel *k = ps->k;
	uint64_t val = 0;
	char str[256];

	/* Numeric notes are 1, 2, 4 or 8 bytes; other sizes read as 0 (as Xen). */
	if (descsz == 1 || descsz == 2 || descsz == 4 || descsz == 8)
		val = rd_le(desc, descsz);
	set_str(str, sizeof(str), desc, descsz);

	switch (type) {
	case XEN_ELFNOTE_ENTRY:
		ps->entry = val;
		break;
	case XEN_ELFNOTE_HYPERCALL_PAGE:
		ps->hypercall = val;
		break;
	case XEN_ELFNOTE_VIRT_BASE:
		ps->virt_base = val;
		break;
	case XEN_ELFNOTE_PADDR_OFFSET:
		ps->paddr_offset = val;
		break;
	case XEN_ELFNOTE_XEN_VERSION:
		set_str(k->xen_version, sizeof(k->xen_version), desc, descsz);
		break;
	case XEN_ELFNOTE_GUEST_OS:
		set_str(k->guest_os, sizeof(k->guest_os), desc, descsz);
		break;
	case XEN_ELFNOTE_GUEST_VERSION:
		set_str(k->guest_version, sizeof(k->guest_version), desc, descsz);
		break;
	case XEN_ELFNOTE_LOADER:
		set_str(k->loader, sizeof(k->loader), desc, descsz);
		break;
	case XEN_ELFNOTE_PAE_MODE:
		k->pae_yes = strncmp(str, "yes", 3) == 0 || strstr(str, "bimodal");
		break;
	case XEN_ELFNOTE_FEATURES:
		set_str(k->features, sizeof(k->features), desc, descsz);
		parse_features(ps, str);
		break;
	case XEN_ELFNOTE_HV_START_LOW:
		k->hv_start_low = val;
		break;
	case XEN_ELFNOTE_L1_MFN_VALID:
		k->l1_mfn_valid = true;
		break;
	case XEN_ELFNOTE_SUSPEND_CANCEL:
		k->suspend_cancel = val != 0;
		break;
	case XEN_ELFNOTE_INIT_P2M:
		ps->init_p2m = val;
		break;
	case XEN_ELFNOTE_MOD_START_PFN:
		k->mod_start_pfn = val != 0;
		break;
	case XEN_ELFNOTE_SUPPORTED_FEATURES:
		if (descsz >= 4 && descsz % 4 == 0)
			k->feat_supported |= (uint32_t)rd_le(desc, 4);
		break;
	case XEN_ELFNOTE_PHYS32_ENTRY:
		k->phys32_entry = val;
		break;
	default: /* BSD_SYMTAB (no symbol table is loaded), unknown types */
		break;
	}
}

/* Walk the notes in [off, off+size) of the image (4-byte aligned fields). */
static int parse_notes(struct parse *ps, uint64_t off, uint64_t size)
{
	uint64_t pos = off, end = off + size;

	while (end - pos >= 12) {
		const uint8_t *n = ps->img + pos;
		uint64_t namesz = rd_le(n, 4), descsz = rd_le(n + 4, 4);
		uint32_t type = (uint32_t)rd_le(n + 8, 4);
		uint64_t name = pos + 12;
		uint64_t desc = name + ((namesz + 3) & ~3ULL);
		uint64_t next = desc + ((descsz + 3) & ~3ULL);

		if (desc > end || descsz > end - desc) {
			snprintf(ps->err, XK_ERRLEN,
				 "ELF note at 0x%llx runs past the end of its note area (truncated "
				 "or corrupt image)",
				 (unsigned long long)pos);
			return -EINVAL;
		}
		if (strnlen((const char *)ps->img + name, namesz) == 3 &&
		    memcmp(ps->img + name, "Xen", 3) == 0) {
			ps->nr_xen_notes++;
			xen_note(ps, type, ps->img + desc, (uint32_t)descsz);
		}
		if (next >= end)
			break;
		pos = next;
	}
	return 0;
}

/* The legacy "__xen_guest" section: KEY=VALUE,KEY=VALUE,... */
static void parse_guest_info(struct parse *ps, const uint8_t *s, uint64_t len)
{
	struct xk_kernel *k = ps->k;
	uint64_t i = 0;

	while (i < len && s[i]) {
		char key[32] = "", val[128] = "";
		size_t kn = 0, vn = 0;

		while (i < len && s[i] && s[i] != ',' && s[i] != '=') {
			if (kn < sizeof(key) - 1)
				key[kn++] = (char)s[i];
			i++;
		}
		key[kn] = '\0';
		if (i < len && s[i] == '=') {
			i++;
			while (i < len && s[i] && s[i] != ',') {
				if (vn < sizeof(val) - 1)
					val[vn++] = (char)s[i];
				i++;
			}
			val[vn] = '\0';
		}
		if (i < len && s[i] == ',')
			i++;

		if (!strcmp(key, "LOADER"))
			set_str(k->loader, sizeof(k->loader), (uint8_t *)val, vn);
		else if (!strcmp(key, "GUEST_OS"))
			set_str(k->guest_os, sizeof(k->guest_os), (uint8_t *)val, vn);
		else if (!strcmp(key, "GUEST_VER"))
			set_str(k->guest_version, sizeof(k->guest_version), (uint8_t *)val, vn);
		else if (!strcmp(key, "XEN_VER"))
			set_str(k->xen_version, sizeof(k->xen_version), (uint8_t *)val, vn);
		else if (!strcmp(key, "PAE"))
			k->pae_yes = strncmp(val, "yes", 3) == 0;
		else if (!strcmp(key, "VIRT_BASE"))
			ps->virt_base = strtoull(val, NULL, 0);
		else if (!strcmp(key, "VIRT_ENTRY"))
			ps->entry = strtoull(val, NULL, 0);
		else if (!strcmp(key, "ELF_PADDR_OFFSET"))
			ps->paddr_offset = strtoull(val, NULL, 0);
		else if (!strcmp(key, "HYPERCALL_PAGE"))
			ps->hypercall = strtoull(val, NULL, 0) << 12; /* a page number */
		else if (!strcmp(key, "FEATURES")) {
			set_str(k->features, sizeof(k->features), (uint8_t *)val, vn);
			parse_features(ps, val);
		}
	}
	/* HYPERCALL_PAGE counts pages from VIRT_BASE. */
	if (ps->hypercall != UNSET && ps->virt_base != UNSET)
		ps->hypercall += ps->virt_base;
}

static int read_shdr(struct parse *ps, unsigned i, Elf64_Shdr *sh)
{
	memcpy(sh, ps->img + ps->eh.e_shoff + (uint64_t)i * ps->eh.e_shentsize, sizeof(*sh));
	if (sh->sh_type != SHT_NOBITS && !in_image(ps, sh->sh_offset, sh->sh_size)) {
		snprintf(ps->err, XK_ERRLEN,
			 "ELF section %u out of range (0x%llx+0x%llx, image 0x%zx): truncated?", i,
			 (unsigned long long)sh->sh_offset, (unsigned long long)sh->sh_size,
			 ps->len);
		return -EINVAL;
	}
	return 0;
}

static int find_notes(struct parse *ps)
{
	const Elf64_Ehdr *eh = &ps->eh;
	Elf64_Shdr sh, strtab;
	unsigned i;
	int rc;

	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, ps->img + eh->e_phoff + (uint64_t)i * eh->e_phentsize, sizeof(ph));
		/* Some binutils leave p_offset 0 in note segments (Xen skips them). */
		if (ph.p_type != PT_NOTE || ph.p_offset == 0)
			continue;
		if (!in_image(ps, ph.p_offset, ph.p_filesz))
			return fail(ps, -EINVAL, "ELF note segment out of range: truncated image?");
		rc = parse_notes(ps, ph.p_offset, ph.p_filesz);
		if (rc)
			return rc;
	}
	if (ps->nr_xen_notes)
		return 0;

	for (i = 1; i < eh->e_shnum; i++) {
		rc = read_shdr(ps, i, &sh);
		if (rc)
			return rc;
		if (sh.sh_type != SHT_NOTE)
			continue;
		rc = parse_notes(ps, sh.sh_offset, sh.sh_size);
		if (rc)
			return rc;
	}
	if (ps->nr_xen_notes || eh->e_shnum == 0 || eh->e_shstrndx >= eh->e_shnum)
		return 0;

	rc = read_shdr(ps, eh->e_shstrndx, &strtab);
	if (rc)
		return rc;
	if (strtab.sh_type == SHT_NOBITS)
		return 0;
	for (i = 1; i < eh->e_shnum; i++) {
		static const char want[] = "__xen_guest";

		rc = read_shdr(ps, i, &sh);
		if (rc)
			return rc;
		if (sh.sh_name >= strtab.sh_size || strtab.sh_size - sh.sh_name < sizeof(want) ||
		    memcmp(ps->img + strtab.sh_offset + sh.sh_name, want, sizeof(want)))
			continue;
		if (sh.sh_type == SHT_NOBITS)
			continue;
		ps->k->legacy_xen_guest = true;
		parse_guest_info(ps, ps->img + sh.sh_offset, sh.sh_size);
		break;
	}
	return 0;
}

static int check_headers(struct parse *ps)
{
	const uint8_t *id = ps->img;
	Elf64_Ehdr *eh = &ps->eh;

	if (ps->len < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG))
		return fail(ps, -EINVAL, "not a kernel image (no ELF header)");
	if (id[EI_CLASS] == ELFCLASS32)
		return fail(ps, -ENOTSUP, "32-bit PV kernels are not supported yet");
	if (id[EI_CLASS] != ELFCLASS64)
		return fail(ps, -EINVAL, "ELF image of unknown class");
	if (id[EI_DATA] != ELFDATA2LSB)
		return fail(ps, -EINVAL, "big-endian ELF image: not an x86-64 kernel");
	if (ps->len < sizeof(*eh))
		return fail(ps, -EINVAL, "ELF header truncated");
	memcpy(eh, ps->img, sizeof(*eh));
	if (eh->e_machine != EM_X86_64) {
		snprintf(ps->err, XK_ERRLEN, "ELF image for machine %u, not x86-64", eh->e_machine);
		return -EINVAL;
	}
	if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
		return fail(ps, -EINVAL, "ELF image has no (or too many) program headers");
	if (eh->e_phentsize < sizeof(Elf64_Phdr) ||
	    !in_image(ps, eh->e_phoff, (uint64_t)eh->e_phnum * eh->e_phentsize))
		return fail(ps, -EINVAL, "ELF program headers out of range: truncated image?");
	if (eh->e_shoff == 0 || eh->e_shnum == 0) {
		eh->e_shnum = 0; /* no usable section table (stripped, or >= SHN_LORESERVE) */
		return 0;
	}
	if (eh->e_shentsize < sizeof(Elf64_Shdr) ||
	    !in_image(ps, eh->e_shoff, (uint64_t)eh->e_shnum * eh->e_shentsize))
		return fail(ps, -EINVAL, "ELF section headers out of range: truncated image?");
	return 0;
}

static int load_segments(struct parse *ps, uint64_t *pstart, uint64_t *pend)
{
	const Elf64_Ehdr *eh = &ps->eh;
	struct xk_kernel *k = ps->k;
	unsigned i;

	*pstart = UINT64_MAX;
	*pend = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, ps->img + eh->e_phoff + (uint64_t)i * eh->e_phentsize, sizeof(ph));
		/* Xen's elf_phdr_is_loadable(). */
		if (ph.p_type != PT_LOAD || !(ph.p_flags & (PF_R | PF_W | PF_X)))
			continue;
		if (!in_image(ps, ph.p_offset, ph.p_filesz)) {
			snprintf(ps->err, XK_ERRLEN,
				 "ELF segment %u out of range (file 0x%llx+0x%llx, image 0x%zx): "
				 "truncated image?",
				 i, (unsigned long long)ph.p_offset,
				 (unsigned long long)ph.p_filesz, ps->len);
			return -EINVAL;
		}
		if (ph.p_filesz > ph.p_memsz || ph.p_memsz > XK_MAX_KERNEL_SIZE ||
		    ph.p_paddr + ph.p_memsz < ph.p_paddr) {
			snprintf(ps->err, XK_ERRLEN,
				 "ELF segment %u has bad sizes (paddr 0x%llx filesz 0x%llx memsz "
				 "0x%llx)",
				 i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_filesz,
				 (unsigned long long)ph.p_memsz);
			return -EINVAL;
		}
		if (k->nr_seg == XK_MAX_SEGMENTS) {
			snprintf(ps->err, XK_ERRLEN, "ELF image has more than %d loadable segments",
				 XK_MAX_SEGMENTS);
			return -EINVAL;
		}
		k->seg[k->nr_seg++] = (struct xk_segment){
		    .paddr = ph.p_paddr,
		    .filesz = ph.p_filesz,
		    .memsz = ph.p_memsz,
		    .offset = ph.p_offset,
		};
		if (ph.p_paddr < *pstart)
			*pstart = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > *pend)
			*pend = ph.p_paddr + ph.p_memsz;
	}
	if (!k->nr_seg)
		return fail(ps, -EINVAL, "ELF image has no loadable segments");
	return 0;
}

/* Xen's elf_xen_note_check(): who may be loaded. */
static int check_notes(struct parse *ps)
{
	struct xk_kernel *k = ps->k;

	if (!ps->nr_xen_notes && !k->legacy_xen_guest)
		return fail(ps, -EINVAL,
			    "ELF image has no Xen ELF notes: kernel built without CONFIG_XEN_PV?");
	if (ps->bad_features)
		return -ENOTSUP; /* message already set */
	if (!k->guest_os[0])
		return fail(ps, -EINVAL, "Xen notes lack GUEST_OS");
	if (strncmp(k->loader, "generic", 7) && strncmp(k->guest_os, "linux", 5)) {
		snprintf(ps->err, XK_ERRLEN,
			 "will only load Linux or generic-loader images (GUEST_OS '%s', LOADER "
			 "'%s')",
			 k->guest_os, k->loader);
		return -EINVAL;
	}
	if (strncmp(k->xen_version, "xen-3.0", 7)) {
		snprintf(ps->err, XK_ERRLEN, "image built for Xen version '%s', not xen-3.0",
			 k->xen_version);
		return -EINVAL;
	}
	return 0;
}

/* Xen's elf_xen_addr_calc_check(), plus page rounding of the kernel span. */
static int calc_addresses(struct parse *ps, uint64_t pstart, uint64_t pend)
{
	struct xk_kernel *k = ps->k;
	uint64_t off, kstart, kend;

	if (ps->paddr_offset != UNSET && ps->virt_base == UNSET)
		return fail(ps, -EINVAL, "ELF_PADDR_OFFSET set, VIRT_BASE unset");
	k->virt_base = ps->virt_base == UNSET ? 0 : ps->virt_base;
	/* Legacy images put virtual addresses in p_paddr: default the offset
	 * to VIRT_BASE for them, to 0 for note-based images. */
	if (ps->paddr_offset == UNSET)
		ps->paddr_offset = k->legacy_xen_guest ? k->virt_base : 0;
	k->paddr_offset = ps->paddr_offset;
	off = k->virt_base - k->paddr_offset;
	kstart = pstart + off;
	kend = pend + off;
	k->entry = ps->entry == UNSET ? ps->eh.e_entry : ps->entry;

	if (kstart > kend || k->entry < kstart || k->entry > kend || k->virt_base > kstart ||
	    kend - kstart > XK_MAX_KERNEL_SIZE)
		return fail(ps, -EINVAL, "ELF start or entry addresses are out of bounds");
	if (k->virt_base & 0xfff)
		return fail(ps, -EINVAL, "VIRT_BASE is not page aligned");
	k->virt_kstart = kstart & ~0xfffULL;
	if (kend > UINT64_MAX - 0xfff)
		return fail(ps, -EINVAL, "kernel ends at the top of the address space");
	k->virt_kend = (kend + 0xfff) & ~0xfffULL;

	if (ps->init_p2m != UNSET && ps->init_p2m >= kstart && ps->init_p2m < kend)
		return fail(ps, -EINVAL, "INIT_P2M base lies inside the kernel");
	/* As xc_dom_build_image(): an INIT_P2M at or above VIRT_BASE, or not
	 * page aligned, is ignored and the p2m goes into the mapped region. */
	if (ps->init_p2m != UNSET && ps->init_p2m < k->virt_base && !(ps->init_p2m & 0xfff))
		k->init_p2m = ps->init_p2m;

	if (ps->hypercall != UNSET) {
		if (ps->hypercall < k->virt_kstart || ps->hypercall >= k->virt_kend)
			return fail(ps, -EINVAL, "HYPERCALL_PAGE lies outside the kernel image");
		k->hypercall_page = ps->hypercall & ~0xfffULL;
	}
	return 0;
}

int xk_kernel_parse(const uint8_t *file, size_t len, struct xk_kernel *k, char *err)
{
	struct parse ps;
	uint64_t pstart, pend;
	int rc;

	memset(k, 0, sizeof(*k));
	rc = xk_image_unpack(file, len, &k->elf, &k->elf_len, &k->compression, &k->is_bzimage, err);
	if (rc)
		return rc;

	ps = (struct parse){
	    .img = k->elf,
	    .len = k->elf_len,
	    .k = k,
	    .err = err,
	    .virt_base = UNSET,
	    .paddr_offset = UNSET,
	    .entry = UNSET,
	    .hypercall = UNSET,
	    .init_p2m = UNSET,
	};
	rc = check_headers(&ps);
	if (!rc)
		rc = load_segments(&ps, &pstart, &pend);
	if (!rc)
		rc = find_notes(&ps);
	if (!rc)
		rc = check_notes(&ps);
	if (!rc)
		rc = calc_addresses(&ps, pstart, pend);
	if (rc) {
		xk_kernel_free(k);
		return rc;
	}
	return 0;
}

void xk_kernel_free(struct xk_kernel *k)
{
	free(k->elf);
	k->elf = NULL;
	k->elf_len = 0;
}
