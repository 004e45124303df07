#!/bin/busybox sh
# /init of the kvmqual sandbox initramfs (runs inside the emulated KVM host).
#
# ci/sandbox.sh builds this into an initramfs next to busybox and the kernel
# modules, and appends a per-run archive holding /sandbox/run.conf (the command,
# its environment, the writable shares). Everything the host must know (boot
# done, setup failure, the command's exit status) goes out as marker lines
# through /dev/kmsg: the kernel writes those synchronously to the console port
# (ttyS0), so they cannot be lost at power-off and never mix with the command's
# output, which has ports of its own (ttyS1 = stdout, ttyS2 = stderr).
#
# busybox sh, not bash: there is no other shell in the initramfs.
# shellcheck shell=sh disable=SC3045 # busybox ash has read -t

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
/bin/busybox --install -s

/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
# Loopback up: tests that talk to themselves over 127.0.0.1 (migration) need it.
/bin/busybox ip link set lo up || echo "kvmqual-sandbox: could not bring lo up" >&2

# Defaults in case run.conf is missing or broken: the host then reports that
# the guest ended without an exit code, which is what happened.
SB_MARK=kvmqual-sandbox
SB_VERBOSE=0
SB_OUT_TTY=0
SB_ERR_TTY=0
SB_MSIZE=262144
SB_REPO=/
# shellcheck source=/dev/null
. /sandbox/run.conf

# One marker record per call; newlines folded so a record stays one line.
mark() {
	printf '<0>%s:%s\n' "$SB_MARK" "$(printf '%s' "$*" | tr '\n' ' ' | cut -c1-700)" >/dev/kmsg
}

say() {
	[ "$SB_VERBOSE" = 1 ] && printf 'sandbox-init: %s\n' "$*" >/dev/console
	return 0
}

# Drain a serial port: busybox stty applies settings with TCSADRAIN, which
# waits until the UART has sent everything queued.
drain() {
	stty -F "$1" raw -echo 2>/dev/null || true
}

halt_guest() {
	drain /dev/ttyS1
	drain /dev/ttyS2
	drain /dev/console
	poweroff -f
	# poweroff -f needs ACPI; sysrq is the fallback, and init exiting (kernel
	# panic, panic=-1, QEMU -no-reboot) the last resort.
	echo o >/proc/sysrq-trigger
	sleep 10
	exit 1
}

fail() {
	class=$1
	shift
	mark "error:$class:$*"
	halt_guest
}

# Kernel printk level: emergency only on the console unless verbose; our
# markers are emergency records, so they always get through.
if [ "$SB_VERBOSE" = 1 ]; then
	echo 7 >/proc/sys/kernel/printk
else
	echo 1 >/proc/sys/kernel/printk
fi

# Modules, in dependency order (computed on the host from modinfo).
while read -r name file; do
	[ -n "$name" ] || continue
	say "insmod $name"
	if ! err=$(insmod "/lib/modules/$file" 2>&1); then
		klast=$(dmesg | tail -n 4 | sed 's/^\[[ 0-9.]*\] //' | awk '!seen[$0]++' | tr '\n' ';' | sed 's/;$//; s/;/; /g')
		fail module "$name: ${err:-insmod failed} (kernel: $klast)"
	fi
done </etc/sandbox/modules

[ -c /dev/kvm ] || fail setup "/dev/kvm did not appear after loading kvm_amd"

# cache=loose on the read-only root makes programs start two to three times
# faster; the host tree is not expected to change under a run. The writable
# shares use cache=mmap: writes reach the host at once, and shared writable
# mmap works.
say "mounting host root"
mkdir -p /host
err=$(mount -t 9p -o "trans=virtio,version=9p2000.L,ro,msize=$SB_MSIZE,cache=loose" hostroot /host 2>&1) ||
	fail setup "cannot mount the host root over 9p: $err"
# A view of the host root that the tmpfs mounts below will not cover.
mkdir -p /hostroot
mount --bind /host /hostroot

