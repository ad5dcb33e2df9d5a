// c2w guest init: PID 1 of every c2w guest. Implements the guest side of docs/contract.md.
//
// Boot: mount /proc /sys /dev, find the virtio console ports (hvc0 = stdin/stdout, hvc1 =
// stderr, the generic port named "c2w.ctl" = control), send `ready=1`, block reading the run
// config (the ready point: backends snapshot the VM here). Then: rootfs (EROFS on /dev/vda under
// an overlay with a tmpfs upper), mapped directories (9p tag "c2w", entry n bind-mounted at the
// n-th `mount` path), user, env, workdir, stdio, run the process, forward signals, reap, send
// `exit=N`, sync, power off. Errors before the process starts: one line `c2w: ...` on stderr
// and exit status 125 (126: not executable, 127: not found).
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CTL_NAME "c2w.ctl"
#define MAX_MSG (64u << 20)
#define BUNDLE_PATH "/.c2w-bundle"

static int logfd = 2;      // where `c2w: ...` lines go: /dev/kmsg early, hvc1 once open
static int log_is_kmsg;    // prefix lines with a kernel log level
static int debug;          // `debug=1` (or c2w.debug=1 on the kernel cmdline)
static int ctlfd = -1;     // the c2w.ctl port
static int hvc0 = -1;      // stdin + stdout
static int hvc1 = -1;      // stderr (+ kernel console)

// ---------------------------------------------------------------------------------------------
// Logging and the end of the world

static void vlogline(const char *prefix, const char *fmt, va_list ap) {
  char buf[1024];
  int n = 0;
  if (log_is_kmsg) n = snprintf(buf, sizeof buf, "<3>");
  n += snprintf(buf + n, sizeof buf - n, "%s", prefix);
  if (n < (int)sizeof buf) n += vsnprintf(buf + n, sizeof buf - n, fmt, ap);
  if (n >= (int)sizeof buf - 1) n = sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t r = write(logfd, buf, n);
  (void)r;
}

static void errline(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlogline("c2w: ", fmt, ap);
  va_end(ap);
}

static void dbg(const char *fmt, ...) {
  if (!debug) return;
  va_list ap;
  va_start(ap, fmt);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char prefix[64];
  snprintf(prefix, sizeof prefix, "c2w-init[%ld.%03ld]: ", (long)ts.tv_sec, ts.tv_nsec / 1000000);
  vlogline(prefix, fmt, ap);
  va_end(ap);
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        poll(&pfd, 1, -1);
        continue;
      }
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int read_full(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

// One control message with one record `key=value`.
static void send_record(const char *key, const char *val) {
  if (ctlfd < 0) return;
  size_t kl = strlen(key), vl = strlen(val), n = kl + 1 + vl + 1;
  char *buf = malloc(4 + n);
  if (!buf) return;
  buf[0] = (char)(n & 0xff);
  buf[1] = (char)((n >> 8) & 0xff);
  buf[2] = (char)((n >> 16) & 0xff);
  buf[3] = (char)((n >> 24) & 0xff);
  memcpy(buf + 4, key, kl);
  buf[4 + kl] = '=';
  memcpy(buf + 5 + kl, val, vl);
  buf[4 + n - 1] = 0;
  if (write_all(ctlfd, buf, 4 + n) < 0) errline("writing to the control port: %s", strerror(errno));
  free(buf);
}

static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  reboot(RB_HALT_SYSTEM);
  for (;;) pause();
}

static void finish(int status) {
  if (hvc0 >= 0) tcdrain(hvc0);
  if (hvc1 >= 0) tcdrain(hvc1);
  sync();
  char s[16];
  snprintf(s, sizeof s, "%d", status & 0xff);
  dbg("exit=%s", s);
  send_record("exit", s);
  power_off();
}

// An error before the container's process runs: one line, then exit=status.
static void __attribute__((noreturn, format(printf, 2, 3))) fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlogline("c2w: ", fmt, ap);
  va_end(ap);
  finish(status);
  _exit(status);
}

// ---------------------------------------------------------------------------------------------
// Small file helpers

static char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

static int write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  int r = write_all(fd, text, strlen(text));
  close(fd);
  return r;
}

