/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Emulation of the privileged instructions a PV kernel executes at CPL3
 * (pv-abi.md 1.10; Xen's pv/emul-priv-op.c and pv/emul-inv-op.c), and the
 * CPUID view a PV guest gets through the forced-emulation prefix.
 */
#include "core.h"
#include "platform.h"

#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_EFER           0xc0000080
#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_CSTAR          0xc0000083
#define MSR_SFMASK         0xc0000084
#define MSR_TSC_AUX        0xc0000103
#define MSR_APIC_BASE      0x0000001b
#define MSR_PAT            0x00000277
#define MSR_MISC_ENABLE    0x000001a0
#define MSR_SPEC_CTRL      0x00000048
#define MSR_PRED_CMD       0x00000049
#define MSR_TSC            0x00000010

#define CR0_TS (1ULL << 3)
/* CR4 bits the guest may see/own (pv-abi.md 1.10). */
#define CR4_TSD        (1ULL << 2)
#define CR4_DE         (1ULL << 3)
#define CR4_PAE        (1ULL << 5)
#define CR4_MCE        (1ULL << 6)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_FSGSBASE   (1ULL << 16)
#define CR4_OSXSAVE    (1ULL << 18)
#define CR4_GUEST_BITS (CR4_TSD | CR4_DE | CR4_FSGSBASE | CR4_OSXSAVE)

static uint64_t hw_cr0(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static uint64_t hw_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static uint64_t guest_cr4(struct pcpu *pc)
{
	return (hw_cr4() & (CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE)) |
	       (pc->v.cr4_guest & CR4_GUEST_BITS);
}

static void native_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

/*
 * PVM runs guest user code natively under the host's XCR0 (the launcher's
 * KVM_SET_XCRS is not applied) and answers its CPUID natively: user space
 * sees OSXSAVE, AVX-512 and an XCR0 enabling their state, and glibc's
 * memcpy uses ymm16+.  The guest kernel must therefore context-switch that
 * state with XSAVE (docs/architecture.md, "AVX state on pvm").  Describe
 * exactly the components the hardware XCR0 enables, in the standard
 * format: Linux's xstate init checks the sizes against CPUID (a WARN and
 * a fallback to FXSAVE otherwise), and XSAVEC/XSAVES sizes would include
 * the host's supervisor states.
 */
static void pvm_xsave_leaf(uint32_t sub, uint32_t r[4])
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	uint64_t xcr0 = ((uint64_t)hi << 32) | lo;

	if (sub == 0) {
		r[0] &= lo;
		r[3] &= hi;
		r[2] = r[1]; /* max size = size for the enabled set */
	} else if (sub == 1) {
		/* XSAVEOPT only: no XSAVEC/XSAVES (compacted), no XFD */
		r[0] &= 1u;
		r[1] = r[2] = r[3] = 0;
	} else if (sub < 64 && !(xcr0 & (1ULL << sub))) {
		r[0] = r[1] = r[2] = r[3] = 0;
	}
}

void guest_cpuid(struct pcpu *pc, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	if (leaf >= 0x40000000 && leaf < 0x50000000) {
		memset(r, 0, 16);
		switch (leaf) {
		case 0x40000000:
			r[0] = 0x40000005;
			memcpy(&r[1], "XenV", 4);
			memcpy(&r[2], "MMXe", 4);
			memcpy(&r[3], "nVMM", 4);
			break;
		case 0x40000001:
			r[0] = (4 << 16) | 17;
			break;
		case 0x40000002:
			r[0] = 1;          /* hypercall pages */
			r[1] = 0x40000000; /* hypercall-page MSR base */
			r[2] = XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD;
			break;
		case 0x40000003:
			if (sub == 0)
				r[2] = (uint32_t)dom.bi->tsc_khz; /* tsc_mode 0, khz */
			break;
		case 0x40000005:
			/* ebx[7:0] = machine address width: 0 keeps Linux on
			 * grant v1 (it picks v2 above 44 bits). */
			break;
		}
		return;
	}
	native_cpuid(leaf, sub, r);
	switch (leaf) {
	case 1:
		r[2] &= ~((1u << 3) |  /* MONITOR */
			  (1u << 5) |  /* VMX */
			  (1u << 6) |  /* SMX */
			  (1u << 17) | /* PCID */
			  (1u << 21) | /* X2APIC */
			  (1u << 24)); /* TSC_DEADLINE */
		r[2] &= ~(1u << 27);  /* OSXSAVE follows the guest's CR4 view */
		if (guest_cr4(pc) & CR4_OSXSAVE)
			r[2] |= 1u << 27;
		r[2] |= 1u << 31; /* hypervisor */
		r[3] &= ~((1u << 3) |  /* PSE */
			  (1u << 7) |  /* MCE: no virtual machine-check MSRs */
			  (1u << 14) | /* MCA */
			  (1u << 12) | /* MTRR */
			  (1u << 13) | /* PGE */
			  (1u << 17)); /* PSE36 */
		break;
	case 5: /* MONITOR leaf */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	case 7:
		if (sub == 0) {
			r[1] &= ~((1u << 0) |   /* FSGSBASE */
				  (1u << 7) |   /* SMEP */
				  (1u << 10) |  /* INVPCID */
				  (1u << 20));  /* SMAP */
			r[2] &= ~((1u << 2) |   /* UMIP */
				  (1u << 3) |   /* PKU */
				  (1u << 4) |   /* OSPKE */
				  (1u << 16));  /* LA57 */
		}
		break;
	case 0xd:
		if (sub == 1)
			r[0] &= ~(1u << 3); /* XSAVES */
		if (dom.bi->platform == XK_PLATFORM_PVM)
			pvm_xsave_leaf(sub, r);
		break;
	case 0x80000001:
		r[2] &= ~(1u << 2);  /* SVM */
		r[3] &= ~(1u << 26); /* PAGE1GB (mandatory, pv-abi.md 1.10) */
		break;
	}
}

bool emulate_invalid_op(struct pcpu *pc, struct cpu_regs *regs)
{
	static const uint8_t sig[5] = {0x0f, 0x0b, 'x', 'e', 'n'};
	uint8_t insn[7];
	uint32_t r[4];

	if (copy_from_guest(insn, regs->rip, sizeof(insn)) || memcmp(insn, sig, 5) ||
	    insn[5] != 0x0f || insn[6] != 0xa2)
		return false;
	guest_cpuid(pc, (uint32_t)regs->rax, (uint32_t)regs->rcx, r);
	regs->rax = r[0];
	regs->rbx = r[1];
	regs->rcx = r[2];
	regs->rdx = r[3];
	regs->rip += 7;
	return true;
}

/* false: inject #GP(0) into the guest */
static bool guest_rdmsr(struct pcpu *pc, uint32_t msr, uint64_t *val)
{
	struct vcpu *v = &pc->v;

	switch (msr) {
	case MSR_FS_BASE:
		/* A selector load may have set it (core/desc.c): read the
		 * hardware, as Xen does, once such descriptors exist. */
		if (dom.desc_bases)
			v->fs_base = plat_get_fs_base();
		*val = v->fs_base;
		return true;
	case MSR_GS_BASE:
		*val = v->gs_base_kernel;
		return true;
	case MSR_KERNEL_GS_BASE:
		*val = v->gs_base_user;
		return true;
	case MSR_EFER:
		*val = (1ULL << 0) | (1ULL << 8) | (1ULL << 10) | (1ULL << 11); /* SCE LME LMA NX */
		return true;
	case MSR_APIC_BASE:
		*val = 0xfee00000ULL | (1ULL << 11) | (v->id == 0 ? (1ULL << 8) : 0);
		return true;
	case MSR_PAT:
		*val = 0x0000050100070406ULL; /* Xen's PV PAT */
		return true;
	case MSR_MISC_ENABLE:
		/* fast strings; BTS/PEBS unavailable, as Xen reports */
		*val = (1ULL << 0) | (1ULL << 11) | (1ULL << 12);
		return true;
	case MSR_TSC_AUX:
		*val = v->id;
		return true;
	case MSR_SPEC_CTRL:
		*val = 0;
		return true;
	case MSR_TSC:
		*val = rdtsc();
		return true;
	case MSR_STAR:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_SFMASK:
		*val = 0;
		return true;
	}
	return false;
}

static bool guest_wrmsr(struct pcpu *pc, uint32_t msr, uint64_t val)
{
	struct vcpu *v = &pc->v;

	switch (msr) {
	case MSR_FS_BASE:
		if (!guest_va_ok(val, 0))
			return false;
		v->fs_base = val;
		plat_set_fs_base(val);
		return true;
	case MSR_GS_BASE:
		/* Linux's startup_xen: the very first privileged act. */
		if (!guest_va_ok(val, 0))
			return false;
		v->gs_base_kernel = val;
		plat_set_gs_base(val);
		return true;
	case MSR_KERNEL_GS_BASE:
		if (!guest_va_ok(val, 0))
			return false;
		v->gs_base_user = val;
		return true;
	case MSR_EFER: {
		uint64_t cur;
		guest_rdmsr(pc, MSR_EFER, &cur);
		return val == cur;
	}
	case MSR_SPEC_CTRL:
	case MSR_PRED_CMD:
		return val == 0 || msr == MSR_PRED_CMD;
	case MSR_TSC_AUX:
		return true;
	case MSR_MISC_ENABLE: {
		uint64_t cur;
		guest_rdmsr(pc, MSR_MISC_ENABLE, &cur);
		return val == cur;
	}
	case MSR_PAT:
		return val == 0x0000050100070406ULL;
	}
	return false;
}

static uint64_t *gpr(struct cpu_regs *r, unsigned n)
{
	switch (n) {
	case 0: return &r->rax;
	case 1: return &r->rcx;
	case 2: return &r->rdx;
	case 3: return &r->rbx;
	case 4: return &r->rsp;
	case 5: return &r->rbp;
	case 6: return &r->rsi;
	case 7: return &r->rdi;
	case 8: return &r->r8;
	case 9: return &r->r9;
	case 10: return &r->r10;
	case 11: return &r->r11;
	case 12: return &r->r12;
	case 13: return &r->r13;
	case 14: return &r->r14;
	default: return &r->r15;
	}
}

static bool iopl_ok(struct pcpu *pc)
{
	/* 64-bit PV kernel counts as ring 1 for the virtual IOPL (Xen's
	 * iopl_ok()); Linux sets IOPL 1 early via PHYSDEVOP_set_iopl. */
	return pc->v.iopl >= 1;
}

bool emulate_privileged(struct pcpu *pc, struct cpu_regs *regs)
{
	uint8_t b[16];
	unsigned i = 0, rex = 0, opsz = 4;
	bool rep = false;
	size_t avail = copy_insn_from_guest(b, regs->rip, sizeof(b));

	if (!avail)
		return false;
	/* prefixes */
	for (;; i++) {
		if (i >= 14)
			return false;
		if (b[i] == 0x66)
			opsz = 2;
		else if (b[i] == 0xf3 || b[i] == 0xf2)
			rep = true;
		else if (b[i] == 0x2e || b[i] == 0x36 || b[i] == 0x3e || b[i] == 0x26 ||
			 b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x67)
			;
		else
			break;
	}
	if ((b[i] & 0xf0) == 0x40)
		rex = b[i++];
	(void)rep;

	uint8_t op = b[i++];
	if (op == 0x0f) {
		uint8_t op2 = b[i++];
		switch (op2) {
		case 0x30: { /* wrmsr */
			uint64_t val = (regs->rdx << 32) | (uint32_t)regs->rax;
			if (!guest_wrmsr(pc, (uint32_t)regs->rcx, val))
				return false;
			break;
		}
		case 0x32: { /* rdmsr */
			uint64_t val;
			if (!guest_rdmsr(pc, (uint32_t)regs->rcx, &val))
				return false;
			regs->rax = (uint32_t)val;
			regs->rdx = val >> 32;
			break;
		}
		case 0x06: /* clts */
			pc->v.fpu_ts = false;
			plat_set_ts(false);
			break;
		case 0x08: /* invd */
		case 0x09: /* wbinvd: no-op, the host keeps caches coherent */
			break;
		case 0x20:   /* mov %crN, reg */
		case 0x22: { /* mov reg, %crN */
			uint8_t modrm = b[i++];
			unsigned cr = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
			uint64_t *reg = gpr(regs, (modrm & 7) | ((rex & 1) ? 8 : 0));
			if (op2 == 0x20) {
				switch (cr) {
				case 0:
					*reg = (hw_cr0() & ~CR0_TS) | (pc->v.fpu_ts ? CR0_TS : 0);
					break;
				case 2:
					*reg = pc->v.vi->arch.cr2;
					break;
				case 3:
					*reg = pc->v.in_kernel ? pc->v.cr3_kernel : pc->v.cr3_user;
					break;
				case 4:
					*reg = guest_cr4(pc);
					break;
				default:
					return false;
				}
			} else {
				switch (cr) {
				case 0:
					pc->v.fpu_ts = !!(*reg & CR0_TS);
					plat_set_ts(pc->v.fpu_ts);
					break;
				case 4:
					pc->v.cr4_guest = *reg & CR4_GUEST_BITS;
					break;
				default:
					return false;
				}
			}
			break;
		}
		case 0x21: /* mov %drN, reg */
		case 0x23: { /* mov reg, %drN */
			uint8_t modrm = b[i++];
			unsigned dr = (modrm >> 3) & 7;
			uint64_t *reg = gpr(regs, (modrm & 7) | ((rex & 1) ? 8 : 0));
			if (dr == 4 || dr == 5)
				return false;
			if (op2 == 0x21)
				*reg = pc->v.dr[dr] ? pc->v.dr[dr] :
				       dr == 6	   ? 0xffff0ff0 :
				       dr == 7	   ? 0x400 :
						     0;
			else
				pc->v.dr[dr] = *reg;
			break;
		}
		case 0x01:
			if (b[i] == 0xd1) { /* xsetbv: only XCR0 values the host allows */
				uint64_t val = (regs->rdx << 32) | (uint32_t)regs->rax;
				uint32_t r[4];
				if ((uint32_t)regs->rcx != 0)
					return false;
				native_cpuid(0xd, 0, r);
				uint64_t ok = ((uint64_t)r[3] << 32) | r[0];
				if ((val & ~ok) || !(val & 1))
					return false;
				__asm__ volatile("xsetbv" ::"a"((uint32_t)val),
						 "d"((uint32_t)(val >> 32)), "c"(0));
				i++;
				break;
			}
			return false;
		default:
			return false;
		}
		if (i > avail)
			return false;
		regs->rip += i;
		return true;
	}

	switch (op) {
	case 0xe4: /* in al, imm8 */
	case 0xe5: /* in eax, imm8 */
	case 0xec: /* in al, dx */
	case 0xed: /* in eax, dx */
		if (!iopl_ok(pc))
			return false;
		if (op == 0xe4 || op == 0xe5)
			i++;
		/* No ports are passed through: reads float high. */
		if (op == 0xe4 || op == 0xec)
			regs->rax |= 0xff;
		else if (opsz == 2)
			regs->rax |= 0xffff;
		else
			regs->rax = 0xffffffff;
		break;
	case 0xe6:
	case 0xe7:
	case 0xee:
	case 0xef:
		if (!iopl_ok(pc))
			return false;
		if (op == 0xe6 || op == 0xe7)
			i++;
		break; /* writes dropped */
	case 0xfa: /* cli */
	case 0xfb: /* sti: as Xen, map onto the event mask */
		if (!iopl_ok(pc))
			return false;
		pc->v.vi->evtchn_upcall_mask = op == 0xfa;
		break;
	default:
		return false;
	}
	if (i > avail)
		return false;
	regs->rip += i;
	return true;
}
