/* Page compiler: one wasm function per hot decoded page (README: "Page compiler").
 *
 * The function runs the instructions of the page that the interpreter has run (its "starts"),
 * from any entry it knows, and leaves at the first thing it does not do itself: a jump out of
 * the page (tail-calling that page's function when it has one), a TLB miss, an op it does not
 * compile (CSRs, ecall, AMOs, F/D, mulh), an entry it does not know, or the end of the budget.
 * Its shape:
 *
 *   block $exit
 *     loop $dispatch                     ;; local entry = halfword index of the pc
 *       block $l[L-1] ... block $l[0] block $unknown
 *         br_table (map[entry] -> $l of that entry, 0 -> $unknown)
 *       end  ;; $unknown: return to the interpreter at the entry pc
 *       ...  ;; starts in address order; each label ($l: an entry or a branch target) ends its
 *       end  ;; block just before its start's code, straight-line code falls through
 *     end
 *   end      ;; $exit: s->pc, then a tail call to the next page's function or a return
 *
 * Forward branches within the page branch to the end of their target's block; backward ones
 * set entry, check the budget and go round $dispatch. */
#include "jit.h"
#include "ops.h"
#include "wasmbuf.h"
#include <stddef.h>
#include <string.h>

/* locals: the parameters (hart, budget, entry halfword), then scratch. L_PC: where to go on,
 * relative to the page (the exit adds the page's address); L_FL: how the function ends (jit.h);
 * L_TLB: the data TLB set; L_E: a TLB entry or a decoded page; L_FN: the next page's function */
enum { L_S, L_N, L_ENTRY };
enum { L_A = 3, L_T0, L_T1, L_PC, L_V, /* i64 */ L_TLB, L_E, L_FL, L_FN /* i32 */ };
#define N_I64_LOCALS (L_V - L_A + 1)
#define N_I32_LOCALS (L_FN - L_TLB + 1)

typedef struct {
  WBuf b;                /* the function body */
  int nstarts;
  uint16_t off[2048];    /* byte offset of each start, ascending */
  int16_t start[2048];   /* halfword -> start index, or -1 */
  RVDInsn insn[2048];    /* halfword -> the start there, decoded (unfused) */
  uint8_t leader[2048];  /* halfword: a start the function can be entered at (through $dispatch) */
  int16_t label[2048];   /* halfword: the block whose end its code follows, or -1 */
  int nlabels, nleaders;
  uint16_t map[2048];    /* halfword -> 1 + its leader's index, or 0 (copied to pg->jit.map) */
  uint32_t map_addr;     /* where the function finds the map */
  int closed;            /* label blocks ended so far: the code being emitted follows label closed-1 */
  int depth;             /* blocks opened inside the current instruction's code */
} Jc;

static Jc jc; /* one compilation at a time; in linear memory like all machine state */
uint32_t rv_jit_hot = JIT_HOT;
int rv_jit_ahead = 0;

static void op(Jc *j, uint8_t o) { wb_byte(&j->b, o); }
static void op_u(Jc *j, uint8_t o, uint32_t v) {
  op(j, o);
  wb_u32(&j->b, v);
}
static void i32c(Jc *j, int32_t v) {
  op(j, W_I32_CONST);
  wb_s64(&j->b, v);
}
static void i64c(Jc *j, int64_t v) {
  op(j, W_I64_CONST);
  wb_s64(&j->b, v);
}
static void get(Jc *j, uint32_t l) { op_u(j, W_LOCAL_GET, l); }
static void set(Jc *j, uint32_t l) { op_u(j, W_LOCAL_SET, l); }
static void mem(Jc *j, uint8_t o, uint32_t align, uint32_t offset) {
  op_u(j, o, align);
  wb_u32(&j->b, offset);
}
/* The guest registers stay in the hart (x[] in linear memory), read and written where used:
 * in wasm locals they cost a load and a store of each at every entry and exit of a function,
 * and the guest changes pages every ~30 instructions in branchy code (README: Page compiler). */
