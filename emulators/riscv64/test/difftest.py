#!/usr/bin/env python3
"""Differential test of the riscv64 CPU against qemu-riscv64 (user mode).

Generates random instruction streams (RV64IMAFDC: integer, M, A incl. LR/SC, F/D with every
rounding mode, NaNs, subnormals, RVC through the assembler's compression and explicit c.*),
assembles them with riscv64-linux-gnu-gcc in the build root, runs the ELF on qemu-riscv64 and on
our rv64-user harness, and compares the register/memory dumps block by block.

Usage: difftest.py [--seed N] [--programs N] [--blocks N] [--insns N] [--keep DIR]
Exit status 0 when every dump matches; otherwise the first differing block is described.
"""
import argparse
import shlex
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
USER = os.path.join(ROOT, "emulators", "riscv64", "build", "native", "rv64-user")
QEMU = shutil.which("qemu-riscv64-static") or shutil.which("qemu-riscv64")

# x2, x8, x30 point into the memory area; x31 is the dump pointer. Never a destination.
RESERVED = {0, 2, 8, 30, 31}
DEST = [r for r in range(1, 30) if r not in RESERVED]
SRC = list(range(0, 31))
MEMSZ = 256
RMS = ["rne", "rtz", "rdn", "rup", "rmm", "dyn"]

F64 = [
    0x0000000000000000, 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
    0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0xFFF4000000000000,
    0x7FF8DEADBEEF0000, 0x0000000000000001, 0x8000000000000001, 0x000FFFFFFFFFFFFF,
    0x0010000000000000, 0x8010000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
    0x3FF0000000000000, 0xBFF0000000000000, 0x3FE0000000000000, 0x3FF8000000000000,
    0x4340000000000000, 0x43E0000000000000, 0x43F0000000000000, 0xC3E0000000000000,
    0x41E0000000000000, 0xC1E0000000000000, 0x41F0000000000000, 0x3FB999999999999A,
    0x3FD5555555555555, 0x4004000000000000, 0xC004000000000000, 0x400C000000000000,
    0x3CA0000000000000, 0x0008000000000000, 0x001FFFFFFFFFFFFF, 0x3FEFFFFFFFFFFFFF,
    0x43DFFFFFFFFFFFFF, 0xC3E0000000000001, 0x41DFFFFFFFC00000, 0x41EFFFFFFFE00000,
]
F32 = [
    0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
    0xFFA00000, 0x7FC0BEEF, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x80800000,
    0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000, 0xBF800000, 0x3F000000, 0x3FC00000, 0x4B800000,
    0x5F000000, 0x5F800000, 0xDF000000, 0x4F000000, 0xCF000000, 0x4F800000, 0x3DCCCCCD,
    0x3EAAAAAB, 0x40200000, 0xC0200000, 0x40600000, 0x33800000, 0x00400000, 0x00FFFFFF,
    0x3F7FFFFF, 0x5EFFFFFF, 0x4EFFFFFF, 0x4F7FFFFF,
]
INTS = [
    0, 1, 2, 3, 0xFFFFFFFFFFFFFFFF, 0x8000000000000000, 0x7FFFFFFFFFFFFFFF, 0x80000000,
    0x7FFFFFFF, 0xFFFFFFFF80000000, 0xFFFFFFFF, 0x100000000, 31, 32, 63, 64, 0xFFFFFFFFFFFFFFFE,
]


def rand_f64(r):
    k = r.random()
    if k < 0.45:
        return r.choice(F64)
    if k < 0.6:  # near subnormal range
        return (r.getrandbits(1) << 63) | (r.randrange(0, 60) << 52) | r.getrandbits(52)
    if k < 0.7:  # near overflow
        return (r.getrandbits(1) << 63) | (r.randrange(2000, 2047) << 52) | r.getrandbits(52)
    if k < 0.8:  # small integers and halves
        v = r.randrange(-100, 100) / r.choice([1, 2, 4, 8])
        return struct.unpack("<Q", struct.pack("<d", v))[0]
    return (r.getrandbits(1) << 63) | (r.randrange(900, 1150) << 52) | r.getrandbits(52)


