/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writable page tables: Linux stores PTEs directly into its L1 tables, which
 * are mapped read-only; the write faults and is emulated here (Xen's
 * pv/ro-page-fault.c).  Handled: mov (register or immediate), xchg,
 * cmpxchg, and/or/xor, bt/bts/btr/btc — 1, 2, 4 or 8 bytes, naturally aligned,
 * lock prefix allowed.  The new entry is validated like an mmu_update.
 */
#include "core.h"
#include "mm.h"

enum op { OP_MOV, OP_XCHG, OP_CMPXCHG, OP_AND, OP_OR, OP_XOR, OP_BT, OP_BTS, OP_BTR, OP_BTC };

struct insn {
	enum op op;
	unsigned len;   /* total length */
	unsigned size;  /* operand bytes: 1, 2, 4 or 8 */
	unsigned reg;   /* ModRM.reg (with REX.R) for register sources */
	bool has_imm;
	uint64_t imm;
};

static uint64_t *gpr(struct cpu_regs *r, unsigned n)
{
	uint64_t *const map[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
				   &r->rsi, &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11,
				   &r->r12, &r->r13, &r->r14, &r->r15};
	return map[n & 15];
}

/* Length of a ModRM memory operand encoding (ModRM byte included). */
static int modrm_len(const uint8_t *p, unsigned avail)
{
	if (avail < 1)
		return -1;
	uint8_t m = p[0];
	unsigned mod = m >> 6, rm = m & 7, len = 1;

	if (mod == 3)
		return -1; /* register operand: not a memory write */
	if (rm == 4) {
		if (avail < 2)
			return -1;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	}
	if (mod == 0 && rm == 5)
		len += 4; /* RIP-relative */
	else if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len <= avail ? (int)len : -1;
}

static bool decode(const uint8_t *b, unsigned n, struct insn *in)
{
	unsigned i = 0, rex = 0;
	int ml;

	bool opsz16 = false;

	memset(in, 0, sizeof(*in));
	while (i < n && (b[i] == 0xf0 || b[i] == 0x2e || b[i] == 0x3e || b[i] == 0x26 ||
			 b[i] == 0x36 || b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x66)) {
		if (b[i] == 0x66)
			opsz16 = true;
		i++;
	}
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= n)
		return false;
	in->size = (rex & 8) ? 8 : opsz16 ? 2 : 4;
	uint8_t op = b[i++];
	/* Byte forms (Linux's clear_bit/set_bit on a constant bit compile to
	 * andb/orb on the PTE byte): 88 mov, 86 xchg, 20/08/30 and/or/xor,
	 * c6 /0 and 80 /1 /4 /6 with imm8. */
	static const uint8_t byte_ops[][2] = {{0x88, 0x89}, {0x86, 0x87}, {0x20, 0x21},
					      {0x08, 0x09}, {0x30, 0x31}, {0xc6, 0xc7},
					      {0x80, 0x81}};
	for (unsigned k = 0; k < ARRAY_SIZE(byte_ops); k++) {
		if (op == byte_ops[k][0]) {
			op = byte_ops[k][1];
			in->size = 1;
			/* AH..BH (reg 4-7 without REX) are not supported */
			if (op != 0xc7 && op != 0x81 && !rex && i < n && ((b[i] >> 3) & 7) >= 4)
				return false;
			break;
		}
	}
	unsigned reg = i < n ? ((b[i] >> 3) & 7) | ((rex & 4) ? 8 : 0) : 0;
	in->reg = reg;

	switch (op) {
	case 0x89:
		in->op = OP_MOV;
		break;
	case 0x87:
		in->op = OP_XCHG;
		break;
	case 0x21:
		in->op = OP_AND;
		break;
	case 0x09:
		in->op = OP_OR;
		break;
	case 0x31:
		in->op = OP_XOR;
		break;
	case 0xc7:
	case 0x81:
	case 0x83: {
		if ((reg & 7) != 0 && op == 0xc7)
			return false;
		static const int grp1[8] = {-1, OP_OR, -1, -1, OP_AND, -1, OP_XOR, -1};
		if (op != 0xc7 && grp1[reg & 7] < 0)
			return false;
		in->op = op == 0xc7 ? OP_MOV : (enum op)grp1[reg & 7];
		ml = modrm_len(b + i, n - i);
		if (ml < 0)
			return false;
		i += (unsigned)ml;
		unsigned isz = (op == 0x83 || in->size == 1) ? 1 : in->size == 2 ? 2 : 4;
		if (i + isz > n)
			return false;
		int64_t v = isz == 1   ? (int8_t)b[i] :
			    isz == 2   ? (int16_t)(b[i] | b[i + 1] << 8) :
					 (int32_t)(b[i] | b[i + 1] << 8 | b[i + 2] << 16 |
						   (uint32_t)b[i + 3] << 24);
		in->imm = (uint64_t)v;
		in->has_imm = true;
		in->len = i + isz;
		return true;
	}
	case 0x0f: {
		if (i >= n)
			return false;
		uint8_t op2 = b[i++];
		reg = i < n ? ((b[i] >> 3) & 7) | ((rex & 4) ? 8 : 0) : 0;
		in->reg = reg;
		switch (op2) {
		case 0xb1:
			in->op = OP_CMPXCHG;
			break;
		case 0xab:
			in->op = OP_BTS;
			break;
		case 0xb3:
			in->op = OP_BTR;
			break;
		case 0xbb:
			in->op = OP_BTC;
			break;
		case 0xba: {
			static const int grp8[8] = {-1, -1, -1, -1, OP_BT, OP_BTS, OP_BTR, OP_BTC};
			if (grp8[reg & 7] < 0)
				return false;
			in->op = (enum op)grp8[reg & 7];
			ml = modrm_len(b + i, n - i);
			if (ml < 0 || i + (unsigned)ml >= n)
				return false;
			i += (unsigned)ml;
			in->imm = b[i];
			in->has_imm = true;
			in->len = i + 1;
			return true;
		}
		default:
			return false;
		}
		break;
	}
	default:
		return false;
	}
	ml = modrm_len(b + i, n - i);
	if (ml < 0)
		return false;
	in->len = i + (unsigned)ml;
	return true;
}

