#include "machine.h"
#include "jit.h"
#include "c2w_ctl.h"
#include "cpu.h"
#include "fdt.h"
#include "host.h"
#include "virtio_9p.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_mmio.h"
#include "virtio_rng.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLINT_BASE 0x02000000ULL
#define CLINT_SIZE 0x10000ULL
#define PLIC_BASE 0x0c000000ULL
#define PLIC_SIZE 0x4000000ULL
#define VIRTIO_BASE 0x10001000ULL
#define NVIRTIO 4
#define TIMEBASE 10000000ULL /* 10 MHz */
#define KERNEL_OFF 0x200000ULL
#define SLICE 100000

static struct {
  RVCPU cpu;
  uint8_t *ram;
  uint64_t ram_size;
  int booted;
  /* time: mtime = mtime_base + (host_now - host_base) / 100 */
  uint64_t mtime_base, host_base, mtime_last;
  uint64_t stimecmp, mtimecmp;
  uint32_t msip;
  /* PLIC */
  uint32_t plic_prio[32], plic_pending, plic_level, plic_claimed, plic_enable[2], plic_threshold[2];
  VirtioBus bus;
  VirtioDevice *vdev[NVIRTIO];
  VirtioConsole con;
  VirtioBlk blk;
  Virtio9P p9;
  VirtioRng rng;
  C2wCtl ctl;
  int powered_off;
  int stdin_on, stdin_eof, tty;
  uint64_t nslices;
} M;

/* ---- time ---- */
static uint64_t mtime_now(void) {
  uint64_t t = M.mtime_base + (host_monotonic_ns() - M.host_base) / (1000000000ULL / TIMEBASE);
  if (t < M.mtime_last) t = M.mtime_last;
  M.mtime_last = t;
  return t;
}
uint64_t rv_get_mtime(RVCPU *s) { (void)s; return mtime_now(); }
uint64_t machine_guest_ns(void) { return mtime_now() * (1000000000ULL / TIMEBASE); }

static void update_timers(void) {
  uint64_t t = mtime_now();
  rv_set_mip(&M.cpu, MIP_STIP, t >= M.stimecmp);
  rv_set_mip(&M.cpu, MIP_MTIP, t >= M.mtimecmp);
}

void machine_resume(void) {
  M.mtime_base = M.mtime_last;
  M.host_base = host_monotonic_ns();
  /* asked here, not at boot: a snapshot taken under Wizer resumes under another host */
  M.cpu.jit_on = c2w_page_compiler_probe() >= 1;
}

/* ---- PLIC ---- */
static int plic_best(int ctx) {
  uint32_t pend = M.plic_pending & ~M.plic_claimed & M.plic_enable[ctx];
  int best = 0;
  uint32_t bp = M.plic_threshold[ctx];
  for (int i = 1; i < 32; i++)
    if ((pend >> i) & 1 && M.plic_prio[i] > bp) {
      bp = M.plic_prio[i];
      best = i;
    }
  return best;
}
static void plic_update(void) {
  rv_set_mip(&M.cpu, MIP_MEIP, plic_best(0) != 0);
  rv_set_mip(&M.cpu, MIP_SEIP, plic_best(1) != 0);
}
static void plic_set_irq(int irq, int level) {
  uint32_t b = 1u << irq;
  if (level) {
    M.plic_level |= b;
    M.plic_pending |= b;
  } else {
    M.plic_level &= ~b;
    M.plic_pending &= ~b;
  }
  plic_update();
}
static uint32_t plic_read(uint64_t off) {
  if (off < 0x80) return M.plic_prio[off >> 2];
  if (off == 0x1000) return M.plic_pending;
  if (off >= 0x2000 && off < 0x2000 + 0x80 * 2) return (off & 0x7f) == 0 ? M.plic_enable[(off - 0x2000) >> 7] : 0;
  if (off >= 0x200000 && off < 0x200000 + 0x1000 * 2) {
    int ctx = (int)((off - 0x200000) >> 12);
    if ((off & 0xfff) == 0) return M.plic_threshold[ctx];
    if ((off & 0xfff) == 4) {
      int irq = plic_best(ctx);
      if (irq) {
        M.plic_claimed |= 1u << irq;
        M.plic_pending &= ~(1u << irq);
        plic_update();
      }
      return (uint32_t)irq;
    }
  }
  return 0;
}
static void plic_write(uint64_t off, uint32_t v) {
  if (off < 0x80) {
    M.plic_prio[off >> 2] = v & 7;
  } else if (off >= 0x2000 && off < 0x2000 + 0x80 * 2) {
    if ((off & 0x7f) == 0) M.plic_enable[(off - 0x2000) >> 7] = v & ~1u;
  } else if (off >= 0x200000 && off < 0x200000 + 0x1000 * 2) {
    int ctx = (int)((off - 0x200000) >> 12);
    if ((off & 0xfff) == 0) {
      M.plic_threshold[ctx] = v & 7;
    } else if ((off & 0xfff) == 4 && v < 32) {
      M.plic_claimed &= ~(1u << v);
      if (M.plic_level & (1u << v)) M.plic_pending |= 1u << v;
    }
  }
  plic_update();
}

