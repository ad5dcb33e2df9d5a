#ifndef C2W_VIRTIO_RNG_H
#define C2W_VIRTIO_RNG_H
#include "virtio.h"
typedef struct VirtioRng {
  VirtioDevice vdev;
  void (*fill)(uint8_t *buf, size_t len);
} VirtioRng;
void virtio_rng_init(VirtioRng *r, const VirtioBus *bus, int irq, void (*fill)(uint8_t *, size_t));
#endif
