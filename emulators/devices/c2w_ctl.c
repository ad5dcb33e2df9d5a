#include "c2w_ctl.h"
#include <stdlib.h>
#include <string.h>

void c2w_ctl_init(C2wCtl *c) {
  memset(c, 0, sizeof(*c));
  c->exit_code = -1;
}

static void handle(C2wCtl *c, const uint8_t *rec, size_t len) {
  size_t i = 0;
  while (i < len) {
    const uint8_t *r = rec + i;
    size_t n = 0;
    while (i + n < len && r[n]) n++;
    if (n >= 6 && !memcmp(r, "ready=", 6)) c->ready = 1;
    if (n >= 5 && !memcmp(r, "exit=", 5)) {
      char tmp[16];
      size_t l = n - 5 < 15 ? n - 5 : 15;
      memcpy(tmp, r + 5, l);
      tmp[l] = 0;
      c->exit_code = atoi(tmp) & 255;
    }
    i += n + 1;
  }
}

void c2w_ctl_input(C2wCtl *c, const uint8_t *data, size_t len) {
  while (len > 0) {
    size_t n = sizeof(c->buf) - c->len;
    if (n > len) n = len;
    memcpy(c->buf + c->len, data, n);
    c->len += (uint32_t)n;
    data += n;
    len -= n;
    for (;;) {
      if (c->len < 4) break;
      uint32_t ml = (uint32_t)c->buf[0] | ((uint32_t)c->buf[1] << 8) | ((uint32_t)c->buf[2] << 16) |
                    ((uint32_t)c->buf[3] << 24);
      if (ml > sizeof(c->buf) - 4) { /* oversized: drop everything */
        c->len = 0;
        break;
      }
      if (c->len < 4 + ml) break;
      handle(c, c->buf + 4, ml);
      memmove(c->buf, c->buf + 4 + ml, c->len - 4 - ml);
      c->len -= 4 + ml;
    }
    if (c->len == sizeof(c->buf)) c->len = 0;
  }
}

void c2w_msg_begin(C2wMsg *m, uint8_t *buf, size_t cap) {
  m->buf = buf;
  m->cap = cap;
  m->len = 4;
  m->overflow = cap < 4;
}

void c2w_msg_raw(C2wMsg *m, const uint8_t *records, size_t len) {
  if (m->overflow || m->len + len > m->cap) {
    m->overflow = 1;
    return;
  }
  memcpy(m->buf + m->len, records, len);
  m->len += len;
}

void c2w_msg_add(C2wMsg *m, const char *key, const char *value) {
  size_t kl = strlen(key), vl = strlen(value);
  if (m->overflow || m->len + kl + vl + 2 > m->cap) {
    m->overflow = 1;
    return;
  }
  memcpy(m->buf + m->len, key, kl);
  m->buf[m->len + kl] = '=';
  memcpy(m->buf + m->len + kl + 1, value, vl);
  m->buf[m->len + kl + 1 + vl] = 0;
  m->len += kl + vl + 2;
}

size_t c2w_msg_end(C2wMsg *m) {
  if (m->overflow) return 0;
  uint32_t l = (uint32_t)(m->len - 4);
  for (int i = 0; i < 4; i++) m->buf[i] = (uint8_t)(l >> (8 * i));
  return m->len;
}

size_t c2w_msg_stdin_eof(uint8_t buf[64]) {
  C2wMsg m;
  c2w_msg_begin(&m, buf, 64);
  c2w_msg_add(&m, "stdin-eof", "1");
  return c2w_msg_end(&m);
}