/* ---- bus for the virtio devices ---- */
static uint8_t *bus_mem(void *o, uint64_t gpa, uint64_t len) { (void)o; return rv_phys_ptr(&M.cpu, gpa, len); }
static void bus_irq(void *o, int irq, int level) { (void)o; plic_set_irq(irq, level); }

/* ---- MMIO ---- */
int rv_mmio_read(RVCPU *s, uint64_t pa, int size, uint64_t *val) {
  (void)s;
  if (pa >= VIRTIO_BASE && pa < VIRTIO_BASE + NVIRTIO * 0x1000ULL) {
    VirtioDevice *d = M.vdev[(pa - VIRTIO_BASE) >> 12];
    *val = d ? virtio_mmio_read(d, (uint32_t)(pa & 0xfff), size) : 0;
    return 0;
  }
  if (pa >= PLIC_BASE && pa < PLIC_BASE + PLIC_SIZE) {
    *val = plic_read(pa - PLIC_BASE);
    return 0;
  }
  if (pa >= CLINT_BASE && pa < CLINT_BASE + CLINT_SIZE) {
    uint64_t off = pa - CLINT_BASE, v = 0;
    if (off == 0) v = M.msip;
    else if (off >= 0x4000 && off < 0x4008) v = M.mtimecmp >> (8 * (off - 0x4000));
    else if (off >= 0xbff8 && off < 0xc000) v = mtime_now() >> (8 * (off - 0xbff8));
    *val = size == 8 ? v : (v & 0xffffffffULL);
    return 0;
  }
  return -1;
}

int rv_mmio_write(RVCPU *s, uint64_t pa, int size, uint64_t val) {
  (void)s;
  if (pa >= VIRTIO_BASE && pa < VIRTIO_BASE + NVIRTIO * 0x1000ULL) {
    VirtioDevice *d = M.vdev[(pa - VIRTIO_BASE) >> 12];
    if (d) virtio_mmio_write(d, (uint32_t)(pa & 0xfff), (uint32_t)val, size);
    return 0;
  }
  if (pa >= PLIC_BASE && pa < PLIC_BASE + PLIC_SIZE) {
    plic_write(pa - PLIC_BASE, (uint32_t)val);
    return 0;
  }
  if (pa >= CLINT_BASE && pa < CLINT_BASE + CLINT_SIZE) {
    uint64_t off = pa - CLINT_BASE;
    if (off == 0) {
      M.msip = val & 1;
      rv_set_mip(&M.cpu, MIP_MSIP, M.msip);
    } else if (off == 0x4000) {
      M.mtimecmp = size == 8 ? val : ((M.mtimecmp & ~0xffffffffULL) | (val & 0xffffffffULL));
    } else if (off == 0x4004) {
      M.mtimecmp = (M.mtimecmp & 0xffffffffULL) | (val << 32);
    }
    update_timers();
    return 0;
  }
  return -1;
}

/* ---- SBI ---- */
#define SBI_ERR_NOT_SUPPORTED (-2)
#define SBI_ERR_INVALID_PARAM (-3)
#define SBI_ERR_ALREADY_AVAILABLE (-6)

