/* RV64IMAFDC hart: M/S/U, Sv39/Sv48, software TLB. All state lives in this struct (linear memory). */
#ifndef C2W_RV_CPU_H
#define C2W_RV_CPU_H
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#define TLB_SIZE 256
#define TLB_SETS 4 /* 0: U, 1: S, 2: S with SUM, 3: M (bare) */

typedef struct {
  uint64_t tag;    /* page-aligned virtual address, or ~0 */
  uint64_t addend; /* host address = va + addend (mod pointer width) */
} TLBEntry;

/* Decoded-instruction cache: one slot per guest physical code page (direct-mapped by page
 * number), one entry per halfword, decoded lazily (op 0 = not yet decoded); entry 2048 is a
 * sentinel that sends execution running off the page end back through the code TLB. Pages that
 * are in the cache are never in the write TLB: the first store to one (or a device write through
 * rv_phys_ptr) drops its slot, so stale decodings are impossible. */
#define DC_SLOTS 256
/* DC_WAYS-way set associative: the set of a page is its number modulo the number of sets
 * (unrolled in OP_NEWPC and in compiled pages' chaining) */
#define DC_WAYS 4
typedef struct {
  int32_t imm;
  uint32_t raw; /* the instruction (16 bits for RVC) */
  uint8_t op, rd, rs1, rs2, len;
  uint8_t len1; /* fused entries: length of the first instruction */
  uint8_t r3, r4; /* fused entries: more registers */
} RVDInsn;
/* the page compiler's view of a decoded page (jit.c); zero when the page is filled */
typedef struct {
  uint32_t hot;        /* entries into the page while it had no compiled function */
  uint32_t rounds;     /* compilations since the fill */
  uint32_t fn;         /* table slot of its compiled function, or 0 */
  uint32_t misses;     /* entries the compiled function did not have, since the last compile */
  uint32_t entries[64]; /* halfwords that were entered from outside the compiled function */
  uint16_t map[2048];   /* halfword -> 1 + index of the function's entry there, or 0 */
} RVJitPage;
typedef struct {
  uint64_t ppn;   /* guest physical page number (RAM-relative), or ~0 */
  uint64_t stamp; /* last entry (replacement) */
  uint32_t jit_slot; /* the table slot its compiled functions use (kept across fills) */
  RVJitPage jit;
  RVDInsn e[2049];
} RVDPage;

/* mstatus bits */
#define MSTATUS_SIE (1ULL << 1)
#define MSTATUS_MIE (1ULL << 3)
#define MSTATUS_SPIE (1ULL << 5)
#define MSTATUS_MPIE (1ULL << 7)
#define MSTATUS_SPP (1ULL << 8)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP (3ULL << 11)
#define MSTATUS_FS_SHIFT 13
#define MSTATUS_FS (3ULL << 13)
#define MSTATUS_MPRV (1ULL << 17)
#define MSTATUS_SUM (1ULL << 18)
#define MSTATUS_MXR (1ULL << 19)
#define MSTATUS_TVM (1ULL << 20)
#define MSTATUS_TW (1ULL << 21)
#define MSTATUS_TSR (1ULL << 22)
#define MSTATUS_UXL (3ULL << 32)
#define MSTATUS_SXL (3ULL << 34)
#define MSTATUS_SD (1ULL << 63)

#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define MIP_SSIP (1ULL << IRQ_SSI)
#define MIP_MSIP (1ULL << IRQ_MSI)
#define MIP_STIP (1ULL << IRQ_STI)
#define MIP_MTIP (1ULL << IRQ_MTI)
#define MIP_SEIP (1ULL << IRQ_SEI)
#define MIP_MEIP (1ULL << IRQ_MEI)

enum {
  CAUSE_MISALIGNED_FETCH = 0,
  CAUSE_FETCH_ACCESS = 1,
  CAUSE_ILLEGAL_INSN = 2,
  CAUSE_BREAKPOINT = 3,
  CAUSE_MISALIGNED_LOAD = 4,
  CAUSE_LOAD_ACCESS = 5,
  CAUSE_MISALIGNED_STORE = 6,
  CAUSE_STORE_ACCESS = 7,
  CAUSE_USER_ECALL = 8,
  CAUSE_SUPERVISOR_ECALL = 9,
  CAUSE_MACHINE_ECALL = 11,
  CAUSE_FETCH_PAGE_FAULT = 12,
  CAUSE_LOAD_PAGE_FAULT = 13,
  CAUSE_STORE_PAGE_FAULT = 15,
};

