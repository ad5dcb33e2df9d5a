/* wasm32-wasi entry points of the riscv64 machine.
 *   wizer.initialize: boots the kernel (files from the preopen /boot: Image, initramfs.cpio,
 *                     cmdline.txt) until init sends ready=1; Wizer snapshots the memory.
 *   _start (main):    re-opens host resources, reads the bundle footer (docs/contract.md,
 *                     "The packed module"), sets the disk, sends the run config, runs until
 *                     exit=N and exits with N. A module that was not snapshotted boots first. */
#include "c2w_ctl.h"
#include "host.h"
#include "machine.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef C2W_RAM_MB
#define C2W_RAM_MB 256
#endif

extern char **environ;

static uint8_t footer[64];
static int have_footer;

/* runs in _start before anything can grow memory: the footer is the last 64 bytes */
__attribute__((constructor(101))) static void read_footer(void) {
  uintptr_t end = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  memcpy(footer, (const void *)(end - 64), 64);
  have_footer = !memcmp(footer, "C2WBNDL1", 8);
}

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint32_t le32(const uint8_t *p) { return (uint32_t)le64(p) & 0xffffffffu; }

static uint8_t *read_file(const char *path, size_t *len, int must) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    if (must) fprintf(stderr, "c2w-rv64: %s: %s\n", path, fd < 0 ? strerror(errno) : "not a file");
    return NULL;
  }
  uint8_t *b = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (b && got < (size_t)st.st_size) {
    ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (!b || got != (size_t)st.st_size) {
    fprintf(stderr, "c2w-rv64: %s: read error\n", path);
    free(b);
    return NULL;
  }
  b[got] = 0;
  *len = got;
  return b;
}

static int boot(void) {
  host_reopen(0, NULL);
  size_t klen = 0, ilen = 0, clen = 0;
  uint8_t *k = read_file("/boot/Image", &klen, 1);
  if (!k) return -1;
  uint8_t *ird = read_file("/boot/initramfs.cpio", &ilen, 0);
  uint8_t *cmd = read_file("/boot/cmdline.txt", &clen, 0);
  char cmdline[1024] = "console=hvc1 quiet panic=-1";
  if (cmd) {
    while (clen > 0 && (cmd[clen - 1] == '\n' || cmd[clen - 1] == ' ')) clen--;
    if (clen < sizeof(cmdline)) {
      memcpy(cmdline, cmd, clen);
      cmdline[clen] = 0;
    }
  }
  if (machine_init((uint64_t)C2W_RAM_MB << 20)) {
    fprintf(stderr, "c2w-rv64: cannot allocate guest RAM\n");
    return -1;
  }
  if (machine_load(k, klen, ird, ilen, cmdline)) return -1;
  free(k);
  free(ird);
  free(cmd);
  int r = machine_run(1);
  if (r >= 0) {
    fprintf(stderr, "c2w-rv64: the guest stopped before the ready point (status %d)\n", r);
    return -1;
  }
  return 0;
}

__attribute__((export_name("wizer.initialize"))) void wizer_initialize(void) {
  if (boot()) exit(125);
}

static const uint8_t *disk_mem;
static int disk_read_mem(void *o, uint64_t off, uint8_t *buf, size_t len) {
  (void)o;
  memcpy(buf, disk_mem + off, len);
  return 0;
}
static int disk_fd = -1;
static int disk_read_fd(void *o, uint64_t off, uint8_t *buf, size_t len) {
  (void)o;
  while (len > 0) {
    ssize_t n = pread(disk_fd, buf, len, (off_t)off);
    if (n < 0) return -1;
    if (n == 0) {
      memset(buf, 0, len);
      return 0;
    }
    buf += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (!machine_booted() && boot()) return 125;
  host_reopen(0, NULL);
  machine_resume();
  uint64_t disk_size = 0;
  const uint8_t *cfg = NULL;
  size_t clen = 0;
  if (have_footer) {
    uint32_t flags = le32(footer + 12);
    uint64_t roff = le64(footer + 16), rlen = le64(footer + 24);
    uint64_t coff = le64(footer + 32);
    clen = (size_t)le64(footer + 40);
    cfg = (const uint8_t *)(uintptr_t)coff;
    if (flags & 1) {
      int bfd = host_bundle_dir_fd();
      disk_fd = bfd >= 0 ? openat(bfd, "rootfs.erofs", O_RDONLY) : -1;
      struct stat st;
      if (disk_fd < 0 || fstat(disk_fd, &st)) {
        fprintf(stderr, "c2w: external bundle: cannot open rootfs.erofs in the /.c2w-bundle preopen\n");
        return 125;
      }
      disk_size = (uint64_t)st.st_size;
      machine_set_disk(disk_size, disk_read_fd, NULL);
    } else if (rlen) {
      disk_mem = (const uint8_t *)(uintptr_t)roff;
      disk_size = rlen;
      machine_set_disk(disk_size, disk_read_mem, NULL);
    }
  }
  size_t cap = 65536 + clen;
  for (int i = 1; i < argc; i++) cap += strlen(argv[i]) + 8;
  for (char **e = environ; e && *e; e++) cap += strlen(*e) + 8;
  uint8_t *msg = malloc(cap);
  C2wMsg m;
  c2w_msg_begin(&m, msg, cap);
  if (cfg && clen) c2w_msg_raw(&m, cfg, clen);
  for (int i = 1; i < argc; i++) c2w_msg_add(&m, "arg", argv[i]);
  for (char **e = environ; e && *e; e++) c2w_msg_add(&m, "renv", *e);
  for (int d = 0; d < host_preopen_count(); d++) c2w_msg_add(&m, "mount", host_preopen_guest_path(d));
  char tbuf[64];
  uint64_t now = host_realtime_ns();
  snprintf(tbuf, sizeof(tbuf), "%llu.%09llu", (unsigned long long)(now / 1000000000ULL),
           (unsigned long long)(now % 1000000000ULL));
  c2w_msg_add(&m, "time", tbuf);
  int tty = host_stdin_isatty();
  c2w_msg_add(&m, "tty", tty ? "1" : "0");
  snprintf(tbuf, sizeof(tbuf), "%llu", (unsigned long long)disk_size);
  c2w_msg_add(&m, "disk", tbuf);
  size_t ml = c2w_msg_end(&m);
  if (!ml) {
    fprintf(stderr, "c2w: run config too large\n");
    return 125;
  }
  machine_send_ctl(msg, ml);
  free(msg);
  machine_enable_stdin(tty);
  int r = machine_run(0);
  return r < 0 ? 125 : r;
}
