// c2w host layer for Bochs: entry point, direct Linux boot, CPU loop driver, exit port.
//
// Built into Bochs (wasm32-wasi and native) by emulators/bochs/scripts/build.sh. Bochs' own
// main() is renamed by our patch; this file's main() configures Bochs from built-in bochsrc
// lines, places bzImage + initramfs + boot_params per the Linux x86 boot protocol and starts
// the CPU in 32-bit protected mode at the kernel's 32-bit entry point.
//
// Usage: bochs [--kernel FILE] [--initrd FILE] [--append CMDLINE] [--mem MB] [--ips N]
//              [--bochsrc-line LINE]...
#define NEED_CPU_REG_SHORTCUTS 1
#include "bochs.h"
#include "cpu/cpu.h"
#include "iodev/iodev.h"
#include "pc_system.h"
#include "gui/siminterface.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <string>
#include <vector>

#include "c2w_sjlj.h"

#define LOG_THIS genlog->

int bx_init_main(int argc, char *argv[]);
int bx_begin_simulation(int argc, char *argv[]);

// ---------------------------------------------------------------- setjmp/longjmp (asyncify)
#if defined(C2W_SJLJ_ASYNCIFY)
extern "C" {
__attribute__((import_module("asyncify"), import_name("start_unwind")))
void asyncify_start_unwind(void *data);
__attribute__((import_module("asyncify"), import_name("stop_unwind")))
void asyncify_stop_unwind(void);
}

struct asyncify_data { void *cur; void *end; };
static char c2w_unwind_buf[256 * 1024];
static asyncify_data c2w_unwind_data;
static volatile int c2w_unwinding;
static int c2w_again;

extern "C" int c2w_setjmp_again(void)
{
  int r = c2w_again;
  c2w_again = 0;
  return r;
}

extern "C" void c2w_longjmp(void)
{
  c2w_unwind_data.cur = c2w_unwind_buf;
  c2w_unwind_data.end = c2w_unwind_buf + sizeof(c2w_unwind_buf);
  c2w_unwinding = 1;
  asyncify_start_unwind(&c2w_unwind_data);
}
#endif

// Runs the CPU until Bochs asks to stop. Not instrumented by asyncify (see build.sh).
extern "C" __attribute__((noinline)) void c2w_run_cpu(void)
{
  for (;;) {
    BX_CPU(0)->cpu_loop();
#if defined(C2W_SJLJ_ASYNCIFY)
    if (c2w_unwinding) {
      asyncify_stop_unwind();
      c2w_unwinding = 0;
      c2w_again = 1;
      continue;
    }
#endif
    if (bx_pc_system.kill_bochs_request) break;
  }
}

#if defined(__wasi__)
// wasi-libc has no tmpfile(); Bochs only uses it for save/restore, which we do not offer.
extern "C" FILE *tmpfile(void)
{
  errno = ENOSYS;
  return NULL;
}
#endif

// ---------------------------------------------------------------- options
static std::string opt_kernel, opt_initrd, opt_append = "console=ttyS0";
static unsigned opt_mem = 256;
static unsigned long opt_ips = 200000000;
static std::vector<std::string> opt_lines;
static int c2w_exit_code = -1;

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

