# Bochs ./configure options shared by the wasm and native builds (sourced).
BOCHS_CONFIGURE_FLAGS=(
  --with-nogui
  --enable-x86-64 --enable-cpu-level=6 --enable-avx
  --disable-smp --disable-plugins --disable-debugger --disable-gdb-stub
  --disable-docbook --disable-readline --disable-cdrom --disable-sb16 --disable-es1370
  --disable-ne2000 --disable-e1000 --disable-usb --disable-voodoo --disable-clgd54xx
  --disable-busmouse --disable-gameport --disable-idle-hack --disable-show-ips
  --disable-stats --disable-large-ramfile --disable-a20-pin --disable-vmx --disable-svm
  --disable-monitor-mwait --disable-perfmon --disable-memtype --disable-alignment-check
  --enable-pci --enable-repeat-speedups --enable-handlers-chaining --enable-trace-linking
  --disable-xpm --without-x --without-x11
)
