/* virtio-console with VIRTIO_CONSOLE_F_MULTIPORT: up to 4 ports, console or named. */
#ifndef C2W_VIRTIO_CONSOLE_H
#define C2W_VIRTIO_CONSOLE_H
#include "virtio.h"

#define VCON_MAX_PORTS 4
#define VCON_RXBUF 65536
#define VCON_CQ 32

typedef struct VirtioConsole {
  VirtioDevice vdev;
  int nports;
  char names[VCON_MAX_PORTS][32]; /* "" = console port */
  uint8_t guest_open[VCON_MAX_PORTS];
  /* control messages waiting for a control rx buffer */
  uint8_t cq[VCON_CQ][48];
  uint16_t cq_len[VCON_CQ];
  int cq_head, cq_count;
  /* host -> guest bytes waiting for port rx buffers */
  uint32_t rx_len[VCON_MAX_PORTS];
  uint8_t rx[VCON_MAX_PORTS][VCON_RXBUF];
  /* guest -> host bytes of port `port` */
  void (*tx)(void *opaque, int port, const uint8_t *buf, size_t len);
  void *opaque;
} VirtioConsole;

void virtio_console_init(VirtioConsole *c, const VirtioBus *bus, int irq, int nports, const char *const *names,
                         void (*tx)(void *, int, const uint8_t *, size_t), void *opaque);
/* does the guest have rx buffers posted on this port (so host input can go there)? */
int virtio_console_can_rx(VirtioConsole *c, int port);
/* queue bytes for the guest; returns bytes accepted (limited by the host-side buffer) */
size_t virtio_console_send(VirtioConsole *c, int port, const uint8_t *buf, size_t len);
/* bytes still waiting in the host-side buffer of a port */
size_t virtio_console_pending(VirtioConsole *c, int port);
#endif
