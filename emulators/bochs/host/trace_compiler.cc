// The trace compiler: a trace of Bochs' instruction cache (up to 32 decoded instructions, one
// entry point) that ran C2W_TRACE_HOT times in 64-bit mode becomes one wasm function, which the
// host compiles to machine code (docs/contract.md, "Page compiler"; emulators/bochs/README.md).
//
// The function does what the instruction handlers would, on the same state: registers, lazy
// flags (oszapc) and RIP in the CPU object, guest memory through the data TLB (a hit with the
// access allowed goes straight to host memory; a store also needs the page to hold no decoded
// code). For each instruction the compiler knows (the handler decides: `execute1` names the
// operation, its operand size and form), it emits that operation inline; any other instruction
// runs by its own handler, called from the function, which then goes on. A slow path of a
// compiled instruction (a TLB miss, a store to a page with code, a non-canonical branch target)
// returns the instruction to cpu_loop, whose handler runs the rest of the trace, so faults are
// raised by Bochs' own code with RIP and prev_rip as the handler expects. icount counts every
// instruction, so timers see the same instruction counts.
//
// Every way out of the trace (a branch taken, a return, the end) goes through a link
// (c2w_trace.h, "Links"): a tail call to the function of the trace at the target while the link
// holds, instead of a return to cpu_loop and its instruction cache lookup.
#define NEED_CPU_REG_SHORTCUTS 1
#include "bochs.h"
#include "cpu/cpu.h"
#include "cpu/decoder/ia_opcodes.h"
#include "pc_system.h"

#include "c2w_sjlj.h"
#include "c2w_trace.h"

#if defined(C2W_TRACE_COMPILER)
extern "C" {
#include "page_compiler.h"
#include "wasmbuf.h"
}

bool c2w_trace_on;
unsigned short c2w_trace_hits[BxICacheEntries];
unsigned c2w_link_epoch = 1, c2w_far_epoch = 1;  // links start out of date (epoch 0)
c2w_link *c2w_link_site;

namespace {
struct {
  unsigned long long traces, modules, bytes, refused, reused;
  unsigned long long insns, inline_insns;  // instructions in compiled traces, and compiled inline
  unsigned called[BX_IA_LAST];             // compiled traces calling the handler of each ia opcode
} stats;
// C2W_STATS=3: counters the compiled code itself increments (costs time: for measuring only)
bool counting;
enum Exit { X_END, X_PAGE, X_FAR, X_INDIRECT, X_HANDOFF, X_AFTER_HANDLER, X_LINKED, X_KINDS };
const char *const exit_names[X_KINDS] = {
    "fell off the end", "branch within the page", "branch to another page", "indirect branch",
    "handed off (slow path)", "left after a handler", "of all these: went on through a link"};
struct {
  Bit64u runs, exits[X_KINDS], handler[BX_IA_LAST];
  Bit64u interpreted;  // runs of traces without a function, in 16s (c2w_trace_hot's calls)
  Bit64u decoded;      // traces decoded (instruction cache misses)
} dyn;
}  // namespace

void c2w_trace_report(void)
{
  const char *level = getenv("C2W_STATS");
  if (!level || !*level || strcmp(level, "0") == 0) return;
  fprintf(stderr, "c2w: traces compiled %llu (%llu modules, %llu KiB of wasm), refused %llu\n",
          stats.traces, stats.modules, stats.bytes >> 10, stats.refused);
  if (strcmp(level, "2") != 0 && !counting) return;
  fprintf(stderr, "c2w: %llu of %llu instructions inline; functions found again %llu times; links broken %u times (%u with the TLB)\n",
          stats.inline_insns, stats.insns, stats.reused, c2w_link_epoch - 1, c2w_far_epoch - 1);
  for (unsigned op = 0; op < BX_IA_LAST; op++)
    if (stats.called[op] > 20)
      fprintf(stderr, "c2w:   %6u traces call the handler of %s\n", stats.called[op], get_bx_opcode_name(op));
  if (!counting) return;
  fprintf(stderr, "c2w: compiled traces ran %llu times, the others about %llu; %llu traces decoded\n",
          (unsigned long long) dyn.runs, (unsigned long long) dyn.interpreted * 16,
          (unsigned long long) dyn.decoded);
  for (unsigned x = 0; x < X_KINDS; x++)
    fprintf(stderr, "c2w:   %12llu %s\n", (unsigned long long) dyn.exits[x], exit_names[x]);
  Bit64u floor = dyn.runs / 1000;
  for (unsigned op = 0; op < BX_IA_LAST; op++)
    if (dyn.handler[op] > floor)
      fprintf(stderr, "c2w:   %12llu calls of the handler of %s\n", (unsigned long long) dyn.handler[op],
              get_bx_opcode_name(op));
}

void c2w_trace_probe(void)
{
  c2w_trace_on = c2w_page_compiler_probe() >= 2;
  const char *level = getenv("C2W_STATS");
  counting = level && strcmp(level, "3") == 0;
}

