/* The unwinder's quick path: each pc's CFI row, read once through libdw and kept
 * as the few numbers x86-64 frames need, then walked without libdwfl.
 *
 * libdwfl's own walk costs about 0.5 us a frame here (a Dwarf_Frame allocated and
 * its CFI row decoded again at every frame of every sample), and a 3.9 stack of
 * 30 Python calls has ~75 C frames: 40 us a sample. The rows of a program's call
 * sites are few and repeat, so each is decoded once (dwarf_cfi_addrframe, as
 * libdwfl does) and kept when it is of the common kind: the CFA a register plus
 * an offset, the return address and rbp saved at the CFA plus an offset, or
 * unchanged. A frame with any other row (a DWARF expression, a signal frame, no
 * CFI at all: libdwfl's frame-pointer guess) sends the whole sample to libdwfl.
 * The two answer alike, but for a return address that cannot be read: the quick
 * path stops there, where libdwfl guesses a caller from rbp (checked on every
 * sample of the test programs on 3.8-3.13: that was the only difference). */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

#define RULE_SLOTS 8192u
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16 /* x86-64's return address column */

enum how { HOW_UNDEFINED, HOW_SAME, HOW_AT, HOW_VALUE }; /* HOW_AT: saved at CFA + off */

struct cfi_rule {
	uint64_t pc;           /* the pc looked up (0: free) */
	bool quick;            /* a row of the common kind: the fields below hold it */
	uint8_t cfa_reg;       /* REG_RSP or REG_RBP */
	uint8_t ra, rbp, rsp;  /* enum how */
	int64_t cfa_off, ra_off, rbp_off, rsp_off;
};

static bool how_of(Dwarf_Frame *frame, int regno, uint8_t *how, int64_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	if (dwarf_frame_register(frame, regno, mem, &ops, &n) != 0)
		return false;
	*off = 0;
	if (n == 0) {
		*how = ops ? HOW_UNDEFINED : HOW_SAME;
		return true;
	}
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	size_t k = 1;
	if (k < n && ops[k].atom == DW_OP_plus_uconst)
		*off = (int64_t)ops[k++].number;
	*how = HOW_AT;
	if (k < n && ops[k].atom == DW_OP_stack_value) {
		*how = HOW_VALUE;
		k++;
	}
	return k == n;
}

/* The row of CFI that covers pc, as libdwfl would find it: .eh_frame first, then
 * .debug_frame. */
static void decode(fsnative_session *s, uint64_t pc, struct cfi_rule *r)
{
	*r = (struct cfi_rule){ .pc = pc };
	Dwfl_Module *m = dwfl_addrmodule(s->dwfl, pc);
	if (!m)
		return;
	Dwarf_Addr bias;
	Dwarf_Frame *frame = NULL;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(m, &bias);
	if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0) {
		free(frame);
		frame = NULL;
		cfi = dwfl_module_dwarf_cfi(m, &bias);
		if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0) {
			free(frame);
			return;
		}
	}
	Dwarf_Op *ops;
	size_t n;
	bool signal = false;
	Dwarf_Addr start, end;
	int ra = dwarf_frame_info(frame, &start, &end, &signal);
	if (ra == REG_RA && !signal && dwarf_frame_cfa(frame, &ops, &n) == 0 && n == 1 &&
	    ops[0].atom == DW_OP_bregx && (ops[0].number == REG_RSP || ops[0].number == REG_RBP) &&
	    how_of(frame, REG_RA, &r->ra, &r->ra_off) && r->ra != HOW_SAME &&
	    how_of(frame, REG_RBP, &r->rbp, &r->rbp_off) &&
	    how_of(frame, REG_RSP, &r->rsp, &r->rsp_off) && r->rsp == HOW_VALUE) {
		r->cfa_reg = (uint8_t)ops[0].number;
		r->cfa_off = (int64_t)ops[0].number2;
		r->quick = true;
	}
	free(frame);
}

static const struct cfi_rule *rule_of(fsnative_session *s, uint64_t pc)
{
	if (!s->rules && !(s->rules = calloc(RULE_SLOTS, sizeof(*s->rules))))
		return NULL;
	struct cfi_rule *r = &s->rules[(pc * 0x9e3779b97f4a7c15ull) >> 51 & (RULE_SLOTS - 1)];
	if (r->pc != pc)
		decode(s, pc, r);
	return r;
}

/* A register of the caller by its rule; *known false when it cannot be had */
static void value_of(fsnative_session *s, uint8_t how, int64_t off, uint64_t cfa, uint64_t *reg,
		     bool *known)
{
	if (how == HOW_UNDEFINED)
		*known = false;
	else if (how == HOW_VALUE)
		*reg = cfa + (uint64_t)off, *known = true;
	else if (how == HOW_AT)
		*known = memory__read_word(s, cfa + (uint64_t)off, reg);
	/* HOW_SAME: as it is */
}

int fastcfi__walk(fsnative_session *s, const uint64_t regs[FSNATIVE_NREGS], uint64_t *pcs, int max)
{
	uint64_t pc = regs[FSNATIVE_REG_IP], sp = regs[FSNATIVE_REG_SP], bp = regs[REG_RBP];
	bool bp_known = true, activation = true;
	int n = 0;
	while (n < max) {
		/* a return address points after the call: the call is one byte before */
		uint64_t at = activation ? pc : pc - 1;
		pcs[n++] = at;
		const struct cfi_rule *r = rule_of(s, at);
		if (!r || !r->quick)
			return -1;
		if (r->cfa_reg == REG_RBP && !bp_known)
			return -1; /* libdwfl would guess from frame pointers */
		uint64_t cfa = (r->cfa_reg == REG_RBP ? bp : sp) + (uint64_t)r->cfa_off;
		if (r->ra == HOW_UNDEFINED)
			return n; /* the outermost frame */
		uint64_t ra = 0;
		bool ra_known = false;
		value_of(s, r->ra, r->ra_off, cfa, &ra, &ra_known);
		/* a return address that cannot be read ends the walk; libdwfl would
		 * go on to guess a caller from rbp, which is most often no address */
		if (!ra_known || ra == 0)
			return n;
		value_of(s, r->rbp, r->rbp_off, cfa, &bp, &bp_known);
		sp = cfa + (uint64_t)r->rsp_off;
		pc = ra;
		activation = false;
	}
	return n;
}
