"""Runs a WASI preview1 command module on the real Wasmtime engine (PyPI `wasmtime` wheel).

Usage: wasmtime-py [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... [--argv0 NAME] MODULE [ARGS...]

The flags are spelled as the wasmtime CLI spells them (also `--dir=...`, `--env=...`).
stdin, stdout and stderr are this process's own (streamed, not buffered), and the exit status
is the module's: its proc_exit code, 0 when `_start` returns, 134 (like the wasmtime CLI on
unix) when it traps, 1 on other errors. Like the wasmtime CLI, proc_exit codes >= 126 are an
error in wasmtime's WASI (status 1, "invalid exit status" on stderr), not an exit status.

Compiled code of modules that take over 0.2 s to compile is cached (WASMTIME_PY_CACHE_DIR,
default $C2W_CACHE/wasmtime-py-cache, `off` to disable; at most WASMTIME_PY_CACHE_MAX_MB,
default 4096) and mapped on later runs, so large modules start at once the second time.
"""

import os
import sys

USAGE = "usage: wasmtime-py [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... [--argv0 NAME] MODULE [ARGS...]"


def fail(msg: str, code: int = 2) -> "None":
    sys.stderr.write(f"wasmtime-py: {msg}\n")
    sys.stderr.flush()
    os._exit(code)


def parse(argv: list[str]):
    dirs: list[tuple[str, str]] = []
    env: list[tuple[str, str]] = []
    argv0 = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if not a.startswith("-") or a == "-":
            break
        name, eq, val = a.partition("=")
        if name in ("--dir", "--env", "--argv0"):
            if not eq:
                i += 1
                if i >= len(argv):
                    fail(f"{name} needs a value\n{USAGE}")
                val = argv[i]
            if name == "--dir":
                host, sep, guest = val.partition("::")
                if not host:
                    fail(f"--dir {val!r}: empty host path")
                if not os.path.isdir(host):
                    fail(f"--dir {val!r}: {host} is not a directory")
                dirs.append((host, guest if sep else host))
            elif name == "--env":
                k, sep, v = val.partition("=")
                if not k:
                    fail(f"--env {val!r}: empty name")
                if not sep:
                    if k not in os.environ:
                        i += 1
                        continue
                    v = os.environ[k]
                env.append((k, v))
            else:
                argv0 = val
        elif a in ("-h", "--help"):
            print(USAGE)
            os._exit(0)
        else:
            fail(f"unknown option {a}\n{USAGE}")
        i += 1
    if i >= len(argv):
        fail(f"no module given\n{USAGE}")
    module = argv[i]
    return module, argv[i + 1 :], dirs, env, argv0


def cache_dir() -> "str | None":
    d = os.environ.get("WASMTIME_PY_CACHE_DIR") or os.path.join(
        os.environ.get("C2W_CACHE", "/var/cache/c2w"), "wasmtime-py-cache"
    )
    return None if d == "off" else d


