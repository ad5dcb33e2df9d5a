"""Runs a WASI preview1 command module on the real Wasmtime engine (PyPI `wasmtime` wheel).

Usage: wasmtime-py [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... [--argv0 NAME] MODULE [ARGS...]

The flags are spelled as the wasmtime CLI spells them (also `--dir=...`, `--env=...`).
stdin, stdout and stderr are this process's own (streamed, not buffered), and the exit status
is the module's: its proc_exit code, 0 when `_start` returns, 134 (like the wasmtime CLI on
unix) when it traps, 1 on other errors. Like the wasmtime CLI, proc_exit codes >= 126 are an
error in wasmtime's WASI (status 1, "invalid exit status" on stderr), not an exit status. Compiled code is cached (WASMTIME_PY_CACHE_DIR, default
$C2W_CACHE/wasmtime-cache) so large modules start fast on the second run.
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


def cache_config(config) -> None:
    cache_dir = os.environ.get("WASMTIME_PY_CACHE_DIR") or os.path.join(
        os.environ.get("C2W_CACHE", "/var/cache/c2w"), "wasmtime-cache"
    )
    if cache_dir == "off":
        return
    try:
        os.makedirs(cache_dir, exist_ok=True)
        toml = os.path.join(cache_dir, "config.toml")
        want = f'[cache]\ndirectory = "{cache_dir}/code"\n'
        try:
            with open(toml) as f:
                have = f.read()
        except OSError:
            have = ""
        if have != want:
            tmp = f"{toml}.{os.getpid()}"
            with open(tmp, "w") as f:
                f.write(want)
            os.replace(tmp, toml)
        config.cache = toml
    except Exception as e:  # the cache is an optimisation only
        sys.stderr.write(f"wasmtime-py: code cache disabled: {e}\n")


def main() -> None:
    module, args, dirs, env, argv0 = parse(sys.argv[1:])
    if not os.path.isfile(module):
        fail(f"{module}: no such module file")
    import wasmtime

    config = wasmtime.Config()
    cache_config(config)
    engine = wasmtime.Engine(config)
    try:
        mod = wasmtime.Module.from_file(engine, module)
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