static void sbi_set_timer(uint64_t t) {
  M.stimecmp = t;
  update_timers();
}

static void dbcn_write(uint64_t addr, uint64_t len) {
  uint8_t *p = rv_phys_ptr(&M.cpu, addr, len);
  if (p) host_write_out(2, p, len);
}

int rv_ecall_hook(RVCPU *s) {
  uint64_t *x = s->x;
  uint64_t eid = x[17], fid = x[16];
  int64_t err = 0;
  uint64_t val = 0;
  switch (eid) {
  case 0x00: sbi_set_timer(x[10]); x[10] = 0; return 0;
  case 0x01: { uint8_t c = (uint8_t)x[10]; host_write_out(2, &c, 1); x[10] = 0; return 0; }
  case 0x02: x[10] = (uint64_t)-1; return 0;
  case 0x08: M.powered_off = 1; s->stop = 1; return 0;
  case 0x10: /* base */
    switch (fid) {
    case 0: val = 0x02000000; break;
    case 1: val = 0xc2; break;
    case 2: val = 1; break;
    case 3: {
      uint64_t e = x[10];
      val = e == 0x10 || e == 0x54494D45 || e == 0x735049 || e == 0x52464E43 || e == 0x48534D ||
            e == 0x53525354 || e == 0x4442434E || e <= 0x08;
      break;
    }
    case 4: case 5: case 6: val = 0; break;
    default: err = SBI_ERR_NOT_SUPPORTED;
    }
    break;
  case 0x54494D45: /* TIME */
    if (fid == 0) sbi_set_timer(x[10]);
    else err = SBI_ERR_NOT_SUPPORTED;
    break;
  case 0x735049: /* IPI */
    if (fid == 0) {
      uint64_t mask = x[10], base = x[11];
      if (base == ~0ULL || (base == 0 && (mask & 1))) rv_set_mip(s, MIP_SSIP, 1);
    } else {
      err = SBI_ERR_NOT_SUPPORTED;
    }
    break;
  case 0x52464E43: /* RFENCE */
    if (fid <= 6) rv_tlb_flush(s);
    else err = SBI_ERR_NOT_SUPPORTED;
    break;
  case 0x48534D: /* HSM */
    if (fid == 0) err = x[10] == 0 ? SBI_ERR_ALREADY_AVAILABLE : SBI_ERR_INVALID_PARAM;
    else if (fid == 2) { if (x[10] == 0) val = 0; else err = SBI_ERR_INVALID_PARAM; }
    else err = SBI_ERR_NOT_SUPPORTED;
    break;
  case 0x53525354: /* SRST */
    if (fid == 0) {
      M.powered_off = 1;
      s->stop = 1;
    } else {
      err = SBI_ERR_NOT_SUPPORTED;
    }
    break;
  case 0x4442434E: /* DBCN */
    if (fid == 0) { dbcn_write(x[11], x[10]); val = x[10]; }
    else if (fid == 1) val = 0;
    else if (fid == 2) { uint8_t c = (uint8_t)x[10]; host_write_out(2, &c, 1); }
    else err = SBI_ERR_NOT_SUPPORTED;
    break;
  default:
    err = SBI_ERR_NOT_SUPPORTED;
  }
  x[10] = (uint64_t)err;
  x[11] = val;
  return 0;
}

/* ---- console ports ---- */
static void con_tx(void *o, int port, const uint8_t *buf, size_t len) {
  (void)o;
  if (port == 0) host_write_out(1, buf, len);
  else if (port == 1) host_write_out(2, buf, len);
  else if (port == 2) {
    c2w_ctl_input(&M.ctl, buf, len);
    if (M.ctl.ready || M.ctl.exit_code >= 0) M.cpu.stop = 1;
  }
}

static void rng_fill(uint8_t *b, size_t n) { host_random(b, n); }