static void getx(Jc *j, unsigned r) {
  if (r) {
    get(j, L_S);
    mem(j, W_I64_LOAD, 3, (uint32_t)(offsetof(RVCPU, x) + 8 * r));
  } else {
    i64c(j, 0);
  }
}
/* stores the value on the stack into x[r] (dropped for x0) */
static void setx(Jc *j, unsigned r) {
  if (r) {
    set(j, L_V);
    get(j, L_S);
    get(j, L_V);
    mem(j, W_I64_STORE, 3, (uint32_t)(offsetof(RVCPU, x) + 8 * r));
  } else {
    op(j, W_DROP);
  }
}
static void open_if(Jc *j, uint8_t type) {
  op(j, W_IF);
  op(j, type);
  j->depth++;
}
static void close_block(Jc *j) {
  op(j, W_END);
  j->depth--;
}

/* label depths from the code being emitted */
static uint32_t d_exit(Jc *j) { return (uint32_t)(j->nlabels - j->closed + 1 + j->depth); }
static uint32_t d_dispatch(Jc *j) { return (uint32_t)(j->nlabels - j->closed + j->depth); }
static uint32_t d_label(Jc *j, int m) { return (uint32_t)(m - j->closed + j->depth); }

/* the page's virtual address: loaded where it is used, as a value computed from a parameter
 * would be hoisted out of the dispatch loop and kept in a stack slot per use */
static void vpage(Jc *j) {
  get(j, L_S);
  mem(j, W_I64_LOAD, 3, (uint32_t)offsetof(RVCPU, dc_vpage));
}

/* the guest address vpage + rel */
static void vaddr(Jc *j, int64_t rel) {
  vpage(j);
  if (rel) {
    i64c(j, rel);
    op(j, W_I64_ADD);
  }
}

/* leaves the function for the pc on the stack (relative to the page); how: jit.h */
static void leave(Jc *j, int how) {
  set(j, L_PC);
  i32c(j, how);
  set(j, L_FL);
  op_u(j, W_BR, d_exit(j));
}

/* leaves the function with s->pc = vpage + rel; how: JIT_JUMPED, or JIT_INTERPRET if the
 * instruction there did not run (it is not counted) */
static void exit_at(Jc *j, int64_t rel, int how) {
  i64c(j, rel);
  leave(j, how);
}

/* goes round the dispatch loop to L_ENTRY if budget is left (else falls through) */
static void redispatch(Jc *j) {
  get(j, L_N);
  i32c(j, 0);
  op(j, W_I32_GT_S);
  op_u(j, W_BR_IF, d_dispatch(j));
}

static int start_at(Jc *j, int64_t rel) {
  if (rel < 0 || rel >= 4096 || (rel & 1)) return -1;
  return j->start[rel >> 1];
}

/* continues at vpage + rel (a direct jump or branch, or the next instruction) */
static void goto_rel(Jc *j, int64_t rel) {
  int t = start_at(j, rel);
  int m = t < 0 ? -1 : j->label[rel >> 1];
  if (m >= j->closed) {
    op_u(j, W_BR, d_label(j, m)); /* forward */
  } else if (t >= 0 && j->leader[rel >> 1]) {
    /* backward: round the dispatch loop */
    i32c(j, (int32_t)(rel >> 1));
    set(j, L_ENTRY);
    redispatch(j);
    exit_at(j, rel, JIT_JUMPED);
  } else {
    exit_at(j, rel, JIT_JUMPED);
  }
}

/* pushes s + the TLB set selected by the int at offsetof(RVCPU, field) (dset, cset) */
static void tlb_set(Jc *j, uint32_t field) {
  get(j, L_S);
  get(j, L_S);
  mem(j, W_I32_LOAD, 2, field);
  i32c(j, TLB_SIZE * sizeof(TLBEntry));
  op(j, W_I32_MUL);
  op(j, W_I32_ADD);
}

/* adds to the pushed set base the byte offset of the entry of the address in local l */
static void tlb_entry(Jc *j, uint32_t l) {
  get(j, l);
  i64c(j, 12);
  op(j, W_I64_SHR_U);
  op(j, W_I32_WRAP_I64);
  i32c(j, TLB_SIZE - 1);
  op(j, W_I32_AND);
  i32c(j, 4);
  op(j, W_I32_SHL);
  op(j, W_I32_ADD);
}

/* L_A = x[rs1] + imm; L_E = its TLB entry (of the first way tlb or the second way tlb2); a miss
 * in both leaves for the interpreter at rel */
