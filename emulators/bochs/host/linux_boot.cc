// Direct Linux boot for Bochs: the x86 boot protocol (Documentation/arch/x86/boot.rst) without
// a BIOS: boot_params with the kernel's setup header, an e820 map, the command line and the
// initramfs high in RAM; the CPU starts in 32-bit protected mode at the kernel's 32-bit entry.
#define NEED_CPU_REG_SHORTCUTS 1
#include "bochs.h"
#include "cpu/cpu.h"
#include "iodev/iodev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

#include "c2w_bochs.h"

static void die(const char *fmt, const char *arg)
{
  fprintf(stderr, "bochs: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  exit(125);
}

static std::vector<unsigned char> read_file(const std::string &path)
{
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) die("cannot open %s", path.c_str());
  std::vector<unsigned char> buf;
  unsigned char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) buf.insert(buf.end(), tmp, tmp + n);
  if (ferror(f)) die("cannot read %s", path.c_str());
  fclose(f);
  if (buf.empty()) die("%s is empty", path.c_str());
  return buf;
}

// ---------------------------------------------------------------- guest memory helpers
static void guest_write(bx_phy_address addr, const void *src, size_t len)
{
  const unsigned char *p = (const unsigned char *) src;
  while (len) {
    size_t chunk = 4096 - (addr & 4095);
    if (chunk > len) chunk = len;
    memcpy(BX_MEM(0)->get_vector(addr), p, chunk);
    addr += chunk; p += chunk; len -= chunk;
  }
}

static void put16(unsigned char *b, unsigned off, Bit16u v) { memcpy(b + off, &v, 2); }
static void put32(unsigned char *b, unsigned off, Bit32u v) { memcpy(b + off, &v, 4); }
static void put64(unsigned char *b, unsigned off, Bit64u v) { memcpy(b + off, &v, 8); }
static Bit32u get32(const unsigned char *b, unsigned off) { Bit32u v; memcpy(&v, b + off, 4); return v; }
static Bit16u get16(const unsigned char *b, unsigned off) { Bit16u v; memcpy(&v, b + off, 2); return v; }

// ---------------------------------------------------------------- direct Linux boot
// Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 32-bit entry.
static const bx_phy_address BOOT_PARAMS = 0x10000, CMDLINE = 0x20000, GDT = 0x9000;
static const bx_phy_address KERNEL_32 = 0x100000;

void c2w_linux_boot(const std::string &kernel, const std::string &initrd, const std::string &cmdline,
                    unsigned mem_mb)
{
  std::vector<unsigned char> k = read_file(kernel);
  if (k.size() < 0x1000 || get32(k.data(), 0x202) != 0x53726448 /* HdrS */)
    die("%s is not a Linux bzImage", kernel.c_str());
  Bit16u version = get16(k.data(), 0x206);
  if (version < 0x20c) die("%s: boot protocol too old", kernel.c_str());
  unsigned setup_sects = k[0x1f1] ? k[0x1f1] : 4;
  size_t pm_off = (setup_sects + 1) * 512;
  if (pm_off >= k.size()) die("%s: truncated", kernel.c_str());

  Bit64u mem = (Bit64u) mem_mb << 20;
  unsigned char bp[4096];
  memset(bp, 0, sizeof(bp));
  size_t hdr_end = 0x202 + k[0x201];
  memcpy(bp + 0x1f1, k.data() + 0x1f1, hdr_end - 0x1f1);
  bp[0x210] = 0xff;                               // type_of_loader: undefined
  bp[0x211] |= 0x01;                              // LOADED_HIGH
  bp[0x211] &= ~0x20;                             // QUIET_FLAG off
  put32(bp, 0x228, CMDLINE);                      // cmd_line_ptr
  Bit32u cmdline_size = get32(k.data(), 0x238);
  if (cmdline.size() >= cmdline_size) die("kernel command line too long: %s", cmdline.c_str());
  guest_write(CMDLINE, cmdline.c_str(), cmdline.size() + 1);

  if (!initrd.empty()) {
    std::vector<unsigned char> rd = read_file(initrd);
    Bit64u max = get32(k.data(), 0x22c);          // initrd_addr_max
    Bit64u top = mem < max + 1 ? mem : max + 1;
    Bit64u addr = (top - rd.size()) & ~(Bit64u) 0xfffff;
    if (addr < KERNEL_32 + 3 * (k.size() - pm_off) + (64 << 20))
      die("not enough guest memory for the initramfs %s", initrd.c_str());
    guest_write(addr, rd.data(), rd.size());
    put32(bp, 0x218, (Bit32u) addr);              // ramdisk_image
    put32(bp, 0x21c, (Bit32u) rd.size());         // ramdisk_size
  }

  // e820 map: low RAM, BIOS hole, RAM from 1 MiB.
  struct { Bit64u a, s; Bit32u t; } e820[] = {
    { 0, 0x9f000, 1 }, { 0x9f000, 0x61000, 2 }, { 0x100000, mem - 0x100000, 1 },
  };
  for (unsigned i = 0; i < 3; i++) {
    put64(bp, 0x2d0 + i * 20, e820[i].a);
    put64(bp, 0x2d0 + i * 20 + 8, e820[i].s);
    put32(bp, 0x2d0 + i * 20 + 16, e820[i].t);
  }
  bp[0x1e8] = 3;                                  // e820_entries
  guest_write(BOOT_PARAMS, bp, sizeof(bp));
  guest_write(KERNEL_32, k.data() + pm_off, k.size() - pm_off);

  // GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18), flat 4 GiB.
  Bit64u gdt[4] = { 0, 0, 0x00cf9b000000ffffULL, 0x00cf93000000ffffULL };
  guest_write(GDT, gdt, sizeof(gdt));

  BX_CPU_C *c = BX_CPU(0);
  c->gdtr.base = GDT;
  c->gdtr.limit = sizeof(gdt) - 1;
  c->cr0.set_PE(1);
  c->set_segment_ar_data(&c->sregs[BX_SEG_REG_CS], true, 0x10, 0, 0xffffffff, 0xc09b);
  const unsigned data_segs[] = { BX_SEG_REG_DS, BX_SEG_REG_ES, BX_SEG_REG_SS, BX_SEG_REG_FS, BX_SEG_REG_GS };
  for (unsigned s : data_segs)
    c->set_segment_ar_data(&c->sregs[s], true, 0x18, 0, 0xffffffff, 0xc093);
  c->setEFlags(0x2);
  c->gen_reg[BX_32BIT_REG_ESI].rrx = BOOT_PARAMS;
  c->gen_reg[BX_32BIT_REG_EBX].rrx = 0;
  c->gen_reg[BX_32BIT_REG_EBP].rrx = 0;
  c->gen_reg[BX_32BIT_REG_EDI].rrx = 0;
  c->gen_reg[BX_32BIT_REG_ESP].rrx = 0;
  c->gen_reg[BX_64BIT_REG_RIP].rrx = KERNEL_32;
  c->handleCpuModeChange();
  c->TLB_flush();
  c->invalidate_prefetch_q();
}