int machine_init(uint64_t ram_size) {
  memset(&M, 0, sizeof(M));
  M.ram_size = ram_size;
  M.ram = calloc(1, ram_size);
  if (!M.ram) return -1;
  rv_init(&M.cpu, M.ram, RAM_BASE, ram_size);
  M.cpu.sbi = 1;
  M.stimecmp = M.mtimecmp = ~0ULL;
  M.host_base = host_monotonic_ns();
  M.bus.opaque = NULL;
  M.bus.mem = bus_mem;
  M.bus.set_irq = bus_irq;
  static const char *const names[3] = {"", "", "c2w.ctl"};
  virtio_console_init(&M.con, &M.bus, 1, 3, names, con_tx, NULL);
  virtio_blk_init(&M.blk, &M.bus, 2);
  virtio_9p_init(&M.p9, &M.bus, 3, "c2w");
  virtio_rng_init(&M.rng, &M.bus, 4, rng_fill);
  M.vdev[0] = &M.con.vdev;
  M.vdev[1] = &M.blk.vdev;
  M.vdev[2] = &M.p9.vdev;
  M.vdev[3] = &M.rng.vdev;
  c2w_ctl_init(&M.ctl);
  return 0;
}

static size_t build_dtb(uint8_t *out, size_t cap, const char *cmdline, uint64_t initrd_start, uint64_t initrd_end) {
  static FDT f;
  fdt_init(&f);
  fdt_begin(&f, "");
  fdt_prop_u32(&f, "#address-cells", 2);
  fdt_prop_u32(&f, "#size-cells", 2);
  fdt_prop_str(&f, "compatible", "c2w,riscv64");
  fdt_prop_str(&f, "model", "c2w riscv64");
  fdt_begin(&f, "chosen");
  fdt_prop_str(&f, "bootargs", cmdline);
  if (initrd_end > initrd_start) {
    uint32_t a[2] = {(uint32_t)(initrd_start >> 32), (uint32_t)initrd_start};
    uint32_t b[2] = {(uint32_t)(initrd_end >> 32), (uint32_t)initrd_end};
    fdt_prop_cells(&f, "linux,initrd-start", a, 2);
    fdt_prop_cells(&f, "linux,initrd-end", b, 2);
  }
  uint8_t seed[32];
  host_random(seed, sizeof(seed));
  fdt_prop(&f, "rng-seed", seed, sizeof(seed));
  fdt_end(&f);
  fdt_begin(&f, "cpus");
  fdt_prop_u32(&f, "#address-cells", 1);
  fdt_prop_u32(&f, "#size-cells", 0);
  fdt_prop_u32(&f, "timebase-frequency", (uint32_t)TIMEBASE);
  fdt_begin(&f, "cpu@0");
  fdt_prop_str(&f, "device_type", "cpu");
  fdt_prop_u32(&f, "reg", 0);
  fdt_prop_str(&f, "status", "okay");
  fdt_prop_str(&f, "compatible", "riscv");
  fdt_prop_str(&f, "riscv,isa", "rv64imafdc_zicntr_zicsr_zifencei");
  fdt_prop_str(&f, "riscv,isa-base", "rv64i");
  static const char *const exts[] = {"i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei"};
  fdt_prop_strs(&f, "riscv,isa-extensions", exts, 9);
  fdt_prop_str(&f, "mmu-type", "riscv,sv39");
  fdt_begin(&f, "interrupt-controller");
  fdt_prop_u32(&f, "#interrupt-cells", 1);
  fdt_prop_empty(&f, "interrupt-controller");
  fdt_prop_str(&f, "compatible", "riscv,cpu-intc");
  fdt_prop_u32(&f, "phandle", 1);
  fdt_end(&f);
  fdt_end(&f);
  fdt_end(&f);
  char name[64];
  snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)RAM_BASE);
  fdt_begin(&f, name);
  fdt_prop_str(&f, "device_type", "memory");
  uint32_t reg[4] = {(uint32_t)(RAM_BASE >> 32), (uint32_t)RAM_BASE, (uint32_t)(M.ram_size >> 32), (uint32_t)M.ram_size};
  fdt_prop_cells(&f, "reg", reg, 4);
  fdt_end(&f);
  fdt_begin(&f, "soc");
  fdt_prop_u32(&f, "#address-cells", 2);
  fdt_prop_u32(&f, "#size-cells", 2);
  fdt_prop_str(&f, "compatible", "simple-bus");
  fdt_prop_empty(&f, "ranges");
  fdt_begin(&f, "clint@2000000");
  fdt_prop_str(&f, "compatible", "riscv,clint0");
  uint32_t cie[4] = {1, 3, 1, 7};
  fdt_prop_cells(&f, "interrupts-extended", cie, 4);
  uint32_t creg[4] = {0, (uint32_t)CLINT_BASE, 0, (uint32_t)CLINT_SIZE};
  fdt_prop_cells(&f, "reg", creg, 4);
  fdt_end(&f);
  fdt_begin(&f, "plic@c000000");
  static const char *const pc[] = {"sifive,plic-1.0.0", "riscv,plic0"};
  fdt_prop_strs(&f, "compatible", pc, 2);
  fdt_prop_u32(&f, "#interrupt-cells", 1);
  fdt_prop_u32(&f, "#address-cells", 0);
  fdt_prop_empty(&f, "interrupt-controller");
  uint32_t preg[4] = {0, (uint32_t)PLIC_BASE, 0, (uint32_t)PLIC_SIZE};
  fdt_prop_cells(&f, "reg", preg, 4);
  fdt_prop_u32(&f, "riscv,ndev", 31);
  uint32_t pie[4] = {1, 11, 1, 9};
  fdt_prop_cells(&f, "interrupts-extended", pie, 4);
  fdt_prop_u32(&f, "phandle", 2);
  fdt_end(&f);
  for (int i = 0; i < NVIRTIO; i++) {
    uint64_t base = VIRTIO_BASE + 0x1000ULL * (uint64_t)i;
    snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)base);
    fdt_begin(&f, name);
    fdt_prop_str(&f, "compatible", "virtio,mmio");
    uint32_t vreg[4] = {0, (uint32_t)base, 0, 0x1000};
    fdt_prop_cells(&f, "reg", vreg, 4);
    fdt_prop_u32(&f, "interrupts", (uint32_t)(i + 1));
    fdt_prop_u32(&f, "interrupt-parent", 2);
    fdt_end(&f);
  }
  fdt_end(&f);
  fdt_end(&f);
  return fdt_finish(&f, out, cap);
}

