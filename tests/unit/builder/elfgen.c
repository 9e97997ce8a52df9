/* SPDX-License-Identifier: GPL-2.0-only */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <xen/elfnote.h>

#include "elfgen.h"

void eg_note_str(struct eg_elf *e, uint32_t type, const char *s)
{
	struct eg_note *n = &e->note[e->nr_note++];

	memset(n, 0, sizeof(*n));
	n->type = type;
	n->descsz = (uint32_t)strlen(s) + 1;
	memcpy(n->desc, s, n->descsz);
}

void eg_note_num(struct eg_elf *e, uint32_t type, uint64_t v, unsigned size)
{
	struct eg_note *n = &e->note[e->nr_note++];

	memset(n, 0, sizeof(*n));
	n->type = type;
	n->descsz = size;
	memcpy(n->desc, &v, size);
}

void eg_linux(struct eg_elf *e, const struct eg_linux_opts *o)
{
	uint64_t kb = o->kbase ? o->kbase : 0x200000;
	uint64_t vb = EG_VIRT_BASE;

	memset(e, 0, sizeof(*e));
	e->entry = vb + kb + 0x100;
	e->load[0] = (struct eg_load){.vaddr = vb + kb,
				      .paddr = kb,
				      .filesz = EG_TEXT_SIZE,
				      .memsz = EG_TEXT_SIZE,
				      .flags = PF_R | PF_X,
				      .fill = 0x11};
	e->load[1] = (struct eg_load){.vaddr = vb + kb + EG_TEXT_SIZE,
				      .paddr = kb + EG_TEXT_SIZE,
				      .filesz = EG_DATA_FILESZ,
				      .memsz = EG_DATA_MEMSZ,
				      .flags = PF_R | PF_W,
				      .fill = 0x22};
	/* Like .data..percpu: linked at VA 0, loaded by paddr after the rest. */
	e->load[2] = (struct eg_load){.vaddr = 0,
				      .paddr = kb + EG_TEXT_SIZE + EG_DATA_MEMSZ,
				      .filesz = EG_PERCPU_SIZE,
				      .memsz = EG_PERCPU_SIZE,
				      .flags = PF_R | PF_W,
				      .fill = 0x33};
	e->nr_load = 3;
	e->notes_phdr = !o->notes_section_only;
	e->notes_section = true;
	eg_note_str(e, XEN_ELFNOTE_GUEST_OS, "linux");
	eg_note_str(e, XEN_ELFNOTE_GUEST_VERSION, "2.6");
	eg_note_str(e, XEN_ELFNOTE_XEN_VERSION, "xen-3.0");
	eg_note_num(e, XEN_ELFNOTE_VIRT_BASE, vb, 8);
	eg_note_num(e, XEN_ELFNOTE_PADDR_OFFSET, 0, 8);
	eg_note_num(e, XEN_ELFNOTE_ENTRY, e->entry, 8);
	if (o->hypercall_page)
		eg_note_num(e, XEN_ELFNOTE_HYPERCALL_PAGE, vb + kb + 0x2000, 8);
	if (o->init_p2m)
		eg_note_num(e, XEN_ELFNOTE_INIT_P2M, 0x8000000000ULL, 8);
	eg_note_str(e, XEN_ELFNOTE_FEATURES, "!writable_page_tables|pae_pgdir_above_4gb");
	eg_note_num(e, XEN_ELFNOTE_SUPPORTED_FEATURES, 0x8801, 4);
	eg_note_str(e, XEN_ELFNOTE_PAE_MODE, "yes");
	eg_note_str(e, XEN_ELFNOTE_LOADER, "generic");
	{
		struct eg_note *n = &e->note[e->nr_note++];

		memset(n, 0, sizeof(*n));
		n->type = XEN_ELFNOTE_L1_MFN_VALID;
		n->descsz = 16;
		n->desc[0] = 1;
		n->desc[8] = 1;
	}
	eg_note_num(e, XEN_ELFNOTE_SUSPEND_CANCEL, 1, 4);
	if (o->mod_start_pfn)
		eg_note_num(e, XEN_ELFNOTE_MOD_START_PFN, 1, 4);
	eg_note_num(e, XEN_ELFNOTE_HV_START_LOW, 0xffff800000000000ULL, 8);
	eg_note_num(e, XEN_ELFNOTE_PHYS32_ENTRY, kb + 0x200, 8);
}

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static size_t put(struct buf *b, const void *src, size_t n, size_t align)
{
	size_t off = (b->len + align - 1) & ~(align - 1);

	if (off + n > b->cap) {
		b->cap = (off + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
	}
	memset(b->p + b->len, 0, off - b->len);
	if (src)
		memcpy(b->p + off, src, n);
	else
		memset(b->p + off, 0, n);
	b->len = off + n;
	return off;
}

uint8_t eg_seg_byte(const struct eg_elf *e, unsigned i, uint64_t off)
{
	return (uint8_t)(e->load[i].fill ^ (off & 0xff));
}

uint8_t *eg_build(const struct eg_elf *e, size_t *len)
{
	struct buf b = {0};
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph[EG_MAX_LOADS + 1];
	Elf64_Shdr sh[4];
	unsigned nph = e->nr_load + (e->notes_phdr ? 1 : 0), nsh = 0, i;
	size_t notes_off = 0, notes_len = 0, guest_off = 0, str_off, phoff;
	static const char strtab[] = "\0.notes\0__xen_guest\0.shstrtab";

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = e->elf32 ? ELFCLASS32 : ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = e->machine ? e->machine : EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = e->entry;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)nph;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	put(&b, NULL, sizeof(eh), 1);
	phoff = put(&b, NULL, nph * sizeof(Elf64_Phdr), 8);
	eh.e_phoff = phoff;

	/* Notes. */
	for (i = 0; i < e->nr_note; i++) {
		const struct eg_note *n = &e->note[i];
		const char *name = n->name ? n->name : "Xen";
		uint32_t hdr[3] = {(uint32_t)strlen(name) + 1, n->descsz, n->type};
		size_t o = put(&b, hdr, sizeof(hdr), 4);

		if (!i)
			notes_off = o;
		put(&b, name, hdr[0], 1);
		put(&b, n->desc, n->descsz, 4);
		put(&b, NULL, 0, 4);
	}
	notes_len = e->nr_note ? b.len - notes_off : 0;
	if (e->xen_guest)
		guest_off = put(&b, e->xen_guest, strlen(e->xen_guest) + 1, 1);
	str_off = put(&b, strtab, sizeof(strtab), 1);

	/* Segments. */
	for (i = 0; i < e->nr_load; i++) {
		const struct eg_load *l = &e->load[i];
		size_t o = put(&b, NULL, l->filesz, 16);
		uint64_t j;

		for (j = 0; j < l->filesz; j++)
			b.p[o + j] = eg_seg_byte(e, i, j);
		ph[i] = (Elf64_Phdr){
		    .p_type = l->type ? l->type : PT_LOAD,
		    .p_flags = l->flags ? l->flags : PF_R | PF_W | PF_X,
		    .p_offset = o,
		    .p_vaddr = l->vaddr,
		    .p_paddr = l->paddr,
		    .p_filesz = l->filesz,
		    .p_memsz = l->memsz,
		    .p_align = 16,
		};
	}
	if (e->notes_phdr)
		ph[i] = (Elf64_Phdr){.p_type = PT_NOTE,
				     .p_flags = PF_R,
				     .p_offset = notes_off,
				     .p_filesz = notes_len,
				     .p_memsz = notes_len,
				     .p_align = 4};
	memcpy(b.p + phoff, ph, nph * sizeof(Elf64_Phdr));

	/* Sections. */
	memset(sh, 0, sizeof(sh));
	nsh = 1;
	if (e->notes_section && e->nr_note)
		sh[nsh++] = (Elf64_Shdr){.sh_name = 1,
					 .sh_type = SHT_NOTE,
					 .sh_offset = notes_off,
					 .sh_size = notes_len,
					 .sh_addralign = 4};
	if (e->xen_guest)
		sh[nsh++] = (Elf64_Shdr){.sh_name = 8,
					 .sh_type = SHT_PROGBITS,
					 .sh_offset = guest_off,
					 .sh_size = strlen(e->xen_guest) + 1,
					 .sh_addralign = 1};
	sh[nsh++] = (Elf64_Shdr){.sh_name = 20,
				 .sh_type = SHT_STRTAB,
				 .sh_offset = str_off,
				 .sh_size = sizeof(strtab),
				 .sh_addralign = 1};
	if (!e->no_sections) {
		eh.e_shoff = put(&b, sh, nsh * sizeof(Elf64_Shdr), 8);
		eh.e_shnum = (uint16_t)nsh;
		eh.e_shstrndx = (uint16_t)(nsh - 1);
	}
	memcpy(b.p, &eh, sizeof(eh));
	*len = b.len;
	return b.p;
}

