/* host layer over POSIX: native Linux (glibc) and wasm32-wasi (wasi-libc). */
#include "host.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#else
#ifndef __EMSCRIPTEN__
#include <sys/random.h>
#endif
#include <termios.h>
#endif

static struct {
  int n;
  int fd[HOST_MAX_PREOPENS];
  char guest[HOST_MAX_PREOPENS][256];
  int stdin_eof;
  int tty;
  int bundle_fd;
  int stdin_ready; /* a waiting poll saw stdin readable: the next read may block */
} H;

#ifndef __wasi__
static struct termios saved_tio;
static int tio_saved;
static void restore_tty(void) {
  if (tio_saved) tcsetattr(0, TCSANOW, &saved_tio);
}
#endif

int host_reopen(int ndirs, char **dirs) {
  H.n = 0;
  H.stdin_eof = 0;
  H.bundle_fd = -1;
  H.stdin_ready = 0;
  H.tty = isatty(0);
#ifdef __wasi__
  (void)ndirs;
  (void)dirs;
  for (int fd = 3; fd < 3 + 64 && H.n < HOST_MAX_PREOPENS; fd++) {
    __wasi_prestat_t ps;
    if (__wasi_fd_prestat_get((__wasi_fd_t)fd, &ps) != 0) break;
    if (ps.tag != __WASI_PREOPENTYPE_DIR) continue;
    size_t len = ps.u.dir.pr_name_len;
    if (len >= sizeof(H.guest[0])) continue;
    if (__wasi_fd_prestat_dir_name((__wasi_fd_t)fd, (uint8_t *)H.guest[H.n], len) != 0) continue;
    H.guest[H.n][len] = 0;
    /* strip trailing NULs some runtimes include */
    while (len > 0 && H.guest[H.n][len - 1] == 0) len--;
    H.guest[H.n][len] = 0;
    if (!strcmp(H.guest[H.n], "/.c2w-bundle")) {
      H.bundle_fd = fd;
      continue;
    }
    H.fd[H.n] = fd;
    H.n++;
  }
#else
  for (int i = 0; i < ndirs && H.n < HOST_MAX_PREOPENS; i++) {
    const char *spec = dirs[i];
    const char *sep = strstr(spec, "::");
    char host[4096];
    const char *guest;
    if (sep) {
      size_t l = (size_t)(sep - spec);
      if (l >= sizeof(host)) return -1;
      memcpy(host, spec, l);
      host[l] = 0;
      guest = sep + 2;
    } else {
      snprintf(host, sizeof(host), "%s", spec);
      guest = spec;
    }
    int fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "c2w-rv64: --dir %s: %s\n", spec, strerror(errno));
      return -1;
    }
    H.fd[H.n] = fd;
    snprintf(H.guest[H.n], sizeof(H.guest[0]), "%s", guest);
    H.n++;
  }
  if (H.tty && !tio_saved && tcgetattr(0, &saved_tio) == 0) {
    struct termios t = saved_tio;
    tio_saved = 1;
    atexit(restore_tty);
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
    t.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &t);
  }
#endif
  return 0;
}

int host_stdin_isatty(void) { return H.tty; }

int host_stdin_wait(uint64_t timeout_ns) {
  if (H.stdin_eof) {
    host_sleep_ns(timeout_ns);
    return 0;
  }
  struct pollfd p = {.fd = 0, .events = POLLIN};
  int ms = (int)(timeout_ns / 1000000);
  int r = poll(&p, 1, ms);
  if (r < 0) host_sleep_ns(timeout_ns); /* runtime cannot poll stdin: just wait */
  /* Node's WASI never reports a pipe readable to a zero-timeout poll, only to a waiting one:
   * remember it so the next host_stdin_read reads (the guest is idle while we wait). */
  if (r > 0) H.stdin_ready = 1;
  return r > 0;
}

long host_stdin_read(uint8_t *buf, size_t len) {
  if (H.stdin_eof) return -1;
  struct pollfd p = {.fd = 0, .events = POLLIN};
  int pr = H.stdin_ready ? 1 : poll(&p, 1, 0);
  H.stdin_ready = 0;
  if (pr == 0) return 0;
  /* pr < 0: the runtime cannot poll stdin (Node's WASI on /dev/null): read decides */
  ssize_t r = read(0, buf, len);
  if (r == 0) {
    H.stdin_eof = 1;
    return -1;
  }
  if (r < 0) {
    if (errno == EAGAIN || errno == EINTR) return 0;
    H.stdin_eof = 1;
    return -1;
  }
  return (long)r;
}

void host_write_out(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t r = write(fd, buf, len);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;
    }
    buf += r;
    len -= (size_t)r;
  }
}

void host_sleep_ns(uint64_t ns) {
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL), .tv_nsec = (long)(ns % 1000000000ULL)};
  nanosleep(&ts, NULL);
}

uint64_t host_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t host_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void host_random(uint8_t *buf, size_t len) {
#ifdef __wasi__
  if (__wasi_random_get(buf, len) != 0) memset(buf, 0x5a, len);
#elif defined(__EMSCRIPTEN__)
  if (getentropy(buf, len < 256 ? len : 256)) memset(buf, 0x5a, len);
  if (len > 256) host_random(buf + 256, len - 256);
#else
  while (len > 0) {
    ssize_t r = getrandom(buf, len, 0);
    if (r <= 0) break;
    buf += r;
    len -= (size_t)r;
  }
#endif
}

int host_preopen_count(void) { return H.n; }
int host_preopen_fd(int i) { return i >= 0 && i < H.n ? H.fd[i] : -1; }
int host_bundle_dir_fd(void) { return H.bundle_fd; }
const char *host_preopen_guest_path(int i) { return i >= 0 && i < H.n ? H.guest[i] : ""; }