#define FLAGS_MASK (X86_EFLAGS_CF | X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF | X86_EFLAGS_PF)

bool ptwr_emulate(struct pcpu *pc, struct cpu_regs *regs, uint64_t cr2)
{
	uint64_t l1_mfn, *map_pte = l1e_of(pc, cr2, &l1_mfn);
	uint8_t b[15];
	struct insn in;

	(void)l1_mfn;
	if (!map_pte)
		return false;
	uint64_t me = READ_ONCE(*map_pte);
	if (!(me & PTE_P) || (me & PTE_RW))
		return false;
	uint64_t target = (me & PTE_ADDR) >> PAGE_SHIFT;
	if (frame_type(target) != XK_FT_L1)
		return false;
	size_t n = copy_insn_from_guest(b, regs->rip, sizeof(b));
	if (!n || !decode(b, (unsigned)n, &in) || in.len > n)
		return false;
	if (cr2 & (in.size - 1))
		return false; /* only naturally aligned accesses, as Xen */

	uint64_t *slot = (uint64_t *)gpa_to_virt((target << PAGE_SHIFT) | (cr2 & 0xff8));
	unsigned shift = (unsigned)(cr2 & 7) * 8;
	uint64_t width = in.size == 8 ? ~0ULL : (1ULL << (in.size * 8)) - 1;
	uint64_t mask = width << shift;
	uint64_t src = (in.has_imm ? in.imm : *gpr(regs, in.reg)) & width;

	for (;;) {
		uint64_t old = __atomic_load_n(slot, __ATOMIC_RELAXED);
		uint64_t cur = (old & mask) >> shift, res = cur;
		uint64_t flags = regs->rflags & ~FLAGS_MASK;
		bool write = true;
		unsigned bit = (unsigned)(src & (in.size * 8 - 1));

		switch (in.op) {
		case OP_MOV:
		case OP_XCHG:
			res = src;
			break;
		case OP_CMPXCHG: {
			uint64_t acc = *gpr(regs, 0) & width;
			if (cur == acc) {
				res = src;
				flags |= X86_EFLAGS_ZF;
			} else {
				write = false;
			}
			break;
		}
		case OP_AND:
		case OP_OR:
		case OP_XOR:
			res = (in.op == OP_AND ? cur & src : in.op == OP_OR ? cur | src : cur ^ src) &
			      width;
			if (!res)
				flags |= X86_EFLAGS_ZF;
			if (res >> (in.size * 8 - 1))
				flags |= X86_EFLAGS_SF;
			break;
		case OP_BT:
		case OP_BTS:
		case OP_BTR:
		case OP_BTC:
			if ((cur >> bit) & 1)
				flags |= X86_EFLAGS_CF;
			res = in.op == OP_BTS ? cur | (1ULL << bit) :
			      in.op == OP_BTR ? cur & ~(1ULL << bit) :
			      in.op == OP_BTC ? cur ^ (1ULL << bit) : cur;
			write = in.op != OP_BT;
			break;
		}

		uint64_t nv = (old & ~mask) | ((res << shift) & mask);
		if (write && nv != old) {
			uint64_t checked = nv;
			if (get_l1e(&checked))
				return false; /* invalid entry: the guest gets the #PF */
			if (!__atomic_compare_exchange_n(slot, &old, checked, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
				put_l1e(checked); /* hardware set A/D meanwhile: retry */
				continue;
			}
			put_l1e(old);
		}
		/* Register results: 4-byte writes zero-extend, 1/2-byte merge. */
		if (in.op == OP_XCHG || (in.op == OP_CMPXCHG && !write)) {
			uint64_t *dst = gpr(regs, in.op == OP_XCHG ? in.reg : 0);
			*dst = in.size >= 4 ? cur : (*dst & ~width) | cur;
		}
		if (in.op == OP_CMPXCHG || in.op == OP_AND || in.op == OP_OR || in.op == OP_XOR ||
		    in.op >= OP_BT)
			regs->rflags = flags;
		break;
	}
	regs->rip += in.len;
	return true;
}
