/* virtio core: device state and split virtqueues (no indirect descriptors, no event idx). */
#include "virtio.h"
#include <string.h>

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

void virtio_dev_init(VirtioDevice *d, const VirtioBus *bus, int irq, uint32_t device_id, int nqueues,
                     uint64_t features, uint32_t config_len) {
  memset(d, 0, sizeof(*d));
  d->bus = bus;
  d->irq = irq;
  d->device_id = device_id;
  d->vendor_id = 0x554d4551; /* "QEMU"-style vendor id, any value works */
  d->nqueues = nqueues;
  d->host_features = features | VIRTIO_F_VERSION_1;
  d->config_len = config_len;
}

void virtio_dev_update_irq(VirtioDevice *d) { d->bus->set_irq(d->bus->opaque, d->irq, d->isr != 0); }

void virtio_dev_reset(VirtioDevice *d) {
  d->status = 0;
  d->isr = 0;
  d->driver_features = 0;
  d->queue_sel = d->dev_feat_sel = d->drv_feat_sel = 0;
  for (int i = 0; i < VIRTIO_MAX_QUEUES; i++) memset(&d->q[i], 0, sizeof(d->q[i]));
  if (d->reset) d->reset(d);
  virtio_dev_update_irq(d);
}

void virtio_dev_config_changed(VirtioDevice *d) {
  d->config_gen++;
  if (d->status & 4) { /* DRIVER_OK */
    d->isr |= 2;
    virtio_dev_update_irq(d);
  }
}

static uint8_t *gmem(VirtioDevice *d, uint64_t a, uint64_t len) { return d->bus->mem(d->bus->opaque, a, len); }

int virtq_ready(VirtioDevice *d, int qi) { return qi < d->nqueues && d->q[qi].ready && d->q[qi].num; }

int virtq_avail(VirtioDevice *d, int qi) {
  if (!virtq_ready(d, qi)) return 0;
  VirtQueue *q = &d->q[qi];
  uint8_t *av = gmem(d, q->avail, 4);
  if (!av) return 0;
  return (uint16_t)(get_le16(av + 2) - q->last_avail);
}

int virtq_pop(VirtioDevice *d, int qi, VirtqElem *e) {
  if (!virtq_avail(d, qi)) return 0;
  VirtQueue *q = &d->q[qi];
  uint8_t *av = gmem(d, q->avail, 4 + 2 * (uint64_t)q->num);
  if (!av) return -1;
  uint16_t head = get_le16(av + 4 + 2 * (q->last_avail % q->num));
  q->last_avail++;
  e->head = head;
  e->nout = e->nin = 0;
  e->out_len = e->in_len = 0;
  uint16_t i = head;
  for (unsigned n = 0; n < q->num; n++) {
    if (i >= q->num) return -1;
    uint8_t *ds = gmem(d, q->desc + 16 * (uint64_t)i, 16);
    if (!ds) return -1;
    uint64_t addr = get_le64(ds);
    uint32_t len = get_le32(ds + 8);
    uint16_t flags = get_le16(ds + 12), next = get_le16(ds + 14);
    if (flags & VRING_DESC_F_WRITE) {
      if (e->nin >= VIRTQ_MAX_SEGS) return -1;
      e->in_addr[e->nin] = addr;
      e->in_len_seg[e->nin++] = len;
      e->in_len += len;
    } else {
      if (e->nout >= VIRTQ_MAX_SEGS) return -1;
      e->out_addr[e->nout] = addr;
      e->out_len_seg[e->nout++] = len;
      e->out_len += len;
    }
    if (!(flags & VRING_DESC_F_NEXT)) return 1;
    i = next;
  }
  return -1;
}

size_t virtq_read(VirtioDevice *d, const VirtqElem *e, size_t off, void *buf, size_t len) {
  size_t done = 0;
  for (int s = 0; s < e->nout && done < len; s++) {
    if (off >= e->out_len_seg[s]) {
      off -= e->out_len_seg[s];
      continue;
    }
    size_t n = e->out_len_seg[s] - off;
    if (n > len - done) n = len - done;
    uint8_t *p = gmem(d, e->out_addr[s] + off, n);
    if (!p) break;
    memcpy((uint8_t *)buf + done, p, n);
    done += n;
    off = 0;
  }
  return done;
}

size_t virtq_write(VirtioDevice *d, const VirtqElem *e, size_t off, const void *buf, size_t len) {
  size_t done = 0;
  for (int s = 0; s < e->nin && done < len; s++) {
    if (off >= e->in_len_seg[s]) {
      off -= e->in_len_seg[s];
      continue;
    }
    size_t n = e->in_len_seg[s] - off;
    if (n > len - done) n = len - done;
    uint8_t *p = gmem(d, e->in_addr[s] + off, n);
    if (!p) break;
    memcpy(p, (const uint8_t *)buf + done, n);
    done += n;
    off = 0;
  }
  return done;
}

void virtq_push(VirtioDevice *d, int qi, const VirtqElem *e, uint32_t written) {
  VirtQueue *q = &d->q[qi];
  uint8_t *u = gmem(d, q->used, 4 + 8 * (uint64_t)q->num);
  if (!u) return;
  uint16_t idx = get_le16(u + 2);
  uint8_t *ent = u + 4 + 8 * (idx % q->num);
  put_le32(ent, e->head);
  put_le32(ent + 4, written);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  put_le16(u + 2, (uint16_t)(idx + 1));
  d->isr |= 1;
  virtio_dev_update_irq(d);
}
