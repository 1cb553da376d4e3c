#!/bin/sh
# Build a minimal busybox root filesystem tarball for `pycompose image import`.
#
#   make-busybox-rootfs.sh OUT.tar
#
# Uses Debian's static busybox (/bin/busybox from package busybox-static; installed with apt-get
# when missing). The archive is deterministic: sorted members, fixed mtime (SOURCE_DATE_EPOCH,
# default 2024-01-01T00:00:00Z), owner root:root numerically, GNU format (no pax atime/ctime),
# so the same busybox gives the same tarball and therefore the same image id.
# Note: `wget -T` segfaults in this busybox build; don't use it in healthchecks.
set -eu

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUT.tar" >&2
    exit 2
fi
out=$1
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac

busybox=/bin/busybox
if ! dpkg -s busybox-static >/dev/null 2>&1; then
    echo "installing busybox-static..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2
fi
if ! "$busybox" --list >/dev/null 2>&1; then
    echo "error: $busybox is not a working busybox" >&2
    exit 1
fi

epoch=${SOURCE_DATE_EPOCH:-1704067200}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
umask 022

mkdir -p "$stage/bin" "$stage/etc" "$stage/usr/bin" "$stage/proc" "$stage/sys" "$stage/dev" \
    "$stage/root" "$stage/tmp" "$stage/var/www"
chmod 0755 "$stage" "$stage/bin" "$stage/etc" "$stage/usr" "$stage/usr/bin" "$stage/proc" \
    "$stage/sys" "$stage/dev" "$stage/var" "$stage/var/www"
chmod 0700 "$stage/root"
chmod 1777 "$stage/tmp"

cp "$busybox" "$stage/bin/busybox"
chmod 0755 "$stage/bin/busybox"
for applet in $("$busybox" --list | LC_ALL=C sort -u); do
    [ "$applet" = busybox ] && continue
    ln -s busybox "$stage/bin/$applet"
done
ln -s ../../bin/busybox "$stage/usr/bin/env"   # for '#!/usr/bin/env sh' scripts

printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$stage/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$stage/etc/group"
: >"$stage/etc/hosts"
: >"$stage/etc/resolv.conf"
: >"$stage/etc/hostname"
chmod 0644 "$stage/etc/passwd" "$stage/etc/group" "$stage/etc/hosts" "$stage/etc/resolv.conf" \
    "$stage/etc/hostname"

tmp_out="$out.tmp.$$"
tar --create --file="$tmp_out" --directory="$stage" \
    --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    --format=gnu --no-acls --no-xattrs --no-selinux \
    .
mv -f "$tmp_out" "$out"
echo "$out"
