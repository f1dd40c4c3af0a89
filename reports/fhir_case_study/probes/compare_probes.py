# Compare students scored by score_probe.py on the dev split, the test split and both together: each one's equivalence
# with its 95% Wilson interval, and the first against each other one (paired: requests right only with one of the
# two, exact McNemar p). python compare_probes.py DIR... (from the repository root).
import json, sys
from pathlib import Path
from stepdistill_nb.fhir import queries_equivalent
from stepdistill_nb.metrics import paired_comparison, wilson_interval
from sample_parallel import held_out   # same folder

golds, dirs = {s: g for s, (_, g) in held_out().items()}, [Path(d) for d in sys.argv[1:]]
right = {d: {s: [queries_equivalent(p, g) for p, g in zip(json.load(open(d/f'{s}_preds_q8.json')), gs)] for s, gs in golds.items()}
         for d in dirs}
for d in dirs: right[d]['dev + test'] = right[d]['dev'] + right[d]['test']
for split in ('dev', 'test', 'dev + test'):
    print(f'{split}:')
    for d in dirs:
        ok = right[d][split]; lo, hi = wilson_interval(sum(ok) / len(ok), len(ok))
        line = f'  {d.name}: {100 * sum(ok) / len(ok):.1f}% ({100 * lo:.1f}-{100 * hi:.1f}) of {len(ok)}'
        if d != dirs[0]:
            c = paired_comparison(dirs[0].name, right[dirs[0]][split], d.name, ok)
            line += f'; {dirs[0].name} right only / here only: {c["a_only"]} / {c["b_only"]}, p {c["p"]:.3f}'
        print(line)
