#include "wasmbuf.h"
#include <stdio.h>
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

void wb_module_many(WBuf *m, const uint8_t *types, size_t types_len, int table, const WBuf *bodies,
                    unsigned n) {
  static const uint8_t header[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  static const uint8_t memory[] = {1, 'e', 1, 'm', 2, 0, 0};       /* e.m: memory, min 0 */
  static const uint8_t ftable[] = {1, 'e', 1, 't', 1, 0x70, 0, 0}; /* e.t: funcref table */
  WBuf sec = {0};
  wb_bytes(m, header, sizeof(header));
  wb_bytes(&sec, types, types_len);
  wb_sized(m, 1, &sec);
  sec.len = 0;
  wb_u32(&sec, table ? 2 : 1);
  wb_bytes(&sec, memory, sizeof(memory));
  if (table) wb_bytes(&sec, ftable, sizeof(ftable));
  wb_sized(m, 2, &sec);
  sec.len = 0; /* functions: all of type 0 */
  wb_u32(&sec, n);
  for (unsigned i = 0; i < n; i++) wb_byte(&sec, 0);
  wb_sized(m, 3, &sec);
  sec.len = 0; /* exports: f, or f0, f1, ... */
  wb_u32(&sec, n);
  for (unsigned i = 0; i < n; i++) {
    char name[16];
    int len = n == 1 ? snprintf(name, sizeof(name), "f") : snprintf(name, sizeof(name), "f%u", i);
    wb_u32(&sec, (uint32_t)len);
    wb_bytes(&sec, name, (size_t)len);
    wb_byte(&sec, 0);
    wb_u32(&sec, i);
  }
  wb_sized(m, 7, &sec);
  sec.len = 0;
  wb_u32(&sec, n);
  for (unsigned i = 0; i < n; i++) wb_sized(&sec, -1, &bodies[i]);
  wb_sized(m, 10, &sec);
  wb_free(&sec);
}

void wb_module(WBuf *m, const uint8_t *types, size_t types_len, int table, const WBuf *body) {
  wb_module_many(m, types, types_len, table, body, 1);
}
