#!/usr/bin/env bash
# Make the FashionMNIST cache exist, getting the raw data the best way this machine allows:
#   1. already prepared, or IDX files in $ALBENCH_DATA_DIR / the Debian package: use them;
#   2. apt usable (root, or passwordless sudo): install Debian's dataset-fashion-mnist;
#   3. otherwise: torchvision's download.
# Usage: scripts/ensure-fashion-mnist.sh path/to/albench
set -euo pipefail
albench=${1:-albench}
debian_dir=/usr/share/datasets/fashion-mnist

if "$albench" data prepare fashion_mnist 2>/dev/null; then
  exit 0
fi

apt_prefix=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  apt_prefix=(sudo -n)
fi
if command -v apt-get >/dev/null && { [ "$(id -u)" -eq 0 ] || [ ${#apt_prefix[@]} -gt 0 ]; }; then
  echo "albench: FashionMNIST not found; installing the Debian package dataset-fashion-mnist" >&2
  if "${apt_prefix[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
     || { "${apt_prefix[@]}" apt-get update -q >/dev/null 2>&1 \
          && "${apt_prefix[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null; }; then
    if [ -d "$debian_dir" ]; then
      exec "$albench" data prepare fashion_mnist
    fi
  fi
  echo "albench: apt-get could not install dataset-fashion-mnist; trying torchvision's download" >&2
fi
echo "albench: downloading FashionMNIST with torchvision" >&2
exec "$albench" data prepare fashion_mnist --download
