#!/usr/bin/env bash
# Gradescope autograder set-up for the seqlab assignment @ASSIGNMENT@ (written by `npm run assign`).
# Gradescope runs it once, as root, when the autograder image is built; the bundle is in
# /autograder/source. It installs Node 20, Debian/Ubuntu's Jupyter, and seqlab from the
# packed copy in this bundle, and registers the seqlab kernel.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl gnupg util-linux \
  python3 python3-nbclient python3-nbformat python3-jupyter-client jupyter-nbconvert
if ! command -v node >/dev/null || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'; then
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y nodejs
fi
rm -rf /autograder/seqlab
mkdir -p /autograder/seqlab
tar -xzf /autograder/source/seqlab.tgz -C /autograder/seqlab --strip-components=1
cd /autograder/seqlab
npm install --omit=dev --ignore-scripts --no-audit --no-fund
node kernel/setup.js --kernel-only
