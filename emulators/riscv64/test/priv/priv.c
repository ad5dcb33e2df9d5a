/* Privileged-architecture tests for the riscv64 machine (run by rv64-user --machine).
 * Traps, delegation, mode switches, MMU (Sv39, Sv48, superpages, faults, A/D, SUM, MXR),
 * FS tracking, timer and software interrupts. Exit status: 0 pass, else the failing check. */
#include <stdint.h>

typedef uint64_t u64;
#define csrr(c) ({ u64 v_; __asm__ volatile("csrr %0, " #c : "=r"(v_)); v_; })
#define csrw(c, v) __asm__ volatile("csrw " #c ", %0" ::"r"((u64)(v)) : "memory")
#define csrs(c, v) __asm__ volatile("csrs " #c ", %0" ::"r"((u64)(v)) : "memory")
#define csrc(c, v) __asm__ volatile("csrc " #c ", %0" ::"r"((u64)(v)) : "memory")

long enter_mode(long mode, long (*fn)(long), long arg, void *stack, void *ret);
extern char mode_exit_insn[];

static void putc_(char c) { *(volatile uint8_t *)0x10000000 = (uint8_t)c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(u64 v) { for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }

static int failed;
static void check(int cond, int id, const char *what, u64 got) {
  if (!cond) {
    puts_("FAIL ");
    puts_(what);
    puts_(" got=");
    puthex(got);
    putc_('\n');
    if (!failed) failed = id;
  }
}

/* trap records */
volatile u64 m_cause, m_epc, m_tval, m_count, m_status;
volatile u64 s_cause, s_epc, s_tval, s_count;
volatile u64 *mframe_p;

long mtrap_c(u64 *f) {
  u64 cause = csrr(mcause);
  mframe_p = f;
  if (cause == 11 || cause == 9 || cause == 8) {
    if (f[17] == 0x5a5a) return 1; /* mode_exit */
  }
  m_cause = cause;
  m_epc = csrr(mepc);
  m_tval = csrr(mtval);
  m_status = csrr(mstatus);
  m_count++;
  if ((long)cause < 0) {
    if ((cause & 63) == 7) *(volatile u64 *)(0x2000000 + 0x4000) = ~0ULL;
    if ((cause & 63) == 3) *(volatile uint32_t *)0x2000000 = 0;
    return 0;
  }
  if (cause == 1 || cause == 12) csrw(mepc, f[1]); /* fetch fault: return to ra */
  else csrw(mepc, m_epc + 4);
  return 0;
}

void strap_c(u64 *f) {
  u64 cause = csrr(scause);
  if (cause == 8 && f[17] == 0x5a5a) { /* mode_exit from U delegated to S: forward to M */
    register u64 a0 __asm__("a0") = f[10];
    __asm__ volatile("li a7, 0x5a5a\necall" ::"r"(a0) : "a7", "memory");
  }
  s_cause = cause;
  s_epc = csrr(sepc);
  s_tval = csrr(stval);
  s_count++;
  if ((long)cause < 0) {
    if ((cause & 63) == 1) csrc(sip, 2);
    if ((cause & 63) == 5) csrc(sie, 1 << 5); /* STIP is owned by M: mask it */
    return;
  }
  if (cause == 12) csrw(sepc, f[1]);
  else csrw(sepc, s_epc + 4);
}

static uint8_t ustack[8192] __attribute__((aligned(16)));
static long run_in(long mode, long (*fn)(long), long arg) {
  return enter_mode(mode, fn, arg, ustack + sizeof(ustack), mode_exit_insn);
}
#define ALIAS 0x40000000ULL /* U-accessible alias of the image: VA 0x40000000 -> PA 0x80000000 */
static long run_user_alias(long (*fn)(long), long arg) {
  return enter_mode(0, (long (*)(long))((u64)fn - 0x80000000ULL + ALIAS), arg,
                    (void *)((u64)(ustack + sizeof(ustack)) - 0x80000000ULL + ALIAS),
                    (void *)((u64)mode_exit_insn - 0x80000000ULL + ALIAS));
}

static u64 ld(u64 a) { u64 v; __asm__ volatile(".option push\n.option norvc\nld %0, 0(%1)\n.option pop" : "=r"(v) : "r"(a) : "memory"); return v; }
static void sd(u64 a, u64 v) { __asm__ volatile(".option push\n.option norvc\nsd %0, 0(%1)\n.option pop" ::"r"(v), "r"(a) : "memory"); }

/* ---- simple trap tests in M-mode ---- */
static void test_m_traps(void) {
  u64 c0 = m_count;
  __asm__ volatile(".option push\n.option norvc\n.word 0xc0001073\n.option pop");
  check(m_count == c0 + 1 && m_cause == 2 && m_tval == 0xc0001073, 1, "illegal insn", m_cause);
  __asm__ volatile(".option push\n.option norvc\nebreak\n.option pop");
  check(m_cause == 3, 2, "ebreak", m_cause);
  __asm__ volatile("li a7, 1\necall" ::: "a7", "memory");
  check(m_cause == 11 && ((m_status >> 11) & 3) == 3, 3, "ecall from M", m_cause);
  static volatile uint32_t word[2];
  u64 a = (u64)word + 1;
  __asm__ volatile(".option push\n.option norvc\namoadd.w x0, x0, (%0)\n.option pop" ::"r"(a) : "memory");
  check(m_cause == 6 && m_tval == a, 4, "misaligned amo", m_cause);
  ld(0x1000);
  check(m_cause == 5 && m_tval == 0x1000, 5, "load access fault", m_cause);
  sd(0x1000, 1);
  check(m_cause == 7, 6, "store access fault", m_cause);
}

static long u_ecall(long a) { __asm__ volatile("li a7, 7\necall" ::: "a7", "memory"); return a + 1; }
static long u_read_mstatus(long a) { (void)csrr(mstatus); return a; }
static long s_illegal(long a) { __asm__ volatile(".option push\n.option norvc\n.word 0xc0001073\n.option pop"); return a; }
static long s_ecall(long a) { __asm__ volatile("li a7, 7\necall" ::: "a7", "memory"); return a; }

static void test_modes(void) {
  long r = run_in(0, u_ecall, 41);
  check(r == 42 && m_cause == 8 && ((m_status >> 11) & 3) == 0, 10, "ecall from U", m_cause);
  run_in(0, u_read_mstatus, 0);
  check(m_cause == 2, 11, "mstatus from U", m_cause);
  run_in(1, s_ecall, 0);
  check(m_cause == 9 && ((m_status >> 11) & 3) == 1, 12, "ecall from S", m_cause);
  /* delegation */
  csrw(medeleg, (1 << 2) | (1 << 8));
  u64 mc = m_count, sc = s_count;
  run_in(1, s_illegal, 0);
  check(m_count == mc && s_count == sc + 1 && s_cause == 2 && s_tval == 0xc0001073, 13, "delegated illegal", s_cause);
  run_in(0, u_ecall, 0);
  check(s_cause == 8 && s_count == sc + 2, 14, "delegated U ecall", s_cause);
  run_in(1, s_ecall, 0);
  check(m_cause == 9 && m_count == mc + 1, 15, "S ecall not delegated", m_cause);
  csrw(medeleg, 0);
}

/* ---- FS tracking ---- */
static void test_fs(void) {
  csrc(mstatus, 3 << 13);
  u64 c0 = m_count;
  __asm__ volatile(".option push\n.option norvc\nfadd.d f0, f1, f2\n.option pop");
  check(m_count == c0 + 1 && m_cause == 2, 20, "fp with FS=off", m_cause);
  csrs(mstatus, 1 << 13);
  __asm__ volatile("fadd.d f0, f1, f2");
  u64 st = csrr(mstatus);
  check(((st >> 13) & 3) == 3 && (st >> 63) == 1, 21, "FS dirty + SD", st);
}

/* ---- interrupts ---- */
static void test_irqs(void) {
  volatile u64 *mtime = (u64 *)(0x2000000 + 0xbff8), *mtimecmp = (u64 *)(0x2000000 + 0x4000);
  u64 c0 = m_count;
  *mtimecmp = *mtime + 300;
  csrs(mie, 1 << 7);
  csrs(mstatus, 1 << 3);
  for (int i = 0; i < 100 && m_count == c0; i++) __asm__ volatile("wfi");
  csrc(mstatus, 1 << 3);
  check(m_count == c0 + 1 && m_cause == ((1ULL << 63) | 7), 30, "machine timer irq", m_cause);
  csrc(mie, 1 << 7);
  /* machine software interrupt through the CLINT msip */
  csrs(mie, 1 << 3);
  *(volatile uint32_t *)0x2000000 = 1;
  csrs(mstatus, 1 << 3);
  __asm__ volatile("nop");
  csrc(mstatus, 1 << 3);
  check(m_cause == ((1ULL << 63) | 3), 31, "machine software irq", m_cause);
  csrc(mie, 1 << 3);
}

static long s_soft_irq(long a) {
  csrs(sie, 2);
  csrs(sip, 2);
  csrs(sstatus, 2);
  __asm__ volatile("nop");
  csrc(sstatus, 2);
  return a;
}
static long u_spin(long a) { for (volatile int i = 0; i < 10; i++) ; return a; }

static void test_s_irqs(void) {
  csrw(mideleg, 0x222);
  u64 sc = s_count;
  run_in(1, s_soft_irq, 0);
  check(s_count == sc + 1 && s_cause == ((1ULL << 63) | 1), 32, "supervisor software irq", s_cause);
  /* pending delegated STIP is taken in U-mode even with SIE=0 */
  csrc(mstatus, 2);
  csrs(mie, 1 << 5);
  csrs(mip, 1 << 5);
  sc = s_count;
  run_in(0, u_spin, 0);
  check(s_count > sc && s_cause == ((1ULL << 63) | 5), 33, "STIP taken in U", s_cause);
  csrc(mip, 1 << 5);
  csrc(mie, 1 << 5);
  csrw(mideleg, 0);
}

/* ---- MMU ---- */
#define PTE_V 1
#define PTE_R 2
#define PTE_W 4
#define PTE_X 8
#define PTE_U 16
#define PTE_A 64
#define PTE_D 128
static u64 root39[512] __attribute__((aligned(4096)));
static u64 root48[512] __attribute__((aligned(4096)));
static u64 l1[512] __attribute__((aligned(4096)));
static u64 l0[512] __attribute__((aligned(4096)));
static uint8_t pages[6][4096] __attribute__((aligned(4096)));
static uint8_t mega[2 << 20] __attribute__((aligned(2 << 20)));

static u64 pte(u64 pa, u64 flags) { return ((pa >> 12) << 10) | flags; }

static void build_tables(void) {
  for (int i = 0; i < 512; i++) root39[i] = root48[i] = l1[i] = l0[i] = 0;
  root39[2] = pte(0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
  root39[1] = pte(0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
  root39[0] = pte((u64)l1, PTE_V);
  l1[0] = pte((u64)l0, PTE_V);
  l1[1] = pte((u64)mega, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  l1[2] = pte((u64)mega + 4096, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D); /* misaligned superpage */
  l0[1] = pte((u64)pages[0], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  l0[2] = pte((u64)pages[1], PTE_V | PTE_R | PTE_A);
  l0[3] = pte((u64)pages[2], PTE_V | PTE_R | PTE_W);
  l0[4] = pte((u64)pages[3], PTE_V | PTE_X | PTE_A);
  l0[5] = pte((u64)pages[4], PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
  l0[6] = 0;
  l0[7] = pte((u64)pages[5], PTE_V | PTE_W);
  root48[0] = pte((u64)root39, PTE_V);
  root48[1] = pte((u64)root39, PTE_V); /* VA 512G..1T: same tree, for an Sv48-only address */
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 4096; j += 8) *(u64 *)&pages[i][j] = 0x1111111111111111ULL * (u64)(i + 1) + (u64)j;
  *(u64 *)(mega + 0x1230) = 0xfeedface;
}

static volatile int mmu_stage;
static long s_mmu(long base) {
  u64 b = (u64)base; /* 0 for Sv39 tests, 512G for the Sv48-only alias */
  u64 v = ld(b + 0x1000 + 8);
  if (v != 0x1111111111111111ULL + 8) return 100;
  sd(b + 0x1000, 5);
  if (ld(b + 0x1000) != 5) return 101;
  u64 c = s_count + m_count;
  sd(b + 0x2000, 1);
  if (m_count + s_count != c + 1 || m_cause != 15 || m_tval != b + 0x2000) return 102;
  ld(b + 0x6000);
  if (m_cause != 13 || m_tval != b + 0x6000) return 103;
  ld(b + 0x7000);
  if (m_cause != 13) return 104;
  ld(b + 0x3000);
  sd(b + 0x3000, 7);
  ld(b + 0x4000);
  if (m_cause != 13 || m_tval != b + 0x4000) return 105;
  csrs(sstatus, 1 << 19); /* MXR */
  c = m_count;
  v = ld(b + 0x4000);
  csrc(sstatus, 1 << 19);
  if (m_count != c || v != 0x4444444444444444ULL) return 106;
  ld(b + 0x5000);
  if (m_cause != 13 || m_tval != b + 0x5000) return 107;
  csrs(sstatus, 1 << 18); /* SUM */
  c = m_count;
  v = ld(b + 0x5000);
  csrc(sstatus, 1 << 18);
  if (m_count != c || v != 0x5555555555555555ULL) return 108;
  v = ld(b + 0x200000 + 0x1230);
  if (v != 0xfeedface) return 109;
  ld(b + 0x400000);
  if (m_cause != 13) return 110;
  /* fetch from a non-executable page */
  __asm__ volatile("jalr ra, 0(%0)" ::"r"(b + 0x1000) : "ra", "memory");
  if (m_cause != 12 || m_tval != b + 0x1000) return 111;
  /* non-canonical address */
  ld(b == 0 ? 0x0000008000000000ULL : 0x0000800000000000ULL);
  if (m_cause != 13) return 112;
  return 0;
}

static long u_mmu(long a) {
  (void)a;
  if (ld(0x5000) != 0x5555555555555555ULL) return 120;
  u64 c = m_count;
  ld(0x1000);
  if (m_count != c + 1 || m_cause != 13) return 121;
  return 0;
}

static void test_mmu(int mode) {
  build_tables();
  csrw(satp, ((u64)mode << 60) | ((u64)(mode == 8 ? root39 : root48) >> 12));
  __asm__ volatile("sfence.vma" ::: "memory");
  u64 got = csrr(satp) >> 60;
  check(got == (u64)mode, 40, "satp mode", got);
  long r = run_in(1, s_mmu, 0);
  check(r == 0, 41, mode == 8 ? "sv39 S-mode" : "sv48 S-mode", (u64)r);
  check((l0[3] & (PTE_A | PTE_D)) == (PTE_A | PTE_D), 42, "A/D set by hardware", l0[3]);
  if (mode == 9) {
    r = run_in(1, s_mmu, (long)(512ULL << 30));
    check(r == 0, 43, "sv48 upper half", (u64)r);
  }
  r = run_user_alias(u_mmu, 0);
  check(r == 0, 44, "U-mode MMU", (u64)r);
  /* remap and sfence.vma: the new mapping must be seen */
  l0[1] = pte((u64)pages[4], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  __asm__ volatile("sfence.vma" ::: "memory");
  check(1, 0, "", 0);
  csrw(satp, 0);
}

static long s_check_remap(long a) { return (long)ld(0x1000 + 16); }

/* code written at run time (the emulator caches decoded instructions per page) */
static uint8_t codebuf[8192] __attribute__((aligned(4096)));
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static long call(uint8_t *p) {
  __asm__ volatile("fence.i" ::: "memory");
  return ((long (*)(void))p)();
}
/* The TLB's second way (the entry a fill evicted): pages whose numbers collide modulo the TLB
 * size (256) share a slot; the evicted one must still follow sfence.vma and code writes. */
static long s_evict(long a) {
  (void)ld(0x1000);
  (void)ld(0x1000 + (256 << 12)); /* evicts 0x1000 into the second way */
  return a ? (long)ld(0x1000 + a) : 0;
}
static uint8_t codebuf2[4096] __attribute__((aligned(4096)));
static void test_tlb_ways(void) {
  build_tables();
  l0[257] = pte((u64)pages[2], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  csrw(satp, (8ULL << 60) | ((u64)root39 >> 12));
  __asm__ volatile("sfence.vma" ::: "memory");
  long v = run_in(1, s_evict, 16);
  check((u64)v == 0x1111111111111111ULL + 16, 69, "colliding pages", (u64)v);
  (void)run_in(1, s_evict, 0);
  l0[1] = pte((u64)pages[4], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  __asm__ volatile("sfence.vma %0" ::"r"(0x1000UL) : "memory");
  v = run_in(1, s_check_remap, 0);
  check((u64)v == 0x5555555555555555ULL + 16, 70, "sfence.vma page in the second way", (u64)v);
  csrw(satp, 0);
  /* M-mode (bare) stores: a write mapping in the second way must not outlive the page becoming
   * code, or later stores to the code would not drop its decoded instructions */
  put32(codebuf2, 0x00100513); /* li a0, 1 */
  put32(codebuf2 + 4, 0x00008067); /* ret */
  *(volatile uint8_t *)(codebuf2 + (256 << 12)) = 0; /* evicts codebuf2's write entry */
  v = call(codebuf2);
  put32(codebuf2, 0x00200513); /* li a0, 2 */
  v = call(codebuf2) * 10 + v;
  check(v == 21, 71, "code written through the second way", (u64)v);
}

static void test_smc(void) {
  put32(codebuf, 0x00500513); /* addi a0, zero, 5 */
  put16(codebuf + 4, 0x8082); /* ret */
  long r = call(codebuf);
  check(r == 5, 60, "code written then run", (u64)r);
  put32(codebuf, 0x00700513);
  r = call(codebuf);
  check(r == 7, 61, "rewritten code", (u64)r);
  uint8_t *q = codebuf + 4096 - 2; /* a 32-bit instruction across the page end */
  put32(q, 0x00900513);
  put16(q + 4, 0x8082);
  r = call(q);
  check(r == 9, 62, "instruction across a page end", (u64)r);
  put16(q + 2, 0x00b0); /* its upper half (next page): addi a0, zero, 11 */
  r = call(q);
  check(r == 11, 63, "rewritten upper half across a page end", (u64)r);
}

/* the second of two fused stores (loads) faults: the first is done, the trap is at the second */
static void test_fused_faults(void) {
  u64 b = 0x84000000ULL - 8, c0 = m_count, v = 0x1234, l, r1 = 0, r2 = 0x77;
  *(volatile u64 *)b = 0;
  __asm__ volatile(".option push\n.option norvc\nsd %[v], 0(%[b])\n1: sd %[v], 8(%[b])\n.option pop\nlla %[l], 1b"
                   : [l] "=&r"(l) : [v] "r"(v), [b] "r"(b) : "memory");
  check(m_count == c0 + 1 && m_cause == 7 && m_epc == l && m_tval == b + 8 && *(volatile u64 *)b == v, 64,
        "second of two stores faults", m_epc);
  __asm__ volatile(".option push\n.option norvc\nld %[r1], 0(%[b])\n1: ld %[r2], 8(%[b])\n.option pop\nlla %[l], 1b"
                   : [l] "=&r"(l), [r1] "+&r"(r1), [r2] "+&r"(r2) : [b] "r"(b) : "memory");
  check(m_count == c0 + 2 && m_cause == 5 && m_epc == l && r1 == v && r2 == 0x77, 65, "second of two loads faults",
        m_epc);
  /* a byte load fused with the branch on it faults: the trap is at the load, the branch runs after */
  r2 = 0;
  __asm__ volatile(".option push\n.option norvc\n1: lbu %[r1], 8(%[b])\nbnez %[r1], 2f\nli %[r2], 5\n2:\n"
                   ".option pop\nlla %[l], 1b"
                   : [l] "=&r"(l), [r1] "+&r"(r1), [r2] "+&r"(r2) : [b] "r"(b) : "memory");
  check(m_count == c0 + 3 && m_cause == 5 && m_epc == l && m_tval == b + 8 && r1 == v && r2 == 0, 66,
        "byte load fused with a branch faults", m_epc);
  /* a pc-relative load (auipc + ld, fused) past the end of RAM: auipc is done, the trap is at the
   * load. Written at run time: the offset to the end of RAM depends on where codebuf lies */
  u64 off = 0x84000000ULL - (u64)codebuf, hi = (off + 0x800) >> 12, lo = off - (hi << 12);
  put32(codebuf, (uint32_t)(hi << 12) | 10 << 7 | 0x17);                   /* auipc a0, hi */
  put32(codebuf + 4, (uint32_t)(lo << 20) | 10 << 15 | 3 << 12 | 11 << 7 | 0x03); /* ld a1, lo(a0) */
  put16(codebuf + 8, 0x8082);                                              /* ret */
  long r = call(codebuf);
  check(m_count == c0 + 4 && m_cause == 5 && m_epc == (u64)codebuf + 4 && m_tval == 0x84000000ULL &&
            (u64)r == (u64)codebuf + (hi << 12),
        67, "pc-relative load fused with its auipc faults", m_epc);
  /* four stores off one base (two fused pairs): the first of the second pair faults, the first
   * pair is done, the fourth store runs after the handler skips the third */
  u64 c = 0x84000000ULL - 16;
  *(volatile u64 *)(c - 8) = *(volatile u64 *)c = *(volatile u64 *)(c + 8) = 0;
  __asm__ volatile(".option push\n.option norvc\nsd %[v], 0(%[c])\nsd %[v], 8(%[c])\n1: sd %[v], 16(%[c])\n"
                   "sd %[v], -8(%[c])\n.option pop\nlla %[l], 1b"
                   : [l] "=&r"(l) : [v] "r"(v), [c] "r"(c) : "memory");
  check(m_count == c0 + 5 && m_cause == 7 && m_epc == l && m_tval == c + 16 && *(volatile u64 *)c == v &&
            *(volatile u64 *)(c + 8) == v && *(volatile u64 *)(c - 8) == v,
        68, "third of four stores (two fused pairs) faults", m_epc);
}

int main(void) {
  puts_("priv tests\n");
  test_smc();
  test_fused_faults();
  test_tlb_ways();
  test_m_traps();
  test_modes();
  test_fs();
  test_irqs();
  test_s_irqs();
  test_mmu(8);
  test_mmu(9);
  /* satp: unsupported mode is ignored */
  csrw(satp, 10ULL << 60);
  check(csrr(satp) == 0, 50, "satp sv57 ignored", csrr(satp));
  build_tables();
  csrw(satp, (8ULL << 60) | ((u64)root39 >> 12));
  (void)run_in(1, s_check_remap, 0);
  l0[1] = pte((u64)pages[4], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  __asm__ volatile("sfence.vma" ::: "memory");
  long v = run_in(1, s_check_remap, 0);
  check((u64)v == 0x5555555555555555ULL + 16, 51, "sfence.vma remap", (u64)v);
  csrw(satp, 0);
  puts_(failed ? "priv: FAIL\n" : "priv: ok\n");
  return failed;
}
