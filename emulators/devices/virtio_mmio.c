#include "virtio_mmio.h"
#include <string.h>

uint32_t virtio_mmio_read(VirtioDevice *d, uint32_t off, int size) {
  if (off >= 0x100) {
    uint32_t o = off - 0x100, v = 0;
    if (o + (uint32_t)size > d->config_len) return 0;
    for (int i = 0; i < size; i++) v |= (uint32_t)d->config[o + i] << (8 * i);
    return v;
  }
  if (size != 4) return 0;
  VirtQueue *q = d->queue_sel < VIRTIO_MAX_QUEUES ? &d->q[d->queue_sel] : NULL;
  switch (off) {
  case 0x000: return 0x74726976;
  case 0x004: return 2;
  case 0x008: return d->device_id;
  case 0x00c: return d->vendor_id;
  case 0x010: return d->dev_feat_sel < 2 ? (uint32_t)(d->host_features >> (32 * d->dev_feat_sel)) : 0;
  case 0x034: return (q && (int)d->queue_sel < d->nqueues) ? VIRTIO_QUEUE_MAX : 0;
  case 0x044: return q ? q->ready : 0;
  case 0x060: return d->isr;
  case 0x070: return d->status;
  case 0x0fc: return d->config_gen;
  default: return 0;
  }
}

void virtio_mmio_write(VirtioDevice *d, uint32_t off, uint32_t val, int size) {
  if (off >= 0x100) {
    uint32_t o = off - 0x100;
    if (o + (uint32_t)size > d->config_len) return;
    for (int i = 0; i < size; i++) d->config[o + i] = (uint8_t)(val >> (8 * i));
    if (d->config_written) d->config_written(d);
    return;
  }
  if (size != 4) return;
  VirtQueue *q = d->queue_sel < VIRTIO_MAX_QUEUES ? &d->q[d->queue_sel] : NULL;
  switch (off) {
  case 0x014: d->dev_feat_sel = val; break;
  case 0x020:
    if (d->drv_feat_sel < 2) {
      uint64_t m = 0xffffffffULL << (32 * d->drv_feat_sel);
      d->driver_features = (d->driver_features & ~m) | (((uint64_t)val << (32 * d->drv_feat_sel)) & m);
    }
    break;
  case 0x024: d->drv_feat_sel = val; break;
  case 0x030: d->queue_sel = val; break;
  case 0x038: if (q && val <= VIRTIO_QUEUE_MAX && (val & (val - 1)) == 0) q->num = val; break;
  case 0x044: if (q) q->ready = val & 1; break;
  case 0x050: if ((int)val < d->nqueues && d->notify) d->notify(d, (int)val); break;
  case 0x064:
    d->isr &= ~val;
    virtio_dev_update_irq(d);
    break;
  case 0x070:
    if (val == 0) {
      virtio_dev_reset(d);
    } else {
      uint32_t old = d->status;
      d->status = val;
      if ((val & 4) && !(old & 4) && d->driver_ok) d->driver_ok(d);
    }
    break;
  case 0x080: if (q) q->desc = (q->desc & ~0xffffffffULL) | val; break;
  case 0x084: if (q) q->desc = (q->desc & 0xffffffffULL) | ((uint64_t)val << 32); break;
  case 0x090: if (q) q->avail = (q->avail & ~0xffffffffULL) | val; break;
  case 0x094: if (q) q->avail = (q->avail & 0xffffffffULL) | ((uint64_t)val << 32); break;
  case 0x0a0: if (q) q->used = (q->used & ~0xffffffffULL) | val; break;
  case 0x0a4: if (q) q->used = (q->used & 0xffffffffULL) | ((uint64_t)val << 32); break;
  default: break;
  }
}
