#!/bin/bash
# The README's sweep (examples/sweep.json) as a SLURM job array: task K of 3 runs shard K/3
# (--shard auto reads SLURM_ARRAY_TASK_ID, _MIN, _STEP and _COUNT) into a directory of its own on
# the shared file system. A task that is killed or requeued resumes its runs where they stopped.
#
#   sbatch examples/slurm-sweep.sh
#   # when every task has finished, one report of them all:
#   npx backprop report runs/lr-width/shard-1 runs/lr-width/shard-2 runs/lr-width/shard-3 --out runs/lr-width
#
# Arguments after the script's name are passed on (`bash examples/slurm-sweep.sh --list` shows a
# task's runs). Run from the repository, installed with the README's set-up command.
#SBATCH --job-name=backprop-sweep
#SBATCH --array=1-3
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=01:00:00
#SBATCH --requeue
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
npx backprop experiment examples/sweep.json --shard auto --out "runs/lr-width/shard-${SLURM_ARRAY_TASK_ID}" --quiet "$@"