static void load_linux(void)
{
  std::vector<unsigned char> k = read_file(opt_kernel);
  if (k.size() < 0x1000 || get32(k.data(), 0x202) != 0x53726448 /* HdrS */)
    die("%s is not a Linux bzImage", opt_kernel.c_str());
  Bit16u version = get16(k.data(), 0x206);
  if (version < 0x20c) die("%s: boot protocol too old", opt_kernel.c_str());
  unsigned setup_sects = k[0x1f1] ? k[0x1f1] : 4;
  size_t pm_off = (setup_sects + 1) * 512;
  if (pm_off >= k.size()) die("%s: truncated", opt_kernel.c_str());

  Bit64u mem = (Bit64u) opt_mem << 20;
  unsigned char bp[4096];
  memset(bp, 0, sizeof(bp));
  size_t hdr_end = 0x202 + k[0x201];
  memcpy(bp + 0x1f1, k.data() + 0x1f1, hdr_end - 0x1f1);
  bp[0x210] = 0xff;                               // type_of_loader: undefined
  bp[0x211] |= 0x01;                              // LOADED_HIGH
  bp[0x211] &= ~0x20;                             // QUIET_FLAG off
  put32(bp, 0x228, CMDLINE);                      // cmd_line_ptr
  Bit32u cmdline_size = get32(k.data(), 0x238);
  if (opt_append.size() >= cmdline_size) die("kernel command line too long: %s", opt_append.c_str());
  guest_write(CMDLINE, opt_append.c_str(), opt_append.size() + 1);

  if (!opt_initrd.empty()) {
    std::vector<unsigned char> rd = read_file(opt_initrd);
    Bit64u max = get32(k.data(), 0x22c);          // initrd_addr_max
    Bit64u top = mem < max + 1 ? mem : max + 1;
    Bit64u addr = (top - rd.size()) & ~(Bit64u) 0xfffff;
    if (addr < KERNEL_32 + 3 * (k.size() - pm_off) + (64 << 20))
      die("not enough guest memory for the initramfs %s", opt_initrd.c_str());
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

// ---------------------------------------------------------------- control ports
// Stand-ins for the control port (exit=N, ready=1) until the virtio devices land:
// a write of byte N to I/O port 0xf4 ends the emulator with exit status N; a write to port
// 0xf5 tells the host the guest reads its console now, so stdin is passed to the serial port
// from then on (nothing typed ahead is echoed or lost while the guest boots).
static const Bit16u EXIT_PORT = 0xf4, STDIN_PORT = 0xf5;
bool c2w_stdin_open = false;
static bool c2w_snapshotting = false;   // inside wizer.initialize
static bool c2w_at_ready = false;       // the snapshot stopped at the ready point

static Bit32u ctl_port_read(void *, Bit32u, unsigned) { return 0xffffffff; }
static void ctl_port_write(void *, Bit32u port, Bit32u value, unsigned)
{
  if (port == STDIN_PORT) {
    if (c2w_snapshotting) {
      // the guest's ready point: stop here, wizer.initialize returns and Wizer snapshots
      c2w_at_ready = true;
      bx_pc_system.kill_bochs_request = 1;
      BX_CPU(0)->async_event = 1;
      return;
    }
    c2w_stdin_open = true;
    return;
  }
  c2w_exit_code = value & 0xff;
  bx_pc_system.kill_bochs_request = 1;
  BX_CPU(0)->async_event = 1;
}

// Called by our patch of bx_begin_simulation once the hardware is initialised.
extern "C" int c2w_begin(void)
{
  static int dummy;
  DEV_register_ioread_handler(&dummy, ctl_port_read, EXIT_PORT, "c2w exit", 1);
  DEV_register_iowrite_handler(&dummy, ctl_port_write, EXIT_PORT, "c2w exit", 1);
  DEV_register_ioread_handler(&dummy, ctl_port_read, STDIN_PORT, "c2w stdin", 1);
  DEV_register_iowrite_handler(&dummy, ctl_port_write, STDIN_PORT, "c2w stdin", 1);
  if (!opt_kernel.empty()) load_linux();
  c2w_run_cpu();
  if (c2w_snapshotting && c2w_at_ready) return 0;
  fflush(stdout);
  fflush(stderr);
  // _exit: Bochs' exit handlers print a banner on stdout, which belongs to the guest
  _exit(c2w_exit_code >= 0 ? c2w_exit_code : 125);
  return 0;
}

// Called by our patch of the CPU reset path: a guest reset (reboot, triple fault) ends us.
extern "C" void c2w_guest_reset(void)
{
  if (c2w_exit_code < 0) c2w_exit_code = 125;
  bx_pc_system.kill_bochs_request = 1;
  BX_CPU(0)->async_event = 1;
}

// Bochs' configuration interface would answer the simulator's events; we have none.
static BxEvent *c2w_notify(void *, BxEvent *event)
{
  event->retcode = 0;
  return event;
}

static void parse_args(int argc, char *argv[])
{
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&](void) -> std::string {
      if (i + 1 >= argc) die("%s needs a value", a.c_str());
      return argv[++i];
    };
    if (a == "--kernel") opt_kernel = val();
    else if (a == "--initrd") opt_initrd = val();
    else if (a == "--append") opt_append = val();
    else if (a == "--mem") opt_mem = (unsigned) strtoul(val().c_str(), NULL, 10);
    else if (a == "--ips") opt_ips = strtoul(val().c_str(), NULL, 10);
    else if (a == "--bochsrc-line") opt_lines.push_back(val());
    else die("unknown option %s", a.c_str());
  }
  if (opt_mem < 64 || opt_mem > 3072) die("--mem %s: must be 64..3072 (MiB)", std::to_string(opt_mem).c_str());
}

