# Compare ways to pick one query from one student's samples (written by sample_probe.py or sample_parallel.py):
# greedy; a majority vote (the query most candidates are equivalent to; a tie goes to the earliest, greedy first);
# minimum Bayes risk (the candidate whose constraints agree most with the others': summed parameter F1);
# the most likely candidate. python sample_select.py DIR/samples-K-T.json (from the repository root).
import json, sys
from stepdistill_nb.fhir import queries_equivalent
from stepdistill_nb.fhir_eval import param_items, prf
from stepdistill_nb.metrics import mcnemar_exact, wilson_interval

def f1(a, b):
    if not a or not b or next(iter(a))[0] != next(iter(b))[0]: return 0.0   # unparsable, or another resource type
    return prf(len(a & b), len(a), len(b))['f1']

def pick(cands, rule):
    qs = [q for q, _ in cands]
    if rule == 'greedy': return qs[0]
    if rule == 'likeliest': return max(cands, key=lambda c: -float('inf') if c[1] is None else c[1])[0]   # None: not scored (sample_parallel.py)
    if rule == 'vote':
        agree = [sum(queries_equivalent(a, b) for b in qs) for a in qs]
        return qs[agree.index(max(agree))]
    if rule == 'mbr':
        items = [param_items(q) for q in qs]
        score = [sum(f1(a, b) for j, b in enumerate(items) if j != i) for i, a in enumerate(items)]
        return qs[score.index(max(score))]

res = json.load(open(sys.argv[1]))
for name, r in res.items():
    # sample_parallel.py puts the lone greedy answer first, unscored (None), where the batch's greedy row differs from
    # it; such a row holds k + 2 candidates, and its first k samples are its first k + 2 entries
    shift = [int(s[0][1] is None) for s in r['samples']]
    k_all = min(len(s) - 1 - e for s, e in zip(r['samples'], shift))
    base = [queries_equivalent(s[0][0], g) for s, g in zip(r['samples'], r['golds'])]
    n = len(r['golds']); print(f"{name}: {n} requests, {k_all} samples each besides greedy, {r['seconds']:.0f} s ({r['seconds'] / n:.2f} s per request)")
    if 'greedy_seconds' in r:   # sample_parallel.py: greedy decoding alone, timed in the same run, and the batch's own greedy row
        print(f"  greedy alone {r['greedy_seconds'] / n:.2f} s per request; greedy with the samples in one batch "
              f"{r['seconds'] / r['greedy_seconds']:.1f}x its time; the batch's greedy row differed from it on {r['greedy_differs']}")
    for rule in ('greedy', 'likeliest', 'vote', 'mbr'):
        for k in ([0] if rule == 'greedy' else sorted({2, 4, k_all})):
            ok = [queries_equivalent(pick(s[:k + 1 + (e if k else 0)], rule), g) for s, e, g in zip(r['samples'], shift, r['golds'])]
            n = len(ok); lo, hi = wilson_interval(sum(ok) / n, n)
            x, y, p = mcnemar_exact(ok, base)
            vs = '' if rule == 'greedy' else f'; against greedy: right only here {x}, only greedy {y}, p {p:.3f}'
            print(f'  {rule:9} k={k}: {100 * sum(ok) / n:.1f}% ({100 * lo:.1f}-{100 * hi:.1f}){vs}')
    oracle = [any(queries_equivalent(q, g) for q, _ in s) for s, g in zip(r['samples'], r['golds'])]
    print(f'  any of the {k_all + 1} candidates right: {100 * sum(oracle) / len(oracle):.1f}%')

if len(res) > 1:   # the splits are disjoint held-out requests: the likeliest pick (all samples) against greedy over all of them
    ok, base = [], []
    for r in res.values():
        for s, g in zip(r['samples'], r['golds']):
            ok.append(queries_equivalent(pick(s, 'likeliest'), g)); base.append(queries_equivalent(s[0][0], g))
    x, y, p = mcnemar_exact(ok, base)
    print(f'{" + ".join(res)} ({len(ok)} requests): greedy {100 * sum(base) / len(ok):.1f}%, likeliest {100 * sum(ok) / len(ok):.1f}%; '
          f'right only with the likeliest {x}, only greedy {y}, p {p:.3f}')