static void append_size(uint8_t *out, size_t *olen, size_t size)
{
	uint32_t s = (uint32_t)size;

	memcpy(out + *olen, &s, 4);
	*olen += 4;
}

uint8_t *eg_compress(const char *comp, const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = len + len / 2 + (1 << 20), olen = 0;
	uint8_t *out = malloc(cap);

	if (!strcmp(comp, "none")) {
		memcpy(out, in, len);
		*out_len = len;
		return out;
	}
	if (!strcmp(comp, "gzip")) {
		z_stream zs = {0};

		deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		zs.next_in = (Bytef *)(uintptr_t)in;
		zs.avail_in = (uInt)len;
		zs.next_out = out;
		zs.avail_out = (uInt)cap;
		if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
			abort();
		olen = zs.total_out;
		deflateEnd(&zs);
		*out_len = olen;
		return out; /* gzip's ISIZE already ends the stream */
	}
	if (!strcmp(comp, "xz")) {
		if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len, out, &olen, cap) !=
		    LZMA_OK)
			abort();
	} else if (!strcmp(comp, "lzma")) {
		lzma_stream ls = LZMA_STREAM_INIT;
		lzma_options_lzma opt;

		lzma_lzma_preset(&opt, 6);
		if (lzma_alone_encoder(&ls, &opt) != LZMA_OK)
			abort();
		ls.next_in = in;
		ls.avail_in = len;
		ls.next_out = out;
		ls.avail_out = cap;
		if (lzma_code(&ls, LZMA_FINISH) != LZMA_STREAM_END)
			abort();
		olen = ls.total_out;
		lzma_end(&ls);
	} else if (!strcmp(comp, "bzip2")) {
		unsigned dl = (unsigned)cap;

		if (BZ2_bzBuffToBuffCompress((char *)out, &dl, (char *)(uintptr_t)in, (unsigned)len,
					     9, 0, 0) != BZ_OK)
			abort();
		olen = dl;
	} else if (!strcmp(comp, "zstd")) {
		ZSTD_CCtx *cc = ZSTD_createCCtx();

		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
		olen = ZSTD_compress2(cc, out, cap, in, len);
		ZSTD_freeCCtx(cc);
		if (ZSTD_isError(olen))
			abort();
	} else if (!strcmp(comp, "lz4")) {
		/* Legacy frame: magic, then <le32 size><block> per 8 MiB of input. */
		static const uint8_t magic[4] = {0x02, 0x21, 0x4c, 0x18};
		size_t done = 0;

		memcpy(out, magic, 4);
		olen = 4;
		while (done < len) {
			int n = (int)(len - done > (8u << 20) ? (8u << 20) : len - done);
			int c =
			    LZ4_compress_default((const char *)in + done, (char *)out + olen + 4, n,
						 (int)(cap - olen - 4));
			uint32_t c32 = (uint32_t)c;

			if (c <= 0)
				abort();
			memcpy(out + olen, &c32, 4);
			olen += 4 + (size_t)c;
			done += (size_t)n;
		}
	} else {
		abort();
	}
	append_size(out, &olen, len);
	*out_len = olen;
	return out;
}

uint8_t *eg_bzimage(const uint8_t *payload, size_t plen, uint8_t setup_sects, size_t *len)
{
	unsigned sects = setup_sects ? setup_sects : 4;
	size_t setup = (sects + 1) * 512, poff = 0x3c0; /* payload some way into the code */
	size_t total = setup + poff + plen + 0x100;
	uint8_t *b = calloc(1, total);
	uint32_t v;
	uint16_t ver = 0x020f;

	b[0x1f1] = setup_sects;
	b[0x1fe] = 0x55;
	b[0x1ff] = 0xaa;
	memcpy(b + 0x202, "HdrS", 4);
	memcpy(b + 0x206, &ver, 2);
	v = (uint32_t)poff;
	memcpy(b + 0x248, &v, 4);
	v = (uint32_t)plen;
	memcpy(b + 0x24c, &v, 4);
	memcpy(b + setup + poff, payload, plen);
	*len = total;
	return b;
}
