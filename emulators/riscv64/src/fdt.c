#include "fdt.h"
#include <string.h>

static void be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static void put32(FDT *f, uint32_t v) {
  if (f->st_len + 4 <= sizeof(f->st)) be32(f->st + f->st_len, v);
  f->st_len += 4;
}
static void putbytes(FDT *f, const void *d, uint32_t len) {
  if (f->st_len + len + 4 <= sizeof(f->st)) {
    memcpy(f->st + f->st_len, d, len);
    memset(f->st + f->st_len + len, 0, (4 - (len & 3)) & 3);
  }
  f->st_len += (len + 3) & ~3u;
}
static uint32_t stroff(FDT *f, const char *name) {
  uint32_t i = 0;
  while (i < f->str_len) {
    if (!strcmp(f->str + i, name)) return i;
    i += (uint32_t)strlen(f->str + i) + 1;
  }
  size_t l = strlen(name) + 1;
  if (f->str_len + l > sizeof(f->str)) return 0;
  memcpy(f->str + f->str_len, name, l);
  f->str_len += (uint32_t)l;
  return i;
}
void fdt_init(FDT *f) { memset(f, 0, sizeof(*f)); }
void fdt_begin(FDT *f, const char *name) {
  put32(f, 1);
  putbytes(f, name, (uint32_t)strlen(name) + 1);
}
void fdt_end(FDT *f) { put32(f, 2); }
void fdt_prop(FDT *f, const char *name, const void *data, uint32_t len) {
  put32(f, 3);
  put32(f, len);
  put32(f, stroff(f, name));
  if (len) putbytes(f, data, len);
}
void fdt_prop_u32(FDT *f, const char *name, uint32_t v) { fdt_prop_cells(f, name, &v, 1); }
void fdt_prop_cells(FDT *f, const char *name, const uint32_t *cells, int n) {
  uint8_t b[256];
  for (int i = 0; i < n && i < 64; i++) be32(b + 4 * i, cells[i]);
  fdt_prop(f, name, b, (uint32_t)(4 * n));
}
void fdt_prop_str(FDT *f, const char *name, const char *s) { fdt_prop(f, name, s, (uint32_t)strlen(s) + 1); }
void fdt_prop_strs(FDT *f, const char *name, const char *const *s, int n) {
  char b[512];
  uint32_t l = 0;
  for (int i = 0; i < n; i++) {
    size_t k = strlen(s[i]) + 1;
    if (l + k > sizeof(b)) break;
    memcpy(b + l, s[i], k);
    l += (uint32_t)k;
  }
  fdt_prop(f, name, b, l);
}
void fdt_prop_empty(FDT *f, const char *name) { fdt_prop(f, name, NULL, 0); }
size_t fdt_finish(FDT *f, uint8_t *out, size_t cap) {
  put32(f, 9);
  if (f->st_len > sizeof(f->st)) return 0;
  uint32_t off_rsv = 40, off_st = off_rsv + 16, off_str = off_st + f->st_len;
  uint32_t total = off_str + f->str_len;
  if (total > cap) return 0;
  memset(out, 0, total);
  be32(out, 0xd00dfeed);
  be32(out + 4, total);
  be32(out + 8, off_st);
  be32(out + 12, off_str);
  be32(out + 16, off_rsv);
  be32(out + 20, 17);
  be32(out + 24, 16);
  be32(out + 28, 0);
  be32(out + 32, f->str_len);
  be32(out + 36, f->st_len);
  memcpy(out + off_st, f->st, f->st_len);
  memcpy(out + off_str, f->str, f->str_len);
  return total;
}
