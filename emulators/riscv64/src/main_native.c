/* Native CLI of the riscv64 machine (development and tests):
 *   c2w-rv64 --kernel Image [--initrd initramfs.cpio] [--append CMDLINE] [--disk rootfs.erofs]
 *            [--config packed-records-file] [--dir HOST::GUEST]... [--env K=V]... [--mem MiB]
 *            [--boot-only] [--timing] [-- ARG...]
 * Boots to the ready point (init sends ready=1), then does what the WASI module does at _start:
 * sets the disk capacity, sends the run config and runs until exit=N; exits with N. */
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
  char *envs[257];
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
  C2wBundle none = {0};
  uint64_t disk_size = 0;
  C2wDiskRead read = NULL;
  if (c2w_bundle_disk(&none, disk, &disk_size, &read)) return 2;
  if (disk_size) machine_set_disk(disk_size, read, NULL);
  envs[nenv] = NULL;
  size_t ml = 0;
  uint8_t *msg = c2w_run_config(cfg, clen, argc - i, argv + i, envs, disk_size, &ml);
  if (!msg) return 2;
  machine_send_ctl(msg, ml);
  free(msg);
  machine_enable_stdin(host_stdin_isatty());
  r = machine_run(0);
  if (timing) fprintf(stderr, "c2w-rv64: exit %d after %.3f s\n", r, (double)(host_monotonic_ns() - t0) / 1e9);
  return r < 0 ? 125 : r;
}
