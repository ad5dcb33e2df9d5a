#!/usr/bin/env bash
# Builds Bochs with the c2w host layer: `build.sh native|wasm OUTDIR`.
# Runs inside the build root (tools/toolchain/run -- ...). Work trees live in
# $C2W_CACHE/bochs-work/<kind>-<hash>; make is incremental within one work tree.
set -euo pipefail
kind="$1"; mkdir -p "$2"; out="$(cd "$2" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${C2W_CACHE:=/var/cache/c2w}"
. "$here/scripts/configure-flags.sh"
src="$("$here/scripts/source.sh")"
jobs="${C2W_JOBS:-2}"

common_defs="-DC2W -I$here/host"
case "$kind" in
  native)
    export CC=gcc CXX=g++
    export CFLAGS="-O2 -g0 $common_defs" CXXFLAGS="-O2 -g0 $common_defs" LDFLAGS="-static"
    host_flags=()
    ;;
  wasm|wasm-eh)
    wasi_defs="-D_WASI_EMULATED_PTHREAD -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_GETPID"
    if [ "$kind" = wasm ]; then sjlj="-DC2W_SJLJ_ASYNCIFY"; else sjlj="-mllvm -wasm-enable-sjlj"; fi
    # the trace compiler (host/trace_compiler.cc): its host puts compiled traces in the table
    sjlj="$sjlj -DC2W_TRACE_COMPILER"
    export CC="clang-19 --target=wasm32-wasi" CXX="clang++-19 --target=wasm32-wasi"
    export CFLAGS="-O2 -g0 $common_defs $wasi_defs $sjlj"
    export CXXFLAGS="-O2 -g0 -fno-exceptions $common_defs $wasi_defs $sjlj"
    export LDFLAGS="-Wl,-z,stack-size=1048576 -Wl,--max-memory=4294967296 -Wl,--export-table -Wl,--growable-table"
    export LIBS="-lwasi-emulated-pthread -lwasi-emulated-signal -lwasi-emulated-mman -lwasi-emulated-process-clocks -lwasi-emulated-getpid"
    [ "$kind" = wasm-eh ] && LIBS="$LIBS -lsetjmp"
    host_flags=(--host=i686-pc-linux-gnu --build=x86_64-pc-linux-gnu)
    # no trace linking in wasm: without tail calls every chained handler is a frame on the
    # engine's stack, and linked traces nest up to 16 traces of 32 instructions; returning to
    # cpu_loop after each trace measured 15-30% faster (README, bench/bochs/README.md)
    BOCHS_CONFIGURE_FLAGS+=(--disable-trace-linking)
    ;;
  *) echo "build.sh: unknown kind $kind (native, wasm, wasm-eh)" >&2; exit 2 ;;
esac

key="$(printf '%s\n' "$kind" "$CFLAGS" "$CXXFLAGS" "${BOCHS_CONFIGURE_FLAGS[*]}" | sha256sum | cut -c1-12)"
work="$C2W_CACHE/bochs-work/$kind-$key"
if [ ! -f "$work/.configured" ]; then
  rm -rf "$work"; mkdir -p "$work"
  cp -a "$src/." "$work/"
  (cd "$work" && ./configure "${host_flags[@]}" "${BOCHS_CONFIGURE_FLAGS[@]}" > configure.log 2>&1) \
    || { tail -30 "$work/configure.log" >&2; echo "build.sh: configure failed ($work/configure.log)" >&2; exit 1; }
  touch "$work/.configured"
  echo "$src" > "$work/.source"
fi
if [ "$(cat "$work/.source")" != "$src" ]; then
  # new patches: copy only the files whose content changed, so make rebuilds just those
  rsync -rc --exclude=.ready "$src/" "$work/"
  echo "$src" > "$work/.source"
fi
cd "$work"
# Bochs' makefiles do not know our headers (patch 0006 includes host/c2w_trace.h from cpu/):
# when they change, the CPU's objects are stale
hdrs="$(cat "$here"/host/*.h | sha256sum | cut -c1-12)"
if [ "$(cat .host-headers 2>/dev/null)" != "$hdrs" ]; then
  find . -name '*.o' -delete
  echo "$hdrs" > .host-headers
fi
# our host layer (host/*.cc) and the shared C device library and host layer
objs=()
mkdir -p c2w
for f in "$here"/host/*.cc; do
  o="c2w/$(basename "$f" .cc).o"; objs+=("$o")
  $CXX $CXXFLAGS -I. -Iinstrument/stubs -I"$here/../devices" -I"$here/../host" -c "$f" -o "$o"
done
for f in $(ls $here/../devices/*.c $here/../host/*.c); do
  o="c2w/$(basename "$f" .c).o"; objs+=("$o")
  $CC $CFLAGS -std=gnu11 -I"$here/../devices" -I"$here/../host" -c "$f" -o "$o"
done
rm -f bochs
make -j"$jobs" bochs LIBTOOL="$here/scripts/libtool-shim" EXTRA_LINK_OPTS="${objs[*]}" \
  LDFLAGS="${LDFLAGS:-}" LIBS="${LIBS:-}" > make.log 2>&1 \
  || { grep -B2 -A12 -m3 -E 'error|Error' make.log >&2; echo "build.sh: make failed ($work/make.log)" >&2; exit 1; }
mkdir -p "$out"
case "$kind" in
  native) cp bochs "$out/bochs" ;;
  wasm)
    # setjmp/longjmp by asyncify unwinding (see host/c2w_sjlj.h): only our unwind intrinsic
    # counts as an unwinding import; c2w_run_cpu is the frame that stops the unwind; indirect
    # calls are taken as not unwinding (patch 0004 marks those that can); nothing ever rewinds.
    wasm-opt bochs --asyncify \
      --pass-arg=asyncify-imports@asyncify.start_unwind,asyncify.stop_unwind \
      --pass-arg=asyncify-removelist@c2w_run_cpu \
      --pass-arg=asyncify-ignore-indirect \
      --mod-asyncify-always-and-only-unwind \
      -O2 -o "$out/bochs.wasm"
    ;;
  wasm-eh)
    # wasm exception handling: legacy EH (Node 20's V8) and exnref (wasmtime >= 30) variants
    wasm-opt bochs --enable-exception-handling -O2 -o "$out/bochs-eh-legacy.wasm"
    wasm-opt "$out/bochs-eh-legacy.wasm" --enable-exception-handling --translate-to-exnref --emit-exnref \
      -o "$out/bochs-eh-exnref.wasm"
    ;;
esac
echo "$work"