static void tlb_lookup(Jc *j, const RVDInsn *d, int64_t rel, size_t tlb, size_t tlb2, int size) {
  getx(j, d->rs1);
  i64c(j, d->imm);
  op(j, W_I64_ADD);
  set(j, L_A);
  get(j, L_TLB);
  tlb_entry(j, L_A);
  op_u(j, W_LOCAL_TEE, L_E);
  mem(j, W_I64_LOAD, 3, (uint32_t)(tlb + offsetof(TLBEntry, tag)));
  get(j, L_A);
  i64c(j, (int64_t)~(uint64_t)(0xfff ^ (size - 1)));
  op(j, W_I64_AND);
  op_u(j, W_LOCAL_TEE, L_T1);
  op(j, W_I64_NE);
  open_if(j, WT_VOID);
  get(j, L_E);
  mem(j, W_I64_LOAD, 3, (uint32_t)(tlb2 + offsetof(TLBEntry, tag)));
  get(j, L_T1);
  op(j, W_I64_NE);
  open_if(j, WT_VOID);
  exit_at(j, rel, JIT_INTERPRET);
  close_block(j);
  get(j, L_E);
  i32c(j, (int32_t)(tlb2 - tlb));
  op(j, W_I32_ADD);
  set(j, L_E);
  close_block(j);
  /* the host address: va + addend, in 32 bits */
  get(j, L_E);
  mem(j, W_I64_LOAD, 3, (uint32_t)(tlb + offsetof(TLBEntry, addend)));
  get(j, L_A);
  op(j, W_I64_ADD);
  op(j, W_I32_WRAP_I64);
}

static void load(Jc *j, const RVDInsn *d, int64_t rel, uint8_t wop, int size) {
  tlb_lookup(j, d, rel, offsetof(RVCPU, tlb_r), offsetof(RVCPU, tlb_r2), size);
  mem(j, wop, 0, 0);
  setx(j, d->rd);
}

static void store(Jc *j, const RVDInsn *d, int64_t rel, uint8_t wop, int size) {
  tlb_lookup(j, d, rel, offsetof(RVCPU, tlb_w), offsetof(RVCPU, tlb_w2), size);
  getx(j, d->rs2);
  mem(j, wop, 0, 0);
}

static void alu_imm(Jc *j, const RVDInsn *d, uint8_t wop) {
  getx(j, d->rs1);
  i64c(j, d->imm);
  op(j, wop);
  if (wop == W_I64_LT_S || wop == W_I64_LT_U) op(j, W_I64_EXTEND_I32_U);
  setx(j, d->rd);
}

static void alu(Jc *j, const RVDInsn *d, uint8_t wop) {
  getx(j, d->rs1);
  getx(j, d->rs2);
  op(j, wop);
  if (wop == W_I64_LT_S || wop == W_I64_LT_U) op(j, W_I64_EXTEND_I32_U);
  setx(j, d->rd);
}

/* 32-bit ops: on the low halves, the result sign-extended; b < 0: the immediate */
static void alu_w(Jc *j, const RVDInsn *d, uint8_t wop, int imm) {
  getx(j, d->rs1);
  op(j, W_I32_WRAP_I64);
  if (imm) {
    i32c(j, d->imm);
  } else {
    getx(j, d->rs2);
    op(j, W_I32_WRAP_I64);
  }
  op(j, wop);
  op(j, W_I64_EXTEND_I32_S);
  setx(j, d->rd);
}

