/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Turn a kernel file into an ELF image: a bzImage's payload is located through
 * its setup header and decompressed with whichever of the formats Xen's
 * loader accepts it uses; a gzip'ed ELF is inflated; a plain ELF is copied.
 *
 * Every kernel compressor except gzip appends the uncompressed size as a
 * little-endian 32-bit word (scripts/Makefile.lib size_append), and gzip's own
 * trailer ends with the same field (ISIZE), so the output is allocated once at
 * that size and the decoder must produce exactly that many bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "builder.h"

/* x86 boot protocol setup header (Documentation/x86/boot.rst). */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_HEADER      0x202
#define BZ_VERSION     0x206
#define BZ_PAYLOAD_OFF 0x248
#define BZ_PAYLOAD_LEN 0x24c
#define BZ_MIN_LEN     0x250
#define BZ_MIN_VERSION 0x0208 /* first version with payload_offset/length */

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20) /* lz4 -l block size */
#define LZMA_MEMLIMIT	 (256u << 20)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static bool has_magic(const uint8_t *p, size_t len, const void *magic, size_t mlen)
{
	return len >= mlen && memcmp(p, magic, mlen) == 0;
}

/* Allocate the output buffer from the trailing size word; *in_len loses the
 * trailer unless the format keeps it (gzip: ISIZE is part of the stream). */
static uint8_t *alloc_out(const char *what, const uint8_t *in, size_t *in_len, bool strip,
			  size_t *out_len, char *err)
{
	uint32_t size;
	uint8_t *out;

	if (*in_len < 8) {
		snprintf(err, XK_ERRLEN, "%s payload truncated (%zu bytes)", what, *in_len);
		return NULL;
	}
	size = le32(in + *in_len - 4);
	if (strip)
		*in_len -= 4;
	if (size == 0 || size > XK_MAX_KERNEL_SIZE) {
		snprintf(err, XK_ERRLEN,
			 "%s payload claims %u uncompressed bytes (limit %u): corrupt image?", what,
			 size, (unsigned)XK_MAX_KERNEL_SIZE);
		return NULL;
	}
	out = malloc(size);
	if (!out) {
		snprintf(err, XK_ERRLEN, "out of memory for %u-byte %s payload", size, what);
		return NULL;
	}
	*out_len = size;
	return out;
}

static int corrupt(const char *what, const char *why, uint8_t *out, char *err)
{
	free(out);
	snprintf(err, XK_ERRLEN, "corrupt %s payload: %s", what, why);
	return -EINVAL;
}

static int un_gzip(const uint8_t *in, size_t len, uint8_t **res, size_t *res_len, char *err)
{
	size_t out_len;
	uint8_t *out = alloc_out("gzip", in, &len, false, &out_len, err);
	z_stream zs = {0};
	const char *msg;
	int rc;

	if (!out)
		return -EINVAL;
	if (len > UINT32_MAX)
		return corrupt("gzip", "input too large", out, err);
	if (inflateInit2(&zs, 15 + 16) != Z_OK) {
		free(out);
		snprintf(err, XK_ERRLEN, "zlib initialisation failed");
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)out_len;
	rc = inflate(&zs, Z_FINISH);
	msg = zs.msg ? zs.msg : "stream does not end where its size says";
	inflateEnd(&zs);
	if (rc != Z_STREAM_END)
		return corrupt("gzip", msg, out, err);
	if (zs.total_out != out_len)
		return corrupt("gzip", "length differs from the trailer", out, err);
	*res = out;
	*res_len = out_len;
	return 0;
}

