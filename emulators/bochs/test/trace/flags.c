/* Integer instructions and the flags they leave, for the Bochs trace compiler's test
 * (test/trace.test.ts): the same static binary runs in the guest with the compiler and without,
 * and both must print the same. Each operation's flags are read twice: by pushfq (a handler,
 * which reads Bochs' lazy flags) and before that by setcc (compiled inline once the loop is hot). Each round
 * prints a hash of everything; the first rounds run interpreted, the later ones compiled. */
#include <stdint.h>
#include <stdio.h>

static uint64_t h;
static void mix(uint64_t v) { h = (h ^ v) * 1099511628211ull; }

static const uint64_t vals[] = {
    0, 1, 2, 3, 0x55, 0x7f, 0x80, 0xaa, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
    0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000,
    0xffffffffffffffff, 0x123456789abcdef0, 0xfedcba9876543210, 0x0f0f0f0f0f0f0f0f,
};
#define NVALS (sizeof vals / sizeof vals[0])

/* the flags register and seven conditions as setcc sees them */
#define FLAGS_OUT                                                                             \
  "seto %[c0]\n\tsetb %[c1]\n\tsetz %[c2]\n\tsetbe %[c3]\n\tsets %[c4]\n\tsetl %[c5]\n\t"   \
  "setle %[c6]\n\tpushfq\n\tpopq %[fl]"
#define FLAGS_REGS                                                                            \
  [fl] "=&r"(fl), [c0] "=&q"(c[0]), [c1] "=&q"(c[1]), [c2] "=&q"(c[2]), [c3] "=&q"(c[3]),      \
      [c4] "=&q"(c[4]), [c5] "=&q"(c[5]), [c6] "=&q"(c[6])
static void flags(uint64_t fl, const uint8_t *c) {
  mix(fl & 0x8d5); /* OF SF ZF AF PF CF */
  for (int k = 0; k < 7; k++) mix(c[k] + 16 * k);
}

/* two operands: x (destination) and y, each in a register or in memory (volatile) */
#define TWO(NAME, INSN, T, XQ, XC, YQ, YC)                                                   \
  static void NAME(uint64_t a, uint64_t b) {                                                  \
    XQ T x = (T)a;                                                                            \
    YQ T y = (T)b;                                                                            \
    uint64_t fl;                                                                              \
    uint8_t c[7];                                                                             \
    __asm__ volatile(INSN " %[y], %[x]\n\t" FLAGS_OUT : [x] XC(x), FLAGS_REGS : [y] YC(y));   \
    mix((uint64_t)x);                                                                         \
    flags(fl, c);                                                                             \
  }
#define RR(NAME, INSN, T) TWO(NAME, INSN, T, , "+q", , "q")
#define MR(NAME, INSN, T) TWO(NAME, INSN, T, volatile, "+m", , "q")
#define RM(NAME, INSN, T) TWO(NAME, INSN, T, , "+q", volatile, "m")
/* one operand, in a register or in memory (immediates are part of INSN) */
#define ONE(NAME, INSN, T, XQ, XC)                                                           \
  static void NAME(uint64_t a, uint64_t b) {                                                  \
    XQ T x = (T)(a ^ b);                                                                      \
    uint64_t fl;                                                                              \
    uint8_t c[7];                                                                             \
    __asm__ volatile(INSN " %[x]\n\t" FLAGS_OUT : [x] XC(x), FLAGS_REGS);                    \
    mix((uint64_t)x);                                                                         \
    flags(fl, c);                                                                             \
  }
#define R1(NAME, INSN, T) ONE(NAME, INSN, T, , "+q")
#define M1(NAME, INSN, T) ONE(NAME, INSN, T, volatile, "+m")

