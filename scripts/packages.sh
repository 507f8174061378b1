# Debian/Ubuntu packages ringpoll needs (sourced by scripts/run and .ci/run).
# Build: the addon links the system liburing.
PACKAGES_BUILD=(liburing-dev pkg-config g++ make python3 ca-certificates)
# Test-only extras.
PACKAGES_TEST=(iproute2 chromium busybox-static cpio wrk)
# npm run test:kernels / ringpoll matrix: QEMU guests of Debian's 6.19 and 7.0 kernel images.
# util-linux: taskset pins the vCPUs of matrix --interleave guests (essential on Debian, not in every image).
PACKAGES_KERNELS=(qemu-system-x86 busybox-static cpio debian-archive-keyring util-linux)
# .ci/run's last stage (scripts/fresh-root.sh): a minimal Debian root to run the README's commands in.
PACKAGES_FRESHROOT=(debootstrap git)
