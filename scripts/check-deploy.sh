#!/usr/bin/env bash
# Checks the cluster recipes in deploy/ without a cluster: the Kubernetes manifest
# against the Kubernetes API's own schemas (strict: an unknown or misspelt field
# fails), and the Slurm batch script's shell syntax. Installs the validator from PyPI
# when it is missing. CI runs it; a real cluster run is still the stronger test.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.37.0
if ! python3 -m kubernetes_validate --version >/dev/null 2>&1; then
  python3 -m pip install -q "kubernetes-validate==$version"
fi
python3 -m kubernetes_validate --strict --kubernetes-version "$version" deploy/kubernetes/*.yaml
bash -n deploy/slurm/effnas-workers.sbatch
echo "deploy/: the Kubernetes manifest validates against Kubernetes $version; the Slurm script parses"
