#include "wasmbuf.h"
#include <stdlib.h>
#include <string.h>

static int reserve(WBuf *b, size_t n) {
  if (b->oom) return -1;
  if (b->len + n <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + n) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void wb_byte(WBuf *b, uint8_t v) {
  if (reserve(b, 1) == 0) b->p[b->len++] = v;
}

void wb_bytes(WBuf *b, const void *v, size_t n) {
  if (reserve(b, n) == 0) {
    memcpy(b->p + b->len, v, n);
    b->len += n;
  }
}

void wb_u32(WBuf *b, uint32_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    wb_byte(b, v ? c | 0x80 : c);
  } while (v);
}

void wb_s64(WBuf *b, int64_t v) {
  for (;;) {
    uint8_t c = v & 0x7f;
    v >>= 7; /* arithmetic */
    if ((v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40))) {
      wb_byte(b, c);
      return;
    }
    wb_byte(b, c | 0x80);
  }
}

void wb_sized(WBuf *b, int id, const WBuf *body) {
  if (id >= 0) wb_byte(b, (uint8_t)id);
  wb_u32(b, (uint32_t)body->len);
  wb_bytes(b, body->p, body->len);
  if (body->oom) b->oom = 1;
}

void wb_free(WBuf *b) {
  free(b->p);
  memset(b, 0, sizeof(*b));
}
