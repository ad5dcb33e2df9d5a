/* Native CLI of the riscv64 machine (development and tests):
 *   c2w-rv64 --kernel Image [--initrd initramfs.cpio] [--append CMDLINE] [--disk rootfs.erofs]
 *            [--config packed-records-file] [--dir HOST::GUEST]... [--env K=V]... [--mem MiB]
 *            [--boot-only] [--timing] [-- ARG...]
 * Boots to the ready point (init sends ready=1), then does what the WASI module does at _start:
 * sets the disk capacity, sends the run config and runs until exit=N; exits with N. */
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

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "c2w-rv64: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long l = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(l > 0 ? (size_t)l : 1);
  if (!b || fread(b, 1, (size_t)l, f) != (size_t)l) {
    fprintf(stderr, "c2w-rv64: %s: read error\n", path);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *len = (size_t)l;
  return b;
}

static int disk_fd = -1;
static int disk_read(void *o, uint64_t off, uint8_t *buf, size_t len) {
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

static void usage(void) {
  fprintf(stderr, "usage: c2w-rv64 --kernel Image [--initrd FILE] [--append CMDLINE] [--disk FILE] "
                  "[--config FILE] [--dir HOST::GUEST]... [--env K=V]... [--mem MiB] [--boot-only] [--timing] "
                  "[-- ARG...]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *kernel = NULL, *initrd = NULL, *append = "console=hvc1 quiet", *disk = NULL, *config = NULL;
  char *dirs[64];
  int ndirs = 0;
  char *envs[256];
  int nenv = 0;
  uint64_t mem = 256;
  int boot_only = 0, timing = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
#define ARG() (i + 1 < argc ? argv[++i] : (usage(), (char *)0))
    if (!strcmp(a, "--")) { i++; break; }
    else if (!strcmp(a, "--kernel")) kernel = ARG();
    else if (!strcmp(a, "--initrd")) initrd = ARG();
    else if (!strcmp(a, "--append")) append = ARG();
    else if (!strcmp(a, "--disk")) disk = ARG();
    else if (!strcmp(a, "--config")) config = ARG();
    else if (!strcmp(a, "--dir")) { if (ndirs < 64) dirs[ndirs++] = ARG(); else usage(); }
    else if (!strcmp(a, "--env")) { if (nenv < 256) envs[nenv++] = ARG(); else usage(); }
    else if (!strcmp(a, "--mem")) mem = strtoull(ARG(), NULL, 0);
    else if (!strcmp(a, "--boot-only")) boot_only = 1;
    else if (!strcmp(a, "--timing")) timing = 1;
    else usage();
  }
  if (!kernel) usage();
  if (mem < 64 || mem > 4096) {
    fprintf(stderr, "c2w-rv64: --mem %llu: must be 64..4096 MiB\n", (unsigned long long)mem);
    return 2;
  }
  uint64_t t0 = host_monotonic_ns();
  size_t klen = 0, ilen = 0, clen = 0;
  uint8_t *k = read_file(kernel, &klen);
  if (!k) return 2;
  uint8_t *ird = NULL;
  if (initrd && !(ird = read_file(initrd, &ilen))) return 2;
  uint8_t *cfg = NULL;
  if (config && !(cfg = read_file(config, &clen))) return 2;
  uint64_t disk_size = 0;
  if (disk) {
    disk_fd = open(disk, O_RDONLY);
    struct stat st;
    if (disk_fd < 0 || fstat(disk_fd, &st)) {
      fprintf(stderr, "c2w-rv64: %s: %s\n", disk, strerror(errno));
      return 2;
    }
    disk_size = (uint64_t)st.st_size;
  }
  if (host_reopen(ndirs, dirs)) return 2;
  if (machine_init(mem << 20)) {
    fprintf(stderr, "c2w-rv64: cannot allocate %llu MiB of guest RAM\n", (unsigned long long)mem);
    return 2;
  }
  if (machine_load(k, klen, ird, ilen, append)) return 2;
  free(k);
  free(ird);
  int r = machine_run(1);
  uint64_t t1 = host_monotonic_ns();
  if (timing) fprintf(stderr, "c2w-rv64: ready after %.3f s\n", (double)(t1 - t0) / 1e9);
  if (r >= 0) return r;
  if (boot_only) return 0;
  /* resume: what the WASI module does at _start */
  machine_resume();
  if (disk) machine_set_disk(disk_size, disk_read, NULL);
  static uint8_t msg[1 << 20];
  C2wMsg m;
  c2w_msg_begin(&m, msg, sizeof(msg));
  if (cfg) c2w_msg_raw(&m, cfg, clen);
  for (; i < argc; i++) c2w_msg_add(&m, "arg", argv[i]);
  for (int e = 0; e < nenv; e++) c2w_msg_add(&m, "renv", envs[e]);
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
    fprintf(stderr, "c2w-rv64: run config too large\n");
    return 2;
  }
  machine_send_ctl(msg, ml);
  machine_enable_stdin(tty);
  r = machine_run(0);
  if (timing) fprintf(stderr, "c2w-rv64: exit %d after %.3f s\n", r, (double)(host_monotonic_ns() - t0) / 1e9);
  return r < 0 ? 125 : r;
}
