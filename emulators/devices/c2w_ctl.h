/* The c2w control protocol (docs/contract.md, port c2w.ctl): u32 LE length + key=value\0 records. */
#ifndef C2W_CTL_H
#define C2W_CTL_H
#include <stddef.h>
#include <stdint.h>
typedef struct C2wCtl {
  uint32_t len;
  uint8_t buf[8192];
  int ready;     /* guest sent ready=1 */
  int exit_code; /* guest sent exit=N, else -1 */
} C2wCtl;
void c2w_ctl_init(C2wCtl *c);
/* bytes the guest wrote on the control port */
void c2w_ctl_input(C2wCtl *c, const uint8_t *data, size_t len);

/* run-config message builder: writes the 4-byte length then records */
typedef struct {
  uint8_t *buf;
  size_t cap, len;
  int overflow;
} C2wMsg;
void c2w_msg_begin(C2wMsg *m, uint8_t *buf, size_t cap);
void c2w_msg_raw(C2wMsg *m, const uint8_t *records, size_t len); /* already packed records */
void c2w_msg_add(C2wMsg *m, const char *key, const char *value);
size_t c2w_msg_end(C2wMsg *m); /* returns total length, 0 on overflow */
/* the one-record message `stdin-eof=1` (the host's stdin ended, non-tty mode) into buf[64] */
size_t c2w_msg_stdin_eof(uint8_t buf[64]);
#endif