/* division and remainder as RISC-V defines them for a zero divisor and overflow (wasm traps) */
static void divrem(Jc *j, const RVDInsn *d, uint8_t wop, int word) {
  int is_div = wop == W_I64_DIV_S || wop == W_I64_DIV_U || wop == W_I32_DIV_S || wop == W_I32_DIV_U;
  int is_signed_div = wop == W_I64_DIV_S || wop == W_I32_DIV_S;
  uint8_t t = word ? WT_I32 : WT_I64;
  getx(j, d->rs1);
  set(j, L_T0);
  getx(j, d->rs2);
  set(j, L_T1);
#define OPERAND(l)                        \
  do {                                    \
    get(j, l);                            \
    if (word) op(j, W_I32_WRAP_I64);      \
  } while (0)
  OPERAND(L_T1);
  op(j, word ? W_I32_EQZ : W_I64_EQZ);
  open_if(j, t);
  if (is_div) {
    if (word) i32c(j, -1);
    else i64c(j, -1);
  } else {
    OPERAND(L_T0);
  }
  op(j, W_ELSE);
  if (is_signed_div) {
    /* x / -1 = -x, wrapping (INT_MIN / -1 = INT_MIN) */
    OPERAND(L_T1);
    if (word) {
      i32c(j, -1);
      op(j, W_I32_EQ);
    } else {
      i64c(j, -1);
      op(j, W_I64_EQ);
    }
    open_if(j, t);
    if (word) i32c(j, 0);
    else i64c(j, 0);
    OPERAND(L_T0);
    op(j, word ? W_I32_SUB : W_I64_SUB);
    op(j, W_ELSE);
    OPERAND(L_T0);
    OPERAND(L_T1);
    op(j, wop);
    close_block(j);
  } else {
    OPERAND(L_T0); /* wasm's rem_s of INT_MIN by -1 is 0, as RISC-V wants */
    OPERAND(L_T1);
    op(j, wop);
  }
  close_block(j);
#undef OPERAND
  if (word) op(j, W_I64_EXTEND_I32_S);
  setx(j, d->rd);
}

/* ALU ops: the form of the code and its wasm opcode (wasm shifts take the count mod 64 or 32,
 * as RISC-V does) */
enum { A_NONE, A_IMM, A_REG, A_IMM_W, A_REG_W, A_DIV, A_DIV_W };
static const uint8_t alu_ops[OP_COUNT][2] = {
    [OP_ADDI] = {A_IMM, W_I64_ADD},      [OP_SLTI] = {A_IMM, W_I64_LT_S},    [OP_SLTIU] = {A_IMM, W_I64_LT_U},
    [OP_XORI] = {A_IMM, W_I64_XOR},      [OP_ORI] = {A_IMM, W_I64_OR},       [OP_ANDI] = {A_IMM, W_I64_AND},
    [OP_SLLI] = {A_IMM, W_I64_SHL},      [OP_SRLI] = {A_IMM, W_I64_SHR_U},   [OP_SRAI] = {A_IMM, W_I64_SHR_S},
    [OP_ADDIW] = {A_IMM_W, W_I32_ADD},   [OP_SLLIW] = {A_IMM_W, W_I32_SHL},  [OP_SRLIW] = {A_IMM_W, W_I32_SHR_U},
    [OP_SRAIW] = {A_IMM_W, W_I32_SHR_S}, [OP_ADD] = {A_REG, W_I64_ADD},      [OP_SUB] = {A_REG, W_I64_SUB},
    [OP_SLL] = {A_REG, W_I64_SHL},       [OP_SLT] = {A_REG, W_I64_LT_S},     [OP_SLTU] = {A_REG, W_I64_LT_U},
    [OP_XOR] = {A_REG, W_I64_XOR},       [OP_SRL] = {A_REG, W_I64_SHR_U},    [OP_SRA] = {A_REG, W_I64_SHR_S},
    [OP_OR] = {A_REG, W_I64_OR},         [OP_AND] = {A_REG, W_I64_AND},      [OP_MUL] = {A_REG, W_I64_MUL},
    [OP_DIV] = {A_DIV, W_I64_DIV_S},     [OP_DIVU] = {A_DIV, W_I64_DIV_U},   [OP_REM] = {A_DIV, W_I64_REM_S},
    [OP_REMU] = {A_DIV, W_I64_REM_U},    [OP_ADDW] = {A_REG_W, W_I32_ADD},   [OP_SUBW] = {A_REG_W, W_I32_SUB},
    [OP_SLLW] = {A_REG_W, W_I32_SHL},    [OP_SRLW] = {A_REG_W, W_I32_SHR_U}, [OP_SRAW] = {A_REG_W, W_I32_SHR_S},
    [OP_MULW] = {A_REG_W, W_I32_MUL},    [OP_DIVW] = {A_DIV_W, W_I32_DIV_S}, [OP_DIVUW] = {A_DIV_W, W_I32_DIV_U},
    [OP_REMW] = {A_DIV_W, W_I32_REM_S},  [OP_REMUW] = {A_DIV_W, W_I32_REM_U},
};