int machine_load(const uint8_t *kernel, size_t klen, const uint8_t *initrd, size_t ilen, const char *cmdline) {
  if (KERNEL_OFF + klen > M.ram_size / 2) {
    fprintf(stderr, "c2w-rv64: kernel too large for RAM\n");
    return -1;
  }
  memcpy(M.ram + KERNEL_OFF, kernel, klen);
  uint64_t dtb_off = M.ram_size - 0x10000;
  uint64_t initrd_off = 0, initrd_end = 0;
  if (ilen) {
    initrd_off = (dtb_off - ilen) & ~0xfffULL;
    if (initrd_off < KERNEL_OFF + klen + (32ULL << 20)) {
      fprintf(stderr, "c2w-rv64: initrd too large for RAM\n");
      return -1;
    }
    memcpy(M.ram + initrd_off, initrd, ilen);
    initrd_end = initrd_off + ilen;
  }
  /* Sv39 is enough for our RAM and makes page walks shorter */
  static char cmd[2048];
  snprintf(cmd, sizeof(cmd), "%s%sno4lvl", cmdline, cmdline[0] ? " " : "");
  size_t dl = build_dtb(M.ram + dtb_off, 0x10000, cmd, ilen ? RAM_BASE + initrd_off : 0,
                        ilen ? RAM_BASE + initrd_end : 0);
  if (!dl) {
    fprintf(stderr, "c2w-rv64: device tree too large\n");
    return -1;
  }
  RVCPU *c = &M.cpu;
  c->medeleg = 0xb1ff; /* everything but ecalls from S/M goes to the kernel */
  c->mideleg = 0x222;
  c->mcounteren = c->scounteren = 7;
  c->x[10] = 0;
  c->x[11] = RAM_BASE + dtb_off;
  c->pc = RAM_BASE + KERNEL_OFF;
  rv_set_priv(c, 1);
  M.booted = 0;
  return 0;
}