static void start_bochs(void)
{

  char buf[256];
  std::vector<std::string> lines = {
    "display_library: nogui",
    "cpu: model=corei7_haswell_4770, count=1, reset_on_triple_fault=1",
    "pci: enabled=1, chipset=i440fx",
    "clock: sync=none, time0=local",
    "log: -",
    "logprefix: bochs %t%e%d",
    "panic: action=fatal",
    "error: action=ignore",
    "info: action=ignore",
    "debug: action=ignore",
    "com1: enabled=1, mode=term, dev=stdio",
    "vga: extension=none",
    "romimage: file=none",
    "vgaromimage: file=none",
    "keyboard: type=mf",
    "mouse: enabled=0",
  };
  snprintf(buf, sizeof(buf), "memory: guest=%u, host=%u", opt_mem, opt_mem);
  lines.push_back(buf);
  snprintf(buf, sizeof(buf), "cpu: ips=%lu", opt_ips);
  lines.push_back(buf);
  for (auto &l : opt_lines) lines.push_back(l);

  std::vector<char *> bargv;
  bargv.push_back((char *) "bochs");
  bargv.push_back((char *) "-q");
  bargv.push_back((char *) "-n");
  for (auto &l : lines) bargv.push_back((char *) l.c_str());
  bargv.push_back(NULL);

  bx_init_siminterface();
  SIM->set_notify_callback(c2w_notify, NULL);
  if (bx_init_main((int) bargv.size() - 1, bargv.data()) < 0) die("%s", "bad configuration");
  bx_begin_simulation(0, NULL);
}

int main(int argc, char *argv[])
{
  parse_args(argc, argv);
  start_bochs();
  return 125;
}

#if defined(__wasi__)
// ---------------------------------------------------------------- Wizer pre-boot
// `wizer.initialize` boots the guest up to its ready point (the guest's first write to port
// 0xf5) and returns; Wizer snapshots linear memory and globals. The snapshot's entry point is
// c2w_resume (wizer -r _start=c2w_resume): it must not run the C++ constructors again.
// Boot arguments at initialize time come from the environment (wizer --inherit-env true):
// C2W_BOCHS_ARGS, the usual options separated by newlines.
extern "C" void __wasm_call_ctors(void);

__attribute__((export_name("wizer.initialize"))) void c2w_wizer_initialize(void)
{
  __wasm_call_ctors();
  std::vector<std::string> words;
  const char *env = getenv("C2W_BOCHS_ARGS");
  std::string all = env ? env : "";
  size_t pos = 0;
  while (pos <= all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    if (nl > pos) words.push_back(all.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::vector<char *> argv;
  argv.push_back((char *) "bochs");
  for (auto &w : words) argv.push_back((char *) w.c_str());
  argv.push_back(NULL);
  parse_args((int) argv.size() - 1, argv.data());
  c2w_snapshotting = true;
  start_bochs();
  if (!c2w_at_ready) die("%s", "the guest stopped before its ready point");
  c2w_snapshotting = false;
}

__attribute__((export_name("c2w_resume"))) void c2w_resume(void)
{
  if (!c2w_at_ready) die("%s", "c2w_resume: this module was not pre-booted");
  // the guest reached its ready point when it opened its console for input
  c2w_stdin_open = true;
  bx_pc_system.kill_bochs_request = 0;
  c2w_run_cpu();
  fflush(stdout);
  fflush(stderr);
  _exit(c2w_exit_code >= 0 ? c2w_exit_code : 125);
}
#endif
