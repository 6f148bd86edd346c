#!/bin/sh
# Starts the seqlab kernel inside the grader's sandbox (see coursework/grade.js):
#
#   sandbox-kernel.sh <connection_file>
#
# - in a mount namespace of its own, where every path in SEQLAB_BOX_HIDE (colon-separated:
#   the masters, the submissions, the grader's work) is covered by an empty read-only tmpfs,
#   and seqlab (SEQLAB_BOX_PACKAGE) is mounted inside the box as .seqlab, so that the kernel
#   can read it whatever the folders above the install allow (a checkout in a 0700 folder);
# - as the unprivileged uid/gid SEQLAB_BOX_UID/SEQLAB_BOX_GID, with no capabilities;
# - with SEQLAB_BOX_MEMORY bytes of data memory (RLIMIT_DATA, which WebAssembly's address
#   reservations do not count against) and SEQLAB_BOX_PROCS processes;
# - in SEQLAB_BOX, the folder holding only the submission's own notebook.
# Without SEQLAB_BOX_UID it only applies the limits (a grader that is not root).
# SEQLAB_BOX_PROBE=1 loads seqlab in the sandbox and exits instead (the grader's check).
set -eu
box="${SEQLAB_BOX:?SEQLAB_BOX is not set}"
if [ -z "${SEQLAB_BOX_PROBE:-}" ]; then cp "$1" "$box/.kernel-connection.json"; fi
cd "$box"
export HOME="$box" TMPDIR="$box"
export SEQLAB_BOX_LIMITS="--data=${SEQLAB_BOX_MEMORY:-4294967296} --nproc=${SEQLAB_BOX_PROCS:-512} --core=0"
if [ -z "${SEQLAB_BOX_UID:-}" ]; then
  # shellcheck disable=SC2086
  exec prlimit $SEQLAB_BOX_LIMITS -- "$SEQLAB_BOX_NODE" "$SEQLAB_BOX_PACKAGE/kernel/launch.js" "$box/.kernel-connection.json"
fi
chown -R "$SEQLAB_BOX_UID:$SEQLAB_BOX_GID" "$box"
mkdir -p "$box/.seqlab"
# shellcheck disable=SC2016
exec unshare --mount --propagation private -- sh -c '
  set -eu
  IFS=:
  for dir in ${SEQLAB_BOX_HIDE:-}; do
    if [ -d "$dir" ]; then mount -t tmpfs -o ro,size=4k,mode=0555 seqlab-hidden "$dir"
    elif [ -e "$dir" ]; then mount --bind /dev/null "$dir"; fi
  done
  unset IFS
  mount --rbind "$SEQLAB_BOX_PACKAGE" "$SEQLAB_BOX/.seqlab"
  if [ -n "${SEQLAB_BOX_PROBE:-}" ]; then
    set -- -e "require(process.argv[1])" "$SEQLAB_BOX/.seqlab"
  else
    set -- "$SEQLAB_BOX/.seqlab/kernel/launch.js" "$SEQLAB_BOX/.kernel-connection.json"
  fi
  # shellcheck disable=SC2086
  exec setpriv --reuid="$SEQLAB_BOX_UID" --regid="$SEQLAB_BOX_GID" --clear-groups --inh-caps=-all --bounding-set=-all \
    prlimit $SEQLAB_BOX_LIMITS -- "$SEQLAB_BOX_NODE" "$@"
'