static int un_lzma(bool xz, const uint8_t *in, size_t len, uint8_t **res, size_t *res_len,
		   char *err)
{
	const char *what = xz ? "xz" : "lzma";
	size_t out_len;
	uint8_t *out = alloc_out(what, in, &len, true, &out_len, err);
	lzma_stream ls = LZMA_STREAM_INIT;
	lzma_ret rc;

	if (!out)
		return -EINVAL;
	rc = xz ? lzma_stream_decoder(&ls, LZMA_MEMLIMIT, 0)
		: lzma_alone_decoder(&ls, LZMA_MEMLIMIT);
	if (rc != LZMA_OK) {
		free(out);
		snprintf(err, XK_ERRLEN, "liblzma initialisation failed (%d)", rc);
		return -ENOMEM;
	}
	ls.next_in = in;
	ls.avail_in = len;
	ls.next_out = out;
	ls.avail_out = out_len;
	rc = lzma_code(&ls, LZMA_FINISH);
	lzma_end(&ls);
	if (rc != LZMA_STREAM_END) {
		switch (rc) {
		case LZMA_MEMLIMIT_ERROR:
			return corrupt(what, "dictionary larger than 256 MiB", out, err);
		case LZMA_FORMAT_ERROR:
			return corrupt(what, "format not recognised", out, err);
		case LZMA_OPTIONS_ERROR:
			return corrupt(what, "unsupported options", out, err);
		case LZMA_OK:
		case LZMA_BUF_ERROR:
			return corrupt(what, "stream does not end where its size says", out, err);
		default:
			return corrupt(what, "data error", out, err);
		}
	}
	if (ls.total_out != out_len)
		return corrupt(what, "length differs from the trailer", out, err);
	*res = out;
	*res_len = out_len;
	return 0;
}

static int un_bzip2(const uint8_t *in, size_t len, uint8_t **res, size_t *res_len, char *err)
{
	size_t out_len;
	uint8_t *out = alloc_out("bzip2", in, &len, true, &out_len, err);
	bz_stream bs = {0};
	int rc;

	if (!out)
		return -EINVAL;
	if (len > UINT32_MAX)
		return corrupt("bzip2", "input too large", out, err);
	if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK) {
		free(out);
		snprintf(err, XK_ERRLEN, "libbz2 initialisation failed");
		return -ENOMEM;
	}
	bs.next_in = (char *)(uintptr_t)in;
	bs.avail_in = (unsigned)len;
	bs.next_out = (char *)out;
	bs.avail_out = (unsigned)out_len;
	rc = BZ2_bzDecompress(&bs);
	BZ2_bzDecompressEnd(&bs);
	if (rc == BZ_OK)
		return corrupt("bzip2", "stream does not end where its size says", out, err);
	if (rc != BZ_STREAM_END)
		return corrupt("bzip2", "data error", out, err);
	if (bs.total_out_hi32 || bs.total_out_lo32 != out_len)
		return corrupt("bzip2", "length differs from the trailer", out, err);
	*res = out;
	*res_len = out_len;
	return 0;
}

static int un_zstd(const uint8_t *in, size_t len, uint8_t **res, size_t *res_len, char *err)
{
	size_t out_len, got;
	uint8_t *out = alloc_out("zstd", in, &len, true, &out_len, err);

	if (!out)
		return -EINVAL;
	got = ZSTD_decompress(out, out_len, in, len);
	if (ZSTD_isError(got))
		return corrupt("zstd", ZSTD_getErrorName(got), out, err);
	if (got != out_len)
		return corrupt("zstd", "length differs from the trailer", out, err);
	*res = out;
	*res_len = out_len;
	return 0;
}

/*
 * lz4 "legacy" frames (lz4 -l, what the kernel uses): a magic word, then
 * blocks of <le32 compressed size><data>, each expanding to at most 8 MiB.
 * The magic may reappear between blocks (concatenated frames).
 */