/* why rv_run returned */
enum { RUN_BUDGET = 0, RUN_WFI = 1, RUN_STOP = 2 };

typedef struct RVCPU {
  uint64_t x[32];
  uint64_t f[32];
  uint64_t pc;
  uint32_t fflags, frm;
  int priv;
  int dset, cset; /* TLB sets for data and code accesses */
  uint64_t mstatus, misa, medeleg, mideleg, mie, mip, mtvec, mscratch, mepc, mcause, mtval;
  uint64_t mcounteren, scounteren;
  uint64_t stvec, sscratch, sepc, scause, stval, satp;
  uint64_t cycles;
  uint64_t load_res;
  int wfi;
  int stop; /* set by hooks to leave rv_run */
  int sbi;  /* ecall from S-mode is served by the emulator (rv_ecall_hook) */
  int user_syscalls; /* ecall from U-mode is served by the emulator (test harness) */
  uint8_t *ram;
  uint64_t ram_base, ram_size;
  void *opaque; /* the machine */
  RVDPage *dc;  /* DC_SLOTS decoded pages */
  int dc_dirty; /* a slot was dropped (the running page may be stale) */
  uint64_t dc_fills, tlb_fills, slow_accesses; /* C2W_STATS */
  uint64_t dc_clock;
  /* rv_run's view of the running page (see cpu.c) */
  uint64_t dc_vpage, dc_jpage; /* its virtual page; the page jumps may stay in (or ~0) */
  uintptr_t dc_base;           /* its decoded entries */
  uint8_t *dc_host;            /* its bytes */
  RVDInsn dc_cross[3];         /* an instruction crossing a page end, and sentinels */
  int64_t run_budget;
  int run_ret;
  int jit_on;   /* the host runs compiled pages (jit.h) */
  int jit_skip; /* the compiled page returned to interpret s->pc first */
  uint64_t jit_pages, jit_bytes, jit_chains, jit_how[4]; /* C2W_STATS */
  TLBEntry tlb_r[TLB_SETS][TLB_SIZE];
  TLBEntry tlb_w[TLB_SETS][TLB_SIZE];
  TLBEntry tlb_x[TLB_SETS][TLB_SIZE];
  /* second ways: the entry the last fill of a slot evicted. A miss looks there before walking
   * the page tables (two hot pages whose numbers collide modulo TLB_SIZE, such as a kernel
   * stack and per-cpu data, would otherwise walk on every other access); compiled pages check
   * them inline. */
  TLBEntry tlb_r2[TLB_SETS][TLB_SIZE];
  TLBEntry tlb_w2[TLB_SETS][TLB_SIZE];
  TLBEntry tlb_x2[TLB_SETS][TLB_SIZE];
} RVCPU;

void rv_init(RVCPU *s, uint8_t *ram, uint64_t ram_base, uint64_t ram_size);
/* run at most budget instructions (at most INT32_MAX / 4 per call) */
int rv_run(RVCPU *s, int64_t budget);
void rv_tlb_flush(RVCPU *s);
/* empty the decoded-instruction cache (before a snapshot: zeros cost nothing in it) */
void rv_dc_flush(RVCPU *s);
void rv_set_priv(RVCPU *s, int priv);
/* take a pending enabled interrupt, if any; returns 1 if one was taken */
int rv_check_irq(RVCPU *s);
void rv_set_mip(RVCPU *s, uint64_t mask, int level);
/* physical memory helpers for devices (the range may be written: drops its decoded code) */
uint8_t *rv_phys_ptr(RVCPU *s, uint64_t pa, uint64_t len);
/* executed ops and op pairs (RV_PROFILE builds; prints nothing otherwise) */
void rv_profile_dump(FILE *f);

/* provided by the machine */
int rv_mmio_read(RVCPU *s, uint64_t pa, int size, uint64_t *val);
int rv_mmio_write(RVCPU *s, uint64_t pa, int size, uint64_t val);
uint64_t rv_get_mtime(RVCPU *s);
/* ecall served by the emulator; return 0 when handled (pc advances), 1 to trap normally */
int rv_ecall_hook(RVCPU *s);

#endif