def load_module(wasmtime, engine, module: str):
    """Compiles `module`, or maps its precompiled code from the cache (keyed by the module's
    content and the wasmtime version). Mapping makes large modules (hundreds of MB of data)
    start at once: the data is not copied, only mapped copy-on-write."""
    d = cache_dir()
    if d is None:
        return wasmtime.Module.from_file(engine, module)
    import hashlib
    import time

    version = wasmtime_version()
    # A cheap key (path, size, times, inode) names the content hash computed last time, so an
    # unchanged module is not read twice; any rewrite changes its ctime and so its key.
    st = os.stat(module)
    stat_key = hashlib.sha256(
        f"{version}|{os.path.realpath(module)}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"
        f"|{st.st_ino}|{st.st_dev}".encode()
    ).hexdigest()[:40]
    ref = os.path.join(d, stat_key + ".ref")
    digest = None
    try:
        with open(ref) as f:
            digest = f.read().strip() or None
    except OSError:
        pass
    if digest is None or not os.path.exists(os.path.join(d, digest + ".cwasm")):
        h = hashlib.sha256(f"wasmtime-py|{version}|".encode())
        with open(module, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
        digest = h.hexdigest()[:40]
    entry = os.path.join(d, digest + ".cwasm")
    if os.path.exists(entry):
        try:
            mod = wasmtime.Module.deserialize_file(engine, entry)
            os.utime(entry)
            if not os.path.exists(ref):
                with open(f"{ref}.tmp.{os.getpid()}", "w") as f:
                    f.write(digest)
                os.replace(f"{ref}.tmp.{os.getpid()}", ref)
            return mod
        except Exception:
            pass  # made by another engine configuration or version: compile again
    t0 = time.monotonic()
    mod = wasmtime.Module.from_file(engine, module)
    if time.monotonic() - t0 < 0.2:
        return mod  # cheap to compile: not worth the disk
    try:
        os.makedirs(d, exist_ok=True)
        tmp = f"{entry}.tmp.{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(mod.serialize())
        os.replace(tmp, entry)
        with open(f"{ref}.tmp.{os.getpid()}", "w") as f:
            f.write(digest)
        os.replace(f"{ref}.tmp.{os.getpid()}", ref)
        prune(d, int(os.environ.get("WASMTIME_PY_CACHE_MAX_MB", "4096")) << 20)
    except Exception as e:  # the cache is an optimisation only
        sys.stderr.write(f"wasmtime-py: cannot cache compiled code in {d}: {e}\n")
    return mod


def prune(d: str, limit: int) -> None:
    """Drops the least recently used entries until the cache holds at most `limit` bytes."""
    entries = []
    for name in os.listdir(d):
        if not name.endswith(".cwasm"):
            continue
        p = os.path.join(d, name)
        try:
            st = os.stat(p)
        except OSError:
            continue
        entries.append((st.st_mtime, st.st_size, p))
    total = sum(e[1] for e in entries)
    for _, size, p in sorted(entries):
        if total <= limit:
            return
        try:
            os.unlink(p)
            total -= size
        except OSError:
            pass
    if len(os.listdir(d)) > 10000:  # stale refs (cheap, but do not let them pile up)
        for name in os.listdir(d):
            if name.endswith(".ref"):
                try:
                    os.unlink(os.path.join(d, name))
                except OSError:
                    pass


def wasmtime_version() -> str:
    try:
        from importlib.metadata import version

        return version("wasmtime")
    except Exception:
        return "unknown"


def main() -> None:
    module, args, dirs, env, argv0 = parse(sys.argv[1:])
    if not os.path.isfile(module):
        fail(f"{module}: no such module file")
    import wasmtime

    engine = wasmtime.Engine(wasmtime.Config())
    try:
        mod = load_module(wasmtime, engine, module)
    except wasmtime.WasmtimeError as e:
        fail(f"{module}: not a valid wasm module: {str(e).splitlines()[0]}", 1)

    wasi = wasmtime.WasiConfig()
    wasi.argv = [argv0 if argv0 is not None else os.path.basename(module), *args]
    wasi.env = env
    for host, guest in dirs:
        wasi.preopen_dir(host, guest)
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()

    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    code = 0
    try:
        instance = linker.instantiate(store, mod)
        start = instance.exports(store).get("_start")
        if start is None:
            fail(f"{module}: exports no _start function", 1)
        start(store)
    except wasmtime.ExitTrap as e:
        code = e.code
    except wasmtime.Trap as e:
        sys.stderr.write(f"wasmtime-py: {module}: {e}\n")
        code = 134
    except wasmtime.WasmtimeError as e:
        # e.g. proc_exit with a status >= 126, which wasmtime's WASI refuses: the wasmtime CLI
        # then fails with status 1, and so do we.
        sys.stderr.write(f"wasmtime-py: {module}: {e}\n")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
