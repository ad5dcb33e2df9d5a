// c2w host layer for Bochs: entry points, options, the CPU loop driver, run-time start.
//
// Built into Bochs (wasm32-wasi and native) by emulators/bochs/scripts/build.sh; Bochs' own
// main() is renamed by our patch. The machine: Bochs' PC (i440FX, PIC, PIT, CMOS) without
// BIOS, booted directly into Linux (linux_boot.cc), with the contract's virtio devices
// (virtio_bus.cc, docs/contract.md).
//
//   bochs [--boot DIR] [--kernel F] [--initrd F] [--append CMDLINE] [--mem MiB] [--ips N]
//         [--bochsrc-line LINE]... [--disk FILE] [--dir HOST::GUEST]... [--env K=V]... [-- ARG...]
//
// --boot DIR holds bzImage, initramfs.cpio and cmdline.txt (default /boot: the WASI preopen of
// the kernel project's build/x86_64). The emulator boots to the ready point (init sends
// ready=1), then does what a pre-booted module does at _start: sets the disk, sends the run
// config and runs until init sends exit=N; the status is N (125 if the guest resets).
// wasm32-wasi: `wizer.initialize` boots to the ready point and Wizer snapshots; the snapshot's
// _start is c2w_resume (wizer -r _start=c2w_resume), where every argument is the container's.
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

#include "c2w_bochs.h"
#include "c2w_sjlj.h"
#include "c2w_trace.h"
extern "C" {
#include "host.h"
}

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
volatile int c2w_unwinding;
static volatile int c2w_never;
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

// Called right after an indirect call while an unwind is in progress (C2W_UNWIND_POINT): it does
// nothing, but as it can reach c2w_longjmp asyncify instruments the call, so the caller unwinds.
extern "C" __attribute__((noinline)) void c2w_unwind_point(void)
{
  if (c2w_never) c2w_longjmp();
}
#endif

// cpu_loop through a pointer: it must stay a frame of its own under LTO (the asyncify-instrumented
// frame below c2w_run_cpu), and V8 enters its optimized code (a direct call from c2w_run_cpu,
// which runs once, would keep entering its Liftoff code: see emulators/riscv64/README.md).
static void (*volatile c2w_cpu_loop)(void) = &BX_CPU_C::cpu_loop;