/* compiles the instruction d at byte rel of the page; returns 1 if its code cannot fall through */
static int compile_insn(Jc *j, const RVDInsn *d, int64_t rel) {
  /* the budget: one per instruction */
  get(j, L_N);
  i32c(j, 1);
  op(j, W_I32_SUB);
  set(j, L_N);
  switch (d->op) {
  case OP_LI: i64c(j, d->imm); setx(j, d->rd); return 0;
  case OP_AUIPC: vaddr(j, rel + d->imm); setx(j, d->rd); return 0;
  case OP_JAL:
    if (d->rd) {
      vaddr(j, rel + d->len);
      setx(j, d->rd);
    }
    goto_rel(j, rel + d->imm);
    return 1;
  case OP_JALR:
    getx(j, d->rs1);
    i64c(j, d->imm);
    op(j, W_I64_ADD);
    i64c(j, -2);
    op(j, W_I64_AND);
    set(j, L_A);
    if (d->rd) {
      vaddr(j, rel + d->len);
      setx(j, d->rd);
    }
    /* into this page: round the dispatch loop */
    get(j, L_A);
    vpage(j);
    op(j, W_I64_SUB);
    op_u(j, W_LOCAL_TEE, L_T0);
    i64c(j, 4096);
    op(j, W_I64_LT_U);
    open_if(j, WT_VOID);
    get(j, L_T0);
    i64c(j, 1);
    op(j, W_I64_SHR_U);
    op(j, W_I32_WRAP_I64);
    set(j, L_ENTRY);
    redispatch(j);
    close_block(j);
    get(j, L_T0);
    leave(j, JIT_JUMPED);
    return 1;
  case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU: {
    static const uint8_t cmp[] = {W_I64_EQ, W_I64_NE, W_I64_LT_S, W_I64_GE_S, W_I64_LT_U, W_I64_GE_U};
    getx(j, d->rs1);
    getx(j, d->rs2);
    op(j, cmp[d->op - OP_BEQ]);
    open_if(j, WT_VOID);
    goto_rel(j, rel + d->imm);
    close_block(j);
    return 0;
  }
  case OP_LB: load(j, d, rel, W_I64_LOAD8_S, 1); return 0;
  case OP_LH: load(j, d, rel, W_I64_LOAD16_S, 2); return 0;
  case OP_LW: load(j, d, rel, W_I64_LOAD32_S, 4); return 0;
  case OP_LD: load(j, d, rel, W_I64_LOAD, 8); return 0;
  case OP_LBU: load(j, d, rel, W_I64_LOAD8_U, 1); return 0;
  case OP_LHU: load(j, d, rel, W_I64_LOAD16_U, 2); return 0;
  case OP_LWU: load(j, d, rel, W_I64_LOAD32_U, 4); return 0;
  case OP_SB: store(j, d, rel, W_I64_STORE8, 1); return 0;
  case OP_SH: store(j, d, rel, W_I64_STORE16, 2); return 0;
  case OP_SW: store(j, d, rel, W_I64_STORE32, 4); return 0;
  case OP_SD: store(j, d, rel, W_I64_STORE, 8); return 0;
  case OP_FENCE: return 0;
  default: break;
  }
  if (d->rd == 0 && d->op >= OP_ADDI && d->op <= OP_REMUW) return 0; /* hints: no effect */
  const uint8_t *f = alu_ops[d->op];
  switch (f[0]) {
  case A_IMM: alu_imm(j, d, f[1]); return 0;
  case A_REG: alu(j, d, f[1]); return 0;
  case A_IMM_W: alu_w(j, d, f[1], 1); return 0;
  case A_REG_W: alu_w(j, d, f[1], 0); return 0;
  case A_DIV: divrem(j, d, f[1], 0); return 0;
  case A_DIV_W: divrem(j, d, f[1], 1); return 0;
  default:
    /* everything else runs in the interpreter */
    exit_at(j, rel, JIT_INTERPRET);
    return 1;
  }
}

static int ends_run(int o) {
  return o == OP_JAL || o == OP_JALR || o == OP_ILLEGAL || o == OP_SYSTEM || o == OP_EBREAK;
}

