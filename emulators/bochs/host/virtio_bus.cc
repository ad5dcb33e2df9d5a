// The contract's virtio devices (emulators/devices) on Bochs' physical memory bus as
// virtio-mmio, declared to the guest kernel by virtio_mmio.device= parameters, with one ISA
// IRQ each. A Bochs timer pumps stdin into the console and, while the CPU sits in HLT, waits
// on the host so an idle guest neither spins the host CPU nor runs its clock ahead.
#define NEED_CPU_REG_SHORTCUTS 1
#include "bochs.h"
#include "cpu/cpu.h"
#include "iodev/iodev.h"
#include "pc_system.h"

#include "c2w_bochs.h"
extern "C" {
#include "c2w_ctl.h"
#include "host.h"
#include "virtio_9p.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_mmio.h"
#include "virtio_rng.h"
}

static const bx_phy_address VIRTIO_BASE = 0xd0000000;  // above the largest RAM (--mem 3072)
static const unsigned NVIRTIO = 4;
static const int VIRTIO_IRQ[NVIRTIO] = {5, 9, 10, 11};  // free ISA lines on Bochs' PC
static const Bit32u PUMP_USEC = 1000;                   // guest time between stdin polls

static struct {
  VirtioBus bus;
  VirtioDevice *dev[NVIRTIO];
  VirtioConsole con;
  VirtioBlk blk;
  Virtio9P p9;
  VirtioRng rng;
  C2wCtl ctl;
  bool stdin_on, stdin_eof, tty;
} V;

static Bit8u *bus_mem(void *, uint64_t gpa, uint64_t len)
{
  // guest RAM is one host range (patch 0003), so a buffer in RAM is usable in place
  if (len == 0 || gpa + len < gpa || gpa + len > BX_MEM(0)->get_memory_len()) return NULL;
  return BX_MEM(0)->get_vector(gpa);
}

static void bus_irq(void *, int irq, int level)
{
  if (level) DEV_pic_raise_irq(irq);
  else DEV_pic_lower_irq(irq);
}

static VirtioDevice *device_at(bx_phy_address addr, Bit32u *off)
{
  Bit64u rel = addr - VIRTIO_BASE;
  *off = (Bit32u) (rel & (VIRTIO_MMIO_SIZE - 1));
  return V.dev[rel / VIRTIO_MMIO_SIZE];
}

static bool mmio_read(bx_phy_address addr, unsigned len, void *data, void *)
{
  Bit32u off;
  VirtioDevice *d = device_at(addr, &off);
  Bit32u v = (len == 1 || len == 2 || len == 4) ? virtio_mmio_read(d, off, (int) len) : 0;
  memset(data, 0, len);
  memcpy(data, &v, len < 4 ? len : 4);
  return true;
}

static bool mmio_write(bx_phy_address addr, unsigned len, void *data, void *)
{
  Bit32u off, v = 0;
  VirtioDevice *d = device_at(addr, &off);
  if (len == 1 || len == 2 || len == 4) {
    memcpy(&v, data, len);
    virtio_mmio_write(d, off, v, (int) len);
  }
  return true;
}

static void console_tx(void *, int port, const uint8_t *buf, size_t len)
{
  if (port == 0) host_write_out(1, buf, len);
  else if (port == 1) host_write_out(2, buf, len);
  else if (port == 2) {
    c2w_ctl_input(&V.ctl, buf, len);
    if (V.ctl.ready || V.ctl.exit_code >= 0) c2w_stop_cpu();
  }
}

static void rng_fill(uint8_t *b, size_t n) { host_random(b, n); }

static bool cpu_halted(void)
{
  return BX_CPU(0)->activity_state != BX_CPU_C::BX_ACTIVITY_STATE_ACTIVE;
}

static void pump_timer(void *)
{
  bool want_input = V.stdin_on && !V.stdin_eof && virtio_console_can_rx(&V.con, 0);
  if (want_input) {
    uint8_t buf[4096];
    long r = host_stdin_read(buf, sizeof(buf));
    if (r > 0) {
      virtio_console_send(&V.con, 0, buf, (size_t) r);
      return;
    }
    if (r < 0) {
      V.stdin_eof = true;
      if (!V.tty) {
        uint8_t msg[64];
        c2w_virtio_send_ctl(msg, c2w_msg_stdin_eof(msg));
      }
      return;
    }
  }
  // idle guest: let host time pass as guest time passes, waking early for input
  if (cpu_halted() && V.stdin_on) {
    if (want_input) host_stdin_wait((uint64_t) PUMP_USEC * 1000);
    else host_sleep_ns((uint64_t) PUMP_USEC * 1000);
  }
}

void c2w_virtio_init(void)
{
  memset(&V, 0, sizeof(V));
  V.bus.mem = bus_mem;
  V.bus.set_irq = bus_irq;
  static const char *const names[3] = {"", "", "c2w.ctl"};
  virtio_console_init(&V.con, &V.bus, VIRTIO_IRQ[0], 3, names, console_tx, NULL);
  virtio_blk_init(&V.blk, &V.bus, VIRTIO_IRQ[1]);
  virtio_9p_init(&V.p9, &V.bus, VIRTIO_IRQ[2], "c2w");
  virtio_rng_init(&V.rng, &V.bus, VIRTIO_IRQ[3], rng_fill);
  V.dev[0] = &V.con.vdev;
  V.dev[1] = &V.blk.vdev;
  V.dev[2] = &V.p9.vdev;
  V.dev[3] = &V.rng.vdev;
  c2w_ctl_init(&V.ctl);
  static int owner;
  if (!BX_MEM(0)->registerMemoryHandlers(&owner, mmio_read, mmio_write, VIRTIO_BASE,
                                         VIRTIO_BASE + NVIRTIO * VIRTIO_MMIO_SIZE - 1)) {
    fprintf(stderr, "bochs: cannot map the virtio devices\n");
    exit(125);
  }
  bx_pc_system.register_timer(&owner, pump_timer, PUMP_USEC, true, true, "c2w stdin");
}

std::string c2w_virtio_kernel_params(void)
{
  std::string p;
  char buf[96];
  for (unsigned i = 0; i < NVIRTIO; i++) {
    snprintf(buf, sizeof(buf), "%svirtio_mmio.device=%uK@0x%llx:%d", i ? " " : "",
             (unsigned) (VIRTIO_MMIO_SIZE / 1024),
             (unsigned long long) (VIRTIO_BASE + i * VIRTIO_MMIO_SIZE), VIRTIO_IRQ[i]);
    p += buf;
  }
  return p;
}

bool c2w_virtio_ready(void) { return V.ctl.ready != 0; }
int c2w_virtio_exit_code(void) { return V.ctl.exit_code; }

void c2w_virtio_set_disk(uint64_t size, C2wDiskRead read)
{
  virtio_blk_set_backing(&V.blk, size, read, NULL);
}

void c2w_virtio_send_ctl(const uint8_t *msg, size_t len)
{
  while (len > 0) {
    size_t n = virtio_console_send(&V.con, 2, msg, len);
    if (!n) break;
    msg += n;
    len -= n;
  }
}

void c2w_virtio_enable_stdin(bool tty)
{
  V.stdin_on = true;
  V.tty = tty;
}
