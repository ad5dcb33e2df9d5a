# Shared environment for every build and test script. Source it; do not run it.
# Everything heavy lives outside the checkout so fresh clones on this machine reuse it.
export C2W_CACHE="${C2W_CACHE:-/var/cache/c2w}"
export C2W_TOOLCHAIN_ROOT="${C2W_TOOLCHAIN_ROOT:-$C2W_CACHE/toolchain/trixie}"
export NX_CACHE_DIRECTORY="${NX_CACHE_DIRECTORY:-$C2W_CACHE/nx/cache}"
export NX_WORKSPACE_DATA_DIRECTORY="${NX_WORKSPACE_DATA_DIRECTORY:-$C2W_CACHE/nx/workspace-data}"
export NX_DAEMON="${NX_DAEMON:-false}"
export NX_NO_CLOUD=true
export NX_TUI=false
export PATH="$C2W_CACHE/bin:$PATH"