static int mkdir_p(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

// ---------------------------------------------------------------------------------------------
// String lists

struct strv {
  char **v;
  size_t n, cap;
};

static void strv_push(struct strv *s, char *x) {
  if (s->n + 2 > s->cap) {
    s->cap = s->cap ? s->cap * 2 : 8;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = x;
  s->v[s->n] = NULL;
}

// Sets K=V in an env list: same key replaces (keeps position), else appends.
static void env_set(struct strv *env, char *kv) {
  const char *eq = strchr(kv, '=');
  size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
  for (size_t i = 0; i < env->n; i++) {
    if (strncmp(env->v[i], kv, kl) == 0 && (env->v[i][kl] == '=' || env->v[i][kl] == 0)) {
      env->v[i] = kv;
      return;
    }
  }
  strv_push(env, kv);
}

static const char *env_get(struct strv *env, const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; i < env->n; i++)
    if (strncmp(env->v[i], key, kl) == 0 && env->v[i][kl] == '=') return env->v[i] + kl + 1;
  return NULL;
}

static char *xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  if (!s) {
    errline("out of memory");
    power_off();
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Boot: devices and the ready point

static void early_mounts(void) {
  mkdir("/proc", 0555);
  mkdir("/sys", 0555);
  mkdir("/dev", 0755);
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
    errline("mount /proc: %s", strerror(errno));
  if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
    errline("mount /sys: %s", strerror(errno));
  if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") < 0 && errno != EBUSY)
    errline("mount /dev: %s", strerror(errno));
}

static void cmdline_flags(void) {
  char *c = read_file("/proc/cmdline", NULL);
  if (!c) return;
  for (char *t = strtok(c, " \n"); t; t = strtok(NULL, " \n"))
    if (strcmp(t, "c2w.debug=1") == 0) debug = 1;
  free(c);
}

// Foreign-arch backends (emulators/binfmt) put a qemu-user interpreter and its binfmt_misc
// registration line (`NAME.reg`) in /c2w-binfmt of the initramfs. Registered at boot with the F
// flag, the kernel keeps the interpreter open, so it works inside the container's root too.
#define BINFMT_DIR "/c2w-binfmt"
static void register_binfmts(void) {
  DIR *d = opendir(BINFMT_DIR);
  if (!d) return;
  mkdir("/proc/sys/fs/binfmt_misc", 0755);
  if (mount("binfmt_misc", "/proc/sys/fs/binfmt_misc", "binfmt_misc", 0, NULL) < 0 && errno != EBUSY)
    fail(125, "mount binfmt_misc: %s", strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".reg")) continue;
    char *path = xasprintf(BINFMT_DIR "/%s", e->d_name);
    char *line = read_file(path, NULL);
    if (!line) fail(125, "cannot read %s", path);
    size_t ll = strcspn(line, "\n");  // one write of one line: that is the register file's protocol
    int fd = open("/proc/sys/fs/binfmt_misc/register", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, line, ll) != (ssize_t)ll)
      fail(125, "binfmt_misc refused %s: %s", path, strerror(errno));
    close(fd);
    dbg("binfmt: registered %s", e->d_name);
    free(line);
    free(path);
  }
  closedir(d);
}

// Finds /dev/vportNpM whose /sys/class/virtio-ports/vportNpM/name is c2w.ctl.
static int find_ctl_port(char *out, size_t outlen) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) return -1;
  struct dirent *e;
  int found = -1;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[300];
    snprintf(p, sizeof p, "/sys/class/virtio-ports/%s/name", e->d_name);
    char *name = read_file(p, NULL);
    if (!name) continue;
    name[strcspn(name, "\n")] = 0;
    if (strcmp(name, CTL_NAME) == 0) {
      snprintf(out, outlen, "/dev/%s", e->d_name);
      found = 0;
    }
    free(name);
    if (found == 0) break;
  }
  closedir(d);
  return found;
}

