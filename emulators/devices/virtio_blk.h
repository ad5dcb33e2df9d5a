/* virtio-blk, read-only, backed by a read callback; capacity can change at run time. */
#ifndef C2W_VIRTIO_BLK_H
#define C2W_VIRTIO_BLK_H
#include "virtio.h"
typedef struct VirtioBlk {
  VirtioDevice vdev;
  uint64_t size; /* bytes */
  /* read len bytes at off into buf; 0 ok, -1 error */
  int (*read)(void *opaque, uint64_t off, uint8_t *buf, size_t len);
  void *opaque;
} VirtioBlk;
void virtio_blk_init(VirtioBlk *b, const VirtioBus *bus, int irq);
/* set the backing store and size; raises a config-change interrupt if the driver is up */
void virtio_blk_set_backing(VirtioBlk *b, uint64_t size, int (*read)(void *, uint64_t, uint8_t *, size_t), void *opaque);
#endif
