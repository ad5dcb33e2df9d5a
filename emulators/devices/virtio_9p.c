#include "virtio_9p.h"
#include "host.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define F_MOUNT_TAG 1ULL

/* Linux errno values (the guest's) */
static uint32_t lerr(int e) {
  switch (e) {
  case EPERM: return 1;
  case ENOENT: return 2;
  case EIO: return 5;
  case EBADF: return 9;
  case ENOMEM: return 12;
  case EACCES: return 13;
  case EBUSY: return 16;
  case EEXIST: return 17;
  case EXDEV: return 18;
  case ENOTDIR: return 20;
  case EISDIR: return 21;
  case EINVAL: return 22;
  case EFBIG: return 27;
  case ENOSPC: return 28;
  case EROFS: return 30;
  case EMLINK: return 31;
  case ENAMETOOLONG: return 36;
  case ENOSYS: return 38;
  case ENOTEMPTY: return 39;
  case ELOOP: return 40;
  case ENOTSUP: return 95;
  default: return 5;
  }
}
#define L_EPERM 1
#define L_ENOENT 2
#define L_EBADF 9
#define L_EINVAL 22
#define L_EROFS 30
#define L_ENOTSUP 95

/* ---- message buffer helpers ---- */
typedef struct {
  const uint8_t *p;
  size_t len, off;
  int bad;
} Rd;
static uint8_t r8(Rd *r) { if (r->off + 1 > r->len) { r->bad = 1; return 0; } return r->p[r->off++]; }
static uint16_t r16(Rd *r) { if (r->off + 2 > r->len) { r->bad = 1; return 0; } uint16_t v = get_le16(r->p + r->off); r->off += 2; return v; }
static uint32_t r32(Rd *r) { if (r->off + 4 > r->len) { r->bad = 1; return 0; } uint32_t v = get_le32(r->p + r->off); r->off += 4; return v; }
static uint64_t r64(Rd *r) { if (r->off + 8 > r->len) { r->bad = 1; return 0; } uint64_t v = get_le64(r->p + r->off); r->off += 8; return v; }
/* string into a NUL-terminated buffer */
static void rstr(Rd *r, char *out, size_t cap) {
  uint16_t l = r16(r);
  if (r->off + l > r->len || l >= cap) { r->bad = 1; out[0] = 0; return; }
  memcpy(out, r->p + r->off, l);
  out[l] = 0;
  r->off += l;
}

typedef struct {
  uint8_t *p;
  size_t cap, off;
} Wr;
static void w8(Wr *w, uint8_t v) { if (w->off + 1 <= w->cap) w->p[w->off] = v; w->off += 1; }
static void w16(Wr *w, uint16_t v) { if (w->off + 2 <= w->cap) put_le16(w->p + w->off, v); w->off += 2; }
static void w32(Wr *w, uint32_t v) { if (w->off + 4 <= w->cap) put_le32(w->p + w->off, v); w->off += 4; }
static void w64(Wr *w, uint64_t v) { if (w->off + 8 <= w->cap) put_le64(w->p + w->off, v); w->off += 8; }
static void wstr(Wr *w, const char *s) {
  size_t l = strlen(s);
  w16(w, (uint16_t)l);
  if (w->off + l <= w->cap) memcpy(w->p + w->off, s, l);
  w->off += l;
}

typedef struct {
  uint8_t type;
  uint32_t version;
  uint64_t path;
} Qid;
static void wqid(Wr *w, const Qid *q) { w8(w, q->type); w32(w, q->version); w64(w, q->path); }

/* ---- fids ---- */
static P9Fid *fid_get(Virtio9P *p, uint32_t fid) {
  for (int i = 0; i < P9_MAX_FIDS; i++)
    if (p->fids[i].used && p->fids[i].fid == fid) return &p->fids[i];
  return NULL;
}
static void fid_close(P9Fid *f) {
  if (f->dir) closedir((DIR *)f->dir);
  else if (f->fd >= 0) close(f->fd);
  f->dir = NULL;
  f->fd = -1;
}
static void fid_free(P9Fid *f) {
  fid_close(f);
  free(f->path);
  memset(f, 0, sizeof(*f));
  f->fd = -1;
}
static P9Fid *fid_new(Virtio9P *p, uint32_t fid) {
  P9Fid *f = fid_get(p, fid);
  if (f) fid_free(f);
  for (int i = 0; i < P9_MAX_FIDS; i++)
    if (!p->fids[i].used) {
      f = &p->fids[i];
      memset(f, 0, sizeof(*f));
      f->used = 1;
      f->fid = fid;
      f->fd = -1;
      return f;
    }
  return NULL;
}