static void open_devices(void) {
  char ctlpath[300] = "";
  struct timespec step = {0, 5 * 1000 * 1000};
  for (int i = 0; i < 6000; i++) {  // 30 s
    if (hvc1 < 0) {
      hvc1 = open("/dev/hvc1", O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (hvc1 >= 0) {
        logfd = hvc1;
        log_is_kmsg = 0;
      }
    }
    if (hvc0 < 0) hvc0 = open("/dev/hvc0", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (ctlfd < 0 && (ctlpath[0] || find_ctl_port(ctlpath, sizeof ctlpath) == 0))
      ctlfd = open(ctlpath, O_RDWR | O_CLOEXEC);
    if (hvc0 >= 0 && hvc1 >= 0 && ctlfd >= 0) {
      dbg("devices ready: hvc0, hvc1, %s", ctlpath);
      return;
    }
    nanosleep(&step, NULL);
  }
  errline("the virtio console ports did not appear in 30 s (hvc0:%s hvc1:%s %s:%s)",
          hvc0 >= 0 ? "ok" : "missing", hvc1 >= 0 ? "ok" : "missing", CTL_NAME,
          ctlfd >= 0 ? "ok" : "missing");
  power_off();
}

// ---------------------------------------------------------------------------------------------
// The run config

struct config {
  struct strv entrypoint, cmd, env, arg, renv, mount, nameserver;
  const char *workdir, *user, *time, *tty, *disk;
};

static void parse_config(char *buf, size_t len, struct config *c) {
  size_t i = 0;
  while (i < len) {
    char *rec = buf + i;  // buf[len] is NUL, so an unterminated last record ends there
    size_t rl = strlen(rec);
    i += rl + 1;
    char *eq = strchr(rec, '=');
    if (!eq) continue;
    *eq = 0;
    char *k = rec, *v = eq + 1;
    if (!strcmp(k, "entrypoint")) strv_push(&c->entrypoint, v);
    else if (!strcmp(k, "cmd")) strv_push(&c->cmd, v);
    else if (!strcmp(k, "env")) strv_push(&c->env, v);
    else if (!strcmp(k, "arg")) strv_push(&c->arg, v);
    else if (!strcmp(k, "renv")) strv_push(&c->renv, v);
    else if (!strcmp(k, "mount")) strv_push(&c->mount, v);
    else if (!strcmp(k, "nameserver")) strv_push(&c->nameserver, v);
    else if (!strcmp(k, "workdir")) c->workdir = v;
    else if (!strcmp(k, "user")) c->user = v;
    else if (!strcmp(k, "time")) c->time = v;
    else if (!strcmp(k, "tty")) c->tty = v;
    else if (!strcmp(k, "disk")) c->disk = v;
    else if (!strcmp(k, "debug")) debug = debug || !strcmp(v, "1");
  }
}

// Reads one message (u32 LE length + payload). Returns the payload (NUL-terminated), or NULL.
static char *read_message(int fd, size_t *len) {
  unsigned char h[4];
  if (read_full(fd, h, 4) < 0) return NULL;
  uint32_t n = h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  if (n > MAX_MSG) {
    errline("control message too large (%u bytes)", n);
    return NULL;
  }
  char *buf = malloc(n + 1);
  if (!buf || read_full(fd, buf, n) < 0) return NULL;
  buf[n] = 0;
  *len = n;
  return buf;
}

static void set_clock(const char *t) {
  if (!t || !*t) return;
  char *end;
  errno = 0;
  long long s = strtoll(t, &end, 10);
  if (errno || end == t) return;
  long ns = 0;
  if (*end == '.') {
    int digits = 0;
    for (char *p = end + 1; isdigit((unsigned char)*p) && digits < 9; p++, digits++) ns = ns * 10 + (*p - '0');
    for (; digits < 9; digits++) ns *= 10;
  }
  struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = ns};
  if (clock_settime(CLOCK_REALTIME, &ts) < 0) dbg("clock_settime: %s", strerror(errno));
}

// ---------------------------------------------------------------------------------------------
// Root filesystem and mounts

#define ROOT "/c2w/root"
#define LOWER "/c2w/lower"
#define RW "/c2w/rw"
#define SHARE "/c2w/9p"

static void wait_disk(void) {
  struct timespec step = {0, 10 * 1000 * 1000};
  for (int i = 0; i <= 500; i++) {  // 5 s
    char *s = read_file("/sys/block/vda/size", NULL);
    long long sectors = s ? atoll(s) : -1;
    free(s);
    if (sectors > 0) {
      dbg("rootfs disk: %lld sectors", sectors);
      return;
    }
    if (i == 500) {
      if (sectors < 0) fail(125, "no rootfs: no virtio-blk disk /dev/vda");
      fail(125, "no rootfs: /dev/vda is still empty after 5 s");
    }
    nanosleep(&step, NULL);
  }
}

static void mount_root(void) {
  mkdir_p(LOWER, 0755);
  mkdir_p(RW, 0755);
  mkdir_p(ROOT, 0755);
  if (mount("/dev/vda", LOWER, "erofs", MS_RDONLY, NULL) < 0)
    fail(125, "cannot mount the rootfs /dev/vda (erofs): %s", strerror(errno));
  if (mount("tmpfs", RW, "tmpfs", 0, "mode=0755") < 0) fail(125, "mount tmpfs for the overlay: %s", strerror(errno));
  mkdir(RW "/upper", 0755);
  mkdir(RW "/work", 0755);
  struct stat st;
  if (stat(LOWER, &st) == 0) {
    if (chown(RW "/upper", st.st_uid, st.st_gid) < 0) dbg("chown upper: %s", strerror(errno));
    chmod(RW "/upper", st.st_mode & 07777);
  }
  if (mount("overlay", ROOT, "overlay", 0, "lowerdir=" LOWER ",upperdir=" RW "/upper,workdir=" RW "/work") < 0)
    fail(125, "cannot mount the overlay on the rootfs: %s", strerror(errno));
  dbg("rootfs: erofs /dev/vda under overlay at " ROOT);
}

static void mknod_dev(const char *name, mode_t mode, unsigned maj, unsigned min) {
  char p[128];
  snprintf(p, sizeof p, ROOT "/dev/%s", name);
  if (mknod(p, mode, makedev(maj, min)) < 0 && errno != EEXIST) dbg("mknod %s: %s", p, strerror(errno));
  chmod(p, mode & 07777);
}

static void mount_api_filesystems(void) {
  mkdir_p(ROOT "/proc", 0555);
  mkdir_p(ROOT "/sys", 0555);
  mkdir_p(ROOT "/dev", 0755);
  if (mount("proc", ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    fail(125, "mount /proc in the container: %s", strerror(errno));
  if (mount("sysfs", ROOT "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    fail(125, "mount /sys in the container: %s", strerror(errno));
  if (mount("cgroup2", ROOT "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    dbg("mount cgroup2: %s", strerror(errno));
  // A container's /dev: a tmpfs with the usual nodes (as Docker does), not the host-side devtmpfs.
  if (mount("tmpfs", ROOT "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=65536k") < 0)
    fail(125, "mount /dev in the container: %s", strerror(errno));
  mknod_dev("null", S_IFCHR | 0666, 1, 3);
  mknod_dev("zero", S_IFCHR | 0666, 1, 5);
  mknod_dev("full", S_IFCHR | 0666, 1, 7);
  mknod_dev("random", S_IFCHR | 0666, 1, 8);
  mknod_dev("urandom", S_IFCHR | 0666, 1, 9);
  mknod_dev("tty", S_IFCHR | 0666, 5, 0);
  mkdir(ROOT "/dev/pts", 0755);
  mkdir(ROOT "/dev/shm", 01777);
  chmod(ROOT "/dev/shm", 01777);
  if (mount("devpts", ROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
    dbg("mount devpts: %s", strerror(errno));
  if (symlink("pts/ptmx", ROOT "/dev/ptmx") < 0) dbg("symlink ptmx: %s", strerror(errno));
  if (mount("shm", ROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0) dbg("mount /dev/shm: %s", strerror(errno));
  if (symlink("/proc/self/fd", ROOT "/dev/fd") < 0) dbg("symlink fd: %s", strerror(errno));
  if (symlink("/proc/self/fd/0", ROOT "/dev/stdin") < 0) dbg("symlink stdin: %s", strerror(errno));
  if (symlink("/proc/self/fd/1", ROOT "/dev/stdout") < 0) dbg("symlink stdout: %s", strerror(errno));
  if (symlink("/proc/self/fd/2", ROOT "/dev/stderr") < 0) dbg("symlink stderr: %s", strerror(errno));
}

static void network_files(struct config *c) {
  if (sethostname("c2w", 3) < 0) dbg("sethostname: %s", strerror(errno));
  mkdir_p(ROOT "/etc", 0755);
  if (!exists(ROOT "/etc/hostname")) write_file(ROOT "/etc/hostname", "c2w\n", 0644);
  if (!exists(ROOT "/etc/hosts"))
    write_file(ROOT "/etc/hosts",
               "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tc2w\n", 0644);
  if (!exists(ROOT "/etc/resolv.conf") || c->nameserver.n) {
    size_t cap = 64;
    for (size_t i = 0; i < c->nameserver.n; i++) cap += strlen(c->nameserver.v[i]) + 16;
    char *t = malloc(cap);
    strcpy(t, "# written by c2w init\n");
    for (size_t i = 0; i < c->nameserver.n; i++) {
      strcat(t, "nameserver ");
      strcat(t, c->nameserver.v[i]);
      strcat(t, "\n");
    }
    unlink(ROOT "/etc/resolv.conf");  // may be a dangling symlink (systemd-resolved images)
    write_file(ROOT "/etc/resolv.conf", t, 0644);
    free(t);
  }
  // loopback up (the kernel gives lo 127.0.0.1 and ::1 when it comes up)
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
      ifr.ifr_flags |= IFF_UP;
      if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) dbg("lo up: %s", strerror(errno));
    }
    close(s);
  }
}

static void mount_shares(struct config *c) {
  if (c->mount.n == 0) return;
  mkdir_p(SHARE, 0755);
  if (mount("c2w", SHARE, "9p", 0, "trans=virtio,version=9p2000.L,cache=none,access=client,msize=131072") < 0)
    fail(125, "cannot mount the mapped directories (virtio-9p tag c2w): %s", strerror(errno));
  for (size_t i = 0; i < c->mount.n; i++) {
    const char *path = c->mount.v[i];
    if (!strcmp(path, BUNDLE_PATH)) continue;  // the external bundle's directory stays private
    if (path[0] != '/') fail(125, "mapped directory path must be absolute: %s", path);
    char src[64], dst[PATH_MAX];
    snprintf(src, sizeof src, SHARE "/%zu", i);
    snprintf(dst, sizeof dst, ROOT "%s", path);
    if (mkdir_p(dst, 0755) < 0) fail(125, "cannot create the mount point %s: %s", path, strerror(errno));
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
      fail(125, "cannot mount the mapped directory %s: %s", path, strerror(errno));
    dbg("mapped directory %zu at %s", i, path);
  }
}

// ---------------------------------------------------------------------------------------------
// User and groups (from the image's /etc/passwd and /etc/group)

struct ids {
  uid_t uid;
  gid_t gid;
  gid_t groups[NGROUPS_MAX > 256 ? 256 : NGROUPS_MAX];
  int ngroups;
  const char *home;
};

static int parse_id(const char *s, unsigned long *out) {
  if (!*s) return -1;
  for (const char *p = s; *p; p++)
    if (!isdigit((unsigned char)*p)) return -1;
  errno = 0;
  *out = strtoul(s, NULL, 10);
  return errno ? -1 : 0;
}

// Splits a colon-separated line into at most n fields (in place). Returns the count.
static int split_fields(char *line, char **f, int n) {
  int k = 0;
  f[k++] = line;
  for (char *p = line; *p && k < n; p++)
    if (*p == ':') {
      *p = 0;
      f[k++] = p + 1;
    }
  return k;
}

static void resolve_user(const char *spec, struct ids *ids) {
  ids->uid = 0;
  ids->gid = 0;
  ids->ngroups = 0;
  ids->home = "/";
  char *u = strdup(spec ? spec : ""), *g = strchr(u, ':');
  if (g) *g++ = 0;
  if (!*u && (!g || !*g)) {
    u = "root";
  }
  char *passwd = read_file("/etc/passwd", NULL);
  char *name = NULL;
  unsigned long num;
  int found = 0;
  int numeric = parse_id(u, &num) == 0;
  for (char *line = passwd ? strtok(passwd, "\n") : NULL; line && !found; line = strtok(NULL, "\n")) {
    char *f[7];
    if (split_fields(line, f, 7) < 7) continue;
    unsigned long fu, fg;
    if (parse_id(f[2], &fu) < 0 || parse_id(f[3], &fg) < 0) continue;
    if ((numeric && fu == num) || (!numeric && !strcmp(f[0], u))) {
      ids->uid = fu;
      ids->gid = fg;
      ids->home = strdup(*f[5] ? f[5] : "/");
      name = strdup(f[0]);
      found = 1;
    }
  }
  free(passwd);
  if (!found) {
    if (!numeric) {
      if (!strcmp(u, "root")) found = 1;  // an image without /etc/passwd still runs as root
      else fail(125, "unable to find user %s: no matching entries in passwd file", u);
    } else {
      ids->uid = num;
    }
  }
  // Group: explicit, then supplementary groups of the named user.
  char *group = read_file("/etc/group", NULL);
  if (g && *g) {
    int numg = parse_id(g, &num) == 0, gfound = 0;
    char *copy = group ? strdup(group) : NULL;
    for (char *line = copy ? strtok(copy, "\n") : NULL; line && !gfound; line = strtok(NULL, "\n")) {
      char *f[4];
      if (split_fields(line, f, 4) < 3) continue;
      unsigned long fg;
      if (parse_id(f[2], &fg) < 0) continue;
      if ((numg && fg == num) || (!numg && !strcmp(f[0], g))) {
        ids->gid = fg;
        gfound = 1;
      }
    }
    free(copy);
    if (!gfound) {
      if (numg) ids->gid = num;
      else fail(125, "unable to find group %s: no matching entries in group file", g);
    }
  }
  ids->groups[ids->ngroups++] = ids->gid;
  if (name && group) {
    for (char *line = strtok(group, "\n"); line; line = strtok(NULL, "\n")) {
      char *f[4];
      if (split_fields(line, f, 4) < 4) continue;
      unsigned long fg;
      if (parse_id(f[2], &fg) < 0) continue;
      // members: comma-separated list in f[3]
      char *p = f[3];
      while (p && *p) {
        char *comma = strchr(p, ',');
        size_t ml = comma ? (size_t)(comma - p) : strlen(p);
        if (ml == strlen(name) && !strncmp(p, name, ml)) {
          int dup = 0;
          for (int k = 0; k < ids->ngroups; k++) dup |= ids->groups[k] == (gid_t)fg;
          if (!dup && ids->ngroups < (int)(sizeof ids->groups / sizeof ids->groups[0])) ids->groups[ids->ngroups++] = fg;
        }
        p = comma ? comma + 1 : NULL;
      }
    }
  }
  free(group);
  dbg("user %s: uid %u gid %u, %d groups, home %s", spec && *spec ? spec : "(default)", ids->uid, ids->gid,
      ids->ngroups, ids->home);
}

// ---------------------------------------------------------------------------------------------
// Run-time flags: [--entrypoint CMD] [--no-stdin] [--] [COMMAND] [ARG...]

struct flags {
  const char *entrypoint;
  int no_stdin;
  size_t rest;  // index of COMMAND in arg
};

static int parse_bool(const char *v) {
  return !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "t") || !strcmp(v, "T") || !strcmp(v, "TRUE") ||
         !strcmp(v, "True");
}

static void parse_flags(struct strv *arg, struct flags *fl) {
  size_t i = 0;
  while (i < arg->n) {
    const char *a = arg->v[i];
    if (a[0] != '-' || !a[1]) break;  // COMMAND (or "-")
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    const char *name = a + 1;
    if (*name == '-') name++;
    const char *eq = strchr(name, '=');
    size_t nl = eq ? (size_t)(eq - name) : strlen(name);
#define IS(s) (nl == strlen(s) && !strncmp(name, s, nl))
    if (IS("entrypoint") || IS("net") || IS("mac")) {
      const char *val;
      if (eq) val = eq + 1;
      else if (i + 1 < arg->n) val = arg->v[++i];
      else fail(125, "flag needs an argument: %s", a);
      if (IS("entrypoint")) fl->entrypoint = val;
      // --net / --mac: networking options, handled by the host side (ignored here)
    } else if (IS("no-stdin")) {
      fl->no_stdin = eq ? parse_bool(eq + 1) : 1;
    } else {
      fail(125, "unknown flag: %s (flags: --entrypoint=CMD, --no-stdin, --)", a);
    }
#undef IS
    i++;
  }
  fl->rest = i;
}

// ---------------------------------------------------------------------------------------------
// Command lookup (inside the container root)

static int is_exec_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

// Returns the path to exec, or NULL with *status set (127 / 126) after printing the error.
static char *find_command(const char *cmd, const char *path, int *status) {
  if (strchr(cmd, '/')) {
    struct stat st;
    if (stat(cmd, &st) < 0) {
      errline("exec: \"%s\": stat %s: %s", cmd, cmd, strerror(errno));
      *status = errno == ENOENT || errno == ENOTDIR ? 127 : 126;
      return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
      errline("exec: \"%s\": is a directory", cmd);
      *status = 126;
      return NULL;
    }
    return strdup(cmd);
  }
  char *copy = strdup(path), *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char *p = xasprintf("%s/%s", *dir ? dir : ".", cmd);
    if (is_exec_file(p)) {
      free(copy);
      return p;
    }
    free(p);
  }
  free(copy);
  errline("exec: \"%s\": executable file not found in $PATH", cmd);
  *status = 127;
  return NULL;
}

// ---------------------------------------------------------------------------------------------
// Running the process

static void set_raw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return;
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  tcsetattr(fd, TCSANOW, &t);
}

static void set_sane(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return;
  t.c_iflag = ICRNL | IXON | IUTF8;
  t.c_oflag = OPOST | ONLCR;
  t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  t.c_cflag = (t.c_cflag & ~(CSIZE | PARENB)) | CS8 | CREAD;
  tcsetattr(fd, TCSANOW, &t);
}

int main(void) {
  if (getpid() != 1) {
    fprintf(stderr, "c2w init: must run as PID 1 of the c2w guest\n");
    return 1;
  }
  setsid();
  umask(022);
  early_mounts();
  int kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (kmsg >= 0) {
    logfd = kmsg;
    log_is_kmsg = 1;
  }
  cmdline_flags();
  open_devices();
  register_binfmts();
  // Non-tty defaults until the run config says otherwise; the ready point follows.
  set_raw(hvc0);
  set_raw(hvc1);
  tcdrain(hvc1);
  dbg("ready");
  send_record("ready", "1");

  size_t len = 0;
  char *msg = read_message(ctlfd, &len);
  if (!msg) {
    errline("control port closed before the run config arrived");
    power_off();
  }
  struct config cfg;
  memset(&cfg, 0, sizeof cfg);
  parse_config(msg, len, &cfg);
  set_clock(cfg.time);
  dbg("run config: %zu bytes", len);

  struct flags fl = {0};
  parse_flags(&cfg.arg, &fl);
  int tty = cfg.tty && !strcmp(cfg.tty, "1") && !fl.no_stdin;
  if (tty) {
    set_sane(hvc0);
    set_sane(hvc1);
  }

  if (!cfg.disk || !strcmp(cfg.disk, "0")) fail(125, "no rootfs (the module carries no image: disk=0)");
  wait_disk();
  mount_root();
  mount_api_filesystems();
  network_files(&cfg);
  mount_shares(&cfg);

  if (chroot(ROOT) < 0 || chdir("/") < 0) fail(125, "chroot into the container: %s", strerror(errno));

  struct ids ids;
  resolve_user(cfg.user, &ids);

  // argv
  struct strv argv = {0};
  if (fl.entrypoint) {
    if (*fl.entrypoint) strv_push(&argv, (char *)fl.entrypoint);
    for (size_t i = fl.rest; i < cfg.arg.n; i++) strv_push(&argv, cfg.arg.v[i]);
  } else {
    for (size_t i = 0; i < cfg.entrypoint.n; i++) strv_push(&argv, cfg.entrypoint.v[i]);
    if (fl.rest < cfg.arg.n)
      for (size_t i = fl.rest; i < cfg.arg.n; i++) strv_push(&argv, cfg.arg.v[i]);
    else
      for (size_t i = 0; i < cfg.cmd.n; i++) strv_push(&argv, cfg.cmd.v[i]);
  }
  if (argv.n == 0) fail(125, "no command specified (the image has no Entrypoint or Cmd and none was given)");

  // env: image env, then the runtime's (same key: runtime wins)
  struct strv env = {0};
  for (size_t i = 0; i < cfg.env.n; i++) env_set(&env, cfg.env.v[i]);
  for (size_t i = 0; i < cfg.renv.n; i++) env_set(&env, cfg.renv.v[i]);
  if (!env_get(&env, "PATH")) env_set(&env, "PATH=" DEFAULT_PATH);
  if (!env_get(&env, "HOSTNAME")) env_set(&env, "HOSTNAME=c2w");
  if (!env_get(&env, "HOME")) env_set(&env, xasprintf("HOME=%s", ids.home));
  if (tty && !env_get(&env, "TERM")) env_set(&env, "TERM=xterm");

  const char *workdir = cfg.workdir && *cfg.workdir ? cfg.workdir : "/";
  if (mkdir_p(workdir, 0755) < 0 && errno != EEXIST)
    fail(125, "cannot create the working directory %s: %s", workdir, strerror(errno));

  int status = 0;
  char *path = find_command(argv.v[0], env_get(&env, "PATH"), &status);
  if (!path) finish(status);
  dbg("exec %s (%zu args), tty=%d, stdin=%s", path, argv.n, tty, fl.no_stdin ? "none" : tty ? "tty" : "relay");

  // Signals: everything init handles arrives on a signalfd.
  sigset_t mask, old;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGQUIT);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  sigprocmask(SIG_BLOCK, &mask, &old);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);

  int inpipe[2] = {-1, -1};
  int relay = !tty && !fl.no_stdin;
  if (relay && pipe2(inpipe, O_CLOEXEC) < 0) fail(125, "pipe: %s", strerror(errno));
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) fail(125, "pipe: %s", strerror(errno));

  pid_t child = fork();
  if (child < 0) fail(125, "fork: %s", strerror(errno));
  if (child == 0) {
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    setsid();
    int in;
    if (tty) {
      if (ioctl(hvc0, TIOCSCTTY, 1) < 0) {
        // not fatal: the process still gets the terminal as stdin/stdout
      }
      in = hvc0;
    } else if (relay) {
      in = inpipe[0];
    } else {
      in = open("/dev/null", O_RDONLY);
    }
    int out = hvc0, err = hvc1;
    // dup to 10+ first so that the final dup2 calls do not clobber each other
    int in2 = fcntl(in, F_DUPFD, 10), out2 = fcntl(out, F_DUPFD, 10), err2 = fcntl(err, F_DUPFD, 10);
    dup2(in2, 0);
    dup2(out2, 1);
    dup2(err2, 2);
    close(in2);
    close(out2);
    close(err2);
    if (tty) tcsetpgrp(0, getpid());
    int e = 0;
    if (chdir(workdir) < 0) e = errno;
    if (!e && setgroups(ids.ngroups, ids.groups) < 0) e = errno;
    if (!e && setgid(ids.gid) < 0) e = errno;
    if (!e && setuid(ids.uid) < 0) e = errno;
    if (!e) {
      execve(path, argv.v, env.v);
      e = errno;
    }
    int code[2] = {e, 0};
    ssize_t r = write(errpipe[1], code, sizeof code);
    (void)r;
    _exit(127);
  }
  close(errpipe[1]);
  if (relay) close(inpipe[0]);
  {
    int code[2];
    ssize_t r;
    do r = read(errpipe[0], code, sizeof code);
    while (r < 0 && errno == EINTR);
    close(errpipe[0]);
    if (r == (ssize_t)sizeof code) {
      waitpid(child, NULL, 0);
      int e = code[0];
      errline("exec: \"%s\": %s", argv.v[0], strerror(e));
      finish(e == ENOENT ? 127 : 126);
    }
  }

  // Main loop: relay stdin, watch the control port, forward signals, reap.
  int wfd = relay ? inpipe[1] : -1;
  if (wfd >= 0) fcntl(wfd, F_SETFL, O_NONBLOCK);
  char ibuf[4096];
  size_t ilen = 0, ioff = 0;
  int stdin_eof = 0;
  long long stdin_total = -1, stdin_seen = 0;
  int exit_status = -1;
  char *cbuf = NULL;
  size_t clen = 0;
  int ctl_open = 1;
  while (exit_status < 0) {
    struct pollfd p[4];
    int np = 0, ip = -1, iw = -1, ic = -1;
    p[np] = (struct pollfd){.fd = sfd, .events = POLLIN};
    np++;
    if (ctl_open) {
      ic = np;
      p[np++] = (struct pollfd){.fd = ctlfd, .events = POLLIN};
    }
    if (wfd >= 0 && ilen == 0 && !(stdin_eof && stdin_total < 0)) {
      ip = np;
      p[np++] = (struct pollfd){.fd = hvc0, .events = POLLIN};
    }
    if (wfd >= 0 && ilen > 0) {
      iw = np;
      p[np++] = (struct pollfd){.fd = wfd, .events = POLLOUT};
    }
    int r = poll(p, np, -1);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          int st;
          pid_t w;
          while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
            if (w == child) exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          }
        } else {
          kill(child, (int)si.ssi_signo);
        }
      }
    }
    if (ic >= 0 && (p[ic].revents & (POLLIN | POLLHUP | POLLERR))) {
      char tmp[4096];
      ssize_t n = read(ctlfd, tmp, sizeof tmp);
      if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        ctl_open = 0;
      } else {
        cbuf = realloc(cbuf, clen + n + 1);
        memcpy(cbuf + clen, tmp, n);
        clen += n;
        while (clen >= 4) {
          unsigned char *h = (unsigned char *)cbuf;
          uint32_t ml = h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
          if (clen < 4 + (size_t)ml) break;
          char *m = malloc(ml + 1);
          memcpy(m, cbuf + 4, ml);
          m[ml] = 0;
          for (size_t o = 0; o < ml; o += strlen(m + o) + 1) {
            if (!strncmp(m + o, "stdin-eof=", 10)) stdin_eof = 1;
            else if (!strncmp(m + o, "stdin-bytes=", 12)) stdin_total = atoll(m + o + 12);
          }
          free(m);
          memmove(cbuf, cbuf + 4 + ml, clen - 4 - ml);
          clen -= 4 + ml;
          if (stdin_eof) dbg("stdin-eof (host sent %lld bytes)", stdin_total);
        }
      }
    }
    if (ip >= 0 && (p[ip].revents & POLLIN)) {
      ssize_t n = read(hvc0, ibuf, sizeof ibuf);
      if (n > 0) {
        ilen = (size_t)n;
        ioff = 0;
        stdin_seen += n;
      }
    }
    if (wfd >= 0 && ilen > 0) {
      ssize_t n = write(wfd, ibuf + ioff, ilen);
      if (n > 0) {
        ioff += (size_t)n;
        ilen -= (size_t)n;
      } else if (n < 0 && errno == EPIPE) {
        close(wfd);  // the process closed its stdin
        wfd = -1;
        ilen = 0;
      }
    }
    (void)iw;
    // stdin-eof: without stdin-bytes, whatever already reached hvc0 is drained first.
    if (wfd >= 0 && stdin_eof && ilen == 0) {
      int done;
      if (stdin_total >= 0) {
        done = stdin_seen >= stdin_total;
      } else {
        int fl0 = fcntl(hvc0, F_GETFL);
        fcntl(hvc0, F_SETFL, fl0 | O_NONBLOCK);
        ssize_t n = read(hvc0, ibuf, sizeof ibuf);
        fcntl(hvc0, F_SETFL, fl0);
        if (n > 0) {
          ilen = (size_t)n;
          ioff = 0;
          stdin_seen += n;
        }
        done = n <= 0;
      }
      if (done) {
        close(wfd);
        wfd = -1;
      }
    }
  }
  if (wfd >= 0) close(wfd);
  dbg("process exited: %d", exit_status);
  // The container ends with its main process (as in Docker): stop what is left, reap it.
  kill(-1, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
  }
  finish(exit_status < 0 ? 125 : exit_status);
  return 0;
}
