#!/usr/bin/env bash
# Run the bundled app's --self-test headless, the way a user's machine would run it.
#   packaging/self_test.sh [BUNDLE_DIR]     (default: $DIST/ImgenDesktop, DIST defaults to dist)
# If the release archive $DIST/imgen-desktop-<version>-linux-*.tar.{zst,gz} exists, the test runs
# from a fresh extraction of it (what users download); otherwise from the bundle folder.
# The .deb, if built, is checked for its launchers, desktop file and icons.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-dist}
bundle=${1:-$dist/ImgenDesktop}
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' imgen_desktop/__init__.py)
tmp=$(mktemp -d)
trap 'chmod -R u+w "$bundle" 2>/dev/null; rm -rf "$tmp"' EXIT

archive=$(ls "$dist"/imgen-desktop-"$version"-linux-*.tar.zst "$dist"/imgen-desktop-"$version"-linux-*.tar.gz 2>/dev/null | head -1 || true)
if [ -z "${1:-}" ] && [ -n "$archive" ]; then
  echo "extracting $archive"
  case "$archive" in
    *.zst) tar --zstd -xf "$archive" -C "$tmp" ;;
    *) tar -xzf "$archive" -C "$tmp" ;;
  esac
  bundle="$tmp/imgen-desktop-$version"
fi
exe="$bundle/ImgenDesktop"
[ -x "$exe" ] || { echo "no bundle at $bundle (run make bundle)"; exit 1; }
# The bundle must not depend on the build machine's environment.
chmod -R a-w "$bundle"  # writes inside the bundle fail (except as root; the self-test also compares the folder before/after)
export QT_QPA_PLATFORM=offscreen
unset IMGEN_HOME PYTHONPATH PYTHONHOME VIRTUAL_ENV
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache"
mkdir -p "$HOME"
(cd "$tmp" && "$exe" --version)
(cd "$tmp" && IMGEN_HOME="$tmp/data" "$exe" --cli devices)
start=$(date +%s.%N)
status=0
(cd "$tmp" && "$exe" --self-test) || status=$?
end=$(date +%s.%N)
echo "self-test wall time: $(awk "BEGIN{printf \"%.1f\", $end - $start}") s (exit $status)"

deb=$(ls "$dist"/imgen-desktop_"$version"_*.deb 2>/dev/null | head -1 || true)
if [ -n "$deb" ] && command -v dpkg-deb >/dev/null; then
  listing=$(dpkg-deb --contents "$deb")
  for path in ./opt/imgen-desktop/ImgenDesktop ./usr/bin/imgen-desktop ./usr/bin/imgen \
              ./usr/share/applications/imgen-desktop.desktop \
              ./usr/share/icons/hicolor/256x256/apps/imgen-desktop.png \
              ./usr/share/icons/hicolor/scalable/apps/imgen-desktop.svg; do
    grep -q " $path\$" <<<"$listing" || { echo "FAIL deb: $path missing in $deb"; status=1; }
  done
  [ $status -ne 0 ] || echo "PASS deb: $deb has the app in /opt/imgen-desktop, launchers, desktop file and icons"
fi
exit $status
