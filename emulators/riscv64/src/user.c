/* User-level harness: runs a static riscv64 ELF linked at 0x80000000 in U-mode with a few Linux
 * syscalls (write, exit). Used by the differential tests against qemu-riscv64.
 * Usage: rv64-user [--max-insns N] [--machine] [--jit-eager] PROG.elf
 * --jit-eager: where the host compiles pages (jit.h), every page at its first entry, with the code
 *   ahead of what ran (tests of the page compiler). */
#include "cpu.h"
#include "jit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (64ULL << 20)

static RVCPU cpu;
static int exit_code = -1;

/* --machine mode (privileged tests): M-mode start, a test finisher at 0x100000 (0x5555 = pass,
 * (code << 16) | 0x3333 = fail with code), a byte console at 0x10000000, and a CLINT at
 * 0x2000000 whose mtime counts instructions (deterministic). */
static int machine_mode;
static uint64_t mtimecmp = ~0ULL;

int rv_mmio_read(RVCPU *s, uint64_t pa, int size, uint64_t *val) {
  if (!machine_mode) return -1;
  if (pa == 0x2000000 + 0xbff8) { *val = s->cycles; return 0; }
  if (pa == 0x2000000 + 0x4000) { *val = mtimecmp; return 0; }
  if (pa == 0x2000000) { *val = (s->mip >> 3) & 1; return 0; }
  (void)size;
  return -1;
}
int rv_mmio_write(RVCPU *s, uint64_t pa, int size, uint64_t val) {
  (void)size;
  if (!machine_mode) return -1;
  if (pa == 0x100000) {
    exit_code = (val & 0xffff) == 0x5555 ? 0 : (int)((val >> 16) & 0xff) ? (int)((val >> 16) & 0xff) : 1;
    s->stop = 1;
    return 0;
  }
  if (pa == 0x10000000) { uint8_t c = (uint8_t)val; if (write(1, &c, 1) < 0) return -1; return 0; }
  if (pa == 0x2000000 + 0x4000) { mtimecmp = val; rv_set_mip(s, MIP_MTIP, s->cycles >= mtimecmp); return 0; }
  if (pa == 0x2000000) { rv_set_mip(s, MIP_MSIP, val & 1); return 0; }
  return -1;
}
uint64_t rv_get_mtime(RVCPU *s) { return s->cycles; }

/* called through a pointer like the machine does (no specialisation for this one hart), so
 * that bench/riscv64/cpubench.c measures the machine's interpreter code */
static int (*volatile run_fn)(RVCPU *, int64_t) = rv_run;

int rv_ecall_hook(RVCPU *s) {
  uint64_t *x = s->x;
  switch (x[17]) {
  case 64: { /* write */
    uint8_t *p = rv_phys_ptr(s, x[11], x[12]);
    if (!p) { x[10] = (uint64_t)-14; break; }
    ssize_t r = write((int)x[10], p, x[12]);
    x[10] = r < 0 ? (uint64_t)-5 : (uint64_t)r;
    break;
  }
  case 93: case 94:
    exit_code = (int)(x[10] & 0xff);
    s->stop = 1;
    break;
  default:
    x[10] = (uint64_t)-38;
  }
  return 0;
}

