/* wasm32-wasi entry points of the riscv64 machine.
 *   wizer.initialize: boots the kernel (files from the preopen /boot: Image, initramfs.cpio,
 *                     cmdline.txt) until init sends ready=1; Wizer snapshots the memory.
 *   _start (main):    re-opens host resources, reads the bundle footer (docs/contract.md,
 *                     "The packed module"), sets the disk, sends the run config, runs until
 *                     exit=N and exits with N. A module that was not snapshotted boots first. */
#include "bundle.h"
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

static uint8_t footer[C2W_BUNDLE_FOOTER_LEN];

/* runs in _start before anything can grow memory: the footer is the last 64 bytes */
__attribute__((constructor(101))) static void read_footer(void) {
  uintptr_t end = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  memcpy(footer, (const void *)(end - C2W_BUNDLE_FOOTER_LEN), C2W_BUNDLE_FOOTER_LEN);
}

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

int main(int argc, char **argv) {
  if (!machine_booted() && boot()) return 125;
  host_reopen(0, NULL);
  machine_resume();
  C2wBundle b;
  c2w_bundle_parse(&b, footer);
  uint64_t disk_size = 0;
  C2wDiskRead read = NULL;
  if (c2w_bundle_disk(&b, NULL, &disk_size, &read)) return 125;
  if (disk_size) machine_set_disk(disk_size, read, NULL);
  size_t ml = 0;
  uint8_t *msg = c2w_run_config(b.present ? (const uint8_t *)(uintptr_t)b.config_off : NULL, (size_t)b.config_len,
                                argc - 1, argv + 1, environ, disk_size, &ml);
  if (!msg) return 125;
  machine_send_ctl(msg, ml);
  free(msg);
  int tty = host_stdin_isatty();
  machine_enable_stdin(tty);
  int r = machine_run(0);
  return r < 0 ? 125 : r;
}
