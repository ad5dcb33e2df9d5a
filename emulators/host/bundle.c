#include "bundle.h"
#include "c2w_ctl.h"
#include "host.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void c2w_bundle_parse(C2wBundle *b, const uint8_t footer[C2W_BUNDLE_FOOTER_LEN]) {
  memset(b, 0, sizeof(*b));
  if (memcmp(footer, "C2WBNDL1", 8)) return;
  b->present = 1;
  b->flags = (uint32_t)le64(footer + 12);
  b->rootfs_off = le64(footer + 16);
  b->rootfs_len = le64(footer + 24);
  b->config_off = le64(footer + 32);
  b->config_len = le64(footer + 40);
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
    if (n == 0) { /* past the end: zeros, as a block device rounds up */
      memset(buf, 0, len);
      return 0;
    }
    buf += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

static int open_disk_file(int dirfd, const char *path, const char *what, uint64_t *size) {
  disk_fd = dirfd >= 0 ? openat(dirfd, path, O_RDONLY) : open(path, O_RDONLY);
  struct stat st;
  if (disk_fd < 0 || fstat(disk_fd, &st) || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "c2w: %s: cannot open %s\n", what, path);
    return -1;
  }
  *size = (uint64_t)st.st_size;
  return 0;
}

int c2w_bundle_disk(const C2wBundle *b, const char *path, uint64_t *size, C2wDiskRead *read) {
  *size = 0;
  *read = NULL;
  if (path) {
    if (open_disk_file(-1, path, "disk", size)) return -1;
    *read = disk_read_fd;
  } else if (b->present && (b->flags & C2W_BUNDLE_EXTERNAL)) {
    if (open_disk_file(host_bundle_dir_fd(), "rootfs.erofs", "external bundle (the /.c2w-bundle preopen)", size))
      return -1;
    *read = disk_read_fd;
  } else if (b->present && b->rootfs_len) {
    disk_mem = (const uint8_t *)(uintptr_t)b->rootfs_off;
    *size = b->rootfs_len;
    *read = disk_read_mem;
  }
  return 0;
}

uint8_t *c2w_run_config(const uint8_t *packed, size_t packed_len, int argc, char **argv, char **envp,
                        uint64_t disk_size, size_t *len) {
  size_t cap = 65536 + packed_len;
  for (int i = 0; i < argc; i++) cap += strlen(argv[i]) + 8;
  for (char **e = envp; e && *e; e++) cap += strlen(*e) + 8;
  uint8_t *msg = malloc(cap);
  if (!msg) {
    fprintf(stderr, "c2w: run config: out of memory\n");
    return NULL;
  }
  C2wMsg m;
  c2w_msg_begin(&m, msg, cap);
  if (packed && packed_len) c2w_msg_raw(&m, packed, packed_len);
  for (int i = 0; i < argc; i++) c2w_msg_add(&m, "arg", argv[i]);
  for (char **e = envp; e && *e; e++) c2w_msg_add(&m, "renv", *e);
  for (int d = 0; d < host_preopen_count(); d++) c2w_msg_add(&m, "mount", host_preopen_guest_path(d));
  char tbuf[64];
  uint64_t now = host_realtime_ns();
  snprintf(tbuf, sizeof(tbuf), "%llu.%09llu", (unsigned long long)(now / 1000000000ULL),
           (unsigned long long)(now % 1000000000ULL));
  c2w_msg_add(&m, "time", tbuf);
  c2w_msg_add(&m, "tty", host_stdin_isatty() ? "1" : "0");
  snprintf(tbuf, sizeof(tbuf), "%llu", (unsigned long long)disk_size);
  c2w_msg_add(&m, "disk", tbuf);
  *len = c2w_msg_end(&m);
  if (!*len) {
    free(msg);
    fprintf(stderr, "c2w: run config too large\n");
    return NULL;
  }
  return msg;
}