// Runs the CPU until something asks it to stop (c2w_stop_cpu). Not instrumented by asyncify
// (see build.sh): it is the frame where an unwinding longjmp ends.
extern "C" __attribute__((noinline)) void c2w_run_cpu(void)
{
  for (;;) {
    c2w_cpu_loop();
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
  bx_pc_system.kill_bochs_request = 0;
}

void c2w_stop_cpu(void)
{
  bx_pc_system.kill_bochs_request = 1;
  BX_CPU(0)->async_event = 1;
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
struct Options {
  std::string boot = "/boot", kernel, initrd, append;
  bool have_append = false;
  unsigned mem = 256;
  unsigned long ips = 200000000;
  std::vector<std::string> lines;
  std::string disk;
  std::vector<std::string> dirs, env;
  std::vector<std::string> args;  // the container's
};

static bool c2w_booted;     // the guest reached its ready point (kept in a snapshot)
// patch 0002's serial stdio mode (a debugging console: --bochsrc-line "com1: enabled=1,
// mode=term, dev=stdio") reads stdin only once this is set: after the ready point
bool c2w_stdin_open = false;
static bool c2w_reset;      // the guest reset or triple-faulted

[[noreturn]] static void die(const std::string &msg)
{
  fprintf(stderr, "bochs: %s\n", msg.c_str());
  exit(125);
}

static std::string read_text(const std::string &path)
{
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return "";
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  fclose(f);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

static Options parse_args(int argc, char *argv[])
{
  Options o;
  int i = 1;
  for (; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--") { i++; break; }
    auto val = [&](void) -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--boot") o.boot = val();
    else if (a == "--kernel") o.kernel = val();
    else if (a == "--initrd") o.initrd = val();
    else if (a == "--append") { o.append = val(); o.have_append = true; }
    else if (a == "--mem") o.mem = (unsigned) strtoul(val().c_str(), NULL, 10);
    else if (a == "--ips") o.ips = strtoul(val().c_str(), NULL, 10);
    else if (a == "--bochsrc-line") o.lines.push_back(val());
    else if (a == "--disk") o.disk = val();
    else if (a == "--dir") o.dirs.push_back(val());
    else if (a == "--env") o.env.push_back(val());
    else die("unknown option " + a + " (options end with --, the container's arguments follow)");
  }
  for (; i < argc; i++) o.args.push_back(argv[i]);
  if (o.mem < 64 || o.mem > 3072) die("--mem " + std::to_string(o.mem) + ": must be 64..3072 (MiB)");
  if (o.kernel.empty()) o.kernel = o.boot + "/bzImage";
  if (o.initrd.empty()) o.initrd = o.boot + "/initramfs.cpio";
  if (!o.have_append) {
    o.append = read_text(o.boot + "/cmdline.txt");
    if (o.append.empty()) o.append = "console=hvc1 quiet panic=-1";
  }
  return o;
}

// ---------------------------------------------------------------- boot to the ready point
static const Options *boot_opts;

// Called by our patch of bx_begin_simulation once the hardware is initialised.
extern "C" int c2w_begin(void)
{
  // every log object exists now: keep them all quiet but for panics (stderr is the guest's)
  for (int level : {LOGLEV_DEBUG, LOGLEV_INFO, LOGLEV_ERROR}) io->set_log_action(level, ACT_IGNORE);
  c2w_virtio_init();
  std::string cmdline = boot_opts->append + " " + c2w_virtio_kernel_params();
  c2w_linux_boot(boot_opts->kernel, boot_opts->initrd, cmdline, boot_opts->mem);
  c2w_run_cpu();
  return 0;
}

// Called by our patch of the CPU reset path: a guest reset (reboot, triple fault) ends us.
extern "C" void c2w_guest_reset(void)
{
  c2w_reset = true;
  c2w_stop_cpu();
}

// Bochs' configuration interface would answer the simulator's events; we have none.
static BxEvent *c2w_notify(void *, BxEvent *event)
{
  event->retcode = 0;
  return event;
}

static void boot(const Options &o)
{
#if defined(C2W_TRACE_COMPILER)
  c2w_trace_probe();
#endif
  char buf[256];
  std::vector<std::string> lines = {
    // first, so that parsing the rest logs nothing
    "info: action=ignore",
    "debug: action=ignore",
    "error: action=ignore",
    "panic: action=fatal",
    "log: -",
    "logprefix: bochs %t%e%d",
    "display_library: nogui",
    "cpu: model=corei7_haswell_4770, count=1, reset_on_triple_fault=1",
    "pci: enabled=1, chipset=i440fx",
    "clock: sync=none, time0=local",
    "com1: enabled=0",
    "vga: extension=none",
    "romimage: file=none",
    "vgaromimage: file=none",
    "keyboard: type=mf",
    "mouse: enabled=0",
  };
  snprintf(buf, sizeof(buf), "memory: guest=%u, host=%u", o.mem, o.mem);
  lines.push_back(buf);
  snprintf(buf, sizeof(buf), "cpu: ips=%lu", o.ips);
  lines.push_back(buf);
  for (auto &l : o.lines) lines.push_back(l);

  std::vector<char *> bargv;
  bargv.push_back((char *) "bochs");
  bargv.push_back((char *) "-q");
  bargv.push_back((char *) "-n");
  for (auto &l : lines) bargv.push_back((char *) l.c_str());
  bargv.push_back(NULL);

  boot_opts = &o;
  bx_init_siminterface();
  SIM->set_notify_callback(c2w_notify, NULL);
  // quiet from the start: stderr belongs to the guest
  for (int level : {LOGLEV_DEBUG, LOGLEV_INFO, LOGLEV_ERROR}) {
    SIM->set_default_log_action(level, ACT_IGNORE);
    io->set_log_action(level, ACT_IGNORE);
  }
  if (bx_init_main((int) bargv.size() - 1, bargv.data()) < 0) die("bad configuration");
  bx_begin_simulation(0, NULL);
  boot_opts = NULL;
  if (!c2w_virtio_ready()) {
    int code = c2w_virtio_exit_code();
    die(c2w_reset ? "the guest reset before its ready point"
                  : "the guest stopped before its ready point (status " + std::to_string(code) + ")");
  }
  c2w_booted = true;
}

// ---------------------------------------------------------------- run the container
static Bit8u c2w_footer[C2W_BUNDLE_FOOTER_LEN];

static int run(const Options &o)
{
  std::vector<char *> dirs;
  for (auto &d : o.dirs) dirs.push_back((char *) d.c_str());
  host_reopen((int) dirs.size(), dirs.data());
#if defined(C2W_TRACE_COMPILER)
  c2w_trace_probe();  // again: a snapshot was booted under Wizer, which compiles nothing
#endif
  C2wBundle b;
  c2w_bundle_parse(&b, c2w_footer);
  uint64_t disk_size = 0;
  C2wDiskRead read = NULL;
  if (c2w_bundle_disk(&b, o.disk.empty() ? NULL : o.disk.c_str(), &disk_size, &read)) return 125;
  if (disk_size) c2w_virtio_set_disk(disk_size, read);

  std::vector<char *> args, env;
  for (auto &a : o.args) args.push_back((char *) a.c_str());
  for (auto &e : o.env) env.push_back((char *) e.c_str());
  env.push_back(NULL);
  size_t len = 0;
  uint8_t *msg = c2w_run_config(b.present ? (const uint8_t *) (uintptr_t) b.config_off : NULL,
                                (size_t) b.config_len, (int) args.size(), args.data(), env.data(),
                                disk_size, &len);
  if (!msg) return 125;
  c2w_virtio_send_ctl(msg, len);
  free(msg);
  c2w_virtio_enable_stdin(host_stdin_isatty() != 0);
  c2w_stdin_open = true;
  c2w_run_cpu();
  int code = c2w_virtio_exit_code();
  return code >= 0 ? code : 125;
}

[[noreturn]] static void finish(int code)
{
#if defined(C2W_TRACE_COMPILER)
  c2w_trace_report();
#endif
  fflush(stdout);
  fflush(stderr);
  // _exit: Bochs' exit handlers print a banner on stdout, which belongs to the guest
  _exit(code);
}

#if defined(__wasi__)
extern char **environ;

// In a pre-booted module every argument is the container's and the environment comes from
// the runtime; a bare bochs.wasm takes the options above.
int main(int argc, char *argv[])
{
  Options o;
  if (!c2w_booted) {
    o = parse_args(argc, argv);
    boot(o);
  } else {
    for (int i = 1; i < argc; i++) o.args.push_back(argv[i]);
  }
  for (char **e = environ; e && *e; e++) o.env.push_back(*e);
  finish(run(o));
}
#else
int main(int argc, char *argv[])
{
  Options o = parse_args(argc, argv);
  boot(o);
  finish(run(o));
}
#endif

#if defined(__wasi__)
// ---------------------------------------------------------------- Wizer pre-boot
extern "C" void __wasm_call_ctors(void);
extern "C" int __main_void(void);
extern "C" void __wasilibc_initialize_environ(void);
extern "C" void __wasilibc_deinitialize_environ(void);

// the footer is the last 64 bytes of the module's initial memory: read it before anything
// can grow memory (a constructor for a bare module, first thing in c2w_resume for a snapshot)
static void read_footer(void)
{
  uintptr_t end = (uintptr_t) __builtin_wasm_memory_size(0) * 65536u;
  memcpy(c2w_footer, (const void *) (end - C2W_BUNDLE_FOOTER_LEN), C2W_BUNDLE_FOOTER_LEN);
}
__attribute__((constructor(101))) static void read_footer_at_start(void) { read_footer(); }

// Boots the guest from the /boot preopen (kernel/build/x86_64) up to its ready point.
__attribute__((export_name("wizer.initialize"))) void c2w_wizer_initialize(void)
{
  __wasm_call_ctors();
  static Options o;
  char *argv[] = {(char *) "bochs", NULL};
  o = parse_args(1, argv);
  boot(o);
  // A snapshot needs no decoded instructions: empty the instruction cache and zero its pool
  // (~20 MB of the module otherwise); the guest's code is decoded again after resume.
  flushICaches();
  memset(BX_CPU(0)->iCache.mpool, 0, sizeof(BX_CPU(0)->iCache.mpool));
}

// _start of the snapshot: the constructors already ran at snapshot time.
__attribute__((export_name("c2w_resume"))) void c2w_resume(void)
{
  read_footer();
  if (!c2w_booted) die("c2w_resume: this module was not pre-booted");
  // the snapshot's environment is the build machine's: take the runtime's
  __wasilibc_deinitialize_environ();
  __wasilibc_initialize_environ();
  finish(__main_void());
}
#endif
