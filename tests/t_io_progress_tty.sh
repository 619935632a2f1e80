#!/usr/bin/env bash
# The progress bar on a real terminal and on a pipe (test_progress --demo: 50 steps over
# about 0.5 s).  On a pseudo-terminal it must redraw in place with \r, at least twice and
# at most 10 times a second of its run plus the last step, and erase itself before the
# summary line; on a pipe only the summary line may appear.
# Uses /usr/bin/python3's pty module for the terminal.  Needs build/tests/test_progress.
set -u
cd "$(dirname "$0")/.."

BIN=${BIN:-build/tests/test_progress}
if [ ! -x "$BIN" ]; then
  echo "FAIL: $BIN not built (run make unit)"
  exit 1
fi

piped=$("$BIN" --demo | od -c)
if [ "$piped" != "$(printf 'epoch 1/1 done\n' | od -c)" ]; then
  echo "FAIL: on a pipe the demo printed more than its summary line:"
  echo "$piped" | head -20
  exit 1
fi
echo "ok: on a pipe, only the summary line"

/usr/bin/python3 - "$BIN" <<'PYEOF' || exit 1
import os, pty, sys, time

out = bytearray()
t0 = time.monotonic()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "--demo"])
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
elapsed = time.monotonic() - t0
most = int(elapsed / 0.1) + 2
text = out.decode()
bars = text.count(" loss ")
ok = True
if not (2 <= bars <= most):
    print(f"FAIL: {bars} draws in {elapsed:.2f} s on a terminal, expected 2 to {most}: {text!r}")
    ok = False
if "] 50/50 loss " not in text:
    print(f"FAIL: the last step was not drawn: {text!r}")
    ok = False
# The bar is erased before the summary line; the pty turns \n into \r\n.
if not text.endswith("\r\x1b[Kepoch 1/1 done\r\n"):
    print(f"FAIL: the bar is not erased before the summary: {text[-80:]!r}")
    ok = False
if ok:
    print(f"ok: on a terminal, {bars} draws in place in {elapsed:.2f} s, erased before the summary")
sys.exit(0 if ok else 1)
PYEOF
echo "t_io_progress_tty: all checks passed"
