#include "virtio_console.h"
#include <string.h>

#define F_MULTIPORT (1ULL << 1)
enum { DEVICE_READY = 0, DEVICE_ADD = 1, PORT_READY = 3, CONSOLE_PORT = 4, PORT_OPEN = 6, PORT_NAME = 7 };

static VirtioConsole *con_of(VirtioDevice *d) { return (VirtioConsole *)d; }
static int rxq(int port) { return port == 0 ? 0 : 2 * (port + 1); }
static int txq(int port) { return rxq(port) + 1; }

static void flush_ctrl(VirtioConsole *c) {
  VirtqElem e;
  while (c->cq_count && virtq_ready(&c->vdev, 2) && virtq_pop(&c->vdev, 2, &e) == 1) {
    uint32_t n = (uint32_t)virtq_write(&c->vdev, &e, 0, c->cq[c->cq_head], c->cq_len[c->cq_head]);
    virtq_push(&c->vdev, 2, &e, n);
    c->cq_head = (c->cq_head + 1) % VCON_CQ;
    c->cq_count--;
  }
}

static void ctrl_send(VirtioConsole *c, uint32_t id, uint16_t event, uint16_t value, const char *extra) {
  if (c->cq_count >= VCON_CQ) return;
  int slot = (c->cq_head + c->cq_count) % VCON_CQ;
  uint8_t *m = c->cq[slot];
  put_le32(m, id);
  put_le16(m + 4, event);
  put_le16(m + 6, value);
  size_t n = 8;
  if (extra) {
    size_t l = strlen(extra);
    if (l > sizeof(c->cq[0]) - 8) l = sizeof(c->cq[0]) - 8;
    memcpy(m + 8, extra, l);
    n += l;
  }
  c->cq_len[slot] = (uint16_t)n;
  c->cq_count++;
}

static void flush_rx(VirtioConsole *c, int port) {
  VirtqElem e;
  int q = rxq(port);
  while (c->rx_len[port] && virtq_ready(&c->vdev, q) && virtq_pop(&c->vdev, q, &e) == 1) {
    uint32_t n = (uint32_t)virtq_write(&c->vdev, &e, 0, c->rx[port], c->rx_len[port]);
    virtq_push(&c->vdev, q, &e, n);
    memmove(c->rx[port], c->rx[port] + n, c->rx_len[port] - n);
    c->rx_len[port] -= n;
  }
}

static void notify(VirtioDevice *d, int qi) {
  VirtioConsole *c = con_of(d);
  VirtqElem e;
  if (qi == 3) {
    while (virtq_pop(d, 3, &e) == 1) {
      uint8_t m[8];
      if (virtq_read(d, &e, 0, m, 8) == 8) {
        uint32_t id = get_le32(m);
        uint16_t ev = get_le16(m + 4), val = get_le16(m + 6);
        if (ev == DEVICE_READY && val == 1) {
          for (int p = 0; p < c->nports; p++) ctrl_send(c, (uint32_t)p, DEVICE_ADD, 1, NULL);
        } else if (ev == PORT_READY && val == 1 && id < (uint32_t)c->nports) {
          if (c->names[id][0]) ctrl_send(c, id, PORT_NAME, 1, c->names[id]);
          else ctrl_send(c, id, CONSOLE_PORT, 1, NULL);
          ctrl_send(c, id, PORT_OPEN, 1, NULL);
        } else if (ev == PORT_OPEN && id < (uint32_t)c->nports) {
          c->guest_open[id] = (uint8_t)val;
        }
      }
      virtq_push(d, 3, &e, 0);
    }
    flush_ctrl(c);
    return;
  }
  if (qi == 2) {
    flush_ctrl(c);
    return;
  }
  for (int p = 0; p < c->nports; p++) {
    if (qi == txq(p)) {
      while (virtq_pop(d, qi, &e) == 1) {
        uint8_t buf[4096];
        size_t off = 0;
        while (off < e.out_len) {
          size_t n = virtq_read(d, &e, off, buf, sizeof(buf));
          if (!n) break;
          if (c->tx) c->tx(c->opaque, p, buf, n);
          off += n;
        }
        virtq_push(d, qi, &e, 0);
      }
      return;
    }
    if (qi == rxq(p)) {
      flush_rx(c, p);
      return;
    }
  }
}

static void reset(VirtioDevice *d) {
  VirtioConsole *c = con_of(d);
  c->cq_head = c->cq_count = 0;
  memset(c->guest_open, 0, sizeof(c->guest_open));
}

void virtio_console_init(VirtioConsole *c, const VirtioBus *bus, int irq, int nports, const char *const *names,
                         void (*tx)(void *, int, const uint8_t *, size_t), void *opaque) {
  memset(c, 0, sizeof(*c));
  if (nports > VCON_MAX_PORTS) nports = VCON_MAX_PORTS;
  virtio_dev_init(&c->vdev, bus, irq, VIRTIO_ID_CONSOLE, 2 + 2 * nports, F_MULTIPORT, 12);
  c->nports = nports;
  for (int i = 0; i < nports; i++)
    if (names && names[i]) strncpy(c->names[i], names[i], sizeof(c->names[i]) - 1);
  put_le16(c->vdev.config, 80);
  put_le16(c->vdev.config + 2, 25);
  put_le32(c->vdev.config + 4, (uint32_t)nports);
  c->vdev.notify = notify;
  c->vdev.reset = reset;
  c->tx = tx;
  c->opaque = opaque;
}

int virtio_console_can_rx(VirtioConsole *c, int port) {
  return port < c->nports && c->rx_len[port] == 0 && virtq_avail(&c->vdev, rxq(port)) > 0;
}

size_t virtio_console_send(VirtioConsole *c, int port, const uint8_t *buf, size_t len) {
  if (port >= c->nports) return 0;
  size_t room = VCON_RXBUF - c->rx_len[port];
  if (len > room) len = room;
  memcpy(c->rx[port] + c->rx_len[port], buf, len);
  c->rx_len[port] += (uint32_t)len;
  flush_rx(c, port);
  return len;
}

size_t virtio_console_pending(VirtioConsole *c, int port) { return port < c->nports ? c->rx_len[port] : 0; }