/* marks the instructions from byte off up to byte end (the instructions of one decoded entry;
 * with rv_jit_ahead, on to the next jump), or to a jump or an op the page does not go past */
static void walk(Jc *j, const uint8_t *host, uint32_t off, uint32_t end) {
  if (rv_jit_ahead) end = 4096;
  while (off < end && off < 4096 && j->start[off >> 1] < 0) {
    uint32_t insn = rv_peek(host, off);
    if (!insn) return;
    RVDInsn *d = &j->insn[off >> 1];
    rv_decode(insn, d);
    j->start[off >> 1] = 0;
    if (ends_run(d->op)) return;
    off += d->len;
  }
}

/* the starts: every instruction the interpreter ran (so decoded), and every entry seen; the
 * leaders: entries seen, targets of direct jumps, what follows jumps */
static void find_starts(Jc *j, const RVDPage *pg, const uint8_t *host) {
  memset(j->start, 0xff, sizeof(j->start));
  memset(j->leader, 0, sizeof(j->leader));
  memset(j->map, 0, sizeof(j->map));
  j->nstarts = 0;
  for (uint32_t h = 0; h < 2048; h++) {
    int entered = pg->jit.entries[h >> 5] >> (h & 31) & 1;
    if (entered) j->leader[h] = 1;
    if (pg->e[h].op != OP_UNDEC) walk(j, host, h * 2, h * 2 + pg->e[h].len);
    else if (entered) walk(j, host, h * 2, h * 2 + 1);
  }
  for (uint32_t h = 0; h < 2048; h++) {
    if (j->start[h] < 0) continue;
    const RVDInsn *d = &j->insn[h];
    int64_t t = (int64_t)h * 2 + d->imm;
    if ((d->op == OP_JAL || (d->op >= OP_BEQ && d->op <= OP_BGEU)) && t >= 0 && t < 4096 && j->start[t >> 1] >= 0)
      j->leader[t >> 1] = 1;
    /* after a call: its return address; after a jump or return: likely a function's entry */
    if ((d->op == OP_JAL || d->op == OP_JALR) && h * 2 + d->len < 4096 && j->start[h + d->len / 2] >= 0)
      j->leader[h + d->len / 2] = 1;
  }
  j->nlabels = j->nleaders = 0;
  for (uint32_t h = 0; h < 2048; h++) {
    j->label[h] = -1;
    if (j->start[h] < 0) continue;
    j->off[j->nstarts] = (uint16_t)(h * 2);
    j->start[h] = (int16_t)j->nstarts++;
    if (j->leader[h]) {
      j->label[h] = (int16_t)j->nlabels++;
      j->map[h] = (uint16_t)++j->nleaders;
    }
  }
}

/* At a jump, with budget left: if the target's page is compiled too, tail-call its function
 * (the lookup of OP_NEWPC: code TLB, decoded-page set, its function) instead of returning to
 * rv_run. Falls through to the return otherwise. */