namespace {

// What a compiled function uses (malloc'd): the instructions it hands to handlers
// (Compiler::call_handler), its links (Compiler::exit_to)
struct Owned {
  bxInstruction_c *calls;
  c2w_link *links;
};
void release(Owned *o)
{
  free(o->calls);
  free(o->links);
  *o = {};
}

// The compiled traces by physical address: a function, its table slot and the trace it was
// compiled from live as long as the machine (links may lead to them). An instruction cache entry
// that decodes the same trace again gets its function back without compiling: after Bochs
// empties the cache (when its instruction pool fills, every few seconds under load), and when
// two hot traces evict each other (the cache is direct-mapped by physical address).
struct Compiled {
  Compiled *next;          // with the same hash
  Bit32u slot;
  Bit32u tlen;
  bx_phy_address pAddr;
  bxInstruction_c *copy;   // the decoded trace, end marker included: what a handoff runs
  Owned owned;
};
#define COMPILED_BUCKETS 16384
#define COMPILED_MAX 16384  // beyond that many, hot traces stay interpreted (each keeps ~1-4 KB here)
Compiled *by_addr[COMPILED_BUCKETS];
unsigned ncompiled;
Compiled *&bucket(bx_phy_address pAddr) { return by_addr[(pAddr ^ (pAddr >> 14)) & (COMPILED_BUCKETS - 1)]; }

uint32_t addr_of(const void *p) { return (uint32_t) (uintptr_t) p; }
#define CPU (BX_CPU(0))

// what an instruction's handler does
enum Op {
  OP_NONE, OP_MOV, OP_ADD, OP_SUB, OP_CMP, OP_AND, OP_OR, OP_XOR, OP_TEST, OP_MOVZX8, OP_MOVSXD,
  OP_LEA, OP_INC, OP_DEC, OP_ZERO, OP_MOVIQ, OP_PUSH, OP_POP, OP_JCC, OP_JMP, OP_CALL, OP_RET,
  OP_JMPR, OP_NOP, OP_CALLR, OP_MOVZX16, OP_SETCC, OP_SHL, OP_SHR, OP_SAR, OP_NEG, OP_NOT, OP_CDQE,
  OP_MOVSX8, OP_CMOV, OP_IMUL, OP_SHLX, OP_SHRX, OP_SARX, OP_ROL, OP_ROR,
};
// operand forms: register, memory, immediate; destination first
enum Form { F_NONE, F_RR, F_RM, F_MR, F_RI, F_MI };

struct Handler {
  BxExecutePtr_tR h;
  Bit8u op, size, form, cond;
};

#define H(name, op, size, form) {&BX_CPU_C::name, op, size, form, 0}
#define ALU(OPN, OP, q, d, b)                                                                \
  H(OPN##_G##q##E##q##R, OP, 64, F_RR), H(OPN##_G##q##E##q##M, OP, 64, F_RM),                \
      H(OPN##_E##q##G##q##M, OP, 64, F_MR), H(OPN##_E##q##IdR, OP, 64, F_RI),                \
      H(OPN##_E##q##IdM, OP, 64, F_MI), H(OPN##_G##d##E##d##R, OP, 32, F_RR),                \
      H(OPN##_G##d##E##d##M, OP, 32, F_RM), H(OPN##_E##d##G##d##M, OP, 32, F_MR),            \
      H(OPN##_E##d##IdR, OP, 32, F_RI), H(OPN##_E##d##IdM, OP, 32, F_MI),                    \
      H(OPN##_G##b##E##b##R, OP, 8, F_RR), H(OPN##_G##b##E##b##M, OP, 8, F_RM),              \
      H(OPN##_E##b##G##b##M, OP, 8, F_MR), H(OPN##_E##b##IbR, OP, 8, F_RI),                  \
      H(OPN##_E##b##IbM, OP, 8, F_MI)
#define JCC(name, cc) {&BX_CPU_C::name, OP_JCC, 64, F_NONE, cc}
#define SETCC(name, cc) {&BX_CPU_C::name, OP_SETCC, 8, F_RR, cc}
#define CMOV(name, cc) \
  {&BX_CPU_C::name##_GqEqR, OP_CMOV, 64, F_RR, cc}, {&BX_CPU_C::name##_GdEdR, OP_CMOV, 32, F_RR, cc}

const Handler handlers[] = {
    ALU(ADD, OP_ADD, q, d, b), ALU(SUB, OP_SUB, q, d, b), ALU(AND, OP_AND, q, d, b),
    ALU(OR, OP_OR, q, d, b), ALU(XOR, OP_XOR, q, d, b), ALU(CMP, OP_CMP, q, d, b),
    H(MOV_GqEqR, OP_MOV, 64, F_RR), H(MOV_GqEqM, OP_MOV, 64, F_RM), H(MOV_EqGqM, OP_MOV, 64, F_MR),
    H(MOV_EqIdR, OP_MOV, 64, F_RI), H(MOV_EqIdM, OP_MOV, 64, F_MI), H(MOV_GdEdR, OP_MOV, 32, F_RR),
    H(MOV64_GdEdM, OP_MOV, 32, F_RM), H(MOV64_EdGdM, OP_MOV, 32, F_MR), H(MOV_EdIdR, OP_MOV, 32, F_RI),
    H(MOV_EdIdM, OP_MOV, 32, F_MI), H(MOV_GbEbR, OP_MOV, 8, F_RR), H(MOV_GbEbM, OP_MOV, 8, F_RM),
    H(MOV_EbGbM, OP_MOV, 8, F_MR), H(MOV_EbIbR, OP_MOV, 8, F_RI), H(MOV_EbIbM, OP_MOV, 8, F_MI),
    H(TEST_EqGqR, OP_TEST, 64, F_RR), H(TEST_EqGqM, OP_TEST, 64, F_MR), H(TEST_EqIdR, OP_TEST, 64, F_RI),
    H(TEST_EqIdM, OP_TEST, 64, F_MI), H(TEST_EdGdR, OP_TEST, 32, F_RR), H(TEST_EdGdM, OP_TEST, 32, F_MR),
    H(TEST_EdIdR, OP_TEST, 32, F_RI), H(TEST_EdIdM, OP_TEST, 32, F_MI), H(TEST_EbGbR, OP_TEST, 8, F_RR),
    H(TEST_EbGbM, OP_TEST, 8, F_MR), H(TEST_EbIbR, OP_TEST, 8, F_RI), H(TEST_EbIbM, OP_TEST, 8, F_MI),
    H(MOVZX_GdEbR, OP_MOVZX8, 32, F_RR), H(MOVZX_GdEbM, OP_MOVZX8, 32, F_RM),
    H(MOVZX_GqEbR, OP_MOVZX8, 64, F_RR), H(MOVZX_GqEbM, OP_MOVZX8, 64, F_RM),
    H(MOVSX_GqEdR, OP_MOVSXD, 64, F_RR), H(MOVSX_GqEdM, OP_MOVSXD, 64, F_RM),
    H(LEA_GqM, OP_LEA, 64, F_RM), H(LEA_GdM, OP_LEA, 32, F_RM),
    H(INC_EqR, OP_INC, 64, F_RR), H(DEC_EqR, OP_DEC, 64, F_RR), H(INC_EdR, OP_INC, 32, F_RR),
    H(DEC_EdR, OP_DEC, 32, F_RR), H(ZERO_IDIOM_GdR, OP_ZERO, 32, F_RR), H(MOV_RRXIq, OP_MOVIQ, 64, F_RI),
    H(PUSH_EqR, OP_PUSH, 64, F_RR), H(POP_EqR, OP_POP, 64, F_RR),
    H(JMP_Jq, OP_JMP, 64, F_NONE), H(CALL_Jq, OP_CALL, 64, F_NONE), H(RETnear64_Iw, OP_RET, 64, F_NONE),
    H(JMP_EqR, OP_JMPR, 64, F_RR), H(CALL_EqR, OP_CALLR, 64, F_RR), H(NOP, OP_NOP, 0, F_NONE),
    H(MOVZX_GdEwR, OP_MOVZX16, 32, F_RR), H(MOVZX_GdEwM, OP_MOVZX16, 32, F_RM),
    H(MOVZX_GqEwR, OP_MOVZX16, 64, F_RR), H(MOVZX_GqEwM, OP_MOVZX16, 64, F_RM),
    H(SHL_EqR, OP_SHL, 64, F_RR), H(SHR_EqR, OP_SHR, 64, F_RR), H(SAR_EqR, OP_SAR, 64, F_RR),
    H(SHL_EdR, OP_SHL, 32, F_RR), H(SHR_EdR, OP_SHR, 32, F_RR), H(SAR_EdR, OP_SAR, 32, F_RR),
    SETCC(SETO_EbR, 0), SETCC(SETNO_EbR, 1), SETCC(SETB_EbR, 2), SETCC(SETNB_EbR, 3),
    SETCC(SETZ_EbR, 4), SETCC(SETNZ_EbR, 5), SETCC(SETBE_EbR, 6), SETCC(SETNBE_EbR, 7),
    SETCC(SETS_EbR, 8), SETCC(SETNS_EbR, 9), SETCC(SETL_EbR, 12), SETCC(SETNL_EbR, 13),
    SETCC(SETLE_EbR, 14), SETCC(SETNLE_EbR, 15),
    H(NEG_EqR, OP_NEG, 64, F_RR), H(NEG_EdR, OP_NEG, 32, F_RR), H(NOT_EqR, OP_NOT, 64, F_RR),
    H(NOT_EdR, OP_NOT, 32, F_RR), H(CDQE, OP_CDQE, 64, F_NONE),
    H(MOVSX_GqEbR, OP_MOVSX8, 64, F_RR), H(MOVSX_GqEbM, OP_MOVSX8, 64, F_RM),
    H(MOVSX_GdEbR, OP_MOVSX8, 32, F_RR), H(MOVSX_GdEbM, OP_MOVSX8, 32, F_RM),
    H(MOV_GwEwR, OP_MOV, 16, F_RR), H(MOV_GwEwM, OP_MOV, 16, F_RM), H(MOV_EwGwM, OP_MOV, 16, F_MR),
    H(INC_EqM, OP_INC, 64, F_MR), H(DEC_EqM, OP_DEC, 64, F_MR), H(INC_EdM, OP_INC, 32, F_MR),
    H(DEC_EdM, OP_DEC, 32, F_MR),
    CMOV(CMOVO, 0), CMOV(CMOVNO, 1), CMOV(CMOVB, 2), CMOV(CMOVNB, 3), CMOV(CMOVZ, 4), CMOV(CMOVNZ, 5),
    CMOV(CMOVBE, 6), CMOV(CMOVNBE, 7), CMOV(CMOVS, 8), CMOV(CMOVNS, 9), CMOV(CMOVL, 12),
    CMOV(CMOVNL, 13), CMOV(CMOVLE, 14), CMOV(CMOVNLE, 15),
    H(IMUL_GqEqR, OP_IMUL, 64, F_RR), H(IMUL_GdEdR, OP_IMUL, 32, F_RR),
    H(SHLX_GqEqBqR, OP_SHLX, 64, F_RR), H(SHRX_GqEqBqR, OP_SHRX, 64, F_RR),
    H(SARX_GqEqBqR, OP_SARX, 64, F_RR), H(ROL_EqR, OP_ROL, 64, F_RR),
    H(ROR_EqR, OP_ROR, 64, F_RR), H(ROL_EdR, OP_ROL, 32, F_RR), H(ROR_EdR, OP_ROR, 32, F_RR),
    JCC(JO_Jq, 0), JCC(JNO_Jq, 1), JCC(JB_Jq, 2), JCC(JNB_Jq, 3), JCC(JZ_Jq, 4), JCC(JNZ_Jq, 5),
    JCC(JBE_Jq, 6), JCC(JNBE_Jq, 7), JCC(JS_Jq, 8), JCC(JNS_Jq, 9), JCC(JL_Jq, 12), JCC(JNL_Jq, 13),
    JCC(JLE_Jq, 14), JCC(JNLE_Jq, 15),
};

// SSE and AVX (VEX) integer operations on the vector registers that glibc's string functions
// use, found by ia opcode (their handlers are templates): lanes of 128 bits, the XMM registers
// being lane 0 of vmm[]. Legacy SSE writes lane 0 and keeps lane 1; VEX writes its length
// (getVL) and clears the rest.
enum VecOp {
  V_MOV, V_MOVA, V_STORE, V_STOREA, V_XOR, V_OR, V_AND, V_PCMPEQB, V_PSHUFB, V_PMOVMSKB, V_ZEROUPPER,
  V_BROADCASTB, V_MOVD
};
struct Simd {
  Bit16u ia;
  Bit8u op;
  bool vex;
};
const Simd simds[] = {
    {BX_IA_MOVUPS_VpsWps, V_MOV, false}, {BX_IA_MOVDQU_VdqWdq, V_MOV, false},
    {BX_IA_MOVAPS_VpsWps, V_MOVA, false}, {BX_IA_MOVDQA_VdqWdq, V_MOVA, false},
    {BX_IA_MOVUPS_WpsVps, V_STORE, false}, {BX_IA_MOVDQU_WdqVdq, V_STORE, false},
    {BX_IA_MOVAPS_WpsVps, V_STOREA, false}, {BX_IA_MOVDQA_WdqVdq, V_STOREA, false},
    {BX_IA_PXOR_VdqWdq, V_XOR, false}, {BX_IA_POR_VdqWdq, V_OR, false}, {BX_IA_PAND_VdqWdq, V_AND, false},
    {BX_IA_PCMPEQB_VdqWdq, V_PCMPEQB, false}, {BX_IA_PMOVMSKB_GdUdq, V_PMOVMSKB, false},
    {BX_IA_VMOVUPS_VpsWps, V_MOV, true}, {BX_IA_VMOVDQU_VdqWdq, V_MOV, true},
    {BX_IA_VMOVAPS_VpsWps, V_MOVA, true}, {BX_IA_VMOVDQA_VdqWdq, V_MOVA, true},
    {BX_IA_V128_VPXOR_VdqHdqWdq, V_XOR, true}, {BX_IA_V256_VPXOR_VdqHdqWdq, V_XOR, true},
    {BX_IA_V128_VPOR_VdqHdqWdq, V_OR, true}, {BX_IA_V256_VPOR_VdqHdqWdq, V_OR, true},
    {BX_IA_V128_VPAND_VdqHdqWdq, V_AND, true}, {BX_IA_V256_VPAND_VdqHdqWdq, V_AND, true},
    {BX_IA_V128_VPCMPEQB_VdqHdqWdq, V_PCMPEQB, true}, {BX_IA_V256_VPCMPEQB_VdqHdqWdq, V_PCMPEQB, true},
    {BX_IA_V128_VPMOVMSKB_GdUdq, V_PMOVMSKB, true}, {BX_IA_V256_VPMOVMSKB_GdUdq, V_PMOVMSKB, true},
    {BX_IA_V128_VMOVUPS_WpsVps, V_STORE, true}, {BX_IA_V256_VMOVUPS_WpsVps, V_STORE, true},
    {BX_IA_V128_VMOVDQU_WdqVdq, V_STORE, true}, {BX_IA_V256_VMOVDQU_WdqVdq, V_STORE, true},
    {BX_IA_V128_VMOVAPS_WpsVps, V_STOREA, true}, {BX_IA_V256_VMOVAPS_WpsVps, V_STOREA, true},
    {BX_IA_V128_VMOVDQA_WdqVdq, V_STOREA, true}, {BX_IA_V256_VMOVDQA_WdqVdq, V_STOREA, true},
    {BX_IA_VZEROUPPER, V_ZEROUPPER, true},
    {BX_IA_PSHUFB_VdqWdq, V_PSHUFB, false}, {BX_IA_V128_VPSHUFB_VdqHdqWdq, V_PSHUFB, true},
    {BX_IA_V256_VPSHUFB_VdqHdqWdq, V_PSHUFB, true}, {BX_IA_VPBROADCASTB_VdqWb, V_BROADCASTB, true},
    {BX_IA_V128_VMOVD_VdqEd, V_MOVD, true},
};
static_assert(BX_VLMAX == 2, "vector registers of two 128-bit lanes (no EVEX)");

const Simd *simd_of(const bxInstruction_c *i)
{
  // decoded while SSE or AVX was off (CR0.TS, CR4, XCR0): the handler raises the exception
  if (i->execute1 == &BX_CPU_C::BxNoSSE || i->execute1 == &BX_CPU_C::BxNoAVX || i->execute1 == &BX_CPU_C::BxError)
    return NULL;
  for (const Simd &v : simds)
    if (v.ia == i->getIaOpcode()) return &v;
  return NULL;
}

const Handler *handler_of(const bxInstruction_c *i)
{
  for (const Handler &h : handlers)
    if (h.h == i->execute1) return &h;
  return NULL;
}

// locals of the compiled function: i64s, then i32s, then the guest state the function keeps in
// locals (Compiler::reg_get). L_OFF, L_N, L_K and L_LINK carry a way out to the function's two
// exits (Compiler::handoff, Compiler::exit_to).
enum { L_BASE, L_A, L_B, L_R, L_EA, L_C, L_OFF, L_N, L_HOST, L_TE, L_K, L_LINK, L_REG0, L_FRES = L_REG0 + 16, L_FAUX };
const uint8_t trace_locals[] = {3, 8, WT_I64, 4, WT_I32, 18, WT_I64};
#define FLAGS_BIT (1u << 16)  // in Compiler::used and friends: the lazy flags (L_FRES, L_FAUX)

// one trace being compiled
struct Compiler {
  WBuf b;
  bxInstruction_c *ins;  // the trace's instructions
  unsigned n;            // how many (without the end-of-trace marker)
  bxInstruction_c *calls;  // pairs (instruction, end-of-trace marker) for call_handler
  unsigned ncalls;
  unsigned counted;      // instructions already added to icount
  bxInstruction_c *copy;  // the trace's copy that handoffs run (Compiled::copy)
  c2w_link *links;       // room for a link per instruction and one for the end of the trace
  unsigned nlinks;
  unsigned k;            // the instruction being compiled
  Bit32u off, next;      // its offset from the trace's start, and the next one's
  Bit32u page_off;       // the trace's offset in its page
  unsigned depth;        // blocks and ifs open around the code being emitted
  unsigned pl;           // user_pl (CPL 3) when compiled: the function hands off at others
  // Guest state in locals: general registers 0-15 (bit r) and the lazy flags (FLAGS_BIT). The
  // function loads what the trace uses on entry and after each handler call, keeps it in locals
  // and stores what the trace writes on its way out and before each handler call.
  uint32_t used, written;  // by the whole trace (known from a first pass over it)
  uint32_t dirty;          // written since the last load or store
  unsigned fuse_k;         // the instruction after an ALU operation that left its operands in L_A/L_B/L_R
  unsigned fuse_kind, fuse_size;

  // C2W_STATS=3
  void tally(const Bit64u *counter)
  {
    if (!counting) return;
    i32c(0); ld64(counter); i64c(1); emit(W_I64_ADD); st64(counter);
  }
  // the kind of a direct exit to offset d from the trace's start
  const Bit64u *exit_kind(int64_t d) { return &dyn.exits[in_page(d) ? X_PAGE : X_FAR]; }

  void emit(uint8_t o) { wb_byte(&b, o); }
  void open(uint8_t o, uint8_t type) { emit(o); emit(type); depth++; }
  void close() { emit(W_END); depth--; }
  // the function's body is block $handoff (depth 1) { block $exit (depth 2) { the trace } }
  void br_handoff() { emit(W_BR); leb(depth - 1); }
  void br_exit() { emit(W_BR); leb(depth - 2); }
  void leb(uint32_t v) { wb_u32(&b, v); }
  void i32c(int32_t v) { emit(W_I32_CONST); wb_s64(&b, v); }
  void i64c(int64_t v) { emit(W_I64_CONST); wb_s64(&b, v); }
  void get(unsigned l) { emit(W_LOCAL_GET); leb(l); }
  void set(unsigned l) { emit(W_LOCAL_SET); leb(l); }
  void tee(unsigned l) { emit(W_LOCAL_TEE); leb(l); }
  void mem(uint8_t o, unsigned align, uint32_t offset) { emit(o); leb(align); leb(offset); }
  // loads and stores at a fixed address (the CPU object): i32.const 0 first for stores
  void ld64(const void *p) { i32c(0); mem(W_I64_LOAD, 3, addr_of(p)); }
  void st64(const void *p) { mem(W_I64_STORE, 3, addr_of(p)); }

  // RIP-relative value: the trace's RIP at entry plus a constant
  void rip_plus(int64_t d) { get(L_BASE); if (d) { i64c(d); emit(W_I64_ADD); } }

  // register r (0-15) zero-extended from size bits
  void reg_get(unsigned r, unsigned size)
  {
    if (r == BX_NIL_REGISTER) { i64c(0); return; }
    if (r >= 16) { ld64(&CPU->gen_reg[r]); truncate(size); return; }
    used |= 1u << r;
    get(L_REG0 + r);
    truncate(size);
  }
  // register r of size from local l (32-bit writes clear the upper half, 8- and 16-bit ones keep it)
  void reg_set(unsigned r, unsigned size, unsigned l)
  {
    if (r >= 16) abort();  // the compiled instructions only write general registers
    written |= 1u << r;
    dirty |= 1u << r;
    if (size < 32) {
      used |= 1u << r;
      Bit64u mask = size == 16 ? 0xffff : 0xff;
      get(L_REG0 + r); i64c((int64_t) ~mask); emit(W_I64_AND);
      get(l); i64c((int64_t) mask); emit(W_I64_AND); emit(W_I64_OR);
    } else {
      get(l);
      truncate(size);
    }
    set(L_REG0 + r);
  }
  void truncate(unsigned size)
  {
    if (size == 32) { i64c(0xffffffffll); emit(W_I64_AND); }
    else if (size == 16) { i64c(0xffff); emit(W_I64_AND); }
    else if (size == 8) { i64c(0xff); emit(W_I64_AND); }
  }
  // the lazy flags: reads and writes of the locals that hold them
  void fres() { used |= FLAGS_BIT; get(L_FRES); }
  void faux() { used |= FLAGS_BIT; get(L_FAUX); }
  void set_fres() { set(L_FRES); written |= FLAGS_BIT; dirty |= FLAGS_BIT; }
  void set_faux() { set(L_FAUX); written |= FLAGS_BIT; dirty |= FLAGS_BIT; }
  // loads the guest state in mask into its locals, or stores it from them
  void state_in(uint32_t mask)
  {
    for (unsigned r = 0; r < 16; r++)
      if (mask & (1u << r)) { ld64(&CPU->gen_reg[r]); set(L_REG0 + r); }
    if (mask & FLAGS_BIT) {
      ld64(&CPU->oszapc.result); set(L_FRES);
      ld64(&CPU->oszapc.auxbits); set(L_FAUX);
    }
  }
  void state_out(uint32_t mask)
  {
    for (unsigned r = 0; r < 16; r++)
      if (mask & (1u << r)) { i32c(0); get(L_REG0 + r); st64(&CPU->gen_reg[r]); }
    if (mask & FLAGS_BIT) {
      i32c(0); get(L_FRES); st64(&CPU->oszapc.result);
      i32c(0); get(L_FAUX); st64(&CPU->oszapc.auxbits);
    }
  }

  // cpu_loop hands instruction k to its handler, which runs the rest of the trace: to the
  // function's handoff code (handoff_code) with instruction k's offset, the instructions before it
  // not counted yet, and what the function returns
  void handoff()
  {
    i64c(off); set(L_OFF);
    i64c(k > counted ? k - counted : 0); set(L_N);
    i32c((int32_t) addr_of(&copy[k])); set(L_K);
    br_handoff();
  }
  void handoff_code()
  {
    tally(&dyn.exits[X_HANDOFF]);
    state_out(written);
    get(L_BASE); get(L_OFF); emit(W_I64_ADD); set(L_R);
    i32c(0); get(L_R); st64(&RIP);
    i32c(0); get(L_R); st64(&CPU->prev_rip);
    i32c(0); ld64(&CPU->icount); get(L_N); emit(W_I64_ADD); st64(&CPU->icount);
    get(L_K);
    emit(W_RETURN);
  }
  // adds the instructions before upto that ran inline to icount
  void count(unsigned upto)
  {
    if (upto > counted) {
      i32c(0); ld64(&CPU->icount); i64c(upto - counted); emit(W_I64_ADD); st64(&CPU->icount);
    }
  }
  // runs instruction k by its handler and goes on after it, unless it raised an exception, left
  // an event to handle or went elsewhere (then back to cpu_loop). The handler gets a copy of the
  // instruction followed by the end-of-trace marker, so that chaining stops after it.
  void call_handler()
  {
    bxInstruction_c *pair = &calls[2 * ncalls++];
    pair[0] = ins[k];
    pair[1] = ins[n];
    i32c(0); rip_plus(next); st64(&RIP);
    i32c(0); rip_plus(off); st64(&CPU->prev_rip);
    count(k);
    counted = k + 1;  // the handler counts itself
    tally(&dyn.handler[pair[0].getIaOpcode()]);
    state_out(dirty);
    dirty = 0;
    i32c((int32_t) addr_of(pair));
    i32c((int32_t) (uintptr_t) pair[0].execute1);
    emit(W_CALL_INDIRECT); leb(1); leb(0);
    i32c(0); mem(W_I32_LOAD, 2, addr_of(&CPU->async_event));
#if defined(C2W_SJLJ_ASYNCIFY)
    i32c(0); mem(W_I32_LOAD, 2, addr_of((const void *) &c2w_unwinding)); emit(W_I32_OR);
#endif
    ld64(&RIP); rip_plus(next); emit(W_I64_NE); emit(W_I32_OR);
    open(W_IF, WT_VOID);
    tally(&dyn.exits[X_AFTER_HANDLER]);
    i32c(0); emit(W_RETURN);
    close();
    state_in(used | written);  // what the rest of the trace uses, and what its exits store
  }
  // leaves the trace after instruction k for the RIP in L_R: to the function's exit code
  // (exit_code) with the instructions not counted yet and this way out's link (c2w_trace.h,
  // "Links")
  // near: a direct branch to the trace's own page (c2w_trace.h, "Links")
  void exit_to(bool near)
  {
    i64c(k + 1 - counted); set(L_N);
    c2w_link *s = &links[nlinks++];
    *s = {0, 0, 0, near ? &c2w_link_epoch : &c2w_far_epoch};
    i32c((int32_t) addr_of(s)); set(L_LINK);
    br_exit();
  }
  // RIP = L_R; through the link in L_LINK if it is current and made for L_R, no event is pending
  // and no timer is due; else names the link for cpu_loop to make, and returns
  void exit_code()
  {
    state_out(written);
    i32c(0); get(L_R); st64(&RIP);
    i32c(0); get(L_R); st64(&CPU->prev_rip);
    i32c(0); ld64(&CPU->icount); get(L_N); emit(W_I64_ADD); st64(&CPU->icount);
    get(L_LINK); mem(W_I64_LOAD, 3, offsetof(c2w_link, rip)); get(L_R); emit(W_I64_EQ);
    get(L_LINK); mem(W_I32_LOAD, 2, offsetof(c2w_link, epoch));
    get(L_LINK); mem(W_I32_LOAD, 2, offsetof(c2w_link, current)); mem(W_I32_LOAD, 2, 0);
    emit(W_I32_EQ); emit(W_I32_AND);
    i32c(0); mem(W_I32_LOAD, 2, addr_of(&CPU->async_event)); emit(W_I32_EQZ); emit(W_I32_AND);
    ld64(&CPU->icount); ld64(&CPU->icount_last_sync); emit(W_I64_SUB);
    i32c(0); mem(W_I64_LOAD32_U, 2, addr_of(bx_pc_system.c2w_countdown())); emit(W_I64_LT_U);
    emit(W_I32_AND);
    open(W_IF, WT_VOID);
    tally(&dyn.exits[X_LINKED]);
    get(L_LINK); mem(W_I32_LOAD, 2, offsetof(c2w_link, slot));
    emit(W_RETURN_CALL_INDIRECT); leb(0); leb(0);
    close();
    i32c(0); get(L_LINK); mem(W_I32_STORE, 2, addr_of(&c2w_link_site));
    i32c(0);
    emit(W_RETURN);
  }
  // hands off unless the i32 on the stack is nonzero
  void handoff_unless()
  {
    emit(W_I32_EQZ);
    open(W_IF, WT_VOID);
    handoff();
    close();
  }
  // L_R = the target of a direct branch, d bytes from the trace's start; hands off if it is not
  // canonical (a target in the trace's own page is)
  // (returns whether it is in the trace's page)
  bool target(int64_t d)
  {
    rip_plus(d); set(L_R);
    bool near = in_page(d);
    if (!near) { canonical(L_R); handoff_unless(); }
    tally(exit_kind(d));
    return near;
  }
  bool in_page(int64_t d) { return (int64_t) page_off + d >= 0 && (int64_t) page_off + d < 4096; }
  // pushes 1 if the i64 in local l is canonical: ((l >> (width-1)) + 1) <u 2
  void canonical(unsigned l)
  {
    get(l); i64c(CPU->linaddr_width - 1); emit(W_I64_SHR_S); i64c(1); emit(W_I64_ADD);
    i64c(2); emit(W_I64_LT_U);
  }

  // the linear address of instruction i's memory operand into L_EA (64-bit addressing only)
  bool ea(const bxInstruction_c *i)
  {
    if (!i->as64L()) return false;
    unsigned base = i->sibBase(), index = i->sibIndex();
    int64_t d = i->displ32s();
    if (base == BX_64BIT_REG_RIP) rip_plus(next + d);
    else {
      reg_get(base, 64);
      if (d) { i64c(d); emit(W_I64_ADD); }
    }
    if (index != 4) {
      reg_get(index, 64);
      if (i->sibScale()) { i64c(i->sibScale()); emit(W_I64_SHL); }
      emit(W_I64_ADD);
    }
    if (i->seg() >= BX_SEG_REG_FS) {  // get_laddr64: FS and GS have a base
      ld64(&CPU->sregs[i->seg()].cache.u.segment.base);
      emit(W_I64_ADD);
    }
    set(L_EA);
    return true;
  }
  // the host address of len bytes at L_EA into L_HOST if the data TLB allows the access
  // (rw: 1 read, 4 write, 5 both), else hands off
  void tlb(unsigned len, unsigned rw)
  {
    uint32_t e0 = addr_of(&CPU->DTLB.entry[0]);
    open(W_BLOCK, WT_VOID);
    open(W_BLOCK, WT_VOID);
    // L_TE = the entry's offset in the TLB: ((ea + len - 1) >> 12 & (size - 1)) * 32
    get(L_EA); emit(W_I32_WRAP_I64);
    if (len > 1) { i32c(len - 1); emit(W_I32_ADD); }
    i32c(12 - 5); emit(W_I32_SHR_U); i32c((BX_DTLB_SIZE - 1) << 5); emit(W_I32_AND);
    tee(L_TE);
    mem(W_I64_LOAD, 3, e0 + offsetof(bx_TLB_entry, lpf));
    get(L_EA); i64c((int64_t) LPF_MASK); emit(W_I64_AND);
    emit(W_I64_NE); emit(W_BR_IF); leb(0);
    // the access bits for the privilege level the trace was compiled at (checked at its start)
    uint32_t need = rw << pl;
    get(L_TE); mem(W_I32_LOAD, 2, e0 + offsetof(bx_TLB_entry, accessBits));
    i32c((int32_t) need); emit(W_I32_AND);
    if (need & (need - 1)) { i32c((int32_t) need); emit(W_I32_NE); } else { emit(W_I32_EQZ); }
    emit(W_BR_IF); leb(0);
    if (rw & 4) {
      // the page's code bitmap (pageWriteStampTable): nonzero if traces were decoded there
      get(L_TE); mem(W_I32_LOAD, 2, e0 + offsetof(bx_TLB_entry, ppf));
      i32c(12); emit(W_I32_SHR_U); i32c(2); emit(W_I32_SHL);
      mem(W_I32_LOAD, 2, addr_of(pageWriteStampTable.c2w_mapping()));
      emit(W_BR_IF); leb(0);
    }
    get(L_TE); mem(W_I32_LOAD, 2, e0 + offsetof(bx_TLB_entry, hostPageAddr));
    get(L_EA); emit(W_I32_WRAP_I64); i32c(0xfff); emit(W_I32_AND); emit(W_I32_OR); set(L_HOST);
    emit(W_BR); leb(1);
    close();
    handoff();
    close();
  }
  // pushes local l (64 bits) on the stack
  void push(unsigned l)
  {
    reg_get(BX_64BIT_REG_RSP, 64); i64c(8); emit(W_I64_SUB); set(L_EA);
    tlb(8, 4);
    store(64, l);
    reg_set(BX_64BIT_REG_RSP, 64, L_EA);
  }
  // pops 64 bits into L_R; the new RSP (plus extra) into L_A, for the caller to write
  void pop(int64_t extra)
  {
    reg_get(BX_64BIT_REG_RSP, 64); set(L_EA);
    tlb(8, 1);
    load(64); set(L_R);
    get(L_EA); i64c(8 + extra); emit(W_I64_ADD); set(L_A);
  }
  void load(unsigned size)
  {
    get(L_HOST);
    if (size == 64) mem(W_I64_LOAD, 0, 0);
    else if (size == 32) mem(W_I64_LOAD32_U, 0, 0);
    else if (size == 16) mem(W_I64_LOAD16_U, 0, 0);
    else mem(W_I64_LOAD8_U, 0, 0);
  }
  // stores local l at L_HOST
  void store(unsigned size, unsigned l)
  {
    get(L_HOST); get(l);
    if (size == 64) mem(W_I64_STORE, 0, 0);
    else if (size == 32) mem(W_I64_STORE32, 0, 0);
    else if (size == 16) mem(W_I64_STORE16, 0, 0);
    else mem(W_I64_STORE8, 0, 0);
  }

  // lazy flags from L_A, L_B (operands) and L_R (result), as SET_FLAGS_OSZAPC_* / OSZAP_*
  // (cpu/lazy_flags.h); kind: OP_ADD, OP_SUB or OP_AND (logic); keep_cf for INC/DEC
  void flags(unsigned kind, unsigned size, bool keep_cf)
  {
    if (kind == OP_ADD) {  // (a & b) | ((a | b) & ~r)
      get(L_A); get(L_B); emit(W_I64_AND);
      get(L_A); get(L_B); emit(W_I64_OR); get(L_R); i64c(-1); emit(W_I64_XOR); emit(W_I64_AND);
      emit(W_I64_OR);
    } else if (kind == OP_SUB) {  // (~a & b) | ((~a ^ b) & r)
      get(L_A); i64c(-1); emit(W_I64_XOR); get(L_B); emit(W_I64_AND);
      get(L_A); i64c(-1); emit(W_I64_XOR); get(L_B); emit(W_I64_XOR); get(L_R); emit(W_I64_AND);
      emit(W_I64_OR);
    } else {
      i64c(0);
    }
    set(L_C);
    get(L_R);
    if (size == 32) emit(W_I64_EXTEND32_S);
    else if (size == 8) emit(W_I64_EXTEND8_S);
    set_fres();
    if (size == 64) {  // (c & AF) | ((c >> 62) << PO)
      get(L_C); i64c(LF_MASK_AF); emit(W_I64_AND);
      get(L_C); i64c(62); emit(W_I64_SHR_U); i64c(LF_BIT_PO); emit(W_I64_SHL); emit(W_I64_OR);
    } else if (size == 32) {  // c & ~(PDB | SD)
      get(L_C); i64c(0xffffffffll & ~(Bit64u) (LF_MASK_PDB | LF_MASK_SD)); emit(W_I64_AND);
    } else {  // (c & AF) | (c << 24)
      get(L_C); i64c(LF_MASK_AF); emit(W_I64_AND);
      get(L_C); i64c(24); emit(W_I64_SHL); emit(W_I64_OR); i64c(0xffffffffll); emit(W_I64_AND);
    }
    if (keep_cf) {  // temp ^ d ^ (d >> 1), d = (auxbits ^ temp) & CF
      set(L_C);
      faux(); get(L_C); emit(W_I64_XOR); i64c(LF_MASK_CF); emit(W_I64_AND);
      set(L_B);
      get(L_C); get(L_B); emit(W_I64_XOR); get(L_B); i64c(1); emit(W_I64_SHR_U); emit(W_I64_XOR);
    }
    set_faux();
  }

  // pushes condition cc (x86 encoding) as an i32: from the operands of the instruction before
  // if it was an ALU operation (fused), else from the lazy flags
  void cond(unsigned cc)
  {
    if (fuse_k == k && fused_cond(cc)) return;
    auto aux32 = [&] { faux(); emit(W_I32_WRAP_I64); };
    auto cf = [&] { aux32(); i32c(LF_BIT_CF); emit(W_I32_SHR_U); };
    auto zf = [&] { fres(); emit(W_I64_EQZ); };
    auto sf = [&] {
      fres(); i64c(63); emit(W_I64_SHR_U); emit(W_I32_WRAP_I64);
      aux32(); emit(W_I32_XOR); i32c(1); emit(W_I32_AND);
    };
    auto of = [&] {
      aux32(); i32c(1 << LF_BIT_PO); emit(W_I32_ADD);
      i32c(LF_BIT_CF); emit(W_I32_SHR_U);
    };
    switch (cc >> 1) {
      case 0: of(); break;
      case 1: cf(); break;
      case 2: zf(); break;
      case 3: cf(); zf(); emit(W_I32_OR); break;
      case 4: sf(); break;
      case 6: sf(); of(); emit(W_I32_XOR); break;
      case 7: zf(); sf(); of(); emit(W_I32_XOR); emit(W_I32_OR); break;
    }
    if (cc & 1) emit(W_I32_EQZ);
  }
  // cc straight from the operands (L_A, L_B, zero-extended) and result (L_R, truncated) of the
  // ALU operation just before; false for conditions it does not do
  bool fused_cond(unsigned cc)
  {
    unsigned size = fuse_size, kind = fuse_kind;
    auto sx = [&](unsigned l) {
      get(l);
      if (size == 32) emit(W_I64_EXTEND32_S);
      else if (size == 16) emit(W_I64_EXTEND16_S);
      else if (size == 8) emit(W_I64_EXTEND8_S);
    };
    auto zf = [&] { get(L_R); emit(W_I64_EQZ); };
    auto sf = [&] { get(L_R); i64c(size - 1); emit(W_I64_SHR_U); emit(W_I32_WRAP_I64); i32c(1); emit(W_I32_AND); };
    switch (cc >> 1) {
      case 2: zf(); break;
      case 4: sf(); break;
      case 1:  // CF
        if (kind == OP_SUB) { get(L_A); get(L_B); emit(W_I64_LT_U); }
        else if (kind == OP_ADD) { get(L_R); get(L_A); emit(W_I64_LT_U); }
        else i32c(0);
        break;
      case 3:  // CF | ZF
        if (kind == OP_SUB) { get(L_A); get(L_B); emit(W_I64_LE_U); }
        else if (kind == OP_AND) zf();
        else return false;
        break;
      case 6:  // SF != OF
        if (kind == OP_SUB) { sx(L_A); sx(L_B); emit(W_I64_LT_S); }
        else if (kind == OP_AND) sf();
        else return false;
        break;
      case 7:  // ZF | SF != OF
        if (kind == OP_SUB) { sx(L_A); sx(L_B); emit(W_I64_LE_S); }
        else if (kind == OP_AND) { zf(); sf(); emit(W_I32_OR); }
        else return false;
        break;
      default:
        return false;
    }
    if (cc & 1) emit(W_I32_EQZ);
    return true;
  }

  // operand reads of the ALU forms into L_A and L_B (the TLB check already done)
  void imm(const bxInstruction_c *i, unsigned size)
  {
    if (size == 64) i64c((Bit32s) i->Id());
    else if (size == 32) i64c(i->Id());
    else i64c(i->Ib());
  }

  // SHL, SHR, SAR by an immediate count (cpu/shift32.cc, shift64.cc): flags as LOGIC, then
  // CF and OF (set_flags_OxxxxC)
  bool shift(const bxInstruction_c *i, unsigned o, unsigned size)
  {
    Bit16u ia = i->getIaOpcode();
    if (ia == BX_IA_SHL_Eq || ia == BX_IA_SHR_Eq || ia == BX_IA_SAR_Eq || ia == BX_IA_SHL_Ed ||
        ia == BX_IA_SHR_Ed || ia == BX_IA_SAR_Ed)
      return false;  // count in CL
    unsigned dst = i->dst(), c = i->Ib() & (size - 1);
    if (!c) {
      if (size == 32) { reg_get(dst, 32); set(L_R); reg_set(dst, 32, L_R); }  // clears the high half
      return true;
    }
    reg_get(dst, size); set(L_A);
    if (o == OP_SAR) {
      get(L_A);
      if (size == 32) emit(W_I64_EXTEND32_S);
      i64c(c); emit(W_I64_SHR_S);
    } else {
      get(L_A); i64c(c); emit(o == OP_SHL ? W_I64_SHL : W_I64_SHR_U);
    }
    truncate(size);
    set(L_R);
    reg_set(dst, size, L_R);
    // cf into L_C, of into L_B
    get(L_A); i64c(o == OP_SHL ? size - c : c - 1); emit(W_I64_SHR_U); i64c(1); emit(W_I64_AND); set(L_C);
    if (o == OP_SHL) {
      get(L_C); get(L_R); i64c(size - 1); emit(W_I64_SHR_U); emit(W_I64_XOR);
    } else if (o == OP_SHR) {
      get(L_R); i64c(1); emit(W_I64_SHL); get(L_R); emit(W_I64_XOR); i64c(size - 1); emit(W_I64_SHR_U);
      i64c(1); emit(W_I64_AND);
    } else {
      i64c(0);
    }
    set(L_B);
    get(L_R);
    if (size == 32) emit(W_I64_EXTEND32_S);
    set_fres();
    get(L_B); get(L_C); emit(W_I64_XOR); i64c(LF_BIT_PO); emit(W_I64_SHL);
    get(L_C); i64c(LF_BIT_CF); emit(W_I64_SHL); emit(W_I64_OR);
    set_faux();
    return true;
  }

  bool alu(const bxInstruction_c *i, const Handler *h)
  {
    unsigned size = h->size, o = h->op;
    bool reads_dst = o != OP_MOV && o != OP_MOVZX8 && o != OP_MOVZX16 && o != OP_MOVSXD && o != OP_MOVSX8;
    bool writes = o != OP_CMP && o != OP_TEST;
    unsigned dst = i->dst(), src = i->src();
    auto low8 = [&](unsigned r) { return i->extend8bitL() || (r & 4) == 0; };  // not AH..BH
    if (size == 8 && (h->form == F_RR || h->form == F_RM || h->form == F_RI) && !low8(dst))
      return false;
    if ((size == 8 || o == OP_MOVZX8 || o == OP_MOVSX8) && (h->form == F_RR || h->form == F_MR) && !low8(src))
      return false;
    unsigned msize = (o == OP_MOVZX8 || o == OP_MOVSX8) ? 8 : (o == OP_MOVZX16) ? 16 : (o == OP_MOVSXD) ? 32 : size;
    if (h->form == F_RM || h->form == F_MR || h->form == F_MI) {
      if (!ea(i)) return false;
      unsigned rw = h->form == F_RM ? 1 : (!writes ? 1 : (o == OP_MOV ? 4 : 5));
      tlb(msize / 8, rw);
    }
    switch (h->form) {
      case F_RR:
        if (reads_dst) { reg_get(dst, size); set(L_A); }
        reg_get(src, msize); set(L_B);
        break;
      case F_RM:
        if (reads_dst) { reg_get(dst, size); set(L_A); }
        load(msize); set(L_B);
        break;
      case F_MR:
        if (reads_dst) { load(size); set(L_A); }
        reg_get(src, size); set(L_B);
        break;
      case F_RI:
        if (reads_dst) { reg_get(dst, size); set(L_A); }
        imm(i, size); set(L_B);
        break;
      case F_MI:
        if (reads_dst) { load(size); set(L_A); }
        imm(i, size); set(L_B);
        break;
    }
    unsigned kind = OP_AND;
    switch (o) {
      case OP_MOV: case OP_MOVZX8: case OP_MOVZX16: get(L_B); break;
      case OP_MOVSXD: get(L_B); emit(W_I64_EXTEND32_S); break;
      case OP_MOVSX8: get(L_B); emit(W_I64_EXTEND8_S); break;
      case OP_ADD: get(L_A); get(L_B); emit(W_I64_ADD); kind = OP_ADD; break;
      case OP_SUB: case OP_CMP: get(L_A); get(L_B); emit(W_I64_SUB); kind = OP_SUB; break;
      case OP_AND: case OP_TEST: get(L_A); get(L_B); emit(W_I64_AND); break;
      case OP_OR: get(L_A); get(L_B); emit(W_I64_OR); break;
      case OP_XOR: get(L_A); get(L_B); emit(W_I64_XOR); break;
    }
    if (reads_dst) truncate(size);
    set(L_R);
    if (writes) {
      if (h->form == F_MR || h->form == F_MI) store(size, L_R);
      else reg_set(dst, size, L_R);
    }
    if (reads_dst) {
      flags(kind, size, false);
      fuse_k = k + 1;
      fuse_kind = kind;
      fuse_size = size;
    }
    return true;
  }

  // SIMD opcodes (0xfd prefix)
  void vec(unsigned o) { emit(0xfd); leb(o); }
  enum { V128_LOAD = 0, V128_STORE = 11, V128_CONST = 12, I8X16_SWIZZLE = 14, I8X16_SPLAT = 15,
         I64X2_REPLACE_LANE = 30, I8X16_EQ = 35, V128_AND = 78, V128_OR = 80, V128_XOR = 81,
         I8X16_BITMASK = 100 };
  uint32_t lane(unsigned r, unsigned n) { return addr_of(&CPU->vmm[r]) + 16 * n; }
  // pushes lane n of vector register r
  void vget(unsigned r, unsigned n) { i32c(0); vec(V128_LOAD); leb(0); leb(lane(r, n)); }
  // pushes the 16 bytes of guest memory at L_HOST + 16n (the TLB check done)
  void vhost(unsigned n) { get(L_HOST); vec(V128_LOAD); leb(0); leb(16 * n); }
  // stores the v128 on the stack (pushed after an i32.const 0) into lane n of r
  void vput(unsigned r, unsigned n) { vec(V128_STORE); leb(0); leb(lane(r, n)); }
  // pushes a v128 of 16 bytes b
  void vbytes(uint8_t b)
  {
    vec(V128_CONST);
    for (int j = 0; j < 16; j++) emit(b);
  }
  void vzero(unsigned r, unsigned n) { i32c(0); vbytes(0); vput(r, n); }
  // hands off unless L_EA is a multiple of align
  void aligned(unsigned align)
  {
    get(L_EA); emit(W_I32_WRAP_I64); i32c((int32_t) align - 1); emit(W_I32_AND); emit(W_I32_EQZ);
    handoff_unless();
  }
  bool vector(bxInstruction_c *i, const Simd *v)
  {
    unsigned lanes = v->vex ? i->getVL() : 1, bytes = 16 * lanes;
    if (lanes != 1 && lanes != 2) return false;
    bool reg = i->modC0();
    switch (v->op) {
      case V_ZEROUPPER:
        for (unsigned r = 0; r < 16; r++) vzero(r, 1);
        return true;
      case V_BROADCASTB:  // the low byte of an XMM register into every byte of VL lanes
        if (!reg) return false;
        for (unsigned n = 0; n < 2; n++) {
          if (n >= lanes) { vzero(i->dst(), n); continue; }
          i32c(0);
          i32c(0); mem(W_I32_LOAD8_U, 0, lane(i->src(), 0)); vec(I8X16_SPLAT);
          vput(i->dst(), n);
        }
        return true;
      case V_MOVD:  // a 32-bit register zero-extended into the whole vector register
        if (!reg) return false;
        i32c(0); vbytes(0); reg_get(i->src(), 32); vec(I64X2_REPLACE_LANE); emit(0);
        vput(i->dst(), 0);
        vzero(i->dst(), 1);
        return true;
      case V_PMOVMSKB:
        vget(i->src(), 0); vec(I8X16_BITMASK);
        if (lanes == 2) { vget(i->src(), 1); vec(I8X16_BITMASK); i32c(16); emit(W_I32_SHL); emit(W_I32_OR); }
        emit(W_I64_EXTEND_I32_U); set(L_R);
        reg_set(i->dst(), 32, L_R);
        return true;
      case V_MOV: case V_MOVA: case V_STORE: case V_STOREA: {
        bool store = v->op == V_STORE || v->op == V_STOREA;
        if (reg) {
          if (store) return false;  // the register forms of the stores: rare
          for (unsigned n = 0; n < lanes; n++) { i32c(0); vget(i->src(), n); vput(i->dst(), n); }
        } else {
          if (!ea(i)) return false;
          if (v->op == V_MOVA || v->op == V_STOREA) aligned(bytes);
          tlb(bytes, store ? 4 : 1);
          for (unsigned n = 0; n < lanes; n++) {
            if (store) {
              get(L_HOST); vget(i->src(), n); vec(V128_STORE); leb(0); leb(16 * n);
            } else {
              i32c(0); vhost(n); vput(i->dst(), n);
            }
          }
        }
        if (v->vex && !store && lanes == 1) vzero(i->dst(), 1);
        return true;
      }
      default: {  // dst = src1 op src2: SSE's src1 is dst, VEX's is src1; src2 a register or memory
        unsigned o = v->op == V_XOR ? V128_XOR : v->op == V_OR ? V128_OR : v->op == V_AND ? V128_AND
                   : v->op == V_PSHUFB ? I8X16_SWIZZLE : I8X16_EQ;
        unsigned src1 = v->vex ? i->src1() : i->dst(), src2 = v->vex ? i->src2() : i->src();
        if (!reg) {
          if (!ea(i)) return false;
          if (!v->vex) aligned(16);  // LOAD_Wdq (MXCSR.MM, misaligned SSE allowed, by the handler)
          tlb(bytes, 1);
        }
        for (unsigned n = 0; n < lanes; n++) {
          i32c(0);
          vget(src1, n);
          if (reg) vget(src2, n);
          else vhost(n);
          // PSHUFB: an index with bit 7 set gives 0, as swizzle's indexes past 15 do
          if (v->op == V_PSHUFB) { vbytes(0x8f); vec(V128_AND); }
          vec(o);
          vput(i->dst(), n);
        }
        if (v->vex && lanes == 1) vzero(i->dst(), 1);
        return true;
      }
    }
  }

  // JMP and CALL through a pointer in memory (LOAD_Eq, then JMP_EqR or CALL_EqR on the value):
  // calls through the GOT and IFUNC-resolved functions
  bool branch_through_memory(bxInstruction_c *i)
  {
    bool call = i->execute2() == &BX_CPU_C::CALL_EqR;
    if (!call && i->execute2() != &BX_CPU_C::JMP_EqR) return false;
    if (!ea(i)) return false;
    tlb(8, 1);
    load(64); set(L_R);
    canonical(L_R); handoff_unless();
    tally(&dyn.exits[X_INDIRECT]);
    if (call) { rip_plus(next); set(L_A); push(L_A); }
    exit_to(false);
    return true;
  }

  // compiles instruction k; false if it is not one the compiler knows (nothing emitted then)
  bool instruction(bxInstruction_c *i)
  {
    if (const Simd *v = simd_of(i)) return vector(i, v);
    if (i->execute1 == &BX_CPU_C::LOAD_Eq) return branch_through_memory(i);
    const Handler *h = handler_of(i);
    if (!h) return false;
    switch (h->op) {
      case OP_LEA:
        if (!ea(i)) return false;
        reg_set(i->dst(), h->size, L_EA);
        return true;
      case OP_INC: case OP_DEC:
        if (h->form == F_MR) {
          if (!ea(i)) return false;
          tlb(h->size / 8, 5);
          load(h->size);
        } else {
          reg_get(i->dst(), h->size);
        }
        set(L_A);
        i64c(0); set(L_B);
        get(L_A); i64c(1); emit(h->op == OP_INC ? W_I64_ADD : W_I64_SUB); truncate(h->size); set(L_R);
        if (h->form == F_MR) store(h->size, L_R);
        else reg_set(i->dst(), h->size, L_R);
        // the handlers pass (result -/+ 1, 0, result): the carries of op1 + 0
        flags(h->op == OP_INC ? OP_ADD : OP_SUB, h->size, true);
        return true;
      case OP_NEG:  // SET_FLAGS_OSZAPC_SUB(0, x, -x)
        i64c(0); set(L_A);
        reg_get(i->dst(), h->size); set(L_B);
        i64c(0); get(L_B); emit(W_I64_SUB); truncate(h->size); set(L_R);
        reg_set(i->dst(), h->size, L_R);
        flags(OP_SUB, h->size, false);
        return true;
      case OP_NOT:
        reg_get(i->dst(), h->size); i64c(-1); emit(W_I64_XOR); set(L_R);
        reg_set(i->dst(), h->size, L_R);
        return true;
      case OP_CDQE:
        reg_get(BX_64BIT_REG_RAX, 32); emit(W_I64_EXTEND32_S); set(L_R);
        reg_set(BX_64BIT_REG_RAX, 64, L_R);
        return true;
      case OP_IMUL:  // flags as LOGIC of the product; CF = OF = 1 if it does not fit
        reg_get(i->dst(), h->size); if (h->size == 32) emit(W_I64_EXTEND32_S); set(L_A);
        reg_get(i->src(), h->size); if (h->size == 32) emit(W_I64_EXTEND32_S); set(L_B);
        get(L_A); get(L_B); emit(W_I64_MUL); set(L_C);
        get(L_C); truncate(h->size); set(L_R);
        reg_set(i->dst(), h->size, L_R);
        get(L_R); if (h->size == 32) emit(W_I64_EXTEND32_S); set_fres();
        if (h->size == 32) {  // the 64-bit product against its low half sign-extended
          get(L_C); get(L_C); emit(W_I64_EXTEND32_S); emit(W_I64_NE);
        } else {  // a*b/a == b, without dividing by 0 and with -1 * INT64_MIN apart
          get(L_A); emit(W_I64_EQZ);
          open(W_IF, WT_I32); i32c(0);
          emit(W_ELSE);
          get(L_A); i64c(-1); emit(W_I64_EQ);
          open(W_IF, WT_I32); get(L_B); i64c(INT64_MIN); emit(W_I64_EQ);
          emit(W_ELSE); get(L_C); get(L_A); emit(W_I64_DIV_S); get(L_B); emit(W_I64_NE);
          close();
          close();
        }
        emit(W_I64_EXTEND_I32_U); i64c(LF_BIT_CF); emit(W_I64_SHL);
        set_faux();
        return true;
      case OP_SHLX: case OP_SHRX: case OP_SARX:  // no flags
        reg_get(i->src1(), 64); reg_get(i->src2(), 64);  // wasm shifts take the count mod 64
        emit(h->op == OP_SHLX ? W_I64_SHL : h->op == OP_SHRX ? W_I64_SHR_U : W_I64_SHR_S); set(L_R);
        reg_set(i->dst(), 64, L_R);
        return true;
      case OP_ROL: case OP_ROR: {  // by an immediate; flags by set_flags_OxxxxC(of, cf)
        Bit16u ia = i->getIaOpcode();
        if (ia == BX_IA_ROL_Eq || ia == BX_IA_ROR_Eq || ia == BX_IA_ROL_Ed || ia == BX_IA_ROR_Ed)
          return false;  // count in CL
        unsigned size = h->size, c = i->Ib() & (size - 1);
        bool left = h->op == OP_ROL;
        if (!c) {
          if (size == 32) { reg_get(i->dst(), 32); set(L_R); reg_set(i->dst(), 32, L_R); }  // clears the high half
          return true;
        }
        if (size == 64) {
          reg_get(i->dst(), 64); i64c(c); emit(left ? W_I64_ROTL : W_I64_ROTR);
        } else {
          reg_get(i->dst(), 32); emit(W_I32_WRAP_I64); i32c(c); emit(left ? W_I32_ROTL : W_I32_ROTR);
          emit(W_I64_EXTEND_I32_U);
        }
        set(L_R);
        reg_set(i->dst(), size, L_R);
        // ROL: CF = bit 0, OF = bit 0 ^ the top bit; ROR: CF = the top bit, OF = the top two
        // bits' xor. PO (of ^ cf) is then the top bit, or the one below it.
        unsigned po = left ? size - 1 : size - 2, cf = left ? 0 : size - 1;
        faux(); i64c(~(int64_t) (LF_MASK_PO | LF_MASK_CF) & 0xffffffffll); emit(W_I64_AND);
        get(L_R); i64c(po); emit(W_I64_SHR_U); i64c(1); emit(W_I64_AND); i64c(LF_BIT_PO); emit(W_I64_SHL);
        emit(W_I64_OR);
        get(L_R); i64c(cf); emit(W_I64_SHR_U); i64c(1); emit(W_I64_AND); i64c(LF_BIT_CF); emit(W_I64_SHL);
        emit(W_I64_OR);
        set_faux();
        return true;
      }
      case OP_CMOV:  // 32-bit: the upper half is cleared either way
        cond(h->cond);
        open(W_IF, WT_VOID);
        reg_get(i->src(), h->size); set(L_R);
        if (h->size == 64) {
          reg_set(i->dst(), 64, L_R);
          close();
        } else {
          emit(W_ELSE); reg_get(i->dst(), 32); set(L_R);
          close();
          reg_set(i->dst(), 32, L_R);
        }
        return true;
      case OP_ZERO:
        i64c(0); set(L_R);
        reg_set(i->dst(), 64, L_R);
        i64c(0); set_fres();
        i64c(0); set_faux();
        return true;
      case OP_MOVIQ:
        i64c((int64_t) i->Iq()); set(L_R);
        reg_set(i->dst(), 64, L_R);
        return true;
      case OP_PUSH:
        reg_get(i->dst(), 64); set(L_R);
        push(L_R);
        return true;
      case OP_POP:
        pop(0);
        reg_set(BX_64BIT_REG_RSP, 64, L_A);
        reg_set(i->dst(), 64, L_R);
        return true;
      case OP_JCC: {
        int64_t d = next + (int64_t) (Bit32s) i->Id();
        cond(h->cond);
        open(W_IF, WT_VOID);
        exit_to(target(d));
        close();
        return true;
      }
      case OP_JMP: case OP_CALL: case OP_JMPR: case OP_CALLR: {
        bool near = false;
        if (h->op == OP_JMPR || h->op == OP_CALLR) {
          reg_get(i->dst(), 64); set(L_R);
          canonical(L_R); handoff_unless();
          tally(&dyn.exits[X_INDIRECT]);
        } else {
          near = target(next + (int64_t) (Bit32s) i->Id());
        }
        if (h->op == OP_CALL || h->op == OP_CALLR) { rip_plus(next); set(L_A); push(L_A); }
        exit_to(near);
        return true;
      }
      case OP_RET:
        pop(i->Iw());
        canonical(L_R); handoff_unless();
        reg_set(BX_64BIT_REG_RSP, 64, L_A);
        tally(&dyn.exits[X_INDIRECT]);
        exit_to(false);
        return true;
      case OP_NOP:
        return true;
      case OP_SETCC:
        if (!i->extend8bitL() && (i->dst() & 4)) return false;  // AH..BH
        cond(h->cond); emit(W_I64_EXTEND_I32_U); set(L_R);
        reg_set(i->dst(), 8, L_R);
        return true;
      case OP_SHL: case OP_SHR: case OP_SAR:
        return shift(i, h->op, h->size);
      default:
        return alu(i, h);
    }
  }
};

static_assert(sizeof(bx_hostpageaddr_t) == 4, "wasm32 host pointers");
static_assert(sizeof(bx_TLB_entry) == 32, "Compiler::tlb's index arithmetic");
static_assert(sizeof(bxICacheEntry_c) == 24, "the compiled function fits the entry's padding");

// the module's types: 0 the compiled trace, () -> i32 (the instruction cpu_loop continues at, or
// 0); 1 an instruction handler, (i32 instruction) -> ()
const uint8_t trace_types[] = {2, 0x60, 0, 1, WT_I32, 0x60, 1, WT_I32, 0};

Compiled *find_compiled(const bxICacheEntry_c *e)
{
  for (Compiled *c = bucket(e->pAddr); c; c = c->next)
    if (c->pAddr == e->pAddr && c->tlen == e->tlen &&
        memcmp(c->copy, e->i, e->tlen * sizeof(bxInstruction_c)) == 0)
      return c;
  return NULL;
}

}  // namespace

namespace {

// the function of one trace into body, and what it uses into to->owned; false if no instruction
// of it compiles inline (the caller drops to)
bool compile_trace(const bxICacheEntry_c *entry, WBuf *body, Compiled *to)
{
  Compiler c = {};
  c.ins = entry->i;
  c.n = entry->tlen - 1;  // the last one is the end-of-trace marker
  c.copy = to->copy;
  c.calls = (bxInstruction_c *) malloc(2 * c.n * sizeof(bxInstruction_c));
  c.links = (c2w_link *) malloc((c.n + 1) * sizeof(c2w_link));
  to->owned = {c.calls, c.links};
  if (!c.calls || !c.links) return false;
  c.pl = CPU->user_pl;
  c.page_off = (Bit32u) (entry->pAddr & 0xfff);
  // twice: the first pass finds the guest state the trace uses, which the second loads on entry
  // and after handler calls
  unsigned done = 0;
  for (int pass = 0; pass < 2; pass++) {
    wb_free(&c.b);
    c.b = {};
    c.k = c.ncalls = c.nlinks = c.counted = c.off = c.depth = c.dirty = 0;
    c.fuse_k = ~0u;
    wb_bytes(&c.b, trace_locals, sizeof(trace_locals));
    c.i32c(0); c.mem(W_I64_LOAD, 3, addr_of(&RIP)); c.set(L_BASE);
    c.state_in(c.used | c.written);
    c.open(W_BLOCK, WT_VOID);  // $handoff
    c.open(W_BLOCK, WT_VOID);  // $exit
    c.i32c(0); c.mem(W_I32_LOAD8_U, 0, addr_of(&CPU->user_pl)); c.i32c((int32_t) c.pl); c.emit(W_I32_EQ);
    c.handoff_unless();  // k = 0: the whole trace by its handlers
    c.tally(&dyn.runs);
    done = 0;
    for (c.k = 0; c.k < c.n; c.k++) {
      bxInstruction_c *i = &c.ins[c.k];
      c.next = c.off + i->ilen();
      size_t mark = c.b.len;
      if (c.instruction(i)) {
        done++;
      } else {
        c.b.len = mark;
        c.call_handler();
        if (pass) stats.called[i->getIaOpcode()]++;
      }
      c.off = c.next;
    }
    if (!done) {
      wb_free(&c.b);
      return false;
    }
  }
  // fell off the end of the trace (no branch taken): continue after it
  c.k = c.n - 1;
  c.rip_plus(c.off); c.set(L_R);
  c.tally(&dyn.exits[X_END]);
  c.exit_to(c.in_page(c.off));
  c.close();
  c.exit_code();
  c.close();
  c.handoff_code();
  c.emit(W_END);
  *body = c.b;
  stats.insns += c.n;
  stats.inline_insns += done;
  return true;
}

// Hot traces wait in a batch and are compiled together into one module: a module per trace costs
// the host a module's overhead each time and scatters the machine code of thousands of small
// functions over as many code pages.
#define BATCH 64
#define BATCH_WAIT 20000000  // instructions a trace waits at most for the batch to fill
struct Pending {
  Bit32u idx;
  bx_phy_address pAddr;
};
Pending pending[BATCH];
unsigned npending;
Bit64u batch_start;  // icount when the first trace of the batch got hot
Bit8u queued[BxICacheEntries];

// a record for entry's trace: its copy made, not compiled yet
Compiled *new_compiled(const bxICacheEntry_c *e)
{
  Compiled *c = (Compiled *) calloc(1, sizeof(Compiled));
  if (!c) return NULL;
  c->copy = (bxInstruction_c *) malloc(e->tlen * sizeof(bxInstruction_c));
  if (!c->copy) { free(c); return NULL; }
  memcpy(c->copy, e->i, e->tlen * sizeof(bxInstruction_c));
  c->tlen = e->tlen;
  c->pAddr = e->pAddr;
  return c;
}
void drop(Compiled *c)
{
  release(&c->owned);
  free(c->copy);
  free(c);
}

void compile_batch(void)
{
  WBuf bodies[BATCH];
  Bit32u idx[BATCH], slots[BATCH];
  Compiled *made[BATCH];
  unsigned n = 0;
  for (unsigned p = 0; p < npending; p++) {
    bxICacheEntry_c *e = &CPU->iCache.entry[pending[p].idx];
    queued[pending[p].idx] = 0;
    C2W_TRACE_HITS(e) = 0;  // if it is not compiled now: again after as many runs
    if (e->pAddr != pending[p].pAddr || e->c2w_fn) continue;  // decoded again since
    Compiled *c = new_compiled(e);
    if (!c) continue;
    bodies[n] = {};
    if (!compile_trace(e, &bodies[n], c)) { drop(c); continue; }
    idx[n] = pending[p].idx;
    slots[n] = 0;
    made[n++] = c;
  }
  npending = 0;
  if (!n) return;
  WBuf m = {0};
  wb_module_many(&m, trace_types, sizeof(trace_types), 1, bodies, n);
  for (unsigned j = 0; j < n; j++) wb_free(&bodies[j]);
  int ok = !m.oom && c2w_page_compiler_install_many(m.p, m.len, slots, n);
  size_t len = m.len;
  wb_free(&m);
  if (!ok) {
    stats.refused += n;
    for (unsigned j = 0; j < n; j++) drop(made[j]);
    return;
  }
  stats.modules++;
  stats.bytes += len;
  for (unsigned j = 0; j < n; j++) {
    Compiled *c = made[j];
    c->slot = slots[j];
    Compiled *&head = bucket(c->pAddr);
    c->next = head;
    head = c;
    ncompiled++;
    CPU->iCache.entry[idx[j]].c2w_fn = slots[j];
    stats.traces++;
  }
}

}  // namespace

void c2w_trace_decoded(bxICacheEntry_c *entry)
{
  dyn.decoded++;
  if (Compiled *c = find_compiled(entry)) {
    entry->c2w_fn = c->slot;
    stats.reused++;
  }
}

bool c2w_trace_hot(bxICacheEntry_c *entry)
{
  Bit32u idx = (Bit32u) (entry - CPU->iCache.entry);
  dyn.interpreted++;
  if (C2W_TRACE_HITS(entry) >= C2W_TRACE_HOT && !queued[idx] && entry->tlen >= 2 &&
      CPU->cpu_mode == BX_MODE_LONG_64 && ncompiled + npending < COMPILED_MAX) {
    if (!npending) batch_start = CPU->icount;
    pending[npending++] = {idx, entry->pAddr};
    queued[idx] = 1;
  }
  if (npending == BATCH || (npending && CPU->icount - batch_start > BATCH_WAIT)) compile_batch();
  return entry->c2w_fn != 0;
}
#endif