static int rootfd(const P9Fid *f) { return host_preopen_fd(f->root); }

static char *path_join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 2);
  if (!s) return NULL;
  if (!strcmp(a, ".")) {
    memcpy(s, b, lb + 1);
  } else {
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
  }
  return s;
}

static uint8_t qtype(mode_t m) { return S_ISDIR(m) ? 0x80 : S_ISLNK(m) ? 0x02 : 0; }
static uint64_t qpath(int root, uint64_t ino) { return (ino & 0x00ffffffffffffffULL) ^ ((uint64_t)(root + 2) << 56); }

static int stat_fid(const P9Fid *f, struct stat *st) {
  if (f->root < 0) return 0;
  return fstatat(rootfd(f), f->path, st, AT_SYMLINK_NOFOLLOW) ? -1 : 0;
}

static int qid_of(const P9Fid *f, Qid *q) {
  if (f->root < 0) {
    q->type = 0x80;
    q->version = 0;
    q->path = 1;
    return 0;
  }
  struct stat st;
  if (stat_fid(f, &st)) return -1;
  q->type = qtype(st.st_mode);
  q->version = 0;
  q->path = qpath(f->root, (uint64_t)st.st_ino);
  return 0;
}

/* Linux mode bits (type + permissions); WASI has no permissions: synthesise them */
static uint32_t lmode(mode_t m) {
  uint32_t t = S_ISDIR(m) ? 0040000 : S_ISLNK(m) ? 0120000 : S_ISCHR(m) ? 0020000 : S_ISBLK(m) ? 0060000 :
               S_ISFIFO(m) ? 0010000 : S_ISSOCK(m) ? 0140000 : 0100000;
  uint32_t perm = (uint32_t)m & 07777;
#ifdef __wasi__
  perm = S_ISDIR(m) ? 0755 : S_ISLNK(m) ? 0777 : 0755;
#endif
  return t | perm;
}

static int open_flags(uint32_t lf) {
  int f = 0;
  switch (lf & 3) {
  case 0: f = O_RDONLY; break;
  case 1: f = O_WRONLY; break;
  default: f = O_RDWR; break;
  }
  if (lf & 0100) f |= O_CREAT;
  if (lf & 0200) f |= O_EXCL;
  if (lf & 01000) f |= O_TRUNC;
  if (lf & 02000) f |= O_APPEND;
  if (lf & 0200000) f |= O_DIRECTORY;
  if (lf & 0400000) f |= O_NOFOLLOW;
  return f;
}

static int do_open(P9Fid *f, int flags, int mode) {
  int fd = openat(rootfd(f), f->path, flags, mode);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    DIR *d = fdopendir(fd);
    if (!d) {
      close(fd);
      return -1;
    }
    f->dir = d;
    f->dir_pos = 0;
  }
  f->fd = fd;
  return 0;
}

static void getattr_reply(Wr *w, const P9Fid *f, const struct stat *st) {
  Qid q;
  qid_of(f, &q);
  w64(w, 0x3fff); /* basic attributes valid */
  wqid(w, &q);
  if (f->root < 0) {
    w32(w, 0040555);
    w32(w, 0);
    w32(w, 0);
    w64(w, 2 + (uint64_t)host_preopen_count());
    w64(w, 0);
    w64(w, 0);
    w64(w, 4096);
    w64(w, 0);
    for (int i = 0; i < 8; i++) w64(w, 0);
    w64(w, 0);
    w64(w, 0);
    return;
  }
  w32(w, lmode(st->st_mode));
  w32(w, 0);
  w32(w, 0);
  w64(w, (uint64_t)st->st_nlink);
  w64(w, (uint64_t)st->st_rdev);
  w64(w, (uint64_t)st->st_size);
  w64(w, 4096);
  w64(w, ((uint64_t)st->st_size + 511) / 512);
  w64(w, (uint64_t)st->st_atim.tv_sec);
  w64(w, (uint64_t)st->st_atim.tv_nsec);
  w64(w, (uint64_t)st->st_mtim.tv_sec);
  w64(w, (uint64_t)st->st_mtim.tv_nsec);
  w64(w, (uint64_t)st->st_ctim.tv_sec);
  w64(w, (uint64_t)st->st_ctim.tv_nsec);
  w64(w, 0);
  w64(w, 0);
  w64(w, 0);
  w64(w, 0);
}

