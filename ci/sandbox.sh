#!/usr/bin/env bash
# Runs a command inside an emulated KVM host: QEMU (TCG, -cpu max, which offers
# AMD-V) boots Debian's distribution kernel with kvm-amd, shares the host tree
# read-only over 9p and chroots into it, so the command sees the same files as
# here plus a working /dev/kvm. See --help for the interface.
set -euo pipefail

# wait -n -p needs bash 5.1.
if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
	echo "sandbox: bash 5.1 or newer is needed (this is $BASH_VERSION)" >&2
	exit 125
fi

readonly EX_NO_STATUS=119 EX_USAGE=120 EX_KERNEL=121 EX_GUEST_SETUP=122
readonly EX_QEMU=123 EX_TIMEOUT=124 EX_INFRA=125

usage() {
	cat <<'EOF'
Usage: ci/sandbox.sh [OPTIONS] [--] COMMAND [ARG...]

Runs COMMAND (argv, no shell: use `sh -c '...'` for shell syntax) from the
repository root inside an emulated KVM host: QEMU with -accel tcg -cpu max
boots Debian's kernel (the one linux-image-amd64 depends on), loads kvm-amd and
chroots into the host's root, shared read-only. /dev/kvm works there; timings
do not represent real hardware.

Options:
  --rw DIR          share host DIR writable, at the same absolute path inside
                    (repeatable; created if missing). Default: <repo>/results
  --smp N           virtual CPUs (default 2)
  --mem MiB         guest memory in MiB (default 4096)
  --timeout SECS    stop everything after SECS seconds (default 1800, or
                    $KVMQUAL_SANDBOX_TIMEOUT)
  --env NAME[=VAL]  pass one more variable into the command's environment
                    (repeatable)
  --cpu MODEL       QEMU CPU model (default max; without svm, kvm_amd fails)
  -v, --verbose     show the guest's kernel console on stderr
  -h, --help        show this help

Inside: the host root read-only at /, the --rw folders writable at their own
paths, devtmpfs on /dev (with /dev/kvm), proc, sysfs, devpts, and empty tmpfs
on /tmp, /run and /dev/shm. The command runs as root with stdin from
/dev/null; its stdout and stderr stream to ours (pipes or terminals, as ours
are). Environment: PATH, HOME=/tmp, USER=root, KVMQUAL_ENV=emulated,
KVMQUAL_SANDBOX=1, and from ours TERM, CI, LANG, LC_ALL, TZ, NO_COLOR and every
KVMQUAL_* variable, plus any --env.

Before the command starts, one line on stderr tells the boot time:
  sandbox: kernel VERSION ready in S s (emulated host: timings are not representative)

Exit status: COMMAND's own, or one of these, each with one `sandbox:` line on
stderr (a COMMAND exiting with the same number prints no such line):
  119  the guest ended without reporting COMMAND's exit status (kernel panic,
       init failure)
  120  bad usage
  121  kernel package unavailable (cannot resolve, download or unpack it)
  122  guest setup failed (a kernel module did not load, a mount failed,
       no /dev/kvm)
  123  QEMU failed to start or crashed
  124  timeout: QEMU was killed
  125  other sandbox failure on the host (missing tools, initramfs build)
  128+N  stopped by signal N (SIGINT, SIGTERM, SIGHUP); QEMU is killed too

Downloads and built images are cached in ci/cache/ (keyed by kernel version).
KVMQUAL_SANDBOX_TCG_THREAD=multi runs one TCG thread per vCPU (default single:
multi froze the emulated host now and then on 2-core machines).
EOF
}

die() {
	local code=$1
	shift
	printf 'sandbox: %s\n' "$*" >&2
	exit "$code"
}

# Quote one word for a POSIX shell.
sq() {
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

# QEMU option values: a comma must be doubled.
qesc() {
	printf '%s' "${1//,/,,}"
}

now_us() {
	local t=${EPOCHREALTIME//[!0-9]/}
	printf '%s' "$((10#$t))"
}

script_dir=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -P -- "$script_dir/.." && pwd)
cache=$repo/ci/cache
init_template=$script_dir/sandbox/init.sh

# The kernel modules /init loads, in this order; modinfo adds any missing
# dependency ahead of its user, and modules built into the kernel are skipped.
modules_wanted=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	9pnet 9pnet_virtio netfs fscache 9p irqbypass ccp kvm kvm_amd
	veth sch_tbf sch_netem)
