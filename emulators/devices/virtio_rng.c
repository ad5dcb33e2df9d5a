#include "virtio_rng.h"
#include <string.h>
static void notify(VirtioDevice *d, int qi) {
  VirtioRng *r = (VirtioRng *)d;
  VirtqElem e;
  while (virtq_pop(d, qi, &e) == 1) {
    uint8_t buf[256];
    size_t n = e.in_len < sizeof(buf) ? e.in_len : sizeof(buf);
    r->fill(buf, n);
    virtq_push(d, qi, &e, (uint32_t)virtq_write(d, &e, 0, buf, n));
  }
}
void virtio_rng_init(VirtioRng *r, const VirtioBus *bus, int irq, void (*fill)(uint8_t *, size_t)) {
  memset(r, 0, sizeof(*r));
  virtio_dev_init(&r->vdev, bus, irq, VIRTIO_ID_RNG, 1, 0, 0);
  r->vdev.notify = notify;
  r->fill = fill;
}