void machine_set_disk(uint64_t size, int (*read)(void *, uint64_t, uint8_t *, size_t), void *opaque) {
  virtio_blk_set_backing(&M.blk, size, read, opaque);
}

void machine_send_ctl(const uint8_t *msg, size_t len) {
  while (len > 0) {
    size_t n = virtio_console_send(&M.con, 2, msg, len);
    if (!n) break;
    msg += n;
    len -= n;
  }
}

void machine_enable_stdin(int tty) {
  M.stdin_on = 1;
  M.tty = tty;
}

int machine_booted(void) { return M.booted; }

static void pump_stdin(void) {
  if (!M.stdin_on || M.stdin_eof || !virtio_console_can_rx(&M.con, 0)) return;
  uint8_t buf[4096];
  long r = host_stdin_read(buf, sizeof(buf));
  if (r > 0) {
    virtio_console_send(&M.con, 0, buf, (size_t)r);
  } else if (r < 0) {
    M.stdin_eof = 1;
    if (!M.tty) {
      uint8_t msg[64];
      machine_send_ctl(msg, c2w_msg_stdin_eof(msg));
    }
  }
}

/* called through a pointer: see README (V8 tier-up) */
static int (*volatile run_fn)(RVCPU *, int64_t) = rv_run;

int machine_run(int until_ready) {
  RVCPU *c = &M.cpu;
  for (;;) {
    update_timers();
    c->stop = 0;
    int r = run_fn(c, SLICE);
    M.nslices++;
    if (c->priv == 3) {
      fprintf(stderr, "c2w-rv64: unexpected trap to M-mode: mcause=0x%llx mepc=0x%llx mtval=0x%llx\n",
              (unsigned long long)c->mcause, (unsigned long long)c->mepc, (unsigned long long)c->mtval);
      return 125;
    }
    if (M.ctl.ready && !M.booted) {
      M.booted = 1;
      if (until_ready) {
        rv_dc_flush(c);
        return -1;
      }
    }
    if (M.ctl.exit_code >= 0) {
      if (getenv("C2W_STATS")) {
        fprintf(stderr, "c2w-rv64: %llu slices, %llu instructions, %llu decoded-page fills, %llu TLB fills, %llu slow loads/stores, %llu pages compiled (%llu KiB of wasm), %llu compiled-page calls, %llu chained\n",
                (unsigned long long)M.nslices, (unsigned long long)c->cycles, (unsigned long long)c->dc_fills,
                (unsigned long long)c->tlb_fills, (unsigned long long)c->slow_accesses, (unsigned long long)c->jit_pages,
                (unsigned long long)(c->jit_bytes >> 10),
                (unsigned long long)(c->jit_how[JIT_JUMPED] + c->jit_how[JIT_INTERPRET] + c->jit_how[JIT_NOT_ENTRY]),
                (unsigned long long)c->jit_chains);
        fprintf(stderr, "c2w-rv64: compiled pages returned %llu times at a jump, %llu to interpret, %llu not at an entry\n",
                (unsigned long long)c->jit_how[JIT_JUMPED], (unsigned long long)c->jit_how[JIT_INTERPRET],
                (unsigned long long)c->jit_how[JIT_NOT_ENTRY]);
        rv_profile_dump(stderr);
      }
      return M.ctl.exit_code;
    }
    if (M.powered_off) return 125;
    pump_stdin();
    if (r == RUN_WFI) {
      uint64_t now = mtime_now();
      uint64_t wait_ns = 10000000;
      if (M.stimecmp > now) {
        uint64_t d = (M.stimecmp - now) * (1000000000ULL / TIMEBASE);
        if (d < wait_ns) wait_ns = d;
      } else {
        wait_ns = 0;
      }
      if (wait_ns) {
        if (M.stdin_on && !M.stdin_eof && virtio_console_can_rx(&M.con, 0)) host_stdin_wait(wait_ns);
        else host_sleep_ns(wait_ns);
      }
    }
  }
}
