#!/bin/sh
# A/B run on 2026-11-30: /tmp/old is a Release build of commit 3c85c57 (query-major
# attention matrix), /work/main/build a RelWithDebInfo build of b750148 (the time is in
# OpenCL kernels and CLBlast, not in host code); same CLBlast tuning file for both.
# Output: ab-session.txt (build | case | median ms | fastest ms).
export MHA_OPENCL_TUNING_FILE=/work/main/plugins/opencl/tuning/clblast-pthread-haswell-AMD_EPYC-3.1_debian.txt
for args in "--batch 4 --tgt-len 512 --src-len 512 --need-weights" "--batch 1 --tgt-len 2048 --src-len 2048" "--batch 1 --tgt-len 4096 --src-len 4096"; do
  for r in 1 2 3; do
    for t in /tmp/old /work/main; do
      $t/build/bin/mha bench --plugin opencl $args --reps 5 --json /tmp/ab.json >/dev/null 2>&1
      /usr/bin/python3 -c "import json;r=json.load(open('/tmp/ab.json'))[0];print('%s|%s|%.1f|%.1f' % ('$t', r['case'], r['median_ms'], r['min_ms']))"
    done
  done
done