static void emit_chain(Jc *j) {
  const uint32_t tlbx = (uint32_t)offsetof(RVCPU, tlb_x), page = (uint32_t)sizeof(RVDPage);
  op(j, W_BLOCK);
  op(j, WT_VOID); /* $return */
  get(j, L_FL);
  op_u(j, W_BR_IF, 0);
  get(j, L_N);
  i32c(j, 0);
  op(j, W_I32_LE_S);
  op_u(j, W_BR_IF, 0);
  /* L_A = the target; L_E = its code TLB entry, which must hold its page */
  vpage(j);
  get(j, L_PC);
  op(j, W_I64_ADD);
  set(j, L_A);
  tlb_set(j, (uint32_t)offsetof(RVCPU, cset));
  tlb_entry(j, L_A);
  op_u(j, W_LOCAL_TEE, L_E);
  mem(j, W_I64_LOAD, 3, tlbx + (uint32_t)offsetof(TLBEntry, tag));
  get(j, L_A);
  i64c(j, ~0xfffLL);
  op(j, W_I64_AND);
  op_u(j, W_LOCAL_TEE, L_T1); /* its page's address */
  op(j, W_I64_NE);
  op_u(j, W_BR_IF, 0);
  /* L_TLB = its physical page number: (page + addend - ram) >> 12 */
  get(j, L_E);
  mem(j, W_I64_LOAD, 3, tlbx + (uint32_t)offsetof(TLBEntry, addend));
  get(j, L_T1);
  op(j, W_I64_ADD);
  op(j, W_I32_WRAP_I64);
  get(j, L_S);
  mem(j, W_I32_LOAD, 2, (uint32_t)offsetof(RVCPU, ram));
  op(j, W_I32_SUB);
  i32c(j, 12);
  op(j, W_I32_SHR_U);
  set(j, L_TLB);
  /* L_E = its decoded page: one of the DC_WAYS slots of its set */
  get(j, L_S);
  mem(j, W_I32_LOAD, 2, (uint32_t)offsetof(RVCPU, dc));
  get(j, L_TLB);
  i32c(j, DC_SLOTS / DC_WAYS - 1);
  op(j, W_I32_AND);
  i32c(j, (int32_t)(DC_WAYS * page));
  op(j, W_I32_MUL);
  op(j, W_I32_ADD);
  set(j, L_E);
  op(j, W_BLOCK);
  op(j, WT_VOID); /* $found */
  for (int w = 0; w < DC_WAYS; w++) {
    if (w) {
      get(j, L_E);
      i32c(j, (int32_t)page);
      op(j, W_I32_ADD);
      set(j, L_E);
    }
    get(j, L_E);
    mem(j, W_I64_LOAD, 3, (uint32_t)offsetof(RVDPage, ppn));
    get(j, L_TLB);
    op(j, W_I64_EXTEND_I32_U);
    op(j, W_I64_EQ);
    op_u(j, W_BR_IF, 0);
  }
  op_u(j, W_BR, 1);
  op(j, W_END);
  get(j, L_E);
  mem(j, W_I32_LOAD, 2, (uint32_t)(offsetof(RVDPage, jit) + offsetof(RVJitPage, fn)));
  op_u(j, W_LOCAL_TEE, L_FN);
  op(j, W_I32_EQZ);
  op_u(j, W_BR_IF, 0);
  /* what OP_NEWPC keeps: the page's replacement stamp, the running page's address */
  get(j, L_S);
  get(j, L_S);
  mem(j, W_I64_LOAD, 3, (uint32_t)offsetof(RVCPU, dc_clock));
  i64c(j, 1);
  op(j, W_I64_ADD);
  op_u(j, W_LOCAL_TEE, L_T0);
  mem(j, W_I64_STORE, 3, (uint32_t)offsetof(RVCPU, dc_clock));
  get(j, L_E);
  get(j, L_T0);
  mem(j, W_I64_STORE, 3, (uint32_t)offsetof(RVDPage, stamp));
  get(j, L_S);
  get(j, L_T1);
  mem(j, W_I64_STORE, 3, (uint32_t)offsetof(RVCPU, dc_vpage));
  get(j, L_S);
  get(j, L_S);
  mem(j, W_I64_LOAD, 3, (uint32_t)offsetof(RVCPU, jit_chains));
  i64c(j, 1);
  op(j, W_I64_ADD);
  mem(j, W_I64_STORE, 3, (uint32_t)offsetof(RVCPU, jit_chains));
  get(j, L_S);
  get(j, L_N);
  get(j, L_A);
  op(j, W_I32_WRAP_I64);
  i32c(j, 0xfff);
  op(j, W_I32_AND);
  i32c(j, 1);
  op(j, W_I32_SHR_U);
  get(j, L_FN);
  op_u(j, W_RETURN_CALL_INDIRECT, 0); /* type 0 */
  wb_u32(&j->b, 0);                   /* table 0 */
  op(j, W_END);
}

