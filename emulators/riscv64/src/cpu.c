/* RV64IMAFDC interpreter. Designed for wasm: one switch, no setjmp (faults are return codes),
 * loads/stores through a direct-mapped software TLB holding host addends, instruction fetch
 * from a cached host pointer to the current code page. */
#include "cpu.h"
#include "jit.h"
#include "ops.h"
#include "softfp.h"
#include <stdlib.h>
#include <string.h>

/* compiled pages run as wasm functions next to the module (jit.c) */
#if defined(__wasm__)
#define RV_JIT 1
#else
#define RV_JIT 0
#endif

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define PTE_V 1
#define PTE_R 2
#define PTE_W 4
#define PTE_X 8
#define PTE_U 16
#define PTE_G 32
#define PTE_A 64
#define PTE_D 128

#define SSTATUS_MASK \
  (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL | \
   MSTATUS_SD)
#define MSTATUS_WMASK \
  (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS | \
   MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)

static inline uint64_t ld64h(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t ld32h(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t ld16h(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline void st64h(void *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void st32h(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st16h(void *p, uint16_t v) { memcpy(p, &v, 2); }

void rv_tlb_flush(RVCPU *s) {
  memset(s->tlb_r, 0xff, sizeof(s->tlb_r));
  memset(s->tlb_w, 0xff, sizeof(s->tlb_w));
  memset(s->tlb_x, 0xff, sizeof(s->tlb_x));
  memset(s->tlb_r2, 0xff, sizeof(s->tlb_r2));
  memset(s->tlb_w2, 0xff, sizeof(s->tlb_w2));
  memset(s->tlb_x2, 0xff, sizeof(s->tlb_x2));
}

static void tlb_flush_page(RVCPU *s, uint64_t va) {
  uint64_t tag = va & ~0xfffULL;
  unsigned i = (va >> 12) & (TLB_SIZE - 1);
  TLBEntry *ways[] = {s->tlb_r[0], s->tlb_w[0], s->tlb_x[0], s->tlb_r2[0], s->tlb_w2[0], s->tlb_x2[0]};
  for (int k = 0; k < TLB_SETS; k++)
    for (int w = 0; w < 6; w++)
      if (ways[w][k * TLB_SIZE + i].tag == tag) ways[w][k * TLB_SIZE + i].tag = ~0ULL;
}

static inline int data_priv(RVCPU *s) {
  if (s->priv == 3 && (s->mstatus & MSTATUS_MPRV)) return (int)((s->mstatus >> MSTATUS_MPP_SHIFT) & 3);
  return s->priv;
}

static void update_sets(RVCPU *s) {
  int dp = data_priv(s);
  s->dset = dp == 3 ? 3 : dp == 1 ? ((s->mstatus & MSTATUS_SUM) ? 2 : 1) : 0;
  s->cset = s->priv == 3 ? 3 : s->priv == 1 ? 1 : 0;
}

void rv_set_priv(RVCPU *s, int priv) {
  s->priv = priv;
  update_sets(s);
}

void rv_init(RVCPU *s, uint8_t *ram, uint64_t ram_base, uint64_t ram_size) {
  memset(s, 0, sizeof(*s));
  s->ram = ram;
  s->ram_base = ram_base;
  s->ram_size = ram_size;
  s->priv = 3;
  s->misa = (2ULL << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) |
            (1 << 20);
  s->mstatus = (2ULL << 32) | (2ULL << 34);
  s->load_res = ~0ULL;
  s->dc = calloc(DC_SLOTS, sizeof(RVDPage));
  for (int i = 0; i < DC_SLOTS; i++) s->dc[i].ppn = ~0ULL;
  rv_tlb_flush(s);
  update_sets(s);
}

static uint8_t *phys_ptr(RVCPU *s, uint64_t pa, uint64_t len) {
  if (pa >= s->ram_base && pa - s->ram_base <= s->ram_size && len <= s->ram_size - (pa - s->ram_base))
    return s->ram + (pa - s->ram_base);
  return NULL;
}

/* ---- decoded-instruction cache (see cpu.h) ---- */
#define DC_SET(s, ppn) (&(s)->dc[((ppn) & (DC_SLOTS / DC_WAYS - 1)) * DC_WAYS])

static inline void dc_drop(RVCPU *s, uint64_t ppn) {
  RVDPage *pg = DC_SET(s, ppn);
  for (int w = 0; w < DC_WAYS; w++)
    if (pg[w].ppn == ppn) {
      pg[w].ppn = ~0ULL;
      s->dc_dirty = 1;
    }
}

static void dc_drop_range(RVCPU *s, uint64_t off, uint64_t len) {
  if (!len) return;
  uint64_t first = off >> 12, last = (off + len - 1) >> 12;
  if (last - first < DC_SLOTS) {
    for (uint64_t p = first; p <= last; p++) dc_drop(s, p);
    return;
  }
  for (int i = 0; i < DC_SLOTS; i++) {
    RVDPage *pg = &s->dc[i];
    if (pg->ppn != ~0ULL && pg->ppn >= first && pg->ppn <= last) {
      pg->ppn = ~0ULL;
      s->dc_dirty = 1;
    }
  }
}

/* make a slot hold page ppn; keeps "no cached page is in the write TLB" */
static __attribute__((noinline)) RVDPage *dc_fill(RVCPU *s, uint64_t ppn) {
  RVDPage *set = DC_SET(s, ppn), *pg = set;
  for (int w = 0; w < DC_WAYS; w++) {
    if (set[w].ppn == ~0ULL) {
      pg = &set[w];
      break;
    }
    if (set[w].stamp < pg->stamp) pg = &set[w]; /* least recently entered */
  }
  memset(pg->e, 0, sizeof(pg->e));
  pg->e[2048].op = 2; /* OP_PAGEEND */
  memset(&pg->jit, 0, sizeof(pg->jit));
  pg->ppn = ppn;
  s->dc_fills++;
  uint64_t host = (uint64_t)(uintptr_t)(s->ram + (ppn << 12));
  for (int k = 0; k < TLB_SETS; k++)
    for (int i = 0; i < TLB_SIZE; i++) {
      TLBEntry *e = &s->tlb_w[k][i], *e2 = &s->tlb_w2[k][i];
      if (e->tag + e->addend == host) e->tag = ~0ULL;
      if (e2->tag + e2->addend == host) e2->tag = ~0ULL;
    }
  return pg;
}

void rv_dc_flush(RVCPU *s) {
  memset(s->dc, 0, DC_SLOTS * sizeof(RVDPage));
  for (int i = 0; i < DC_SLOTS; i++) s->dc[i].ppn = ~0ULL;
}

uint8_t *rv_phys_ptr(RVCPU *s, uint64_t pa, uint64_t len) {
  uint8_t *p = phys_ptr(s, pa, len);
  if (p) dc_drop_range(s, pa - s->ram_base, len);
  return p;
}

/* ---- address translation ---- */
enum { ACC_R = 0, ACC_W = 1, ACC_X = 2 };

static int fault_cause(int acc) {
  return acc == ACC_X ? CAUSE_FETCH_PAGE_FAULT : acc == ACC_W ? CAUSE_STORE_PAGE_FAULT : CAUSE_LOAD_PAGE_FAULT;
}
static int access_cause(int acc) {
  return acc == ACC_X ? CAUSE_FETCH_ACCESS : acc == ACC_W ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS;
}

/* returns 0 or an exception cause */
static int translate(RVCPU *s, uint64_t va, int acc, int priv, uint64_t *pa) {
  int mode = (int)(s->satp >> 60);
  if (priv == 3 || mode == 0) {
    *pa = va;
    return 0;
  }
  int levels = mode == 8 ? 3 : 4;
  int vabits = 12 + 9 * levels;
  if ((uint64_t)((int64_t)(va << (64 - vabits)) >> (64 - vabits)) != va) return fault_cause(acc);
  uint64_t a = (s->satp & ((1ULL << 44) - 1)) << 12;
  for (int i = levels - 1; i >= 0; i--) {
    uint64_t pte_addr = a + (((va >> (12 + 9 * i)) & 511) << 3);
    uint8_t *pp = phys_ptr(s, pte_addr, 8);
    if (!pp) return access_cause(acc);
    uint64_t pte = ld64h(pp);
    if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte >> 54)) return fault_cause(acc);
    uint64_t ppn = (pte >> 10) & ((1ULL << 44) - 1);
    if (pte & (PTE_R | PTE_X)) {
      if (priv == 0 && !(pte & PTE_U)) return fault_cause(acc);
      if (priv == 1 && (pte & PTE_U) && (acc == ACC_X || !(s->mstatus & MSTATUS_SUM))) return fault_cause(acc);
      if (acc == ACC_R && !((pte & PTE_R) || ((s->mstatus & MSTATUS_MXR) && (pte & PTE_X))))
        return fault_cause(acc);
      if (acc == ACC_W && !(pte & PTE_W)) return fault_cause(acc);
      if (acc == ACC_X && !(pte & PTE_X)) return fault_cause(acc);
      if (i > 0 && (ppn & ((1ULL << (9 * i)) - 1))) return fault_cause(acc);
      uint64_t npte = pte | PTE_A | (acc == ACC_W ? PTE_D : 0);
      if (npte != pte) {
        st64h(pp, npte);
        dc_drop(s, (pte_addr - s->ram_base) >> 12);
      }
      uint64_t pgmask = (1ULL << (12 + 9 * i)) - 1;
      *pa = ((ppn << 12) & ~pgmask) | (va & pgmask);
      return 0;
    }
    a = ppn << 12;
  }
  return fault_cause(acc);
}

/* translate and, for RAM, fill the TLB. Returns 0 and host pointer (or NULL + *pa for MMIO). */
static int tlb_fill(RVCPU *s, uint64_t va, int acc, uint8_t **host, uint64_t *pa_out) {
  int set = acc == ACC_X ? s->cset : s->dset;
  unsigned i = (va >> 12) & (TLB_SIZE - 1);
  TLBEntry *e = (acc == ACC_X ? s->tlb_x[set] : acc == ACC_W ? s->tlb_w[set] : s->tlb_r[set]) + i;
  TLBEntry *e2 = (acc == ACC_X ? s->tlb_x2[set] : acc == ACC_W ? s->tlb_w2[set] : s->tlb_r2[set]) + i;
  if (e2->tag == (va & ~0xfffULL)) {
    /* the second way has it (RAM only; never a decoded page for writes): swap the ways */
    TLBEntry t = *e;
    *e = *e2;
    *e2 = t;
    uint8_t *h = (uint8_t *)(uintptr_t)(va + e->addend);
    *host = h;
    *pa_out = s->ram_base + (uint64_t)(h - s->ram);
    return 0;
  }
  s->tlb_fills++;
  int priv = acc == ACC_X ? s->priv : data_priv(s);
  uint64_t pa;
  int c = translate(s, va, acc, priv, &pa);
  if (c) return c;
  *pa_out = pa;
  uint8_t *h = phys_ptr(s, pa & ~0xfffULL, 4096);
  if (!h) {
    *host = NULL;
    return 0;
  }
  if (acc == ACC_W) dc_drop(s, (pa - s->ram_base) >> 12);
  if (e->tag != ~0ULL) *e2 = *e;
  e->tag = va & ~0xfffULL;
  e->addend = (uint64_t)(uintptr_t)h - (va & ~0xfffULL);
  *host = h + (va & 0xfff);
  return 0;
}

static int load_slow(RVCPU *s, uint64_t va, int size, uint64_t *val, uint64_t *tval) {
  s->slow_accesses++;
  if (va & (size - 1)) {
    /* misaligned: byte by byte (handled in "hardware") */
    uint64_t v = 0;
    for (int i = 0; i < size; i++) {
      uint64_t b;
      int c = load_slow(s, va + i, 1, &b, tval);
      if (c) return c;
      v |= b << (8 * i);
    }
    *val = v;
    return 0;
  }
  uint8_t *h;
  uint64_t pa;
  int c = tlb_fill(s, va, ACC_R, &h, &pa);
  if (c) {
    *tval = va;
    return c;
  }
  if (h) {
    switch (size) {
    case 1: *val = *h; break;
    case 2: *val = ld16h(h); break;
    case 4: *val = ld32h(h); break;
    default: *val = ld64h(h); break;
    }
    return 0;
  }
  if (rv_mmio_read(s, pa, size, val)) {
    *tval = va;
    return CAUSE_LOAD_ACCESS;
  }
  return 0;
}

static int store_slow(RVCPU *s, uint64_t va, int size, uint64_t val, uint64_t *tval) {
  s->slow_accesses++;
  if (va & (size - 1)) {
    /* check every byte first so a faulting store changes nothing */
    for (int i = 0; i < size; i++) {
      uint8_t *h;
      uint64_t pa;
      int c = tlb_fill(s, va + i, ACC_W, &h, &pa);
      if (c) {
        *tval = va + i;
        return c;
      }
    }
    for (int i = 0; i < size; i++) {
      int c = store_slow(s, va + i, 1, (val >> (8 * i)) & 0xff, tval);
      if (c) return c;
    }
    return 0;
  }
  uint8_t *h;
  uint64_t pa;
  int c = tlb_fill(s, va, ACC_W, &h, &pa);
  if (c) {
    *tval = va;
    return c;
  }
  if (h) {
    switch (size) {
    case 1: *h = (uint8_t)val; break;
    case 2: st16h(h, (uint16_t)val); break;
    case 4: st32h(h, (uint32_t)val); break;
    default: st64h(h, val); break;
    }
    return 0;
  }
  if (rv_mmio_write(s, pa, size, val)) {
    *tval = va;
    return CAUSE_STORE_ACCESS;
  }
  return 0;
}

/* host pointer for an aligned read-modify-write (AMO, SC) */
static int amo_ptr(RVCPU *s, uint64_t va, int size, uint8_t **hp, uint64_t *tval) {
  *tval = va;
  if (va & (size - 1)) return CAUSE_MISALIGNED_STORE;
  TLBEntry *e = &s->tlb_w[s->dset][(va >> 12) & (TLB_SIZE - 1)];
  if (likely(e->tag == (va & ~0xfffULL))) {
    *hp = (uint8_t *)(uintptr_t)(va + e->addend);
    return 0;
  }
  uint64_t pa;
  int c = tlb_fill(s, va, ACC_W, hp, &pa);
  if (c) return c;
  if (!*hp) return CAUSE_STORE_ACCESS;
  return 0;
}

#define LOAD_FAST(type, size, va, out)                                                            \
  do {                                                                                            \
    uint64_t va_ = (va);                                                                          \
    TLBEntry *e_ = &tlbr[(va_ >> 12) & (TLB_SIZE - 1)];                              \
    if (likely(e_->tag == (va_ & ~(uint64_t)(0xfff ^ (size - 1))))) {                             \
      type t_;                                                                                    \
      memcpy(&t_, (void *)(uintptr_t)(va_ + e_->addend), size);                                   \
      out = t_;                                                                                   \
    } else {                                                                                      \
      uint64_t v_;                                                                                \
      int c_ = load_slow(s, va_, size, &v_, &tval);                                               \
      if (c_) {                                                                                   \
        cause = c_;                                                                               \
        goto exception;                                                                           \
      }                                                                                           \
      out = (type)v_;                                                                             \
    }                                                                                             \
  } while (0)

#define STORE_FAST(type, size, va, val)                                                           \
  do {                                                                                            \
    uint64_t va_ = (va);                                                                          \
    TLBEntry *e_ = &tlbw[(va_ >> 12) & (TLB_SIZE - 1)];                              \
    if (likely(e_->tag == (va_ & ~(uint64_t)(0xfff ^ (size - 1))))) {                             \
      type t_ = (type)(val);                                                                      \
      memcpy((void *)(uintptr_t)(va_ + e_->addend), &t_, size);                                   \
    } else {                                                                                      \
      int c_ = store_slow(s, va_, size, (uint64_t)(val), &tval);                                  \
      if (c_) {                                                                                   \
        cause = c_;                                                                               \
        goto exception;                                                                           \
      }                                                                                           \
    }                                                                                             \
  } while (0)

/* ---- traps ---- */
static void do_trap(RVCPU *s, uint64_t cause, uint64_t tval) {
  int irq = (int64_t)cause < 0;
  unsigned code = (unsigned)(cause & 63);
  int deleg = s->priv <= 1 && (((irq ? s->mideleg : s->medeleg) >> code) & 1);
  if (deleg) {
    s->scause = cause;
    s->sepc = s->pc;
    s->stval = tval;
    uint64_t st = s->mstatus;
    st = (st & ~MSTATUS_SPIE) | ((st & MSTATUS_SIE) ? MSTATUS_SPIE : 0);
    st = (st & ~MSTATUS_SPP) | (s->priv ? MSTATUS_SPP : 0);
    st &= ~MSTATUS_SIE;
    s->mstatus = st;
    s->priv = 1;
    s->pc = (s->stvec & ~3ULL) + ((irq && (s->stvec & 1)) ? 4 * code : 0);
  } else {
    if (s->user_syscalls && s->priv == 0) s->stop = 1; /* test harness: report the first trap */
    s->mcause = cause;
    s->mepc = s->pc;
    s->mtval = tval;
    uint64_t st = s->mstatus;
    st = (st & ~MSTATUS_MPIE) | ((st & MSTATUS_MIE) ? MSTATUS_MPIE : 0);
    st = (st & ~MSTATUS_MPP) | ((uint64_t)s->priv << MSTATUS_MPP_SHIFT);
    st &= ~MSTATUS_MIE;
    s->mstatus = st;
    s->priv = 3;
    s->pc = (s->mtvec & ~3ULL) + ((irq && (s->mtvec & 1)) ? 4 * code : 0);
  }
  update_sets(s);
}

static int pending_irq(RVCPU *s) {
  uint64_t pend = s->mip & s->mie;
  if (!pend) return -1;
  uint64_t en = 0;
  if (s->priv < 3 || (s->mstatus & MSTATUS_MIE)) en = pend & ~s->mideleg;
  if (!en && (s->priv < 1 || (s->priv == 1 && (s->mstatus & MSTATUS_SIE)))) en = pend & s->mideleg;
  if (!en) return -1;
  static const int order[6] = {IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI};
  for (int i = 0; i < 6; i++)
    if (en & (1ULL << order[i])) return order[i];
  return -1;
}

int rv_check_irq(RVCPU *s) {
  int irq = pending_irq(s);
  if (irq < 0) return 0;
  s->wfi = 0;
  do_trap(s, (1ULL << 63) | (uint64_t)irq, 0);
  return 1;
}

void rv_set_mip(RVCPU *s, uint64_t mask, int level) {
  if (level) s->mip |= mask;
  else s->mip &= ~mask;
  if (s->mip & s->mie) s->wfi = 0;
}

/* ---- CSRs ---- */
static inline int fs_off(RVCPU *s) { return (s->mstatus & MSTATUS_FS) == 0; }
static inline void fs_dirty(RVCPU *s) { s->mstatus |= MSTATUS_FS | MSTATUS_SD; }

static uint64_t get_mstatus(RVCPU *s, uint64_t mask) {
  uint64_t v = s->mstatus & ~MSTATUS_SD;
  if ((v & MSTATUS_FS) == MSTATUS_FS) v |= MSTATUS_SD;
  return v & mask;
}

static void set_mstatus(RVCPU *s, uint64_t val, uint64_t mask) {
  uint64_t old = s->mstatus;
  uint64_t nv = (old & ~mask) | (val & mask);
  if (((nv >> MSTATUS_MPP_SHIFT) & 3) == 2) nv &= ~MSTATUS_MPP;
  nv = (nv & ~(MSTATUS_UXL | MSTATUS_SXL)) | (2ULL << 32) | (2ULL << 34);
  s->mstatus = nv;
  if ((old ^ nv) & MSTATUS_MXR) rv_tlb_flush(s);
  update_sets(s);
}

/* returns 0 ok, -1 illegal */
static int csr_read(RVCPU *s, unsigned csr, uint64_t *v, uint64_t executed) {
  if (((csr >> 8) & 3) > (unsigned)s->priv) return -1;
  switch (csr) {
  case 0x001: if (fs_off(s)) return -1; *v = s->fflags; break;
  case 0x002: if (fs_off(s)) return -1; *v = s->frm; break;
  case 0x003: if (fs_off(s)) return -1; *v = s->fflags | (s->frm << 5); break;
  case 0xc00: case 0xc02: case 0xb00: case 0xb02: *v = s->cycles + executed; break;
  case 0xc01: *v = rv_get_mtime(s); break;
  case 0x100: *v = get_mstatus(s, SSTATUS_MASK); break;
  case 0x104: *v = s->mie & s->mideleg; break;
  case 0x105: *v = s->stvec; break;
  case 0x106: *v = s->scounteren; break;
  case 0x10a: *v = 0; break;
  case 0x140: *v = s->sscratch; break;
  case 0x141: *v = s->sepc; break;
  case 0x142: *v = s->scause; break;
  case 0x143: *v = s->stval; break;
  case 0x144: *v = s->mip & s->mideleg; break;
  case 0x180:
    if (s->priv == 1 && (s->mstatus & MSTATUS_TVM)) return -1;
    *v = s->satp;
    break;
  case 0x300: *v = get_mstatus(s, ~0ULL); break;
  case 0x301: *v = s->misa; break;
  case 0x302: *v = s->medeleg; break;
  case 0x303: *v = s->mideleg; break;
  case 0x304: *v = s->mie; break;
  case 0x305: *v = s->mtvec; break;
  case 0x306: *v = s->mcounteren; break;
  case 0x30a: *v = 0; break;
  case 0x320: *v = 0; break;
  case 0x340: *v = s->mscratch; break;
  case 0x341: *v = s->mepc; break;
  case 0x342: *v = s->mcause; break;
  case 0x343: *v = s->mtval; break;
  case 0x344: *v = s->mip; break;
  case 0xf11: case 0xf12: case 0xf13: case 0xf14: case 0xf15: *v = 0; break;
  default:
    if ((csr >= 0x3a0 && csr <= 0x3ef) || (csr >= 0x323 && csr <= 0x33f) || (csr >= 0xb03 && csr <= 0xb1f) ||
        (csr >= 0xc03 && csr <= 0xc1f)) {
      *v = 0;
      break;
    }
    return -1;
  }
  return 0;
}

/* returns 0 ok, -1 illegal; *flush set when translation/interrupt state may have changed */
static int csr_write(RVCPU *s, unsigned csr, uint64_t v) {
  if (((csr >> 8) & 3) > (unsigned)s->priv || (csr >> 10) == 3) return -1;
  switch (csr) {
  case 0x001: if (fs_off(s)) return -1; s->fflags = v & 31; fs_dirty(s); break;
  case 0x002: if (fs_off(s)) return -1; s->frm = v & 7; fs_dirty(s); break;
  case 0x003: if (fs_off(s)) return -1; s->fflags = v & 31; s->frm = (v >> 5) & 7; fs_dirty(s); break;
  case 0x100: set_mstatus(s, v, SSTATUS_MASK & ~(MSTATUS_SD | MSTATUS_UXL)); break;
  case 0x104: s->mie = (s->mie & ~s->mideleg) | (v & s->mideleg); break;
  case 0x105: s->stvec = v & ~2ULL; break;
  case 0x106: s->scounteren = v & 0xffffffff; break;
  case 0x10a: break;
  case 0x140: s->sscratch = v; break;
  case 0x141: s->sepc = v & ~1ULL; break;
  case 0x142: s->scause = v; break;
  case 0x143: s->stval = v; break;
  case 0x144: s->mip = (s->mip & ~(MIP_SSIP & s->mideleg)) | (v & MIP_SSIP & s->mideleg); break;
  case 0x180: {
    if (s->priv == 1 && (s->mstatus & MSTATUS_TVM)) return -1;
    uint64_t mode = v >> 60;
    if (mode != 0 && mode != 8 && mode != 9) break;
    s->satp = (mode << 60) | (v & ((1ULL << 44) - 1));
    rv_tlb_flush(s);
    break;
  }
  case 0x300: set_mstatus(s, v, MSTATUS_WMASK); break;
  case 0x301: break;
  case 0x302: s->medeleg = v & 0xb3ff; break;
  case 0x303: s->mideleg = v & 0x222; break;
  case 0x304: s->mie = v & 0xaaa; break;
  case 0x305: s->mtvec = v & ~2ULL; break;
  case 0x306: s->mcounteren = v & 0xffffffff; break;
  case 0x30a: case 0x320: break;
  case 0x340: s->mscratch = v; break;
  case 0x341: s->mepc = v & ~1ULL; break;
  case 0x342: s->mcause = v; break;
  case 0x343: s->mtval = v; break;
  case 0x344: s->mip = (s->mip & ~0x222ULL) | (v & 0x222); break;
  case 0xb00: case 0xb02: s->cycles = v; break;
  default:
    if ((csr >= 0x3a0 && csr <= 0x3ef) || (csr >= 0x323 && csr <= 0x33f) || (csr >= 0xb03 && csr <= 0xb1f))
      break;
    return -1;
  }
  return 0;
}

/* ---- floating point helpers ---- */
static inline uint64_t unbox_s(uint64_t v) { return (v >> 32) == 0xffffffffULL ? (v & 0xffffffffULL) : 0x7fc00000ULL; }
static inline uint64_t box_s(uint64_t v) { return v | 0xffffffff00000000ULL; }

static inline int64_t sext32(uint64_t v) { return (int64_t)(int32_t)(uint32_t)v; }

static inline uint64_t mulh64(int64_t a, int64_t b) { return (uint64_t)(((__int128)a * b) >> 64); }
static inline uint64_t mulhu64(uint64_t a, uint64_t b) {
  return (uint64_t)(((unsigned __int128)a * b) >> 64);
}
static inline uint64_t mulhsu64(int64_t a, uint64_t b) {
  return (uint64_t)(((__int128)a * (__int128)(unsigned __int128)b) >> 64);
}


/* F/D arithmetic (OP-FP and fused multiply-add): 0 done, -1 illegal. Kept out of rv_run so that
 * the interpreter loop stays small enough for the wasm engines' optimizing tiers. */
static __attribute__((noinline)) int exec_fp(RVCPU *s, uint32_t insn) {
  uint64_t *const x = s->x;
  unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
  unsigned f3 = (insn >> 12) & 7;
  switch (insn & 0x7f) {
      case 0x43: case 0x47: case 0x4b: case 0x4f: {
        if (fs_off(s)) return -1;
        unsigned fmt = (insn >> 25) & 3, rs3 = insn >> 27;
        unsigned rm = f3 == 7 ? s->frm : f3;
        if (rm > 4 || fmt > 1) return -1;
        int op = (insn >> 2) & 3; /* 0 fmadd, 1 fmsub, 2 fnmsub, 3 fnmadd */
        uint32_t fl = 0;
        if (fmt == 0) {
          uint64_t r = sf_fma(0, unbox_s(s->f[rs1]), unbox_s(s->f[rs2]), unbox_s(s->f[rs3]), op >= 2,
                              op == 1 || op == 3, (int)rm, &fl);
          s->f[rd] = box_s(r);
        } else {
          s->f[rd] = sf_fma(1, s->f[rs1], s->f[rs2], s->f[rs3], op >= 2, op == 1 || op == 3, (int)rm, &fl);
        }
        s->fflags |= fl;
        fs_dirty(s);
        break;
      }
      case 0x53: {
        if (fs_off(s)) return -1;
        unsigned f7 = insn >> 25, fmt = f7 & 3;
        unsigned rm = f3 == 7 ? s->frm : f3;
        uint32_t fl = 0;
        if (fmt > 1) return -1;
        uint64_t a = fmt ? s->f[rs1] : unbox_s(s->f[rs1]);
        uint64_t b = fmt ? s->f[rs2] : unbox_s(s->f[rs2]);
        uint64_t r;
        int to_x = 0;
        switch (f7 >> 2) {
        case 0x00: if (rm > 4) return -1; r = sf_add((int)fmt, a, b, (int)rm, &fl); break;
        case 0x01: if (rm > 4) return -1; r = sf_sub((int)fmt, a, b, (int)rm, &fl); break;
        case 0x02: if (rm > 4) return -1; r = sf_mul((int)fmt, a, b, (int)rm, &fl); break;
        case 0x03: if (rm > 4) return -1; r = sf_div((int)fmt, a, b, (int)rm, &fl); break;
        case 0x0b:
          if (rm > 4 || rs2) return -1;
          r = sf_sqrt((int)fmt, a, (int)rm, &fl);
          break;
        case 0x04: {
          uint64_t sb = fmt ? 1ULL << 63 : 1ULL << 31;
          if (f3 == 0) r = (a & ~sb) | (b & sb);
          else if (f3 == 1) r = (a & ~sb) | (~b & sb);
          else if (f3 == 2) r = a ^ (b & sb);
          else return -1;
          break;
        }
        case 0x05:
          if (f3 == 0) r = sf_min((int)fmt, a, b, &fl);
          else if (f3 == 1) r = sf_max((int)fmt, a, b, &fl);
          else return -1;
          break;
        case 0x08:
          if (rm > 4) return -1;
          if (fmt == 0 && rs2 == 1) r = sf_cvt(0, 1, s->f[rs1], (int)rm, &fl);
          else if (fmt == 1 && rs2 == 0) r = sf_cvt(1, 0, unbox_s(s->f[rs1]), (int)rm, &fl);
          else return -1;
          break;
        case 0x14:
          to_x = 1;
          if (f3 == 0) r = (uint64_t)sf_le((int)fmt, a, b, &fl);
          else if (f3 == 1) r = (uint64_t)sf_lt((int)fmt, a, b, &fl);
          else if (f3 == 2) r = (uint64_t)sf_eq((int)fmt, a, b, &fl);
          else return -1;
          break;
        case 0x18:
          if (rm > 4 || rs2 > 3) return -1;
          to_x = 1;
          r = sf_to_int((int)fmt, a, rs2 >= 2, rs2 & 1, (int)rm, &fl);
          break;
        case 0x1a:
          if (rm > 4 || rs2 > 3) return -1;
          r = sf_from_int((int)fmt, x[rs1], rs2 >= 2, rs2 & 1, (int)rm, &fl);
          break;
        case 0x1c:
          if (rs2) return -1;
          to_x = 1;
          if (f3 == 0) r = fmt ? s->f[rs1] : (uint64_t)sext32(s->f[rs1]);
          else if (f3 == 1) r = sf_classify((int)fmt, a);
          else return -1;
          break;
        case 0x1e:
          if (rs2 || f3) return -1;
          r = fmt ? x[rs1] : (x[rs1] & 0xffffffffULL);
          break;
        default: return -1;
        }
        if (to_x) {
          x[rd] = r;
        } else {
          s->f[rd] = fmt ? r : box_s(r);
          fs_dirty(s);
        }
        s->fflags |= fl;
        if (fl) fs_dirty(s);
        break;
      }
  default:
    return -1;
  }
  return 0;
}

/* A extension: 0 done, -1 illegal, else an exception cause (tval set) */
static __attribute__((noinline)) int exec_amo(RVCPU *s, uint32_t insn, uint64_t *tvalp) {
  uint64_t *const x = s->x;
  unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
  unsigned f3 = (insn >> 12) & 7;
  uint64_t tval = 0;
  uint64_t cause;
  TLBEntry *tlbr = s->tlb_r[s->dset];
  switch (insn & 0x7f) {
      case 0x2f: {
        unsigned f5 = insn >> 27;
        uint64_t a = x[rs1];
        uint8_t *hp;
        if (f3 == 2) {
          if (f5 == 2) {
            if (rs2) return -1;
            if (a & 3) { cause = CAUSE_MISALIGNED_LOAD; tval = a; { *tvalp = tval; return (int)cause; } }
            int32_t t;
            LOAD_FAST(int32_t, 4, a, t);
            s->load_res = a;
            x[rd] = (uint64_t)(int64_t)t;
            break;
          }
          if (f5 == 3 && s->load_res != a && !(a & 3)) {
            x[rd] = 1;
            s->load_res = ~0ULL;
            break;
          }
          int c = amo_ptr(s, a, 4, &hp, &tval);
          if (c) { cause = (uint64_t)c; { *tvalp = tval; return (int)cause; } }
          if (f5 == 3) {
            if (s->load_res == a) {
              st32h(hp, (uint32_t)x[rs2]);
              x[rd] = 0;
            } else {
              x[rd] = 1;
            }
            s->load_res = ~0ULL;
            break;
          }
          uint32_t old = ld32h(hp), b = (uint32_t)x[rs2], r;
          switch (f5) {
          case 0x01: r = b; break;
          case 0x00: r = old + b; break;
          case 0x04: r = old ^ b; break;
          case 0x0c: r = old & b; break;
          case 0x08: r = old | b; break;
          case 0x10: r = (int32_t)old < (int32_t)b ? old : b; break;
          case 0x14: r = (int32_t)old > (int32_t)b ? old : b; break;
          case 0x18: r = old < b ? old : b; break;
          case 0x1c: r = old > b ? old : b; break;
          default: return -1;
          }
          st32h(hp, r);
          x[rd] = sext32(old);
        } else if (f3 == 3) {
          if (f5 == 2) {
            if (rs2) return -1;
            if (a & 7) { cause = CAUSE_MISALIGNED_LOAD; tval = a; { *tvalp = tval; return (int)cause; } }
            uint64_t t;
            LOAD_FAST(uint64_t, 8, a, t);
            s->load_res = a;
            x[rd] = t;
            break;
          }
          if (f5 == 3 && s->load_res != a && !(a & 7)) {
            x[rd] = 1;
            s->load_res = ~0ULL;
            break;
          }
          int c = amo_ptr(s, a, 8, &hp, &tval);
          if (c) { cause = (uint64_t)c; { *tvalp = tval; return (int)cause; } }
          if (f5 == 3) {
            if (s->load_res == a) {
              st64h(hp, x[rs2]);
              x[rd] = 0;
            } else {
              x[rd] = 1;
            }
            s->load_res = ~0ULL;
            break;
          }
          uint64_t old = ld64h(hp), b = x[rs2], r;
          switch (f5) {
          case 0x01: r = b; break;
          case 0x00: r = old + b; break;
          case 0x04: r = old ^ b; break;
          case 0x0c: r = old & b; break;
          case 0x08: r = old | b; break;
          case 0x10: r = (int64_t)old < (int64_t)b ? old : b; break;
          case 0x14: r = (int64_t)old > (int64_t)b ? old : b; break;
          case 0x18: r = old < b ? old : b; break;
          case 0x1c: r = old > b ? old : b; break;
          default: return -1;
          }
          st64h(hp, r);
          x[rd] = old;
        } else {
          return -1;
        }
        break;
      }
  default:
    return -1;
  }
  return 0;
exception:
  *tvalp = tval;
  return (int)cause;
}

/* ---- decoder: one guest instruction -> RVDInsn (a pure function of its bits) ---- */
/* RV_PROFILE builds (make native-profile) count executed entries by op and by pair of
 * consecutive ops, printed by rv_profile_dump: what to fuse next, where time goes. */
#ifdef RV_PROFILE
static const char *const op_names[] = {
#define RV_OP_NAME(n) #n,
    RV_OPS(RV_OP_NAME)
};
static uint64_t prof_ops[OP_COUNT], prof_pairs[OP_COUNT][OP_COUNT];
#define PROFILE_STEP(prev, op) (prof_ops[op]++, prof_pairs[prev][op]++, (prev) = (op))

struct prof_row { uint64_t n; int a, b; };
static int prof_cmp(const void *x, const void *y) {
  uint64_t p = ((const struct prof_row *)x)->n, q = ((const struct prof_row *)y)->n;
  return p < q ? 1 : p > q ? -1 : 0;
}
void rv_profile_dump(FILE *f) {
  static struct prof_row rows[OP_COUNT * OP_COUNT];
  uint64_t total = 0;
  int k = 0;
  for (int a = 0; a < OP_COUNT; a++) {
    total += prof_ops[a];
    rows[k++] = (struct prof_row){prof_ops[a], a, -1};
  }
  qsort(rows, OP_COUNT, sizeof(rows[0]), prof_cmp);
  fprintf(f, "ops (%llu entries run):\n", (unsigned long long)total);
  for (int i = 0; i < 30 && rows[i].n; i++)
    fprintf(f, "  %6.2f%%  %s\n", 100.0 * rows[i].n / total, op_names[rows[i].a]);
  k = 0;
  for (int a = 0; a < OP_COUNT; a++)
    for (int b = 0; b < OP_COUNT; b++) rows[k++] = (struct prof_row){prof_pairs[a][b], a, b};
  qsort(rows, k, sizeof(rows[0]), prof_cmp);
  fprintf(f, "pairs:\n");
  for (int i = 0; i < 40 && rows[i].n; i++)
    fprintf(f, "  %6.2f%%  %s %s\n", 100.0 * rows[i].n / total, op_names[rows[i].a], op_names[rows[i].b]);
}
#else
#define PROFILE_STEP(prev, op) ((void)0)
void rv_profile_dump(FILE *f) { (void)f; }
#endif

static inline void dset(RVDInsn *d, int op, unsigned rd, unsigned rs1, unsigned rs2, int32_t imm) {
  d->op = (uint8_t)op;
  d->rd = (uint8_t)rd;
  d->rs1 = (uint8_t)rs1;
  d->rs2 = (uint8_t)rs2;
  d->imm = imm;
}

static void decode32(uint32_t insn, RVDInsn *d) {
  unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
  unsigned f3 = (insn >> 12) & 7, f7 = insn >> 25;
  int32_t immi = (int32_t)insn >> 20;
  int op = OP_ILLEGAL;
  int32_t imm = immi;
  switch (insn & 0x7f) {
  case 0x37: op = OP_LI; imm = (int32_t)(insn & 0xfffff000); break;
  case 0x17: op = OP_AUIPC; imm = (int32_t)(insn & 0xfffff000); break;
  case 0x6f:
    op = OP_JAL;
    imm = ((int32_t)insn >> 31 << 20) | (int32_t)(insn & 0xff000) | (int32_t)((insn >> 9) & 0x800) |
          (int32_t)((insn >> 20) & 0x7fe);
    break;
  case 0x67: if (!f3) op = OP_JALR; break;
  case 0x63: {
    static const uint8_t ops[8] = {OP_BEQ, OP_BNE, OP_ILLEGAL, OP_ILLEGAL, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU};
    op = ops[f3];
    imm = ((int32_t)insn >> 31 << 12) | (int32_t)((insn << 4) & 0x800) | (int32_t)((insn >> 20) & 0x7e0) |
          (int32_t)((insn >> 7) & 0x1e);
    break;
  }
  case 0x03: {
    static const uint8_t ops[8] = {OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_ILLEGAL};
    op = ops[f3];
    break;
  }
  case 0x23:
    if (f3 <= 3) op = OP_SB + (int)f3;
    imm = ((int32_t)insn >> 25 << 5) | (int32_t)rd;
    rd = 0;
    break;
  case 0x13:
    switch (f3) {
    case 0: op = OP_ADDI; break;
    case 1: if ((insn >> 26) == 0) { op = OP_SLLI; imm &= 63; } break;
    case 2: op = OP_SLTI; break;
    case 3: op = OP_SLTIU; break;
    case 4: op = OP_XORI; break;
    case 5:
      if ((insn >> 26) == 0) op = OP_SRLI;
      else if ((insn >> 26) == 0x10) op = OP_SRAI;
      imm &= 63;
      break;
    case 6: op = OP_ORI; break;
    default: op = OP_ANDI; break;
    }
    break;
  case 0x1b:
    if (f3 == 0) op = OP_ADDIW;
    else if (f3 == 1 && f7 == 0) op = OP_SLLIW;
    else if (f3 == 5 && f7 == 0) op = OP_SRLIW;
    else if (f3 == 5 && f7 == 0x20) op = OP_SRAIW;
    if (f3) imm = (int32_t)rs2;
    break;
  case 0x33:
    switch (f7 << 3 | f3) {
    case 0x000: op = OP_ADD; break;
    case 0x100: op = OP_SUB; break;
    case 0x001: op = OP_SLL; break;
    case 0x002: op = OP_SLT; break;
    case 0x003: op = OP_SLTU; break;
    case 0x004: op = OP_XOR; break;
    case 0x005: op = OP_SRL; break;
    case 0x105: op = OP_SRA; break;
    case 0x006: op = OP_OR; break;
    case 0x007: op = OP_AND; break;
    case 0x008: op = OP_MUL; break;
    case 0x009: op = OP_MULH; break;
    case 0x00a: op = OP_MULHSU; break;
    case 0x00b: op = OP_MULHU; break;
    case 0x00c: op = OP_DIV; break;
    case 0x00d: op = OP_DIVU; break;
    case 0x00e: op = OP_REM; break;
    case 0x00f: op = OP_REMU; break;
    }
    break;
  case 0x3b:
    switch (f7 << 3 | f3) {
    case 0x000: op = OP_ADDW; break;
    case 0x100: op = OP_SUBW; break;
    case 0x001: op = OP_SLLW; break;
    case 0x005: op = OP_SRLW; break;
    case 0x105: op = OP_SRAW; break;
    case 0x008: op = OP_MULW; break;
    case 0x00c: op = OP_DIVW; break;
    case 0x00d: op = OP_DIVUW; break;
    case 0x00e: op = OP_REMW; break;
    case 0x00f: op = OP_REMUW; break;
    }
    break;
  case 0x0f: if (f3 <= 1) op = OP_FENCE; break;
  case 0x2f: op = OP_AMO; break;
  case 0x73: op = OP_SYSTEM; break;
  case 0x07:
    if (f3 == 2) op = OP_FLW;
    else if (f3 == 3) op = OP_FLD;
    break;
  case 0x27:
    if (f3 == 2) op = OP_FSW;
    else if (f3 == 3) op = OP_FSD;
    imm = ((int32_t)insn >> 25 << 5) | (int32_t)rd;
    rd = 0;
    break;
  case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53: op = OP_FP; break;
  }
  dset(d, op, rd, rs1, rs2, imm);
}

static void decode16(uint32_t insn, RVDInsn *d) {
  unsigned rdp = 8 + ((insn >> 2) & 7), rs1p = 8 + ((insn >> 7) & 7);
  unsigned rd = (insn >> 7) & 31, rs2 = (insn >> 2) & 31;
  int32_t imm6 = (int32_t)((((insn >> 7) & 0x20) | ((insn >> 2) & 0x1f)) << 26) >> 26;
  dset(d, OP_ILLEGAL, 0, 0, 0, 0);
  switch (((insn >> 13) << 2) | (insn & 3)) {
  case 0x00: { /* c.addi4spn */
    uint32_t imm = ((insn >> 7) & 0x30) | ((insn >> 1) & 0x3c0) | ((insn >> 4) & 4) | ((insn >> 2) & 8);
    if (imm) dset(d, OP_ADDI, rdp, 2, 0, (int32_t)imm);
    break;
  }
  case 0x04: dset(d, OP_FLD, rdp, rs1p, 0, (int32_t)(((insn >> 7) & 0x38) | ((insn << 1) & 0xc0))); break;
  case 0x08:
    dset(d, OP_LW, rdp, rs1p, 0, (int32_t)(((insn >> 7) & 0x38) | ((insn >> 4) & 4) | ((insn << 1) & 0x40)));
    break;
  case 0x0c: dset(d, OP_LD, rdp, rs1p, 0, (int32_t)(((insn >> 7) & 0x38) | ((insn << 1) & 0xc0))); break;
  case 0x14: dset(d, OP_FSD, 0, rs1p, rdp, (int32_t)(((insn >> 7) & 0x38) | ((insn << 1) & 0xc0))); break;
  case 0x18:
    dset(d, OP_SW, 0, rs1p, rdp, (int32_t)(((insn >> 7) & 0x38) | ((insn >> 4) & 4) | ((insn << 1) & 0x40)));
    break;
  case 0x1c: dset(d, OP_SD, 0, rs1p, rdp, (int32_t)(((insn >> 7) & 0x38) | ((insn << 1) & 0xc0))); break;
  case 0x01: dset(d, OP_ADDI, rd, rd, 0, imm6); break;
  case 0x05: if (rd) dset(d, OP_ADDIW, rd, rd, 0, imm6); break;
  case 0x09: dset(d, OP_LI, rd, 0, 0, imm6); break;
  case 0x0d:
    if (rd == 2) { /* c.addi16sp */
      uint32_t u = ((insn >> 3) & 0x200) | ((insn >> 2) & 0x10) | ((insn << 1) & 0x40) | ((insn << 4) & 0x180) |
                   ((insn << 3) & 0x20);
      int32_t imm = (int32_t)(u << 22) >> 22;
      if (imm) dset(d, OP_ADDI, 2, 2, 0, imm);
    } else { /* c.lui */
      int32_t imm = (int32_t)((((insn << 5) & 0x20000) | ((insn << 10) & 0x1f000)) << 14) >> 14;
      if (imm) dset(d, OP_LI, rd, 0, 0, imm);
    }
    break;
  case 0x11: {
    unsigned f2 = (insn >> 10) & 3;
    int32_t sh = (int32_t)(((insn >> 7) & 0x20) | ((insn >> 2) & 0x1f));
    if (f2 == 0) dset(d, OP_SRLI, rs1p, rs1p, 0, sh);
    else if (f2 == 1) dset(d, OP_SRAI, rs1p, rs1p, 0, sh);
    else if (f2 == 2) dset(d, OP_ANDI, rs1p, rs1p, 0, imm6);
    else {
      static const uint8_t ops[8] = {OP_SUB, OP_XOR, OP_OR, OP_AND, OP_SUBW, OP_ADDW, OP_ILLEGAL, OP_ILLEGAL};
      dset(d, ops[((insn >> 10) & 4) | ((insn >> 5) & 3)], rs1p, rs1p, rdp, 0);
    }
    break;
  }
  case 0x15: { /* c.j */
    uint32_t u = ((insn >> 1) & 0x800) | ((insn >> 7) & 0x10) | ((insn >> 1) & 0x300) | ((insn << 2) & 0x400) |
                 ((insn >> 1) & 0x40) | ((insn << 1) & 0x80) | ((insn >> 2) & 0xe) | ((insn << 3) & 0x20);
    dset(d, OP_JAL, 0, 0, 0, (int32_t)(u << 20) >> 20);
    break;
  }
  case 0x19: case 0x1d: { /* c.beqz, c.bnez */
    uint32_t u = ((insn >> 4) & 0x100) | ((insn >> 7) & 0x18) | ((insn << 1) & 0xc0) | ((insn >> 2) & 6) |
                 ((insn << 3) & 0x20);
    dset(d, ((insn >> 13) & 1) ? OP_BNE : OP_BEQ, 0, rs1p, 0, (int32_t)(u << 23) >> 23);
    break;
  }
  case 0x02: dset(d, OP_SLLI, rd, rd, 0, (int32_t)(((insn >> 7) & 0x20) | ((insn >> 2) & 0x1f))); break;
  case 0x06:
    dset(d, OP_FLD, rd, 2, 0, (int32_t)(((insn >> 7) & 0x20) | ((insn >> 2) & 0x18) | ((insn << 4) & 0x1c0)));
    break;
  case 0x0a:
    if (rd)
      dset(d, OP_LW, rd, 2, 0, (int32_t)(((insn >> 7) & 0x20) | ((insn >> 2) & 0x1c) | ((insn << 4) & 0xc0)));
    break;
  case 0x0e:
    if (rd)
      dset(d, OP_LD, rd, 2, 0, (int32_t)(((insn >> 7) & 0x20) | ((insn >> 2) & 0x18) | ((insn << 4) & 0x1c0)));
    break;
  case 0x12:
    if (!((insn >> 12) & 1)) {
      if (rs2 == 0) {
        if (rd) dset(d, OP_JALR, 0, rd, 0, 0); /* c.jr */
      } else {
        dset(d, OP_ADD, rd, 0, rs2, 0); /* c.mv */
      }
    } else if (rs2 == 0) {
      if (rd == 0) dset(d, OP_EBREAK, 0, 0, 0, 0);
      else dset(d, OP_JALR, 1, rd, 0, 0); /* c.jalr */
    } else {
      dset(d, OP_ADD, rd, rd, rs2, 0); /* c.add */
    }
    break;
  case 0x16: dset(d, OP_FSD, 0, 2, rs2, (int32_t)(((insn >> 7) & 0x38) | ((insn >> 1) & 0x1c0))); break;
  case 0x1a: dset(d, OP_SW, 0, 2, rs2, (int32_t)(((insn >> 7) & 0x3c) | ((insn >> 1) & 0xc0))); break;
  case 0x1e: dset(d, OP_SD, 0, 2, rs2, (int32_t)(((insn >> 7) & 0x38) | ((insn >> 1) & 0x1c0))); break;
  }
}

static void decode(uint32_t insn, RVDInsn *d) {
  if ((insn & 3) == 3) {
    decode32(insn, d);
    d->len = 4;
  } else {
    decode16(insn, d);
    d->len = 2;
  }
  d->raw = insn;
}

void rv_decode(uint32_t insn, RVDInsn *d) { decode(insn, d); }

uint32_t rv_peek(const uint8_t *page, uint32_t off) {
  if (off + 2 > 4096) return 0;
  uint32_t insn = ld16h(page + off);
  if ((insn & 3) == 3) insn = off + 4 > 4096 ? 0 : ld32h(page + off);
  return insn;
}

/* Fuses the entry d (decoded from page+off) with the instructions that follow it into one
 * entry for idioms that compilers emit often: `slli t, a, k1; srli u, t, k2` (zero-extension and
 * field extraction), `slliw t, a, k1; srliw u, a, k2; or v, u, t` (32-bit rotate, e.g. in
 * sha256), two `ld` or two `sd` off one base register, two `add` or two `addw`, `lbu` or
 * `addi` followed by a `beq`/`bne`, and `auipc` followed by an `ld` off its result. The fused
 * entry runs the instructions in order and counts each (a fault in the second one is reported at
 * its own pc); jumps to the later instructions use their own entries. */
/* a two-instruction entry: the first's length (where the second's faults and branches count
 * from) and the length of both */
static inline void take_second(RVDInsn *d, const RVDInsn *b) {
  d->len1 = d->len;
  d->len += b->len;
}

static void fuse(RVDInsn *d, const uint8_t *page, uint32_t off) {
  RVDInsn b, e;
  if (d->op == OP_AUIPC && d->rd != 0) {
    /* a pc-relative load (globals, the GOT): the load's offset goes in the low 12 bits */
    decode(rv_peek(page, off + d->len), &b);
    if (b.op != OP_LD || b.rs1 != d->rd || b.rd == 0) return;
    d->op = OP_AUIPC_LD;
    d->rs2 = b.rd;
    d->imm |= b.imm & 0xfff;
    take_second(d, &b);
    return;
  }
  if ((d->op == OP_ADD || d->op == OP_ADDW) && d->rd != 0) {
    /* two register adds (sums in hashes and checksums) */
    decode(rv_peek(page, off + d->len), &b);
    if (b.op != d->op || b.rd == 0) return;
    d->op = d->op == OP_ADD ? OP_ADD_ADD : OP_ADDW_ADDW;
    d->r3 = b.rd;
    d->r4 = b.rs1;
    d->imm = b.rs2;
    take_second(d, &b);
    return;
  }
  if ((d->op == OP_LBU || d->op == OP_ADDI) && d->rd != 0) {
    /* a byte load and a test of it (string scans); a counter step and a loop test */
    decode(rv_peek(page, off + d->len), &b);
    if (b.op != OP_BEQ && b.op != OP_BNE) return;
    if (d->op == OP_LBU) {
      if (b.rs1 != d->rd && b.rs2 != d->rd) return;
      d->op = b.op == OP_BEQ ? OP_LBU_BEQ : OP_LBU_BNE;
    } else {
      d->op = b.op == OP_BEQ ? OP_ADDI_BEQ : OP_ADDI_BNE;
    }
    d->r3 = b.rs1;
    d->r4 = b.rs2;
    d->imm = (int32_t)((uint32_t)(uint16_t)d->imm | (uint32_t)b.imm << 16);
    take_second(d, &b);
    return;
  }
  if (d->op == OP_LD || d->op == OP_SD) {
    /* two loads or two stores off the same base register (prologues, epilogues, copies) */
    decode(rv_peek(page, off + d->len), &b);
    if (b.op != d->op || b.rs1 != d->rs1) return;
    if (d->op == OP_LD && (d->rd == 0 || b.rd == 0 || d->rd == d->rs1)) return;
    d->op = d->op == OP_LD ? OP_LD_LD : OP_SD_SD;
    if (d->op == OP_LD_LD) d->rs2 = b.rd;
    else d->rd = b.rs2;
    d->imm = (int32_t)((uint32_t)(uint16_t)d->imm | (uint32_t)b.imm << 16);
    take_second(d, &b);
    return;
  }
  if (d->rd == 0 || (d->op != OP_SLLI && d->op != OP_SLLIW)) return;
  decode(rv_peek(page, off + d->len), &b);
  if (d->op == OP_SLLI && b.op == OP_SRLI && b.rs1 == d->rd && b.rd != 0) {
    d->op = OP_SLLI_SRLI;
    d->rs2 = b.rd;
    d->imm |= b.imm << 8;
    d->len += b.len;
    return;
  }
  if (d->op != OP_SLLIW || b.op != OP_SRLIW || b.rs1 != d->rs1 || d->rd == d->rs1 || b.rd == 0 || b.rd == d->rd)
    return;
  decode(rv_peek(page, off + d->len + b.len), &e);
  if (e.op != OP_OR || e.rd == 0 || !((e.rs1 == d->rd && e.rs2 == b.rd) || (e.rs1 == b.rd && e.rs2 == d->rd)))
    return;
  d->op = OP_RORW;
  d->rs2 = b.rd;
  d->imm |= b.imm << 8 | e.rd << 16;
  d->len += b.len + e.len;
}

/* ---- the interpreter: dispatch on decoded entries ----
 * Only s, d (the decoded entry to run), n (budget left) and the data TLB sets are live across
 * instructions, so that the wasm engines keep them in registers. The guest pc is not kept: it
 * is dc_vpage + (d - dc_base) / 8 (16-byte entries, one per halfword), computed when needed. */
static RVDInsn newpc_insn = {.op = OP_NEWPC}; /* run from s->pc */

int rv_run(RVCPU *s, int64_t budget) {
  uint64_t *const x = s->x;
  if (budget > INT32_MAX / 4) budget = INT32_MAX / 4; /* compiled pages return it shifted, in 32 bits */
  int64_t n = budget;
  RVDInsn *d = &newpc_insn;
  uint64_t cause = 0, tval = 0;
  TLBEntry *tlbr = NULL, *tlbw = NULL;

  if (s->mip & s->mie) {
    s->wfi = 0;
    rv_check_irq(s);
  }
  if (s->wfi) return RUN_WFI;
  s->run_budget = budget;
  s->run_ret = RUN_BUDGET;

#define PC() (s->dc_vpage + (((uintptr_t)d - s->dc_base) >> 3))
/* the handlers end with `continue` (next instruction) or a jump to illegal/exception */
#define NEXT()                \
  {                           \
    d += d->len >> 1;         \
    continue;                 \
  }
#define JUMP(t)                                                       \
  {                                                                   \
    uint64_t t_ = (t);                                                \
    if (likely((t_ & ~0xfffULL) == s->dc_jpage)) {                    \
      d = (RVDInsn *)(s->dc_base + (uintptr_t)((t_ & 0xfff) << 3));   \
    } else {                                                          \
      s->pc = t_;                                                     \
      d = &newpc_insn;                                                \
    }                                                                 \
    continue;                                                         \
  }
  /* continue at pc after anything that may have changed translation, privilege or cached code */
#define RELOOKUP(p_)     \
  {                      \
    s->pc = (p_);        \
    d = &newpc_insn;     \
    continue;            \
  }
#define DIRTY_CHECK()                  \
  if (unlikely(s->dc_dirty)) {         \
    s->dc_dirty = 0;                   \
    RELOOKUP(PC() + d->len);           \
  }
#define LOAD(type, size)                                  \
  {                                                       \
    uint64_t a = x[d->rs1] + (uint64_t)(int64_t)d->imm;   \
    type t;                                               \
    LOAD_FAST(type, size, a, t);                          \
    x[d->rd] = (uint64_t)(int64_t)t;                      \
    NEXT();                                               \
  }
#define STORE(type, size, v)                                                                     \
  {                                                                                              \
    uint64_t a = x[d->rs1] + (uint64_t)(int64_t)d->imm;                                          \
    TLBEntry *e_ = &tlbw[(a >> 12) & (TLB_SIZE - 1)];                                            \
    if (likely(e_->tag == (a & ~(uint64_t)(0xfff ^ (size - 1))))) {                              \
      type t_ = (type)(v);                                                                       \
      memcpy((void *)(uintptr_t)(a + e_->addend), &t_, size);                                    \
      NEXT();                                                                                    \
    }                                                                                            \
    int c_ = store_slow(s, a, size, (uint64_t)(v), &tval);                                       \
    if (c_) {                                                                                    \
      cause = (uint64_t)c_;                                                                      \
      goto exception;                                                                            \
    }                                                                                            \
    DIRTY_CHECK();                                                                               \
    NEXT();                                                                                      \
  }
#define BRANCH(cond)                                     \
  {                                                      \
    if (cond) JUMP(PC() + (uint64_t)(int64_t)d->imm);    \
    NEXT();                                              \
  }
/* the second instruction of a fused entry: an 8-byte load at a_ into x[rs2], its fault its own */
#define SECOND_LD(a_)                                                       \
  {                                                                         \
    uint64_t a2 = (a_), v2;                                                 \
    TLBEntry *e2 = &tlbr[(a2 >> 12) & (TLB_SIZE - 1)];                      \
    if (likely(e2->tag == (a2 & ~(uint64_t)0xff8))) {                       \
      v2 = ld64h((void *)(uintptr_t)(a2 + e2->addend));                     \
    } else {                                                                \
      int c_ = load_slow(s, a2, 8, &v2, &tval);                             \
      if (c_) {                                                             \
        cause = (uint64_t)c_;                                               \
        d += d->len1 >> 1;                                                  \
        goto exception;                                                     \
      }                                                                     \
    }                                                                       \
    x[d->rs2] = v2;                                                         \
    NEXT();                                                                 \
  }
#define RD x[d->rd]
#define RS1 x[d->rs1]
#define RS2 x[d->rs2]
#define IMM ((uint64_t)(int64_t)d->imm)

#ifdef RV_PROFILE
  int prof_prev = OP_NEWPC;
#endif
  for (;;) {
  if (unlikely(n <= 0)) break;
  n--;
  x[0] = 0;
  PROFILE_STEP(prof_prev, d->op);
  switch (d->op) {
  case OP_UNDEC: {
    uint32_t off = (uint32_t)(((uintptr_t)d - s->dc_base) >> 3);
    uint32_t insn = ld16h(s->dc_host + off);
    if ((insn & 3) == 3) {
      if (unlikely(off == 0xffe)) {
        /* crosses into the next page: decoded on every run, never cached */
        uint64_t np = s->dc_vpage + 0x1000;
        uint8_t *h;
        uint64_t pa;
        TLBEntry *e = &s->tlb_x[s->cset][(np >> 12) & (TLB_SIZE - 1)];
        if (e->tag == np) {
          h = (uint8_t *)(uintptr_t)(np + e->addend);
        } else {
          int c = tlb_fill(s, np, ACC_X, &h, &pa);
          if (c || !h) {
            cause = c ? (uint64_t)c : CAUSE_FETCH_ACCESS;
            tval = np;
            goto exception;
          }
        }
        RVDInsn *xi = s->dc_cross;
        decode(insn | (uint32_t)ld16h(h) << 16, &xi[0]);
        xi[1].op = xi[2].op = OP_PAGEEND;
        /* PC() of xi[k] is dc_vpage + 0xffe + 2k; jumps go through OP_NEWPC */
        s->dc_base = (uintptr_t)xi - 2047 * sizeof(RVDInsn);
        s->dc_jpage = ~0ULL;
        d = xi;
        n++; /* not an instruction */
        continue;
      }
      insn = ld32h(s->dc_host + off);
    }
    decode(insn, d);
    fuse(d, s->dc_host, off);
    n++;
    continue;
  }
  case OP_PAGEEND: /* ran off the end of the page */
    s->pc = PC();
    /* fall through */
  case OP_NEWPC: {
    uint64_t pc = s->pc;
    uint64_t vp = pc & ~0xfffULL;
    TLBEntry *e = &s->tlb_x[s->cset][(pc >> 12) & (TLB_SIZE - 1)];
    uint8_t *h;
    tlbr = s->tlb_r[s->dset];
    tlbw = s->tlb_w[s->dset];
    if (likely(e->tag == vp)) {
      h = (uint8_t *)(uintptr_t)(vp + e->addend);
    } else {
      uint64_t pa;
      int c = tlb_fill(s, pc, ACC_X, &h, &pa);
      if (c || !h) {
        cause = c ? (uint64_t)c : CAUSE_FETCH_ACCESS;
        tval = pc;
        goto exception_pc;
      }
      h -= pc & 0xfff;
    }
    uint64_t ppn = (uint64_t)(h - s->ram) >> 12;
    RVDPage *pg = DC_SET(s, ppn);
    if (pg[0].ppn == ppn) {
    } else if (pg[1].ppn == ppn) {
      pg += 1;
    } else if (pg[2].ppn == ppn) {
      pg += 2;
    } else if (pg[3].ppn == ppn) {
      pg += 3;
    } else {
      pg = dc_fill(s, ppn);
    }
    pg->stamp = ++s->dc_clock;
#if RV_JIT
    if (s->jit_on) {
      if (pg->jit.fn && !s->jit_skip) {
        s->dc_vpage = vp;
        int32_t r = ((rv_jit_fn)(uintptr_t)pg->jit.fn)(s, (int32_t)n + 1, (uint32_t)(pc & 0xfff) >> 1);
        s->jit_how[r & 3]++;
        n = r >> 2;
        s->jit_skip = r & 3; /* what returned may be another page, which chained from this one */
        d = &newpc_insn;
        continue;
      }
      if (s->jit_skip == JIT_NOT_ENTRY && pg->jit.fn) rv_jit_missed(s, pg, h, (uint32_t)(pc & 0xfff) >> 1);
      s->jit_skip = 0;
      if (!pg->jit.fn && ++pg->jit.hot >= rv_jit_hot) rv_jit_compile(s, pg, h, (uint32_t)(pc & 0xfff) >> 1);
    }
#endif
    s->dc_dirty = 0;
    s->dc_host = h;
    s->dc_base = (uintptr_t)pg->e;
    s->dc_vpage = vp;
    /* jumps within a compiled page enter it through here */
    s->dc_jpage = pg->jit.fn ? ~0ULL : vp;
    d = pg->e + ((pc & 0xfff) >> 1);
    n++;
    continue;
  }
  case OP_ILLEGAL: goto illegal;
  case OP_LI: RD = IMM; NEXT();
  case OP_AUIPC: RD = PC() + IMM; NEXT();
  case OP_JAL: {
    uint64_t pc = PC();
    RD = pc + d->len;
    JUMP(pc + IMM);
  }
  case OP_JALR: {
    uint64_t t = (RS1 + IMM) & ~1ULL;
    RD = PC() + d->len;
    JUMP(t);
  }
  case OP_BEQ: BRANCH(RS1 == RS2);
  case OP_BNE: BRANCH(RS1 != RS2);
  case OP_BLT: BRANCH((int64_t)RS1 < (int64_t)RS2);
  case OP_BGE: BRANCH((int64_t)RS1 >= (int64_t)RS2);
  case OP_BLTU: BRANCH(RS1 < RS2);
  case OP_BGEU: BRANCH(RS1 >= RS2);
  case OP_LB: LOAD(int8_t, 1);
  case OP_LH: LOAD(int16_t, 2);
  case OP_LW: LOAD(int32_t, 4);
  case OP_LD: LOAD(uint64_t, 8);
  case OP_LBU: LOAD(uint8_t, 1);
  case OP_LHU: LOAD(uint16_t, 2);
  case OP_LWU: LOAD(uint32_t, 4);
  case OP_SB: STORE(uint8_t, 1, RS2);
  case OP_SH: STORE(uint16_t, 2, RS2);
  case OP_SW: STORE(uint32_t, 4, RS2);
  case OP_SD: STORE(uint64_t, 8, RS2);
  case OP_ADDI: RD = RS1 + IMM; NEXT();
  case OP_SLTI: RD = (int64_t)RS1 < (int64_t)IMM; NEXT();
  case OP_SLTIU: RD = RS1 < IMM; NEXT();
  case OP_XORI: RD = RS1 ^ IMM; NEXT();
  case OP_ORI: RD = RS1 | IMM; NEXT();
  case OP_ANDI: RD = RS1 & IMM; NEXT();
  case OP_SLLI: RD = RS1 << d->imm; NEXT();
  case OP_SRLI: RD = RS1 >> d->imm; NEXT();
  case OP_SRAI: RD = (uint64_t)((int64_t)RS1 >> d->imm); NEXT();
  case OP_ADDIW: RD = (uint64_t)sext32((uint32_t)RS1 + (uint32_t)d->imm); NEXT();
  case OP_SLLIW: RD = (uint64_t)sext32((uint32_t)RS1 << d->imm); NEXT();
  case OP_SRLIW: RD = (uint64_t)sext32((uint32_t)RS1 >> d->imm); NEXT();
  case OP_SRAIW: RD = (uint64_t)(int64_t)((int32_t)(uint32_t)RS1 >> d->imm); NEXT();
  case OP_ADD: RD = RS1 + RS2; NEXT();
  case OP_SUB: RD = RS1 - RS2; NEXT();
  case OP_SLL: RD = RS1 << (RS2 & 63); NEXT();
  case OP_SLT: RD = (int64_t)RS1 < (int64_t)RS2; NEXT();
  case OP_SLTU: RD = RS1 < RS2; NEXT();
  case OP_XOR: RD = RS1 ^ RS2; NEXT();
  case OP_SRL: RD = RS1 >> (RS2 & 63); NEXT();
  case OP_SRA: RD = (uint64_t)((int64_t)RS1 >> (RS2 & 63)); NEXT();
  case OP_OR: RD = RS1 | RS2; NEXT();
  case OP_AND: RD = RS1 & RS2; NEXT();
  case OP_MUL: RD = RS1 * RS2; NEXT();
  case OP_MULH: RD = mulh64((int64_t)RS1, (int64_t)RS2); NEXT();
  case OP_MULHSU: RD = mulhsu64((int64_t)RS1, RS2); NEXT();
  case OP_MULHU: RD = mulhu64(RS1, RS2); NEXT();
  case OP_DIV: {
    uint64_t a = RS1, b = RS2;
    if (b == 0) RD = ~0ULL;
    else if ((int64_t)a == INT64_MIN && (int64_t)b == -1) RD = a;
    else RD = (uint64_t)((int64_t)a / (int64_t)b);
    NEXT();
  }
  case OP_DIVU: { uint64_t a = RS1, b = RS2; RD = b ? a / b : ~0ULL; NEXT(); }
  case OP_REM: {
    uint64_t a = RS1, b = RS2;
    if (b == 0) RD = a;
    else if ((int64_t)a == INT64_MIN && (int64_t)b == -1) RD = 0;
    else RD = (uint64_t)((int64_t)a % (int64_t)b);
    NEXT();
  }
  case OP_REMU: { uint64_t a = RS1, b = RS2; RD = b ? a % b : a; NEXT(); }
  case OP_ADDW: RD = (uint64_t)sext32((uint32_t)RS1 + (uint32_t)RS2); NEXT();
  case OP_SUBW: RD = (uint64_t)sext32((uint32_t)RS1 - (uint32_t)RS2); NEXT();
  case OP_SLLW: RD = (uint64_t)sext32((uint32_t)RS1 << (RS2 & 31)); NEXT();
  case OP_SRLW: RD = (uint64_t)sext32((uint32_t)RS1 >> (RS2 & 31)); NEXT();
  case OP_SRAW: RD = (uint64_t)(int64_t)((int32_t)(uint32_t)RS1 >> (RS2 & 31)); NEXT();
  case OP_MULW: RD = (uint64_t)sext32((uint32_t)RS1 * (uint32_t)RS2); NEXT();
  case OP_DIVW: {
    uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
    if (b == 0) RD = ~0ULL;
    else if ((int32_t)a == INT32_MIN && (int32_t)b == -1) RD = (uint64_t)sext32(a);
    else RD = (uint64_t)(int64_t)((int32_t)a / (int32_t)b);
    NEXT();
  }
  case OP_DIVUW: { uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2; RD = b ? (uint64_t)sext32(a / b) : ~0ULL; NEXT(); }
  case OP_REMW: {
    uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
    if (b == 0) RD = (uint64_t)sext32(a);
    else if ((int32_t)a == INT32_MIN && (int32_t)b == -1) RD = 0;
    else RD = (uint64_t)(int64_t)((int32_t)a % (int32_t)b);
    NEXT();
  }
  case OP_REMUW: {
    uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
    RD = b ? (uint64_t)sext32(a % b) : (uint64_t)sext32(a);
    NEXT();
  }
  case OP_FENCE: NEXT(); /* fence.i: stores already drop decoded pages */
  case OP_AMO: {
    int c = exec_amo(s, d->raw, &tval);
    if (c < 0) goto illegal;
    if (c) {
      cause = (uint64_t)c;
      goto exception;
    }
    DIRTY_CHECK();
    NEXT();
  }
  case OP_EBREAK:
    cause = CAUSE_BREAKPOINT;
    tval = PC();
    goto exception;
  case OP_FLW: {
    if (fs_off(s)) goto illegal;
    uint64_t a = RS1 + IMM;
    uint32_t t;
    LOAD_FAST(uint32_t, 4, a, t);
    s->f[d->rd] = box_s(t);
    fs_dirty(s);
    NEXT();
  }
  case OP_FLD: {
    if (fs_off(s)) goto illegal;
    uint64_t a = RS1 + IMM;
    uint64_t t;
    LOAD_FAST(uint64_t, 8, a, t);
    s->f[d->rd] = t;
    fs_dirty(s);
    NEXT();
  }
  case OP_FSW:
    if (fs_off(s)) goto illegal;
    STORE(uint32_t, 4, (uint32_t)s->f[d->rs2]);
  case OP_FSD:
    if (fs_off(s)) goto illegal;
    STORE(uint64_t, 8, s->f[d->rs2]);
  case OP_FP:
    if (fs_off(s) || exec_fp(s, d->raw)) goto illegal;
    NEXT();
  case OP_SLLI_SRLI: {
    uint64_t t = RS1 << (d->imm & 63);
    RD = t;
    x[d->rs2] = t >> (d->imm >> 8);
    n--;
    NEXT();
  }
  case OP_LD_LD: {
    uint64_t base = RS1, a = base + (uint64_t)(int64_t)(int16_t)d->imm, v;
    LOAD_FAST(uint64_t, 8, a, v);
    RD = v;
    n--;
    SECOND_LD(base + (uint64_t)(int64_t)(d->imm >> 16));
  }
  case OP_AUIPC_LD: {
    uint64_t base = PC() + (uint64_t)(int64_t)(d->imm & ~0xfff);
    RD = base;
    n--;
    SECOND_LD(base + (uint64_t)((int64_t)((uint64_t)d->imm << 52) >> 52));
  }
  case OP_SD_SD: {
    uint64_t base = RS1, a = base + (uint64_t)(int64_t)(int16_t)d->imm;
    TLBEntry *e = &tlbw[(a >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag == (a & ~(uint64_t)0xff8))) {
      st64h((void *)(uintptr_t)(a + e->addend), RS2);
    } else {
      int c = store_slow(s, a, 8, RS2, &tval);
      if (c) {
        cause = (uint64_t)c;
        goto exception;
      }
    }
    n--;
    a = base + (uint64_t)(int64_t)(d->imm >> 16);
    e = &tlbw[(a >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag == (a & ~(uint64_t)0xff8))) {
      st64h((void *)(uintptr_t)(a + e->addend), RD);
    } else {
      int c = store_slow(s, a, 8, RD, &tval);
      if (c) {
        cause = (uint64_t)c;
        d += d->len1 >> 1;
        goto exception;
      }
    }
    DIRTY_CHECK();
    NEXT();
  }
  case OP_ADD_ADD: {
    RD = RS1 + RS2;
    n--;
    x[d->r3] = x[d->r4] + x[d->imm];
    NEXT();
  }
  case OP_ADDW_ADDW: {
    RD = (uint64_t)sext32((uint32_t)RS1 + (uint32_t)RS2);
    n--;
    x[d->r3] = (uint64_t)sext32((uint32_t)x[d->r4] + (uint32_t)x[d->imm]);
    NEXT();
  }
#define FUSED_BRANCH(cond)                                                       \
  {                                                                              \
    n--;                                                                         \
    if (cond) JUMP(PC() + d->len1 + (uint64_t)(int64_t)(d->imm >> 16));          \
    NEXT();                                                                      \
  }
  case OP_LBU_BEQ:
  case OP_LBU_BNE: {
    uint8_t t;
    LOAD_FAST(uint8_t, 1, RS1 + (uint64_t)(int64_t)(int16_t)d->imm, t);
    RD = t;
    if (d->op == OP_LBU_BEQ) FUSED_BRANCH(x[d->r3] == x[d->r4]);
    FUSED_BRANCH(x[d->r3] != x[d->r4]);
  }
  case OP_ADDI_BEQ:
    RD = RS1 + (uint64_t)(int64_t)(int16_t)d->imm;
    FUSED_BRANCH(x[d->r3] == x[d->r4]);
  case OP_ADDI_BNE:
    RD = RS1 + (uint64_t)(int64_t)(int16_t)d->imm;
    FUSED_BRANCH(x[d->r3] != x[d->r4]);
  case OP_RORW: {
    uint32_t a = (uint32_t)RS1;
    uint64_t t = (uint64_t)sext32(a << (d->imm & 31)), u = (uint64_t)sext32(a >> ((d->imm >> 8) & 31));
    RD = t;
    x[d->rs2] = u;
    x[d->imm >> 16] = t | u;
    n -= 2;
    NEXT();
  }
  case OP_SYSTEM: {
    uint32_t insn = d->raw;
    uint64_t pc = PC();
    unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, f3 = (insn >> 12) & 7, csr = insn >> 20;
    if (f3 == 0) {
      if (insn == 0x00000073) { /* ecall */
        s->pc = pc;
        if ((s->priv == 1 && s->sbi) || (s->priv == 0 && s->user_syscalls)) {
          s->cycles += s->run_budget - n;
          s->run_budget = n;
          if (rv_ecall_hook(s) == 0) {
            if (s->stop) {
              s->run_budget = n = 0;
              s->run_ret = RUN_STOP;
            }
            RELOOKUP(pc + 4);
          }
        }
        cause = CAUSE_USER_ECALL + (s->priv == 3 ? 3 : s->priv);
        tval = 0;
        goto exception;
      } else if (insn == 0x00100073) {
        cause = CAUSE_BREAKPOINT;
        tval = pc;
        goto exception;
      } else if (insn == 0x10200073) { /* sret */
        if (s->priv < 1 || (s->priv == 1 && (s->mstatus & MSTATUS_TSR))) goto illegal;
        uint64_t st = s->mstatus;
        int spp = (st & MSTATUS_SPP) ? 1 : 0;
        st = (st & ~MSTATUS_SIE) | ((st & MSTATUS_SPIE) ? MSTATUS_SIE : 0);
        st |= MSTATUS_SPIE;
        st &= ~MSTATUS_SPP;
        if (spp != 3) st &= ~MSTATUS_MPRV;
        s->mstatus = st;
        s->priv = spp;
        update_sets(s);
        s->pc = s->sepc;
        rv_check_irq(s);
        d = &newpc_insn;
        continue;
      } else if (insn == 0x30200073) { /* mret */
        if (s->priv < 3) goto illegal;
        uint64_t st = s->mstatus;
        int mpp = (int)((st >> MSTATUS_MPP_SHIFT) & 3);
        st = (st & ~MSTATUS_MIE) | ((st & MSTATUS_MPIE) ? MSTATUS_MIE : 0);
        st |= MSTATUS_MPIE;
        st &= ~MSTATUS_MPP;
        if (mpp != 3) st &= ~MSTATUS_MPRV;
        s->mstatus = st;
        s->priv = mpp;
        update_sets(s);
        s->pc = s->mepc;
        rv_check_irq(s);
        d = &newpc_insn;
        continue;
      } else if (insn == 0x10500073) { /* wfi */
        if (s->priv == 0 || (s->priv == 1 && (s->mstatus & MSTATUS_TW))) goto illegal;
        if (!(s->mip & s->mie)) {
          s->pc = pc + 4;
          s->wfi = 1;
          s->cycles += s->run_budget - n;
          return RUN_WFI;
        }
        RELOOKUP(pc + 4);
      } else if ((insn >> 25) == 0x09 && rd == 0) { /* sfence.vma */
        if (s->priv == 0 || (s->priv == 1 && (s->mstatus & MSTATUS_TVM))) goto illegal;
        if (rs1) tlb_flush_page(s, x[rs1]);
        else rv_tlb_flush(s);
        RELOOKUP(pc + 4);
      }
      goto illegal;
    }
    /* Zicsr */
    uint64_t src = (f3 & 4) ? rs1 : x[rs1], old = 0;
    int do_write = (f3 & 3) == 1 || rs1 != 0;
    int do_read = (f3 & 3) != 1 || rd != 0;
    if (do_read || (f3 & 3) != 1) {
      if (csr_read(s, csr, &old, (uint64_t)(s->run_budget - n))) goto illegal;
    } else if (((csr >> 8) & 3) > (unsigned)s->priv) {
      goto illegal;
    }
    if (do_write) {
      uint64_t nv = (f3 & 3) == 1 ? src : (f3 & 3) == 2 ? (old | src) : (old & ~src);
      if (csr == 0xb00 || csr == 0xb02) {
        s->cycles = nv - (uint64_t)(s->run_budget - n);
      } else if (csr_write(s, csr, nv)) {
        goto illegal;
      }
    }
    x[rd] = old;
    if (do_write && csr != 0x001 && csr != 0x002 && csr != 0x003 && csr != 0x140 && csr != 0x340) {
      /* state that affects translation or interrupts may have changed */
      s->pc = pc + 4;
      rv_check_irq(s);
      d = &newpc_insn;
      continue;
    }
    NEXT();
  }
  default:
    goto illegal;
  }

  illegal:
    cause = CAUSE_ILLEGAL_INSN;
    tval = d->raw;
  exception:
    s->pc = PC();
  exception_pc:
    do_trap(s, cause, tval);
    d = &newpc_insn;
    if (unlikely(s->stop)) break;
  }
  if (d != &newpc_insn) {
    s->pc = PC();
#if RV_JIT
    /* a sample for the page compiler: pages hot through loops that never leave them */
    if (s->jit_on && s->dc_jpage == s->dc_vpage)
      ((RVDPage *)(s->dc_base - offsetof(RVDPage, e)))->jit.hot += JIT_SAMPLE;
#endif
  }
  s->cycles += s->run_budget - n;
  x[0] = 0;
  return s->run_ret;
}