def rand_f32(r):
    k = r.random()
    if k < 0.45:
        return r.choice(F32)
    if k < 0.6:
        return (r.getrandbits(1) << 31) | (r.randrange(0, 30) << 23) | r.getrandbits(23)
    if k < 0.7:
        return (r.getrandbits(1) << 31) | (r.randrange(230, 255) << 23) | r.getrandbits(23)
    if k < 0.8:
        v = r.randrange(-100, 100) / r.choice([1, 2, 4, 8])
        return struct.unpack("<I", struct.pack("<f", v))[0]
    return (r.getrandbits(1) << 31) | (r.randrange(100, 160) << 23) | r.getrandbits(23)


def rand_freg(r):
    k = r.random()
    if k < 0.45:
        return rand_f64(r)
    if k < 0.97:
        return 0xFFFFFFFF00000000 | rand_f32(r)
    return (r.getrandbits(32) << 32) | rand_f32(r)  # badly NaN-boxed


def rand_int(r):
    k = r.random()
    if k < 0.3:
        return r.choice(INTS)
    if k < 0.5:
        return r.getrandbits(64)
    if k < 0.65:
        return r.randrange(0, 4096)
    if k < 0.75:
        return (-r.randrange(1, 4096)) & 0xFFFFFFFFFFFFFFFF
    if k < 0.85:
        return rand_f64(r)
    return rand_f32(r) | (r.choice([0, 0xFFFFFFFF]) << 32)


