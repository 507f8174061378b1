#!/bin/busybox sh
# PID 1 of a ringpoll matrix guest. Mounts the basics, runs the job the host put on the kernel command
# line (ringpoll.job=<base64 shell script>), sends the job's stdout, its result file and its exit
# status to the host over the second serial port (ttyS1, nothing else writes there), powers off.
# With ringpoll.serve=1 the job is a server that talks to the host over ttyS1 itself (matrix --interleave).
/bin/busybox mkdir -p /usr/bin /usr/sbin /sbin /proc /sys /dev /tmp /run /etc /root
/bin/busybox --install -s
export PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
echo "root:x:0:0:root:/root:/bin/sh" >/etc/passwd
echo "root:x:0:" >/etc/group
echo "127.0.0.1 localhost" >/etc/hosts
hostname ringpoll-guest
ip link set lo up

job=
serve=
for word in $(cat /proc/cmdline); do
  case "$word" in
    ringpoll.job=*) job="${word#ringpoll.job=}" ;;
    ringpoll.serve=1) serve=1 ;;
  esac
done

# The host reads ttyS1 raw: frames of base64 between begin/end lines, then the exit status.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
send() {
  [ -f "$2" ] || return 0
  { echo "@@ringpoll begin $1"; base64 "$2"; echo "@@ringpoll end $1"; } >/dev/ttyS1
}

run_job() {
  rm -f /tmp/ringpoll-result.json /tmp/job.out /tmp/job.rc /tmp/job.err
  # stdout goes to the console (the host shows it) and to a file (the host keeps it); stderr goes
  # through a pipe too, so that no tool draws progress bars for a terminal nobody watches
  mkfifo /tmp/job.err
  cat /tmp/job.err &
  { sh /tmp/job.sh 2>/tmp/job.err; echo $? >/tmp/job.rc; } </dev/null | tee /tmp/job.out
  wait
  rc=$(cat /tmp/job.rc 2>/dev/null || echo 125)
}

if [ -z "$job" ]; then
  echo "ringpoll-guest: no ringpoll.job= on the kernel command line"
  rc=125
else
  echo "$job" | base64 -d >/tmp/job.sh
  echo "@@ringpoll job start"
  run_job
  echo "@@ringpoll job end $rc"
  # with ringpoll.serve=1 the job was the round server of matrix --interleave (dist/matrix/serve.js):
  # it sent every round's result on ttyS1 itself, until the host wrote "quit"
  if [ -z "$serve" ]; then
    send stdout /tmp/job.out
    send result /tmp/ringpoll-result.json
  fi
fi
echo "@@ringpoll exit $rc" >/dev/ttyS1
sync
poweroff -f
