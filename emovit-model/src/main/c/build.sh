#!/bin/sh
# Builds emovit's native 4-bit kernel into the class folder, where NativeInt4 finds it on the class path.
# Anything missing (not Linux x86-64, no C compiler, a compiler too old for the AVX-512 VNNI target) skips the
# library with a note: the Java side then falls back to libtorch's kernel, so the build must not fail here.
#   build.sh <output folder> <source.c>...
out="$1"
shift
lib="$out/libemovit_int4.so"
if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
  echo "[emovit-int4] not Linux x86-64: native 4-bit kernel skipped"
  exit 0
fi
cc="${CC:-gcc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "[emovit-int4] no C compiler ($cc): native 4-bit kernel skipped, 4-bit products use libtorch's kernel"
  exit 0
fi
fresh=yes
for src in "$0" "$@"; do
  [ -f "$lib" ] && [ "$lib" -nt "$src" ] || fresh=no
done
[ "$fresh" = yes ] && exit 0
mkdir -p "$out" || exit 0
# No -march: the variants are chosen at run time (__builtin_cpu_supports), so the library runs on AVX2-only CPUs.
if "$cc" -O3 -fPIC -shared -fvisibility=hidden -Wall -o "$lib.tmp" "$@" -lpthread -ldl; then
  mv -f "$lib.tmp" "$lib"
  echo "[emovit-int4] built $lib"
else
  rm -f "$lib.tmp"
  echo "[emovit-int4] $cc could not build $*: native 4-bit kernel skipped"
fi
exit 0
