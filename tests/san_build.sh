# Sourced by the trainer tests: SAN_BUILD holds `netc build`'s --sanitize when SAN=1
# (tests/run.sh's second pass, on trainers linked with build-san/'s runtime), else nothing.
SAN_BUILD=()
[ "${SAN:-0}" = 1 ] && SAN_BUILD=(--sanitize)