static uint64_t rd(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

int main(int argc, char **argv) {
  uint64_t max_insns = 1ULL << 32;
  int jit_eager = 0;
  int i = 1;
  for (;;) {
    if (i + 1 < argc && !strcmp(argv[i], "--max-insns")) { max_insns = strtoull(argv[i + 1], 0, 0); i += 2; }
    else if (i < argc && !strcmp(argv[i], "--machine")) { machine_mode = 1; i++; }
    else if (i < argc && !strcmp(argv[i], "--jit-eager")) { rv_jit_hot = 1; rv_jit_ahead = jit_eager = 1; i++; }
    else break;
  }
  if (i >= argc) { fprintf(stderr, "usage: rv64-user [--max-insns N] [--machine] [--jit-eager] PROG.elf\n"); return 2; }
  FILE *f = fopen(argv[i], "rb");
  if (!f) { fprintf(stderr, "rv64-user: cannot open %s\n", argv[i]); return 2; }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *elf = malloc((size_t)len);
  if (fread(elf, 1, (size_t)len, f) != (size_t)len) { fprintf(stderr, "rv64-user: cannot read %s\n", argv[i]); return 2; }
  fclose(f);
  if (len < 64 || memcmp(elf, "\177ELF\2\1", 6) || rd(elf + 18, 2) != 243) {
    fprintf(stderr, "rv64-user: %s: not a riscv64 ELF\n", argv[i]);
    return 2;
  }
  uint8_t *ram = calloc(1, RAM_SIZE);
  rv_init(&cpu, ram, RAM_BASE, RAM_SIZE);
  uint64_t phoff = rd(elf + 32, 8), phnum = rd(elf + 56, 2), phentsize = rd(elf + 54, 2);
  for (uint64_t k = 0; k < phnum; k++) {
    const uint8_t *ph = elf + phoff + k * phentsize;
    if (rd(ph, 4) != 1) continue;
    uint64_t off = rd(ph + 8, 8), vaddr = rd(ph + 16, 8), filesz = rd(ph + 32, 8), memsz = rd(ph + 40, 8);
    uint8_t *dst = rv_phys_ptr(&cpu, vaddr, memsz);
    if (!dst || off + filesz > (uint64_t)len) { fprintf(stderr, "rv64-user: %s: segment outside RAM\n", argv[i]); return 2; }
    memcpy(dst, elf + off, filesz);
  }
  cpu.pc = rd(elf + 24, 8);
  cpu.jit_on = c2w_page_compiler_probe() >= 1;
  if (jit_eager && !cpu.jit_on) {
    fprintf(stderr, "rv64-user: --jit-eager: this host does not compile pages\n");
    return 2;
  }
  cpu.x[2] = RAM_BASE + RAM_SIZE - 4096;
  if (machine_mode) {
    while (!cpu.stop && cpu.cycles < max_insns) {
      rv_set_mip(&cpu, MIP_MTIP, cpu.cycles >= mtimecmp);
      if (run_fn(&cpu, 64) == RUN_WFI) {
        if (mtimecmp == ~0ULL && !(cpu.mip & cpu.mie)) { fprintf(stderr, "rv64-user: wfi with no wakeup\n"); return 5; }
        cpu.cycles += 64; /* time passes while waiting */
      }
    }
    if (!cpu.stop) {
      fprintf(stderr, "rv64-user: instruction limit reached at pc=0x%llx priv=%d mcause=0x%llx mepc=0x%llx\n",
              (unsigned long long)cpu.pc, cpu.priv, (unsigned long long)cpu.mcause, (unsigned long long)cpu.mepc);
      return 4;
    }
    return exit_code;
  }
  rv_set_priv(&cpu, 0);
  cpu.mstatus |= 1ULL << 13; /* FS = initial */
  cpu.user_syscalls = 1;
  rv_tlb_flush(&cpu);
  while (!cpu.stop && cpu.cycles < max_insns) {
    run_fn(&cpu, 1 << 20);
    if (cpu.priv != 0) {
      fprintf(stderr, "rv64-user: trap cause=%llu epc=0x%llx tval=0x%llx\n", (unsigned long long)cpu.mcause,
              (unsigned long long)cpu.mepc, (unsigned long long)cpu.mtval);
      return 3;
    }
  }
  if (!cpu.stop) { fprintf(stderr, "rv64-user: instruction limit reached\n"); return 4; }
  if (getenv("RV64_STATS")) fprintf(stderr, "rv64-user: %llu instructions\n", (unsigned long long)cpu.cycles);
  return exit_code;
}
