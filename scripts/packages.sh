# Debian/Ubuntu packages ringpoll needs (sourced by scripts/run and .ci/run).
# Build: the addon links the system liburing.
PACKAGES_BUILD=(liburing-dev pkg-config g++ make python3 ca-certificates)
# Test-only extras.
PACKAGES_TEST=(iproute2 chromium)
