/* The riscv64 machine: one hart, RAM at 0x80000000, CLINT, PLIC, SBI in the emulator,
 * virtio-mmio console (3 ports), blk, 9p, rng. One global instance (all in linear memory). */
#ifndef C2W_RV_MACHINE_H
#define C2W_RV_MACHINE_H
#include <stddef.h>
#include <stdint.h>

#define RAM_BASE 0x80000000ULL

int machine_init(uint64_t ram_size);
/* place kernel, initrd, generated DTB; set the hart to enter the kernel in S-mode */
int machine_load(const uint8_t *kernel, size_t klen, const uint8_t *initrd, size_t ilen, const char *cmdline);
/* run until the guest sends ready=1 (until_ready) or exit=N / power-off.
 * returns -1 at the ready point, else the exit status (125 on power-off without exit=). */
int machine_run(int until_ready);
/* after a snapshot: rebase the clocks so guest time continues monotonically */
void machine_resume(void);
/* the rootfs: served from memory or through a read callback */
void machine_set_disk(uint64_t size, int (*read)(void *, uint64_t, uint8_t *, size_t), void *opaque);
/* host -> guest control message (already framed) */
void machine_send_ctl(const uint8_t *msg, size_t len);
/* forward host stdin to hvc0 from now on; tty: no stdin-eof message */
void machine_enable_stdin(int tty);
/* guest monotonic time in ns (for logs) */
uint64_t machine_guest_ns(void);
int machine_booted(void);
#endif