static void emit_body(Jc *j) {
  j->b.len = 0;
  j->b.oom = 0;
  wb_u32(&j->b, 2); /* local groups */
  wb_u32(&j->b, N_I64_LOCALS);
  op(j, WT_I64);
  wb_u32(&j->b, N_I32_LOCALS);
  op(j, WT_I32);
  /* L_TLB = s + dset * sizeof(one TLB set); the set's own offset goes in the memargs */
  tlb_set(j, (uint32_t)offsetof(RVCPU, dset));
  set(j, L_TLB);

  op(j, W_BLOCK);
  op(j, WT_VOID); /* $exit */
  op(j, W_LOOP);
  op(j, WT_VOID); /* $dispatch */
  for (int m = 0; m <= j->nlabels; m++) {
    op(j, W_BLOCK);
    op(j, WT_VOID);
  }
  /* the entry's leader through the page's map, the leader's label */
  get(j, L_ENTRY);
  i32c(j, 1);
  op(j, W_I32_SHL);
  mem(j, W_I32_LOAD16_U, 1, j->map_addr);
  op_u(j, W_BR_TABLE, (uint32_t)j->nleaders + 1);
  wb_u32(&j->b, 0);
  for (int h = 0; h < 2048; h++)
    if (j->map[h]) wb_u32(&j->b, (uint32_t)j->label[h] + 1);
  wb_u32(&j->b, 0);
  op(j, W_END); /* $unknown (n counts the instruction, as at any exit to the interpreter) */
  j->closed = 0;
  j->depth = 0;
  get(j, L_N);
  i32c(j, 1);
  op(j, W_I32_SUB);
  set(j, L_N);
  get(j, L_ENTRY);
  op(j, W_I64_EXTEND_I32_U);
  i64c(j, 1);
  op(j, W_I64_SHL);
  leave(j, JIT_NOT_ENTRY);
  int falls = 0; /* the code emitted last continues into the next start */
  for (int k = 0; k < j->nstarts; k++) {
    uint32_t h = j->off[k] >> 1;
    if (j->label[h] >= 0) {
      op(j, W_END);
      j->closed++;
    } else if (!falls) {
      continue; /* unreachable */
    }
    j->depth = 0;
    const RVDInsn *d = &j->insn[h];
    int64_t rel = j->off[k];
    falls = 0;
    if (compile_insn(j, d, rel)) continue;
    int64_t next = rel + d->len;
    if (k + 1 < j->nstarts && j->off[k + 1] == next) falls = 1;
    else goto_rel(j, next);
  }
  op(j, W_END); /* $dispatch */
  op(j, W_END); /* $exit */
  emit_chain(j);
  get(j, L_S);
  vpage(j);
  get(j, L_PC);
  op(j, W_I64_ADD);
  mem(j, W_I64_STORE, 3, (uint32_t)offsetof(RVCPU, pc));
  /* (n << 2) | how, n not counting an instruction left to the interpreter */
  get(j, L_N);
  get(j, L_FL);
  op(j, W_I32_EQZ);
  op(j, W_I32_EQZ);
  op(j, W_I32_ADD);
  i32c(j, 2);
  op(j, W_I32_SHL);
  get(j, L_FL);
  op(j, W_I32_OR);
  op(j, W_END);
}

/* the module's type: (i32 i32 i32) -> i32 */
static const uint8_t jit_types[] = {1, 0x60, 3, WT_I32, WT_I32, WT_I32, 1, WT_I32};

int rv_jit_compile(RVCPU *s, RVDPage *pg, const uint8_t *host, uint32_t h) {
  Jc *j = &jc;
  RVJitPage *jp = &pg->jit;
  jp->hot = jp->misses = 0;
  jp->entries[h >> 5] |= 1u << (h & 31);
  if (jp->rounds >= JIT_ROUNDS) return -1;
  jp->rounds++;
  find_starts(j, pg, host);
  if (!j->nstarts) return -1;
  j->map_addr = (uint32_t)(uintptr_t)pg->jit.map;
  emit_body(j);
  WBuf m = {0};
  wb_module(&m, jit_types, sizeof(jit_types), 1, &j->b);
  uint32_t slot = m.oom ? 0 : c2w_page_compiler_install(m.p, m.len, pg->jit_slot);
  size_t m_len = m.len;
  wb_free(&m);
  if (!slot) return -1;
  memcpy(jp->map, j->map, sizeof(jp->map));
  pg->jit_slot = jp->fn = slot;
  s->jit_pages++;
  s->jit_bytes += m_len;
  return 0;
}

void rv_jit_missed(RVCPU *s, RVDPage *pg, const uint8_t *host, uint32_t h) {
  RVJitPage *jp = &pg->jit;
  jp->entries[h >> 5] |= 1u << (h & 31);
  if (++jp->misses >= (uint32_t)JIT_MISSES << jp->rounds) rv_jit_compile(s, pg, host, h);
}