# The chroot's special filesystems. /dev is the initramfs devtmpfs (it holds
# /dev/kvm); /tmp, /run and /dev/shm are private and empty.
mkdir -p /dev/shm /dev/pts
for spec in "bind /dev /host/dev" \
	"proc proc /host/proc" \
	"sysfs sysfs /host/sys" \
	"devpts devpts /host/dev/pts" \
	"tmpfs tmpfs /host/dev/shm" \
	"tmpfs tmpfs /host/tmp" \
	"tmpfs tmpfs /host/run"; do
	# shellcheck disable=SC2086 # word splitting of the spec is the point
	set -- $spec
	if [ "$1" = bind ]; then
		err=$(mount --bind "$2" "$3" 2>&1) || fail setup "cannot bind $2 on $3: $err"
	elif [ "$1" = devpts ]; then
		err=$(mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts "$3" 2>&1) ||
			fail setup "cannot mount devpts on $3: $err"
	else
		err=$(mount -t "$1" "$2" "$3" 2>&1) || fail setup "cannot mount $1 on $3: $err"
	fi
done
chmod 1777 /host/tmp /host/dev/shm
chmod 755 /host/run

# A repository below /tmp or /run was just hidden by the tmpfs: bring it back.
case $SB_REPO in
/tmp/* | /run/* | /dev/shm/*)
	mkdir -p "/host$SB_REPO"
	err=$(mount --bind "/hostroot$SB_REPO" "/host$SB_REPO" 2>&1) ||
		fail setup "cannot bind the repository $SB_REPO: $err"
	;;
esac

# Writable shares, parents first (the host sorted them), at their host paths.
# A share below /tmp or /run lands on the tmpfs, so create its mount point.
# shellcheck disable=SC2317 # called from run.conf's sb_rw_shares
sb_mount_rw() {
	say "mounting writable share $2"
	mkdir -p "/host$2" 2>/dev/null || true
	err=$(mount -t 9p -o "trans=virtio,version=9p2000.L,rw,msize=$SB_MSIZE,cache=mmap" "$1" "/host$2" 2>&1) ||
		fail setup "cannot mount writable share $2: $err"
}
sb_rw_shares

# Pipes or terminals for stdout and stderr, as the host has them: a program
# sees the same isatty() answer as it would outside. Pipes go through a relay
# that copies them to the serial port.
stty -F /dev/ttyS1 raw -echo
stty -F /dev/ttyS2 raw -echo
relays=
if [ "$SB_OUT_TTY" = 1 ]; then
	out=/dev/ttyS1
else
	out=/sandbox/stdout
	mkfifo "$out"
	cat "$out" >/dev/ttyS1 &
	relays="$relays $!"
fi
if [ "$SB_ERR_TTY" = 1 ]; then
	errp=/dev/ttyS2
else
	errp=/sandbox/stderr
	mkfifo "$errp"
	cat "$errp" >/dev/ttyS2 &
	relays="$relays $!"
fi

# Tell the host we are ready and wait for its go: it prints the boot time
# first, so that line never lands in the middle of the command's stderr.
stty -echo 2>/dev/null
mark ready
read -r -t 60 _go || true

(sb_exec_command) </dev/null >"$out" 2>"$errp"
rc=$?

# A finished child stays a zombie until ash reaps it, so look at its state.
running() {
	[ -r "/proc/$1/stat" ] || return 1
	read -r _ _ state _ <"/proc/$1/stat" || return 1
	[ "$state" != Z ]
}

# Let the relays finish copying; a background process that the command left
# behind may still hold the pipes, so do not wait for it forever.
for pid in $relays; do
	n=0
	while running "$pid" && [ $n -lt 40 ]; do
		sleep 0.05
		n=$((n + 1))
	done
done

drain /dev/ttyS1
drain /dev/ttyS2
mark "exit:$rc"
halt_guest