static int un_lz4(const uint8_t *in, size_t len, uint8_t **res, size_t *res_len, char *err)
{
	size_t out_len, done = 0;
	uint8_t *out = alloc_out("lz4", in, &len, true, &out_len, err);

	if (!out)
		return -EINVAL;
	while (len) {
		uint32_t csize;
		size_t room = out_len - done;
		int n;

		if (len < 4)
			return corrupt("lz4", "truncated block header", out, err);
		csize = le32(in);
		in += 4;
		len -= 4;
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (csize == 0 || csize > len ||
		    csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return corrupt("lz4", "bad block size", out, err);
		if (room > LZ4_LEGACY_BLOCK)
			room = LZ4_LEGACY_BLOCK;
		n = LZ4_decompress_safe((const char *)in, (char *)out + done, (int)csize,
					(int)room);
		if (n < 0)
			return corrupt("lz4", "block does not decode", out, err);
		done += (size_t)n;
		in += csize;
		len -= csize;
	}
	if (done != out_len)
		return corrupt("lz4", "length differs from the trailer", out, err);
	*res = out;
	*res_len = out_len;
	return 0;
}

static int decompress(const uint8_t *p, size_t len, uint8_t **out, size_t *out_len,
		      const char **comp, char *err)
{
	if (has_magic(p, len, "\x1f\x8b", 2)) {
		*comp = "gzip";
		return un_gzip(p, len, out, out_len, err);
	}
	if (has_magic(p, len,
		      "\xfd"
		      "7zXZ\0",
		      6)) {
		*comp = "xz";
		return un_lzma(true, p, len, out, out_len, err);
	}
	if (has_magic(p, len, "\x5d\0\0", 3)) {
		*comp = "lzma";
		return un_lzma(false, p, len, out, out_len, err);
	}
	if (has_magic(p, len, "BZh", 3)) {
		*comp = "bzip2";
		return un_bzip2(p, len, out, out_len, err);
	}
	if (has_magic(p, len, "\x02\x21\x4c\x18", 4)) {
		*comp = "lz4";
		return un_lz4(p, len, out, out_len, err);
	}
	if (has_magic(p, len, "\x28\xb5\x2f\xfd", 4)) {
		*comp = "zstd";
		return un_zstd(p, len, out, out_len, err);
	}
	if (has_magic(p, len, "\x89LZO", 4)) {
		snprintf(err, XK_ERRLEN,
			 "LZO-compressed kernels are not supported: rebuild with another "
			 "CONFIG_KERNEL_* compression");
		return -ENOTSUP;
	}
	if (has_magic(p, len,
		      "\x7f"
		      "ELF",
		      4)) {
		*comp = "none";
		*out = malloc(len);
		if (!*out) {
			snprintf(err, XK_ERRLEN, "out of memory copying the kernel");
			return -ENOMEM;
		}
		memcpy(*out, p, len);
		*out_len = len;
		return 0;
	}
	snprintf(err, XK_ERRLEN, "unknown compression format (magic %02x %02x %02x %02x)",
		 len > 0 ? p[0] : 0, len > 1 ? p[1] : 0, len > 2 ? p[2] : 0, len > 3 ? p[3] : 0);
	return -EINVAL;
}

int xk_image_unpack(const uint8_t *file, size_t len, uint8_t **elf, size_t *elf_len,
		    const char **compression, bool *is_bzimage, char *err)
{
	int rc;

	*elf = NULL;
	*elf_len = 0;
	*compression = "none";
	*is_bzimage = false;
	err[0] = '\0';

	if (len >= BZ_MIN_LEN && memcmp(file + BZ_HEADER, "HdrS", 4) == 0) {
		uint16_t version = le16(file + BZ_VERSION);
		uint64_t sects = file[BZ_SETUP_SECTS] ? file[BZ_SETUP_SECTS] : 4;
		uint64_t off = (sects + 1) * 512 + le32(file + BZ_PAYLOAD_OFF);
		uint64_t plen = le32(file + BZ_PAYLOAD_LEN);

		*is_bzimage = true;
		if (version < BZ_MIN_VERSION) {
			snprintf(err, XK_ERRLEN,
				 "bzImage boot protocol %u.%02u is too old (need 2.08: no payload)",
				 version >> 8, version & 0xff);
			return -EINVAL;
		}
		if (plen == 0 || off >= len || plen > len - off) {
			snprintf(err, XK_ERRLEN,
				 "bzImage truncated: payload at 0x%llx+0x%llx, file is 0x%zx bytes",
				 (unsigned long long)off, (unsigned long long)plen, len);
			return -EINVAL;
		}
		rc = decompress(file + off, plen, elf, elf_len, compression, err);
		if (rc)
			return rc;
		if (*elf_len < 4 || memcmp(*elf,
					   "\x7f"
					   "ELF",
					   4) != 0) {
			free(*elf);
			*elf = NULL;
			snprintf(err, XK_ERRLEN, "bzImage payload (%s) is not an ELF image",
				 *compression);
			return -EINVAL;
		}
		return 0;
	}
	if (has_magic(file, len,
		      "\x7f"
		      "ELF",
		      4))
		return decompress(file, len, elf, elf_len, compression, err);
	if (has_magic(file, len, "\x1f\x8b", 2)) {
		rc = un_gzip(file, len, elf, elf_len, err);
		*compression = "gzip";
		if (rc)
			return rc;
		if (*elf_len < 4 || memcmp(*elf,
					   "\x7f"
					   "ELF",
					   4) != 0) {
			free(*elf);
			*elf = NULL;
			snprintf(err, XK_ERRLEN, "gzip'ed kernel is not an ELF image");
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, XK_ERRLEN, "not a kernel image (neither ELF nor bzImage, %zu bytes)", len);
	return -EINVAL;
}
