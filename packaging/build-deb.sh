#!/usr/bin/env bash
# `make deb`: medpos_<version>_all.deb with dpkg-deb (docs/operations.md "Installing").
#
#   packaging/build-deb.sh OUT_DIR [--tree-only]
#
# The package holds medpos's own code in /opt/medpos/lib (with a dist-info, so `medpos --version`
# knows its version), the runtime requirements (pinned and hashed:
# packaging/requirements-runtime.lock, made by `make lock`), /usr/bin/medpos, the systemd units,
# /etc/medpos/config.toml (a conffile: the embedded default with its data in /var/lib/medpos) and
# /etc/default/medpos-hub. postinst makes the virtual environment. --tree-only stops before
# dpkg-deb and prints the tree's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${1:?usage: build-deb.sh OUT_DIR [--tree-only]}
version=$(python3 -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' "$repo/pyproject.toml")
mkdir -p "$out"
out=$(cd "$out" && pwd)
tree="$out/medpos_${version}_all"
rm -rf "$tree"
install -d "$tree/DEBIAN" "$tree/opt/medpos/lib" "$tree/usr/bin" "$tree/lib/systemd/system" \
    "$tree/etc/medpos" "$tree/etc/default" "$tree/usr/share/doc/medpos"
# the code as it is in the checkout (its packages with their data files: templates, migrations,
# catalogues), and the dist-info that gives `medpos --version` its version
tar -C "$repo" --exclude=__pycache__ --exclude='*.egg-info' -cf - terminal drivers sync \
    | tar -C "$tree/opt/medpos/lib" -xf -
info="$tree/opt/medpos/lib/medpos-${version}.dist-info"
install -d "$info"
printf 'Metadata-Version: 2.1\nName: medpos\nVersion: %s\n' "$version" > "$info/METADATA"
printf 'dpkg\n' > "$info/INSTALLER"
install -m 0644 "$here/requirements-runtime.lock" "$tree/opt/medpos/requirements.lock"
install -m 0755 "$here/medpos.sh" "$tree/usr/bin/medpos"
install -m 0644 "$here/medpos-hub.service" "$here/medpos-terminal.service" "$tree/lib/systemd/system/"
sed 's|^data_dir = "var"|data_dir = "/var/lib/medpos"|' "$repo/config.toml" > "$tree/etc/medpos/config.toml"
grep -q '^data_dir = "/var/lib/medpos"' "$tree/etc/medpos/config.toml"
install -m 0644 "$here/medpos-hub.default" "$tree/etc/default/medpos-hub"
install -m 0644 "$repo"/docs/*.md "$tree/usr/share/doc/medpos/"
printf '/etc/medpos/config.toml\n/etc/default/medpos-hub\n' > "$tree/DEBIAN/conffiles"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$tree/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$here/debian/control.in" > "$tree/DEBIAN/control"
if [ "${2:-}" = --tree-only ]; then
    echo "$tree"
    exit 0
fi
dpkg-deb -Zgzip --root-owner-group --build "$tree" "$out/medpos_${version}_all.deb" >/dev/null
echo "$out/medpos_${version}_all.deb"