# Bump when the initramfs layout changes, so cached images are rebuilt.
readonly initramfs_format=2

# --- options -----------------------------------------------------------------

rw_dirs=()
extra_env=()
smp=2
mem=4096
cpu=max
verbose=0
timeout=${KVMQUAL_SANDBOX_TIMEOUT:-1800}

need_arg() {
	[[ $# -ge 2 ]] || die "$EX_USAGE" "option $1 needs a value (see --help)"
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--rw) need_arg "$@"; rw_dirs+=("$2"); shift 2 ;;
	--rw=*) rw_dirs+=("${1#*=}"); shift ;;
	--smp) need_arg "$@"; smp=$2; shift 2 ;;
	--smp=*) smp=${1#*=}; shift ;;
	--mem) need_arg "$@"; mem=$2; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--timeout) need_arg "$@"; timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--env) need_arg "$@"; extra_env+=("$2"); shift 2 ;;
	--env=*) extra_env+=("${1#*=}"); shift ;;
	--cpu) need_arg "$@"; cpu=$2; shift 2 ;;
	--cpu=*) cpu=${1#*=}; shift ;;
	-v | --verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) die "$EX_USAGE" "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
[[ $# -gt 0 ]] || die "$EX_USAGE" "no command given (see --help)"

positive_int() {
	if ! [[ $2 =~ ^[0-9]+$ ]] || ((10#$2 == 0)); then
		die "$EX_USAGE" "$1 must be a positive integer, not '$2'"
	fi
}
positive_int --timeout "$timeout"
positive_int --smp "$smp"
positive_int --mem "$mem"
timeout=$((10#$timeout)) smp=$((10#$smp)) mem=$((10#$mem))
# One deadline covers everything: waiting for the cache, downloading, the run.
deadline=$((SECONDS + timeout))
remaining() {
	local r=$((deadline - SECONDS))
	((r > 0)) || r=1
	printf '%s' "$r"
}
[[ $cpu =~ ^[A-Za-z0-9_.,=+-]+$ ]] || die "$EX_USAGE" "--cpu: unexpected model '$cpu'"

# Writable shares: absolute, symlinks resolved (the guest mounts them on the
# real path), no duplicates, parents before children.
[[ ${#rw_dirs[@]} -gt 0 ]] || rw_dirs=("$repo/results")
declare -A rw_seen=()
rw_real=()
for d in "${rw_dirs[@]}"; do
	[[ -n $d ]] || die "$EX_USAGE" "--rw needs a folder"
	mkdir -p -- "$d" 2>/dev/null || die "$EX_USAGE" "--rw $d: cannot create it"
	real=$(cd -P -- "$d" && pwd) || die "$EX_USAGE" "--rw $d: not a usable folder"
	[[ $real != / ]] || die "$EX_USAGE" "--rw /: the whole root cannot be writable"
	[[ $real != *$'\n'* ]] || die "$EX_USAGE" "--rw: a path with a newline is not supported"
	[[ -n ${rw_seen[$real]:-} ]] && continue
	rw_seen[$real]=1
	rw_real+=("$real")
done
mapfile -t rw_real < <(printf '%s\n' "${rw_real[@]}" | LC_ALL=C sort)

# The command's environment: a small allow-list, then --env, then our marks.
declare -A env_val=()
env_order=()
set_env() {
	[[ -n ${env_val[$1]+x} ]] || env_order+=("$1")
	env_val[$1]=$2
}
set_env PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
set_env HOME /tmp
set_env USER root
for name in TERM CI LANG LC_ALL TZ NO_COLOR $(compgen -e KVMQUAL_ || true); do
	[[ -n ${!name+x} ]] && set_env "$name" "${!name}"
done
for e in ${extra_env[@]+"${extra_env[@]}"}; do
	name=${e%%=*}
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$EX_USAGE" "--env $e: not a variable name"
	if [[ $e == *=* ]]; then
		set_env "$name" "${e#*=}"
	elif [[ -n ${!name+x} ]]; then
		set_env "$name" "${!name}"
	fi
done
set_env KVMQUAL_ENV emulated
set_env KVMQUAL_SANDBOX 1

# --- host tools ----------------------------------------------------------------

for tool in qemu-system-x86_64 busybox cpio dpkg-deb apt-get apt-cache modinfo flock mkfifo sha256sum od; do
	command -v "$tool" >/dev/null ||
		die "$EX_INFRA" "$tool not found (run ci/install-deps.sh)"
done
busybox=$(command -v busybox)
# The initramfs has no C library: busybox must be the static build.
if ldd "$busybox" >/dev/null 2>&1; then
	die "$EX_INFRA" "$busybox is dynamically linked (install busybox-static)"
fi

# --- temporary files and cleanup -------------------------------------------------

# A run killed with SIGKILL cannot clean up; its successor removes what is left.
for d in "${TMPDIR:-/tmp}"/kvmqual-sandbox.*/; do
	[[ -f $d/pid ]] || continue
	[[ -d /proc/$(<"$d/pid") ]] || rm -rf -- "$d"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmqual-sandbox.XXXXXX")
echo "$$" >"$tmp/pid"
qemu_pid='' timer_pid='' reader_pid='' out_pid='' err_pid='' lock_fd='' conin_fd='' build_dir=''

alive() {
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null
}

# Polls instead of a plain wait so that a stuck process cannot keep us here.
stop_pid() {
	local pid=$1 grace_tenths=$2 i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace_tenths; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # called from traps
cleanup() {
	stop_pid "$qemu_pid" 50
	stop_pid "$timer_pid" 0
	stop_pid "$reader_pid" 10
	stop_pid "$out_pid" 10
	stop_pid "$err_pid" 10
	# An interrupted cache build must not leave 400 MB of modules behind.
	[[ -z $build_dir ]] || rm -rf -- "$build_dir"
	rm -rf -- "$tmp"
}
trap cleanup EXIT

# shellcheck disable=SC2317 # called from traps
on_signal() {
	trap - INT TERM HUP
	cleanup
	trap - EXIT
	printf 'sandbox: interrupted by SIG%s; QEMU stopped\n' "$1" >&2
	exit $((128 + $2))
}
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP

# --- kernel ------------------------------------------------------------------------

if ! mkdir -p "$cache/kernel" 2>/dev/null || [[ ! -w $cache ]]; then
	die "$EX_INFRA" "cannot write the cache folder $cache"
fi
# Concurrent runs share the cache: one fetches and builds, the others wait.
exec {lock_fd}>"$cache/.sandbox.lock"
flock -w "$(remaining)" "$lock_fd" ||
	die "$EX_TIMEOUT" "timed out after $timeout s waiting for another run to fill $cache"
# Leftovers of a run killed while it held the lock.
rm -rf -- "$cache"/.build.* "$cache"/.download.*

# The image package linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64.
resolve_kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

newest() {
	local f best=
	for f in "$@"; do
		[[ -e $f ]] || continue
		[[ -z $best || $f -nt $best ]] && best=$f
	done
	printf '%s' "$best"
}

kpkg=$(resolve_kernel_pkg || true)
if [[ -z $kpkg && $(id -u) -eq 0 ]]; then
	# Fresh machines have no package lists yet.
	apt-get update -qq >/dev/null 2>&1 || true
	kpkg=$(resolve_kernel_pkg || true)
fi
if [[ -z $kpkg ]]; then
	# Offline: fall back to the newest kernel fetched before.
	cached=$(newest "$cache"/linux-image-[0-9]*_amd64.deb)
	[[ -n $cached ]] ||
		die "$EX_KERNEL" "cannot resolve the kernel package: apt-cache depends linux-image-amd64 names no linux-image-* (run apt-get update)"
	kpkg=${cached##*/}
	kpkg=${kpkg%%_*}
	printf 'sandbox: note: apt cannot resolve linux-image-amd64; using cached %s\n' "$kpkg" >&2
fi
kver=${kpkg#linux-image-}
kdir=$cache/kernel/$kver

deb=$(newest "$cache/${kpkg}"_*_amd64.deb)
if [[ -z $deb ]]; then
	dl=$(mktemp -d "$cache/.download.XXXXXX")
	apt_opts=()
	# apt drops to the _apt user, which cannot write here; as root, stay root.
	[[ $(id -u) -eq 0 ]] && apt_opts=(-o APT::Sandbox::User=root)
	if ! (cd "$dl" && timeout "$(remaining)" apt-get download "${apt_opts[@]}" "$kpkg") >"$tmp/apt.log" 2>&1; then
		rm -rf -- "$dl"
		die "$EX_KERNEL" "cannot download $kpkg: $(grep -E '^(E|W):' "$tmp/apt.log" | head -n 1 || tail -n 1 "$tmp/apt.log")"
	fi
	got=$(newest "$dl/${kpkg}"_*_amd64.deb)
	[[ -n $got ]] || { rm -rf -- "$dl"; die "$EX_KERNEL" "apt-get download $kpkg produced no .deb"; }
	# Superseded kernels are only dead weight in a CI cache.
	for old in "$cache"/linux-image-*_amd64.deb; do
		[[ -e $old ]] && rm -f -- "$old"
	done
	for old in "$cache"/kernel/*/; do
		[[ $old == "$kdir/" ]] || rm -rf -- "$old"
	done
	mv -- "$got" "$cache/"
	rm -rf -- "$dl"
	deb=$cache/${got##*/}
fi

# The initramfs is keyed by everything that goes into it.
busybox_sum=$(sha256sum <"$busybox")
init_sum=$(sha256sum <"$init_template")
key=$(printf '%s\n' "$initramfs_format" "${deb##*/}" "$busybox_sum" "$init_sum" "${modules_wanted[*]}" |
	sha256sum | cut -c1-16)
initramfs=$kdir/initramfs-$key.cpio

# Extracts the package into $1, sets moddir.
unpack_kernel() {
	dpkg-deb -x "$deb" "$1" 2>"$tmp/dpkg.log" ||
		die "$EX_KERNEL" "cannot unpack ${deb##*/}: $(head -n 1 "$tmp/dpkg.log")"
	moddir=
	local d
	for d in "$1/lib/modules/$kver" "$1/usr/lib/modules/$kver"; do
		[[ -d $d ]] && moddir=$d
	done
	[[ -n $moddir ]] || die "$EX_KERNEL" "${deb##*/} has no modules for $kver"
	[[ -f $1/boot/vmlinuz-$kver ]] || die "$EX_KERNEL" "${deb##*/} has no boot/vmlinuz-$kver"
}

# Copies module $1 (and first its dependencies) into the staging tree,
# decompressed: busybox insmod may not read .ko.xz or .ko.zst.
declare -A mod_file=() mod_builtin=() mod_done=()
mod_order=()
stage_module() {
	local name=$1 src dst deps d
	[[ -n ${mod_done[$name]:-} ]] && return 0
	mod_done[$name]=1
	[[ -n ${mod_builtin[$name]:-} ]] && return 0
	src=${mod_file[$name]:-}
	[[ -n $src ]] || die "$EX_KERNEL" "kernel $kver has no module $name"
	dst=$stage/lib/modules/$name.ko
	case $src in
	*.ko) cp -- "$src" "$dst" ;;
	*.ko.xz) xz -dc -- "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc -- "$src" >"$dst" ;;
	*.ko.gz) gzip -dc -- "$src" >"$dst" ;;
	*) die "$EX_KERNEL" "unknown module format: $src" ;;
	esac || die "$EX_INFRA" "cannot decompress $src"
	deps=$(modinfo -F depends "$dst") || die "$EX_INFRA" "modinfo cannot read $dst"
	for d in ${deps//,/ }; do
		stage_module "${d//-/_}"
	done
	mod_order+=("$name")
}

build_initramfs() {
	local x=$1 f base name
	stage=$x/stage
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,host,tmp,run,lib/modules,etc/sandbox,sandbox}
	cp -- "$busybox" "$stage/bin/busybox"
	install -m 0755 -- "$init_template" "$stage/init"
	while IFS= read -r f; do
		base=${f##*/}
		name=${base%%.ko*}
		mod_file[${name//-/_}]=$f
	done < <(find "$moddir" -name '*.ko*' -type f)
	if [[ -f $moddir/modules.builtin ]]; then
		while IFS= read -r f; do
			base=${f##*/}
			name=${base%%.ko*}
			mod_builtin[${name//-/_}]=1
		done <"$moddir/modules.builtin"
	fi
	for name in "${modules_wanted[@]}"; do
		stage_module "$name"
	done
	for name in "${mod_order[@]}"; do
		printf '%s %s.ko\n' "$name" "$name"
	done >"$stage/etc/sandbox/modules"
	# Uncompressed: decompressing under TCG costs more boot time than copying.
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$x/initramfs.cpio" ||
		die "$EX_INFRA" "cpio failed building the initramfs"
	rm -f -- "$kdir"/initramfs-*.cpio
	mv -- "$x/initramfs.cpio" "$initramfs"
}

# The uncompressed kernel boots through its PVH entry: that skips SeaBIOS's
# real-mode loader and the in-guest decompression, about half of the boot time
# under TCG. Any trouble (no readelf, no PVH note, unknown compression) leaves
# the bzImage in use.
extract_vmlinux() {
	local src=$1 dst=$2 i off
	local tools=(xz zstd gzip) magics=($'\xfd7zXZ' $'\x28\xb5\x2f\xfd' $'\x1f\x8b\x08')
	command -v readelf >/dev/null || return 1
	for i in "${!tools[@]}"; do
		command -v "${tools[$i]}" >/dev/null || continue
		while IFS=: read -r off _; do
			# Trailing data after the payload makes the tools complain: judge
			# the output, not their status.
			case ${tools[$i]} in
			xz) tail -c +$((off + 1)) -- "$src" | xz -dcq --single-stream >"$dst" 2>/dev/null || true ;;
			zstd) tail -c +$((off + 1)) -- "$src" | zstd -dcq >"$dst" 2>/dev/null || true ;;
			gzip) tail -c +$((off + 1)) -- "$src" | gzip -dcq >"$dst" 2>/dev/null || true ;;
			esac
			if readelf -n -- "$dst" 2>/dev/null | grep -Eq 'Xen.*(0x00000012|PHYS32_ENTRY)'; then
				return 0
			fi
		done < <(LC_ALL=C grep -abo -- "${magics[$i]}" "$src" | head -n 3)
	done
	rm -f -- "$dst"
	return 1
}

if [[ ! -s $kdir/vmlinuz || ! -s $initramfs ]]; then
	mkdir -p "$kdir"
	x=$(mktemp -d "$cache/.build.XXXXXX")
	build_dir=$x
	unpack_kernel "$x/deb"
	cp -- "$x/deb/boot/vmlinuz-$kver" "$kdir/vmlinuz.new"
	mv -- "$kdir/vmlinuz.new" "$kdir/vmlinuz"
	rm -f -- "$kdir/vmlinux" "$kdir/vmlinux.none"
	build_initramfs "$x"
	rm -rf -- "$x"
	build_dir=''
fi
if [[ ! -e $kdir/vmlinux && ! -e $kdir/vmlinux.none ]]; then
	if extract_vmlinux "$kdir/vmlinuz" "$kdir/vmlinux.new"; then
		mv -- "$kdir/vmlinux.new" "$kdir/vmlinux"
	else
		: >"$kdir/vmlinux.none"
	fi
fi
kernel_image=$kdir/vmlinuz
[[ -s $kdir/vmlinux ]] && kernel_image=$kdir/vmlinux
# Copied while locked: a concurrent run may replace the cached image.
cp -- "$initramfs" "$tmp/initrd"
exec {lock_fd}>&-

# --- per-run configuration -----------------------------------------------------------

nonce=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
mark=kvmqual-sandbox:$nonce
out_tty=0 err_tty=0
[[ -t 1 ]] && out_tty=1
[[ -t 2 ]] && err_tty=1
msize=262144

{
	printf 'SB_MARK=%s\n' "$(sq "$mark")"
	printf 'SB_VERBOSE=%d\nSB_OUT_TTY=%d\nSB_ERR_TTY=%d\nSB_MSIZE=%d\n' "$verbose" "$out_tty" "$err_tty" "$msize"
	printf 'SB_REPO=%s\n' "$(sq "$repo")"
	printf 'sb_rw_shares() {\n\t:\n'
	for i in "${!rw_real[@]}"; do
		printf '\tsb_mount_rw rw%d %s\n' "$i" "$(sq "${rw_real[$i]}")"
	done
	printf '}\n'
	# env -i and chroot from busybox; after chroot, the host's own /bin/sh
	# enters the repository and execs the command's argv untouched.
	printf 'sb_exec_command() {\n\texec /bin/busybox env -i'
	for name in "${env_order[@]}"; do
		printf ' %s' "$(sq "$name=${env_val[$name]}")"
	done
	# shellcheck disable=SC2016 # expanded inside the guest, not here
	enter='cd -- "$1" || { echo "sandbox: cannot enter $1" >&2; exit 125; }; shift; exec "$@"'
	printf ' /bin/busybox chroot /host /bin/sh -c %s kvmqual-sandbox %s' "$(sq "$enter")" "$(sq "$repo")"
	for a in "$@"; do
		printf ' %s' "$(sq "$a")"
	done
	printf '\n}\n'
} >"$tmp/run.conf"

mkdir -p "$tmp/runfs/sandbox"
cp -- "$tmp/run.conf" "$tmp/runfs/sandbox/run.conf"
(cd "$tmp/runfs" && printf '%s\n' sandbox sandbox/run.conf | cpio -o -H newc -R 0:0 --quiet) >"$tmp/run.cpio" ||
	die "$EX_INFRA" "cpio failed building the run archive"
# The kernel unpacks concatenated archives in order: the cached image, then ours.
cat -- "$tmp/run.cpio" >>"$tmp/initrd"

# --- QEMU --------------------------------------------------------------------------

if ((verbose)); then
	kcmdline="console=ttyS0,115200 loglevel=7"
else
	kcmdline="console=ttyS0,115200 quiet loglevel=1"
fi
# devkmsg=on: markers written to /dev/kmsg must not be rate-limited.
# panic=-1 with -no-reboot: a guest panic ends QEMU at once.
kcmdline+=" printk.devkmsg=on panic=-1"

# One TCG thread for all vCPUs: with thread=multi, the two vCPU threads
# saturate a 2-core host and the emulated host froze in about one boot in
# three while running KVM guests (soft lockups on both CPUs, tasks stuck in 9p
# RPCs); with thread=single, 16 integration runs in a row passed at the same
# speed. KVMQUAL_SANDBOX_TCG_THREAD=multi picks the other.
tcg_thread=${KVMQUAL_SANDBOX_TCG_THREAD:-single}
# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
qemu=(qemu-system-x86_64 -name kvmqual-sandbox -nodefaults -no-user-config
	-accel "tcg,thread=$tcg_thread" -cpu "$cpu" -smp "$smp" -m "$mem"
	-display none -monitor none -no-reboot
	-kernel "$kernel_image" -initrd "$tmp/initrd" -append "$kcmdline"
	# ttyS0: console and markers (both directions); ttyS1: stdout; ttyS2:
	# stderr, on IRQ 5 because ttyS0 already has IRQ 4.
	-chardev "pipe,id=con,path=$(qesc "$tmp/con")" -device isa-serial,chardev=con,index=0
	-chardev "file,id=out,path=$(qesc "$tmp/out")" -device isa-serial,chardev=out,index=1
	-chardev "file,id=err,path=$(qesc "$tmp/err")" -device isa-serial,chardev=err,index=2,irq=5
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap)
# security_model=none: files are created as the user running QEMU, so they
# are ordinary files of that user on the host.
for i in "${!rw_real[@]}"; do
	qemu+=(-virtfs "local,path=$(qesc "${rw_real[$i]}"),mount_tag=rw$i,security_model=none,multidevs=remap")
done

# If this script dies without running its traps (SIGKILL), QEMU dies with it.
launcher=()
if command -v setpriv >/dev/null && setpriv --help 2>&1 | grep -q -- --pdeathsig; then
	launcher=(setpriv --pdeathsig KILL --)
fi

mkfifo "$tmp/con.in" "$tmp/con.out" "$tmp/out" "$tmp/err"
# Our end of the console input: opened read-write so this never blocks.
exec {conin_fd}<>"$tmp/con.in"

console_reader() {
	local line ready=0 t tenths
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$tmp/console.log"
		((verbose)) && printf '%s\n' "$line" >&2
		if ((!ready)) && [[ $line == *"$mark:ready"* ]]; then
			ready=1
			t=$(now_us)
			tenths=$(((t - t0 + 50000) / 100000))
			printf '%d.%d\n' $((tenths / 10)) $((tenths % 10)) >"$tmp/ready"
			printf 'sandbox: kernel %s ready in %d.%d s (emulated host: timings are not representative)\n' \
				"$kver" $((tenths / 10)) $((tenths % 10)) >&2
			printf 'go\n' >&"$conin_fd"
		fi
	done <"$tmp/con.out"
}

t0=$(now_us)
: >"$tmp/console.log"
console_reader &
reader_pid=$!
"${launcher[@]}" cat -- "$tmp/out" &
out_pid=$!
"${launcher[@]}" cat -- "$tmp/err" >&2 &
err_pid=$!
"${launcher[@]}" "${qemu[@]}" </dev/null >"$tmp/qemu.log" 2>&1 &
qemu_pid=$!
"${launcher[@]}" sleep "$(remaining)" >/dev/null 2>&1 &
timer_pid=$!

status=0
done_pid=
wait -n -p done_pid "$qemu_pid" "$timer_pid" || status=$?
timed_out=0
if [[ $done_pid == "$timer_pid" ]]; then
	timed_out=1
	timer_pid=
	stop_pid "$qemu_pid" 30
else
	stop_pid "$timer_pid" 0
fi
qemu_pid='' timer_pid=''

# QEMU is gone. Readers still blocked opening a FIFO (QEMU never opened its
# end) get a writer that closes at once, then end of file.
for f in con.out out err; do
	exec {x_fd}<>"$tmp/$f"
	exec {x_fd}>&-
done
for pid in "$reader_pid" "$out_pid" "$err_pid"; do
	for ((i = 0; i < 30; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	stop_pid "$pid" 0
done
reader_pid='' out_pid='' err_pid=''
exec {conin_fd}>&-

# --- verdict -------------------------------------------------------------------------

if ((verbose)) && [[ -s $tmp/qemu.log ]]; then
	sed 's/^/sandbox: qemu: /' "$tmp/qemu.log" >&2
fi

# The guest console's last lines, for failures (--verbose showed them already).
console_tail() {
	local lines
	((verbose)) && return 0
	lines=$(grep -a -v -e "$mark:" -e 'reboot: Power down' -- "$tmp/console.log" | tail -n 15 || true)
	[[ -n $lines ]] || return 0
	printf 'sandbox: last lines of the guest console:\n' >&2
	printf '%s\n' "$lines" | sed 's/^/sandbox: | /' >&2
}

# Prints the first marker of kind $1 without its "kvmqual-sandbox:NONCE:" prefix.
marker() {
	local m
	m=$(grep -a -o -m 1 -e "$mark:$1.*" -- "$tmp/console.log" || true)
	[[ -n $m ]] || return 1
	printf '%s' "${m#"$mark:"}"
}

if ((timed_out)); then
	if [[ -s $tmp/ready ]]; then
		die "$EX_TIMEOUT" "timed out after $timeout s: the command was still running; QEMU killed"
	fi
	die "$EX_TIMEOUT" "timed out after $timeout s while the guest was booting; QEMU killed"
fi

if exit_mark=$(marker exit:); then
	rc=${exit_mark#exit:}
	[[ $rc =~ ^[0-9]+$ ]] || die "$EX_NO_STATUS" "the guest reported a malformed exit status '$rc'"
	if ((status != 0)); then
		printf 'sandbox: note: QEMU exited with status %d after the command finished\n' "$status" >&2
	fi
	exit "$rc"
fi

if err_mark=$(marker error:); then
	err_mark=${err_mark#error:}
	case $err_mark in
	module:*) printf 'sandbox: cannot load kernel module %s\n' "${err_mark#module:}" >&2 ;;
	*) printf 'sandbox: guest setup failed: %s\n' "${err_mark#*:}" >&2 ;;
	esac
	console_tail
	exit "$EX_GUEST_SETUP"
fi

if ((status != 0)); then
	if ((status > 128)); then
		what="QEMU crashed (signal $((status - 128)))"
	elif [[ ! -s $tmp/console.log ]]; then
		what="QEMU failed to start (exit status $status)"
	else
		what="QEMU failed (exit status $status)"
	fi
	first=$(grep -v '^\s*$' "$tmp/qemu.log" | head -n 1 || true)
	printf 'sandbox: %s%s\n' "$what" "${first:+: $first}" >&2
	console_tail
	exit "$EX_QEMU"
fi

panic=$(grep -a -m1 -E 'Kernel panic|BUG:|Oops' "$tmp/console.log" | sed 's/^\[[ 0-9.]*\] //' || true)
printf "sandbox: the guest ended without reporting the command's exit status%s\n" \
	"${panic:+ ($panic)}" >&2
console_tail
exit "$EX_NO_STATUS"