#define WIDTHS(OP, insn)                                                                      \
  RR(OP##q, insn "q", uint64_t) RR(OP##l, insn "l", uint32_t) RR(OP##b, insn "b", uint8_t)      \
  MR(OP##mq, insn "q", uint64_t) MR(OP##ml, insn "l", uint32_t) MR(OP##mb, insn "b", uint8_t)   \
  RM(OP##rq, insn "q", uint64_t) RM(OP##rl, insn "l", uint32_t) RM(OP##rb, insn "b", uint8_t)
WIDTHS(add, "add")
WIDTHS(sub, "sub")
WIDTHS(cmp, "cmp")
WIDTHS(and, "and")
WIDTHS(or, "or")
WIDTHS(xor, "xor")
RR(testq, "test", uint64_t) RR(testl, "test", uint32_t) RR(testb, "test", uint8_t)
MR(testmq, "test", uint64_t) MR(testml, "test", uint32_t) MR(testmb, "test", uint8_t)
/* mov leaves the flags alone: set them first (what came before depends on the stack address,
 * which the guest kernel randomizes) */
RR(movq, "cmpq %[y], %[x]\n\tmovq", uint64_t) RR(movl, "cmpl %[y], %[x]\n\tmovl", uint32_t)
RR(movb, "cmpb %[y], %[x]\n\tmovb", uint8_t)
R1(incq, "incq", uint64_t) R1(incl, "incl", uint32_t) R1(decq, "decq", uint64_t)
R1(decl, "decl", uint32_t)
R1(addiq, "addq $0x7f,", uint64_t) R1(subiq, "subq $-1,", uint64_t) R1(cmpiq, "cmpq $-128,", uint64_t)
R1(andiq, "andq $0x7fff0000,", uint64_t) R1(oriq, "orq $-2,", uint64_t) R1(xoril, "xorl $0x80000001,", uint32_t)
R1(addil, "addl $-5,", uint32_t) R1(cmpil, "cmpl $0x7fffffff,", uint32_t) R1(subib, "subb $0x81,", uint8_t)
R1(cmpib, "cmpb $0x80,", uint8_t) R1(andib, "andb $0x0f,", uint8_t) R1(testiq, "testq $-0x80000000,", uint64_t)
M1(addmiq, "addq $0x7f,", uint64_t) M1(cmpmiq, "cmpq $-7,", uint64_t) M1(cmpmib, "cmpb $0x7f,", uint8_t)
M1(submil, "subl $0x12345,", uint32_t) M1(andmib, "andb $0xf0,", uint8_t) M1(movmiq, "cmpq $3, %[x]\n\tmovq $-9,", uint64_t)
R1(shl1q, "shlq $1,", uint64_t) R1(shl3q, "shlq $3,", uint64_t) R1(shl63q, "shlq $63,", uint64_t)
R1(shr1q, "shrq $1,", uint64_t) R1(shr7q, "shrq $7,", uint64_t) R1(sar1q, "sarq $1,", uint64_t)
R1(sar13q, "sarq $13,", uint64_t) R1(shl1l, "shll $1,", uint32_t) R1(shl5l, "shll $5,", uint32_t)
R1(shr1l, "shrl $1,", uint32_t) R1(shr31l, "shrl $31,", uint32_t) R1(sar1l, "sarl $1,", uint32_t)
R1(sar9l, "sarl $9,", uint32_t)
R1(negq, "negq", uint64_t) R1(negl, "negl", uint32_t) R1(notq, "notq", uint64_t) R1(notl, "notl", uint32_t)
M1(incmq, "incq", uint64_t) M1(decml, "decl", uint32_t)
RR(cmovlq, "cmpq %[y], %[x]\n\tcmovlq", uint64_t) RR(cmovbl, "cmpl %[y], %[x]\n\tcmovbl", uint32_t)
RR(cmovnzq, "testq %[y], %[x]\n\tcmovnzq", uint64_t) RR(cmovlel, "cmpl %[y], %[x]\n\tcmovlel", uint32_t)
MR(movmw, "cmpw %[y], %[x]\n\tmovw", uint16_t) RR(movw, "cmpw %[y], %[x]\n\tmovw", uint16_t)
RR(imulq, "imulq", uint64_t) RR(imull, "imull", uint32_t) R1(rol1q, "rolq $1,", uint64_t)
R1(rol13q, "rolq $13,", uint64_t) RR(shrxq, "cmpq %[y], %[x]\n\tshrxq %[y], %[x], %[x] #", uint64_t)
RR(shlxq, "cmpq %[y], %[x]\n\tshlxq %[y], %[x], %[x] #", uint64_t) RR(sarxq, "cmpq %[y], %[x]\n\tsarxq %[y], %[x], %[x] #", uint64_t)

R1(rol1l, "roll $1,", uint32_t) R1(rol7l, "roll $7,", uint32_t) R1(ror1l, "rorl $1,", uint32_t)
R1(ror9l, "rorl $9,", uint32_t) R1(ror1q, "rorq $1,", uint64_t) R1(ror13q, "rorq $13,", uint64_t)
R1(rol0l, "roll $0,", uint32_t)

/* each condition read by setcc straight after the operation, which the compiler fuses: the
 * operation again (on a copy t of x) before each setcc. SRC is "%[y]" or an immediate. */
#define FUSED_CC(INSN, SRC, CC, K) "mov %[x], %[t]\n\t" INSN " " SRC ", %[t]\n\tset" CC " %[c" #K "]\n\t"
#define FUSED(NAME, INSN, SRC, T, C0, C1, C2, C3, C4, C5, C6)                                \
  static void NAME(uint64_t a, uint64_t b) {                                                  \
    T x = (T)a, y = (T)b, t;                                                                  \
    uint64_t fl;                                                                              \
    uint8_t c[7];                                                                             \
    __asm__ volatile(FUSED_CC(INSN, SRC, C0, 0) FUSED_CC(INSN, SRC, C1, 1)                    \
                         FUSED_CC(INSN, SRC, C2, 2) FUSED_CC(INSN, SRC, C3, 3)                \
                             FUSED_CC(INSN, SRC, C4, 4) FUSED_CC(INSN, SRC, C5, 5)            \
                                 FUSED_CC(INSN, SRC, C6, 6) "pushfq\n\tpopq %[fl]"            \
                     : [t] "=&q"(t), FLAGS_REGS                                               \
                     : [x] "q"(x), [y] "q"(y));                                               \
    mix((uint64_t)t);                                                                         \
    flags(fl, c);                                                                             \
  }
#define FUSED_(...) FUSED(__VA_ARGS__) /* expands CCS first */
#define CCS "o", "b", "z", "be", "s", "l", "le"
#define NCCS "no", "nb", "nz", "nbe", "ns", "nl", "nle"
#define FUSED_WIDTHS(OP, insn)                                                                \
  FUSED_(OP##q, insn "q", "%[y]", uint64_t, CCS) FUSED_(OP##l, insn "l", "%[y]", uint32_t, NCCS) \
  FUSED_(OP##b, insn "b", "%[y]", uint8_t, CCS) FUSED_(OP##nq, insn "q", "%[y]", uint64_t, NCCS)
FUSED_WIDTHS(fcmp, "cmp")
FUSED_WIDTHS(fsub, "sub")
FUSED_WIDTHS(fadd, "add")
FUSED_WIDTHS(fand, "and")
FUSED_WIDTHS(ftest, "test")
FUSED_WIDTHS(for, "or")
FUSED_WIDTHS(fxor, "xor")
FUSED_(fcmpiq, "cmpq", "$-128", uint64_t, CCS) FUSED_(fcmpil, "cmpl", "$0x7fffffff", uint32_t, NCCS)
FUSED_(fcmpib, "cmpb", "$0x80", uint8_t, CCS) FUSED_(faddil, "addl", "$-5", uint32_t, CCS)
FUSED_(ftestiq, "testq", "$-0x80000000", uint64_t, NCCS) FUSED_(fsubib, "subb", "$0x81", uint8_t, NCCS)
#define FW(OP) OP##q, OP##l, OP##b, OP##nq

typedef void (*Op)(uint64_t, uint64_t);
#define W3(OP) OP##q, OP##l, OP##b, OP##mq, OP##ml, OP##mb, OP##rq, OP##rl, OP##rb
static const Op ops[] = {
    W3(add), W3(sub), W3(cmp), W3(and), W3(or), W3(xor),
    testq, testl, testb, testmq, testml, testmb, movq, movl, movb,
    incq, incl, decq, decl, addiq, subiq, cmpiq, andiq, oriq, xoril, addil, cmpil, subib, cmpib,
    andib, testiq, addmiq, cmpmiq, cmpmib, submil, andmib, movmiq,
    shl1q, shl3q, shl63q, shr1q, shr7q, sar1q, sar13q, shl1l, shl5l, shr1l, shr31l, sar1l, sar9l,
    negq, negl, notq, notl, incmq, decml, cmovlq, cmovbl, cmovnzq, cmovlel, movmw, movw,
    imulq, imull, rol1q, rol13q, shrxq, shlxq, sarxq,
    rol1l, rol7l, ror1l, ror9l, ror1q, ror13q, rol0l,
    FW(fcmp), FW(fsub), FW(fadd), FW(fand), FW(ftest), FW(for), FW(fxor),
    fcmpiq, fcmpil, fcmpib, faddil, ftestiq, fsubib,
};

int main(void) {
  for (int round = 0; round < 6; round++) {
    h = 1469598103934665603ull;
    for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++) {
      uint64_t before = h;
      for (unsigned i = 0; i < NVALS; i++)
        for (unsigned j = 0; j < NVALS; j++) ops[o](vals[i], vals[j] + (uint64_t)round * (j & 1));
      if (round == 5) printf("op %u %016llx\n", o, (unsigned long long)(h ^ before));
    }
    printf("round %d %016llx\n", round, (unsigned long long)h);
  }
  return 0;
}