/* handle one T-message; returns the R-message length */
static size_t handle(Virtio9P *p, const uint8_t *req, size_t rlen, uint8_t *resp, size_t cap) {
  Rd r = {req, rlen, 0, 0};
  Wr w = {resp, cap, 7};
  r32(&r);
  uint8_t type = r8(&r);
  uint16_t tag = r16(&r);
  uint32_t err = 0;
  static char name[4096], name2[4096];
  switch (type) {
  case 100: { /* Tversion */
    uint32_t ms = r32(&r);
    rstr(&r, name, sizeof(name));
    for (int i = 0; i < P9_MAX_FIDS; i++)
      if (p->fids[i].used) fid_free(&p->fids[i]);
    p->msize = ms < P9_MSIZE ? ms : P9_MSIZE;
    w32(&w, p->msize);
    wstr(&w, strcmp(name, "9P2000.L") ? "unknown" : "9P2000.L");
    break;
  }
  case 104: { /* Tattach */
    uint32_t fid = r32(&r);
    P9Fid *f = fid_new(p, fid);
    if (!f) { err = 12; break; }
    f->root = -1;
    f->path = strdup(".");
    Qid q;
    qid_of(f, &q);
    wqid(&w, &q);
    break;
  }
  case 110: { /* Twalk */
    uint32_t fid = r32(&r), nfid = r32(&r);
    uint16_t n = r16(&r);
    P9Fid *f = fid_get(p, fid);
    if (!f) { err = L_EBADF; break; }
    int root = f->root;
    char *path = strdup(f->path);
    Qid qs[16];
    int nq = 0;
    if (n > 16) { free(path); err = L_EINVAL; break; }
    for (int i = 0; i < n; i++) {
      rstr(&r, name, sizeof(name));
      if (r.bad) break;
      char *np = NULL;
      int nroot = root;
      if (!strcmp(name, ".")) {
        np = strdup(path);
      } else if (!strcmp(name, "..")) {
        if (root < 0) np = strdup(".");
        else if (!strcmp(path, ".")) { nroot = -1; np = strdup("."); }
        else {
          char *s = strrchr(path, '/');
          np = s ? strndup(path, (size_t)(s - path)) : strdup(".");
        }
      } else if (strchr(name, '/')) {
        break;
      } else if (root < 0) {
        char *end;
        long idx = strtol(name, &end, 10);
        if (*end || end == name || idx < 0 || idx >= host_preopen_count()) break;
        nroot = (int)idx;
        np = strdup(".");
      } else {
        np = path_join(path, name);
      }
      P9Fid tmp = {.root = (int16_t)nroot, .path = np, .fd = -1};
      if (!np || qid_of(&tmp, &qs[nq])) {
        free(np);
        break;
      }
      free(path);
      path = np;
      root = nroot;
      nq++;
    }
    if (nq < n && nq == 0) {
      free(path);
      err = L_ENOENT;
      break;
    }
    if (nq == n) {
      P9Fid *nf = (nfid == fid) ? f : fid_new(p, nfid);
      if (!nf) { free(path); err = 12; break; }
      if (nf == f) { fid_close(f); free(f->path); }
      nf->root = (int16_t)root;
      nf->path = path;
    } else {
      free(path);
    }
    w16(&w, (uint16_t)nq);
    for (int i = 0; i < nq; i++) wqid(&w, &qs[i]);
    break;
  }
  case 12: { /* Tlopen */
    P9Fid *f = fid_get(p, r32(&r));
    uint32_t fl = r32(&r);
    if (!f) { err = L_EBADF; break; }
    Qid q;
    if (f->root >= 0) {
      fid_close(f);
      if (do_open(f, open_flags(fl & ~0100u), 0)) { err = lerr(errno); break; }
    }
    qid_of(f, &q);
    wqid(&w, &q);
    w32(&w, p->msize - 24);
    break;
  }
  case 14: { /* Tlcreate */
    P9Fid *f = fid_get(p, r32(&r));
    rstr(&r, name, sizeof(name));
    uint32_t fl = r32(&r), mode = r32(&r);
    r32(&r);
    if (!f) { err = L_EBADF; break; }
    if (f->root < 0) { err = L_EROFS; break; }
    char *np = path_join(f->path, name);
    fid_close(f);
    free(f->path);
    f->path = np;
    if (do_open(f, open_flags(fl) | O_CREAT, (int)(mode & 07777))) { err = lerr(errno); break; }
    Qid q;
    qid_of(f, &q);
    wqid(&w, &q);
    w32(&w, p->msize - 24);
    break;
  }
  case 116: { /* Tread */
    P9Fid *f = fid_get(p, r32(&r));
    uint64_t off = r64(&r);
    uint32_t cnt = r32(&r);
    if (!f || f->fd < 0 || f->dir) { err = L_EBADF; break; }
    if (cnt > p->msize - 11) cnt = p->msize - 11;
    ssize_t n = pread(f->fd, resp + 11, cnt, (off_t)off);
    if (n < 0) { err = lerr(errno); break; }
    w32(&w, (uint32_t)n);
    w.off += (size_t)n;
    break;
  }
  case 118: { /* Twrite */
    P9Fid *f = fid_get(p, r32(&r));
    uint64_t off = r64(&r);
    uint32_t cnt = r32(&r);
    if (!f || f->fd < 0 || f->dir) { err = L_EBADF; break; }
    if (r.off + cnt > rlen) { err = L_EINVAL; break; }
    ssize_t n = pwrite(f->fd, req + r.off, cnt, (off_t)off);
    if (n < 0) { err = lerr(errno); break; }
    w32(&w, (uint32_t)n);
    break;
  }
  case 120: { /* Tclunk */
    P9Fid *f = fid_get(p, r32(&r));
    if (!f) { err = L_EBADF; break; }
    fid_free(f);
    break;
  }
  case 122: { /* Tremove */
    P9Fid *f = fid_get(p, r32(&r));
    if (!f) { err = L_EBADF; break; }
    if (f->root < 0 || !strcmp(f->path, ".")) { fid_free(f); err = L_EPERM; break; }
    struct stat st;
    int rc = stat_fid(f, &st);
    if (rc == 0) rc = unlinkat(rootfd(f), f->path, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
    if (rc) err = lerr(errno);
    fid_free(f);
    break;
  }
  case 24: { /* Tgetattr */
    P9Fid *f = fid_get(p, r32(&r));
    if (!f) { err = L_EBADF; break; }
    struct stat st;
    memset(&st, 0, sizeof(st));
    if (stat_fid(f, &st)) { err = lerr(errno); break; }
    getattr_reply(&w, f, &st);
    break;
  }
  case 26: { /* Tsetattr */
    P9Fid *f = fid_get(p, r32(&r));
    uint32_t valid = r32(&r), mode = r32(&r);
    r32(&r);
    r32(&r);
    uint64_t size = r64(&r), as = r64(&r), an = r64(&r), ms = r64(&r), mn = r64(&r);
    if (!f) { err = L_EBADF; break; }
    if (f->root < 0) break;
    if (valid & 1) {
#ifndef __wasi__
      if (fchmodat(rootfd(f), f->path, mode & 07777, 0)) { err = lerr(errno); break; }
#else
      (void)mode;
#endif
    }
    if (valid & 8) {
      int fd = f->fd >= 0 && !f->dir ? f->fd : openat(rootfd(f), f->path, O_WRONLY);
      if (fd < 0 || ftruncate(fd, (off_t)size)) err = lerr(errno);
      if (fd >= 0 && fd != f->fd) close(fd);
      if (err) break;
    }
    if (valid & (0x10 | 0x20)) {
      struct timespec ts[2];
      ts[0].tv_sec = (time_t)as;
      ts[0].tv_nsec = (valid & 0x10) ? ((valid & 0x80) ? (long)an : UTIME_NOW) : UTIME_OMIT;
      ts[1].tv_sec = (time_t)ms;
      ts[1].tv_nsec = (valid & 0x20) ? ((valid & 0x100) ? (long)mn : UTIME_NOW) : UTIME_OMIT;
      if (utimensat(rootfd(f), f->path, ts, AT_SYMLINK_NOFOLLOW)) {
        /* some hosts refuse times on symlinks; not fatal */
      }
    }
    break;
  }
  case 40: { /* Treaddir */
    P9Fid *f = fid_get(p, r32(&r));
    uint64_t off = r64(&r);
    uint32_t cnt = r32(&r);
    if (!f) { err = L_EBADF; break; }
    if (cnt > p->msize - 11) cnt = p->msize - 11;
    Wr d = {resp + 11, cnt, 0};
    if (f->root < 0) {
      int n = host_preopen_count();
      for (uint64_t i = off; i < (uint64_t)n + 2; i++) {
        char nm[16];
        if (i == 0) strcpy(nm, ".");
        else if (i == 1) strcpy(nm, "..");
        else snprintf(nm, sizeof(nm), "%d", (int)(i - 2));
        size_t need = 13 + 8 + 1 + 2 + strlen(nm);
        if (d.off + need > cnt) break;
        Qid q = {0x80, 0, i < 2 ? 1 : qpath((int)(i - 2), 0)};
        if (i >= 2) {
          P9Fid t = {.root = (int16_t)(i - 2), .path = ".", .fd = -1};
          qid_of(&t, &q);
        }
        wqid(&d, &q);
        w64(&d, i + 1);
        w8(&d, 4);
        wstr(&d, nm);
      }
    } else {
      if (!f->dir) { err = L_EBADF; break; }
      DIR *dir = (DIR *)f->dir;
      if (off != f->dir_pos) {
        rewinddir(dir);
        f->dir_pos = 0;
        while (f->dir_pos < off && readdir(dir)) f->dir_pos++;
      }
      for (;;) {
        long loc = telldir(dir);
        struct dirent *de = readdir(dir);
        if (!de) break;
        size_t need = 13 + 8 + 1 + 2 + strlen(de->d_name);
        if (d.off + need > cnt) {
          seekdir(dir, loc);
          break;
        }
        f->dir_pos++;
        uint8_t dt = de->d_type == DT_DIR ? 4 : de->d_type == DT_LNK ? 10 : de->d_type == DT_REG ? 8 :
                     de->d_type == DT_CHR ? 2 : de->d_type == DT_BLK ? 6 : de->d_type == DT_FIFO ? 1 :
                     de->d_type == DT_SOCK ? 12 : 0;
        Qid q = {dt == 4 ? 0x80 : dt == 10 ? 2 : 0, 0, qpath(f->root, (uint64_t)de->d_ino)};
        wqid(&d, &q);
        w64(&d, f->dir_pos);
        w8(&d, dt);
        wstr(&d, de->d_name);
      }
    }
    w32(&w, (uint32_t)d.off);
    w.off += d.off;
    break;
  }
  case 8: { /* Tstatfs */
    w32(&w, 0x01021997);
    w32(&w, 4096);
    w64(&w, 1 << 20);
    w64(&w, 1 << 19);
    w64(&w, 1 << 19);
    w64(&w, 1 << 20);
    w64(&w, 1 << 19);
    w64(&w, 0);
    w32(&w, 255);
    break;
  }
  case 72: { /* Tmkdir */
    P9Fid *f = fid_get(p, r32(&r));
    rstr(&r, name, sizeof(name));
    uint32_t mode = r32(&r);
    if (!f) { err = L_EBADF; break; }
    if (f->root < 0) { err = L_EROFS; break; }
    P9Fid t = {.root = f->root, .path = path_join(f->path, name), .fd = -1};
    Qid q;
    if (mkdirat(rootfd(f), t.path, mode & 07777) || qid_of(&t, &q)) err = lerr(errno);
    else wqid(&w, &q);
    free(t.path);
    break;
  }
  case 16: { /* Tsymlink */
    P9Fid *f = fid_get(p, r32(&r));
    rstr(&r, name, sizeof(name));
    rstr(&r, name2, sizeof(name2));
    if (!f) { err = L_EBADF; break; }
    if (f->root < 0) { err = L_EROFS; break; }
    P9Fid t = {.root = f->root, .path = path_join(f->path, name), .fd = -1};
    Qid q;
    if (symlinkat(name2, rootfd(f), t.path) || qid_of(&t, &q)) err = lerr(errno);
    else wqid(&w, &q);
    free(t.path);
    break;
  }
  case 18: err = L_EPERM; break; /* Tmknod */
  case 20: { /* Trename */
    P9Fid *f = fid_get(p, r32(&r));
    P9Fid *d = fid_get(p, r32(&r));
    rstr(&r, name, sizeof(name));
    if (!f || !d) { err = L_EBADF; break; }
    if (f->root < 0 || d->root < 0) { err = L_EPERM; break; }
    char *np = path_join(d->path, name);
    if (renameat(rootfd(f), f->path, rootfd(d), np)) { err = lerr(errno); free(np); break; }
    free(f->path);
    f->path = np;
    f->root = d->root;
    break;
  }
  case 74: { /* Trenameat */
    P9Fid *a = fid_get(p, r32(&r));
    rstr(&r, name, sizeof(name));
    P9Fid *b = fid_get(p, r32(&r));
    rstr(&r, name2, sizeof(name2));
    if (!a || !b) { err = L_EBADF; break; }
    if (a->root < 0 || b->root < 0) { err = L_EPERM; break; }
    char *x = path_join(a->path, name), *y = path_join(b->path, name2);
    if (renameat(rootfd(a), x, rootfd(b), y)) err = lerr(errno);
    free(x);
    free(y);
    break;
  }
  case 76: { /* Tunlinkat */
    P9Fid *f = fid_get(p, r32(&r));
    rstr(&r, name, sizeof(name));
    uint32_t fl = r32(&r);
    if (!f) { err = L_EBADF; break; }
    if (f->root < 0) { err = L_EPERM; break; }
    char *x = path_join(f->path, name);
    if (unlinkat(rootfd(f), x, (fl & 0x200) ? AT_REMOVEDIR : 0)) err = lerr(errno);
    free(x);
    break;
  }
  case 22: { /* Treadlink */
    P9Fid *f = fid_get(p, r32(&r));
    if (!f || f->root < 0) { err = L_EINVAL; break; }
    ssize_t n = readlinkat(rootfd(f), f->path, name, sizeof(name) - 1);
    if (n < 0) { err = lerr(errno); break; }
    name[n] = 0;
    wstr(&w, name);
    break;
  }
  case 70: { /* Tlink */
    P9Fid *d = fid_get(p, r32(&r));
    P9Fid *f = fid_get(p, r32(&r));
    rstr(&r, name, sizeof(name));
    if (!f || !d) { err = L_EBADF; break; }
    if (f->root < 0 || d->root < 0) { err = L_EPERM; break; }
    char *x = path_join(d->path, name);
    if (linkat(rootfd(f), f->path, rootfd(d), x, 0)) err = lerr(errno);
    free(x);
    break;
  }
  case 50: { /* Tfsync */
    P9Fid *f = fid_get(p, r32(&r));
    if (f && f->fd >= 0 && !f->dir) fsync(f->fd);
    break;
  }
  case 52: w8(&w, 0); break; /* Tlock: success */
  case 54: { /* Tgetlock */
    r32(&r);
    r8(&r);
    uint64_t st = r64(&r), ln = r64(&r);
    uint32_t pid = r32(&r);
    rstr(&r, name, sizeof(name));
    w8(&w, 2);
    w64(&w, st);
    w64(&w, ln);
    w32(&w, pid);
    wstr(&w, name);
    break;
  }
  case 108: break; /* Tflush */
  case 30: err = 61; break; /* Txattrwalk: ENODATA */
  default: err = L_ENOTSUP; break;
  }
  if (r.bad && !err) err = L_EINVAL;
  if (err) {
    w.off = 7;
    w32(&w, err);
    type = 6; /* Rlerror = 7 */
  }
  if (w.off > cap) {
    w.off = 7;
    w32(&w, 5);
    type = 6;
  }
  put_le32(resp, (uint32_t)w.off);
  resp[4] = (uint8_t)(type + 1);
  put_le16(resp + 5, tag);
  return w.off;
}

static void notify(VirtioDevice *d, int qi) {
  Virtio9P *p = (Virtio9P *)d;
  VirtqElem e;
  while (virtq_pop(d, qi, &e) == 1) {
    size_t n = virtq_read(d, &e, 0, p->req, sizeof(p->req));
    size_t cap = e.in_len < sizeof(p->resp) ? e.in_len : sizeof(p->resp);
    size_t rl = n >= 7 ? handle(p, p->req, n, p->resp, cap) : 0;
    virtq_push(d, qi, &e, (uint32_t)virtq_write(d, &e, 0, p->resp, rl));
  }
}

void virtio_9p_close_all(Virtio9P *p) {
  for (int i = 0; i < P9_MAX_FIDS; i++)
    if (p->fids[i].used) fid_free(&p->fids[i]);
}

static void reset(VirtioDevice *d) { virtio_9p_close_all((Virtio9P *)d); }

void virtio_9p_init(Virtio9P *p, const VirtioBus *bus, int irq, const char *tag) {
  memset(p, 0, sizeof(*p));
  size_t l = strlen(tag);
  virtio_dev_init(&p->vdev, bus, irq, VIRTIO_ID_9P, 1, F_MOUNT_TAG, (uint32_t)(2 + l));
  put_le16(p->vdev.config, (uint16_t)l);
  memcpy(p->vdev.config + 2, tag, l);
  p->vdev.notify = notify;
  p->vdev.reset = reset;
  p->msize = 8192;
  for (int i = 0; i < P9_MAX_FIDS; i++) p->fids[i].fd = -1;
}