class Gen:
    def __init__(self, r):
        self.r = r

    def d(self):
        return "x%d" % self.r.choice(DEST)

    def s(self):
        return "x%d" % self.r.choice(SRC)

    def c8(self):  # x8..x15 but not reserved
        return "x%d" % self.r.choice([9, 10, 11, 12, 13, 14, 15])

    def f(self):
        return "f%d" % self.r.randrange(32)

    def rm(self):
        return self.r.choice(RMS)

    def idiom(self):
        # sequences the emulator fuses into one decoded entry (two loads or stores off one base,
        # shift pairs, 32-bit rotates, two adds, a byte load or an addi followed by beq/bne, a
        # pc-relative load; addi, li, lui or mv before an ALU op, branch or jal), on a
        # few registers so that they often alias (which must prevent or survive the fusion)
        r = self.r
        few = ["x%d" % v for v in r.sample([0, 1, 3, 9, 10, 12, 15], 4)]
        if r.random() < 0.2:
            # an addi, li, lui or mv followed by an ALU op, a branch or a jal on its result
            t, dd = r.choice([v for v in few if v != "x0"]), self.d()
            pre = r.choice(["addi %s, %s, %d" % (t, r.choice(few), r.randrange(-2048, 2048)),
                            "li %s, %d" % (t, r.randrange(-2048, 2048)), "lui %s, %d" % (t, r.randrange(1 << 20)),
                            "mv %s, %s" % (t, r.choice(few))])
            a, b, k = r.choice(few + [t]), r.choice(few + [t]), r.random()
            if k < 0.5:
                op = r.choice("add sub xor or and sll srl sra slt sltu addw subw sllw sraw mul mulw".split())
                return [pre, "%s %s, %s, %s" % (op, r.choice(few + [t]), a, b)]
            if k < 0.85:
                op = r.choice(["beq", "bne", "blt", "bge", "bltu", "bgeu"])
                return [pre, "%s %s, %s, 1f" % (op, a, b), "addi %s, %s, 1" % (dd, dd), "1:"]
            return [pre, "jal %s, 1f" % r.choice(few + [t]), "addi %s, %s, 1" % (dd, dd), "1:"]
        if r.random() < 0.15:
            t = r.choice([v for v in few if v != "x0"])
            off = r.randrange(0, MEMSZ // 8) * 8
            return ["1: auipc %s, %%pcrel_hi(membuf+%d)" % (t, off),
                    "ld %s, %%pcrel_lo(1b)(%s)" % (r.choice([t, t, self.d()]), t)]
        if r.random() < 0.25:
            op = r.choice(["add", "addw"])
            return ["%s %s, %s, %s" % (op, r.choice(few), r.choice(few), r.choice(few)) for _ in range(2)]
        if r.random() < 0.3:
            t, dd = r.choice(few), self.d()
            if r.random() < 0.5:
                first = "lbu %s, %d(x30)" % (t, r.randrange(0, MEMSZ))
            else:
                first = "addi %s, %s, %d" % (t, r.choice(few), r.randrange(-2048, 2048))
            a, b = r.sample([t, t, r.choice(few), "x0"], 2)
            return [first, "%s %s, %s, 1f" % (r.choice(["beq", "bne"]), a, b), "addi %s, %s, 1" % (dd, dd), "1:"]
        if r.random() < 0.3:
            base, top = r.choice([("x30", MEMSZ), ("x2", MEMSZ), ("x8", MEMSZ - 64)])
            op = r.choice(["ld", "sd"])
            return ["%s %s, %d(%s)" % (op, self.d() if op == "ld" else self.s(), r.randrange(0, top // 8) * 8, base)
                    for _ in range(2)]
        regs = ["x%d" % v for v in r.sample([1, 3, 9, 10, 12, 15], 3)]
        t, u, a = r.choice(regs), r.choice(regs), r.choice(regs)
        if r.random() < 0.5:
            return ["slli %s, %s, %d" % (t, a, r.choice([32, r.randrange(64)])),
                    "srli %s, %s, %d" % (u, r.choice([t, t, a]), r.choice([32, 31, r.randrange(64)]))]
        k = r.randrange(32)
        return ["slliw %s, %s, %d" % (t, a, k), "srliw %s, %s, %d" % (u, a, r.choice([(32 - k) % 32, r.randrange(32)])),
                "or %s, %s, %s" % (r.choice(regs), u, t) if r.random() < 0.5 else "or %s, %s, %s" % (r.choice(regs), t, u)]

    def insn(self):
        r = self.r
        if r.random() < 0.05:
            return self.idiom()
        k = r.randrange(100)
        if k < 22:
            op = r.choice("add sub sll slt sltu xor srl sra or and addw subw sllw srlw sraw "
                          "mul mulh mulhsu mulhu div divu rem remu mulw divw divuw remw remuw".split())
            return ["%s %s, %s, %s" % (op, self.d(), self.s(), self.s())]
        if k < 32:
            op = r.choice("addi slti sltiu xori ori andi addiw".split())
            return ["%s %s, %s, %d" % (op, self.d(), self.s(), r.randrange(-2048, 2048))]
        if k < 36:
            op = r.choice("slli srli srai".split())
            return ["%s %s, %s, %d" % (op, self.d(), self.s(), r.randrange(64))]
        if k < 38:
            op = r.choice("slliw srliw sraiw".split())
            return ["%s %s, %s, %d" % (op, self.d(), self.s(), r.randrange(32))]
        if k < 40:
            return ["%s %s, %d" % (r.choice(["lui", "auipc"]), self.d(), r.randrange(1 << 20))]
        if k < 46:
            op, sz = r.choice([("lb", 1), ("lh", 2), ("lw", 4), ("ld", 8), ("lbu", 1), ("lhu", 2), ("lwu", 4)])
            base = r.choice(["x30", "x2", "x8"])
            lim = MEMSZ - sz - (64 if base == "x8" else 0)
            off = r.randrange(0, lim) if r.random() < 0.3 else r.randrange(0, lim // sz) * sz
            return ["%s %s, %d(%s)" % (op, self.d(), off, base)]
        if k < 51:
            op, sz = r.choice([("sb", 1), ("sh", 2), ("sw", 4), ("sd", 8)])
            base = r.choice(["x30", "x2", "x8"])
            lim = MEMSZ - sz - (64 if base == "x8" else 0)
            off = r.randrange(0, lim) if r.random() < 0.3 else r.randrange(0, lim // sz) * sz
            return ["%s %s, %d(%s)" % (op, self.s(), off, base)]
        if k < 55:
            sz = r.choice([4, 8])
            sfx = ".w" if sz == 4 else ".d"
            t = self.d()
            off = r.randrange(0, MEMSZ // sz) * sz
            op = r.choice("amoswap amoadd amoxor amoand amoor amomin amomax amominu amomaxu".split())
            order = r.choice(["", ".aq", ".rl", ".aqrl"])
            rd = self.d()
            return ["addi %s, x30, %d" % (t, off),
                    "%s%s%s %s, %s, (%s)" % (op, sfx, order, rd, self.s() if r.random() < 0.7 else t, t)]
        if k < 57:
            sz = r.choice([4, 8])
            sfx = ".w" if sz == 4 else ".d"
            t = self.d()
            off = r.randrange(0, MEMSZ // sz) * sz
            a, b = self.d(), self.d()
            while a == t:
                a = self.d()
            seq = ["addi %s, x30, %d" % (t, off), "lr%s %s, (%s)" % (sfx, a, t)]
            if r.random() < 0.3:
                seq.append("sc%s %s, %s, (%s)" % (sfx, b, self.s(), t))
            seq.append("sc%s %s, %s, (%s)" % (sfx, b, self.s(), t))
            return seq
        if k < 61:
            op = r.choice("beq bne blt bge bltu bgeu".split())
            dd = self.d()
            return ["%s %s, %s, 1f" % (op, self.s(), self.s()), "addi %s, %s, 1" % (dd, dd), "1:"]
        if k < 62:
            dd = self.d()
            if r.random() < 0.5:
                return ["jal %s, 1f" % self.d(), "addi %s, %s, 1" % (dd, dd), "1:"]
            t = self.d()
            return [".option push", ".option norvc", "auipc %s, 0" % t, "addi %s, %s, 16" % (t, t),
                    "jalr %s, 0(%s)" % (self.d(), t), "addi %s, %s, 1" % (dd, dd), ".option pop"]
        if k < 68:  # explicit RVC
            a, b = self.c8(), self.c8()
            c = r.choice(["c.addi %s, %d" % (self.d(), r.choice([i for i in range(-32, 32) if i])),
                          "c.li %s, %d" % (self.d(), r.randrange(-32, 32)),
                          "c.lui x%d, %d" % (r.choice([x for x in DEST if x != 2]), r.choice([1, 2, 31, 0xfffe0, 0xfffff])),
                          "c.srli %s, %d" % (a, r.randrange(1, 64)),
                          "c.srai %s, %d" % (a, r.randrange(1, 64)),
                          "c.andi %s, %d" % (a, r.randrange(-32, 32)),
                          "c.sub %s, %s" % (a, b), "c.xor %s, %s" % (a, b), "c.or %s, %s" % (a, b),
                          "c.and %s, %s" % (a, b), "c.subw %s, %s" % (a, b), "c.addw %s, %s" % (a, b),
                          "c.slli %s, %d" % (self.d(), r.randrange(1, 64)),
                          "c.mv %s, x%d" % (self.d(), r.randrange(1, 31)),
                          "c.add %s, x%d" % (self.d(), r.randrange(1, 31)),
                          "c.addiw %s, %d" % (self.d(), r.randrange(-32, 32)),
                          "c.lw %s, %d(x8)" % (a, r.randrange(0, 32) * 4),
                          "c.ld %s, %d(x8)" % (a, r.randrange(0, 24) * 8),
                          "c.sw %s, %d(x8)" % (a, r.randrange(0, 32) * 4),
                          "c.sd %s, %d(x8)" % (a, r.randrange(0, 24) * 8),
                          "c.lwsp %s, %d(x2)" % (self.d(), r.randrange(0, 64) * 4),
                          "c.ldsp %s, %d(x2)" % (self.d(), r.randrange(0, 32) * 8),
                          "c.swsp %s, %d(x2)" % (self.s(), r.randrange(0, 64) * 4),
                          "c.sdsp %s, %d(x2)" % (self.s(), r.randrange(0, 32) * 8),
                          "c.fld f%d, %d(x8)" % (r.randrange(8, 16), r.randrange(0, 24) * 8),
                          "c.fsd f%d, %d(x8)" % (r.randrange(8, 16), r.randrange(0, 24) * 8),
                          "c.fldsp f%d, %d(x2)" % (r.randrange(32), r.randrange(0, 32) * 8),
                          "c.fsdsp f%d, %d(x2)" % (r.randrange(32), r.randrange(0, 32) * 8)])
            if r.random() < 0.1:
                return ["c.beqz %s, 1f" % a, "c.addi %s, 1" % b, "1:"]
            if r.random() < 0.1:
                return ["c.bnez %s, 1f" % a, "c.addi %s, 1" % b, "1:"]
            return [c]
        if k < 72:
            return [r.choice(["csrwi frm, %d" % r.randrange(5), "csrwi fflags, %d" % r.randrange(32),
                              "csrrs %s, fflags, x0" % self.d(), "csrrw %s, frm, x0" % self.d(),
                              "csrrci %s, fflags, %d" % (self.d(), r.randrange(32))])]
        # floating point
        t = r.choice(["s", "d"])
        k2 = r.randrange(100)
        if k2 < 30:
            op = r.choice(["fadd", "fsub", "fmul", "fdiv"])
            return ["%s.%s %s, %s, %s, %s" % (op, t, self.f(), self.f(), self.f(), self.rm())]
        if k2 < 36:
            return ["fsqrt.%s %s, %s, %s" % (t, self.f(), self.f(), self.rm())]
        if k2 < 50:
            op = r.choice(["fmadd", "fmsub", "fnmsub", "fnmadd"])
            return ["%s.%s %s, %s, %s, %s, %s" % (op, t, self.f(), self.f(), self.f(), self.f(), self.rm())]
        if k2 < 56:
            op = r.choice(["fsgnj", "fsgnjn", "fsgnjx", "fmin", "fmax"])
            return ["%s.%s %s, %s, %s" % (op, t, self.f(), self.f(), self.f())]
        if k2 < 62:
            op = r.choice(["feq", "flt", "fle"])
            return ["%s.%s %s, %s, %s" % (op, t, self.d(), self.f(), self.f())]
        if k2 < 72:
            it = r.choice(["w", "wu", "l", "lu"])
            return ["fcvt.%s.%s %s, %s, %s" % (it, t, self.d(), self.f(), self.rm())]
        if k2 < 80:
            it = r.choice(["w", "wu", "l", "lu"])
            if t == "d" and it in ("w", "wu"):
                return ["fcvt.%s.%s %s, %s" % (t, it, self.f(), self.s())]
            return ["fcvt.%s.%s %s, %s, %s" % (t, it, self.f(), self.s(), self.rm())]
        if k2 < 85:
            return [r.choice(["fcvt.s.d %s, %s, %s" % (self.f(), self.f(), self.rm()),
                              "fcvt.d.s %s, %s" % (self.f(), self.f())])]
        if k2 < 91:
            return [r.choice(["fmv.x.w %s, %s" % (self.d(), self.f()), "fmv.x.d %s, %s" % (self.d(), self.f()),
                              "fmv.w.x %s, %s" % (self.f(), self.s()), "fmv.d.x %s, %s" % (self.f(), self.s()),
                              "fclass.%s %s, %s" % (t, self.d(), self.f())])]
        sz = 4 if t == "s" else 8
        off = r.randrange(0, MEMSZ // sz) * sz
        if r.random() < 0.5:
            return ["fl%s %s, %d(x30)" % ("w" if t == "s" else "d", self.f(), off)]
        return ["fs%s %s, %d(x30)" % ("w" if t == "s" else "d", self.f(), off)]


def gen_program(seed, blocks, insns):
    r = random.Random(seed)
    g = Gen(r)
    text = [".option rvc", ".text", ".globl _start", "_start:"]
    data = [".data", ".balign 8", "membuf:"]
    data += [".dword 0x%016x" % rand_int(r) for _ in range(MEMSZ // 8)]
    data += ["dumpbuf:", ".zero %d" % (8 * (31 + 32 + 1))]
    listing = []
    for b in range(blocks):
        data.append("init%d:" % b)
        data += [".dword 0x%016x" % rand_int(r) for _ in range(32)]
        data += [".dword 0x%016x" % rand_freg(r) for _ in range(32)]
        data.append(".dword 0x%x" % r.choice([0, 0, r.randrange(5) << 5, r.randrange(256) & 0x9f]))
        text += ["la x31, init%d" % b, "ld x1, %d(x31)" % (64 * 8), "fscsr x1"]
        text += ["fld f%d, %d(x31)" % (i, 8 * (32 + i)) for i in range(32)]
        text += ["ld x%d, %d(x31)" % (i, 8 * i) for i in range(1, 31)]
        text += ["la x30, membuf", "mv x2, x30", "addi x8, x30, 64"]
        body = []
        for _ in range(insns):
            body += g.insn()
        listing.append(body)
        text += body
        text += ["la x31, dumpbuf"]
        text += ["sd x%d, %d(x31)" % (i, 8 * (i - 1)) for i in range(1, 31)]
        text += ["fsd f%d, %d(x31)" % (i, 8 * (31 + i)) for i in range(32)]
        text += ["frcsr x1", "sd x1, %d(x31)" % (8 * 63)]
        text += ["li a0, 1", "mv a1, x31", "li a2, %d" % (8 * 64), "li a7, 64", "ecall"]
        text += ["li a0, 1", "la a1, membuf", "li a2, %d" % MEMSZ, "li a7, 64", "ecall"]
    text += ["li a0, 0", "li a7, 93", "ecall"]
    return "\n".join(text + data) + "\n", listing


BLOCK = 8 * 64 + MEMSZ
NAMES = ["x%d" % i for i in range(1, 31)] + ["pad"] + ["f%d" % i for i in range(32)] + ["fcsr"]


def describe(b, a, q, listing):
    lines = ["block %d differs:" % b]
    for i in range(64):
        va = struct.unpack_from("<Q", a, b * BLOCK + 8 * i)[0]
        vq = struct.unpack_from("<Q", q, b * BLOCK + 8 * i)[0]
        if va != vq:
            lines.append("  %-5s ours=0x%016x qemu=0x%016x" % (NAMES[i], va, vq))
    ma = a[b * BLOCK + 512:(b + 1) * BLOCK]
    mq = q[b * BLOCK + 512:(b + 1) * BLOCK]
    for i in range(0, MEMSZ, 8):
        if ma[i:i + 8] != mq[i:i + 8]:
            lines.append("  mem+%d ours=%s qemu=%s" % (i, ma[i:i + 8].hex(), mq[i:i + 8].hex()))
    lines.append("  instructions:")
    lines += ["    " + s for s in listing[b]]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--programs", type=int, default=4)
    ap.add_argument("--blocks", type=int, default=200)
    ap.add_argument("--insns", type=int, default=24)
    ap.add_argument("--keep")
    ap.add_argument("--runner", help="command running our side instead of native rv64-user, e.g. the "
                    "wasm build under Node with the page compiler: '... rv64-user.wasm --jit-eager'")
    args = ap.parse_args()
    ours = shlex.split(args.runner) if args.runner else [USER]
    if not QEMU:
        sys.exit("difftest: qemu-riscv64 not found")
    if not args.runner and not os.path.exists(USER):
        sys.exit("difftest: %s not built" % USER)
    tmp = args.keep or tempfile.mkdtemp(prefix="rv-difftest-", dir=os.path.join(ROOT, "emulators", "riscv64", "build"))
    os.makedirs(tmp, exist_ok=True)
    srcs = []
    listings = []
    for p in range(args.programs):
        src, listing = gen_program(args.seed * 1000 + p, args.blocks, args.insns)
        path = os.path.join(tmp, "t%d.S" % p)
        with open(path, "w") as fh:
            fh.write(src)
        srcs.append(path)
        listings.append(listing)
    # one build-root invocation assembles everything
    script = " && ".join(
        "riscv64-linux-gnu-gcc -march=rv64gc -mabi=lp64d -nostdlib -static -Wl,-Ttext-segment=0x80000000 -o %s %s"
        % (s[:-2] + ".elf", s) for s in srcs)
    subprocess.run([os.path.join(ROOT, "tools", "toolchain", "run"), "--", "sh", "-c", script], check=True, cwd=ROOT)
    failed = 0
    total = 0
    for p, s in enumerate(srcs):
        elf = s[:-2] + ".elf"
        q = subprocess.run([QEMU, elf], capture_output=True, timeout=120)
        a = subprocess.run(ours + [elf], capture_output=True, timeout=120)
        if q.returncode != 0:
            print("qemu failed on %s: %d %s" % (elf, q.returncode, q.stderr.decode()[:500]))
            failed += 1
            continue
        if a.returncode != 0:
            print("rv64-user failed on %s: %d %s" % (elf, a.returncode, a.stderr.decode()[:500]))
        n = len(q.stdout) // BLOCK
        total += n
        for b in range(n):
            if a.stdout[b * BLOCK:(b + 1) * BLOCK] != q.stdout[b * BLOCK:(b + 1) * BLOCK]:
                print("%s: %s" % (elf, describe(b, a.stdout.ljust(len(q.stdout), b"\0"), q.stdout, listings[p])))
                failed += 1
                break
        if len(a.stdout) != len(q.stdout) and not failed:
            print("%s: output length differs: ours %d qemu %d" % (elf, len(a.stdout), len(q.stdout)))
            failed += 1
    print("difftest: %d programs, %d blocks, %d instructions each: %s" %
          (len(srcs), total, args.insns, "FAIL" if failed else "ok"))
    if not args.keep and not failed:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
