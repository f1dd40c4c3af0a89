# The figures the report README gives on seed spread and on "published" requests, from the students' committed test
# predictions (students/*/test_predictions.json) and the test split regenerated as the report draws it (seed 0,
# population of 10 Synthea patients, seed 42). Run from the repository root: python reports/fhir_case_study/probes/seed_spread.py
import itertools, json, statistics
from pathlib import Path
from stepdistill_nb.fhir import queries_equivalent
from stepdistill_nb.fhir_data import generate_fhir_records
from stepdistill_nb.fhir_eval import population_vocab, synthea_population

S = Path('reports/fhir_case_study/students')
recs = generate_fhir_records(200, 'test', seed=0, population=population_vocab(synthea_population(10, 42)))
def preds(name):
    d = json.loads((S/name/'test_predictions.json').read_text())
    assert d['inputs'] == [r['input'] for r in recs], f'{name}: other test requests'
    return d['preds']
right = lambda P: [bool(p) and queries_equivalent(p, r['label']) for p, r in zip(P, recs)]
seeds = {n: right(preds(n)) for n in ('standard-6400', 'standard+seed1-6400', 'standard+seed2-6400', 'standard+seed3-6400')}
acc = [100 * sum(v) / len(v) for v in seeds.values()]
print('seeds:', {n: sum(v) for n, v in seeds.items()}, f'mean {statistics.mean(acc):.1f}% sd {statistics.stdev(acc):.1f} range {max(acc) - min(acc):.1f}')
for (a, x), (b, y) in itertools.combinations(seeds.items(), 2):
    print(f'{a} / {b}: right only in the first {sum(p and not q for p, q in zip(x, y))}, only in the second {sum(q and not p for p, q in zip(x, y))}')
three = list(seeds.values())[:3]
print('first three seeds: all right', sum(all(t) for t in zip(*three)), '; at least one', sum(any(t) for t in zip(*three)))
print('four seeds: all right', sum(all(t) for t in zip(*seeds.values())), '; at least one', sum(any(t) for t in zip(*seeds.values())))
pub = [i for i, r in enumerate(recs) if 'published' in r['input']]
for n in (*seeds, 'standard+soup3-6400', 'standard+soup4-6400', 'sbs-teacher-6400', 'sbs-oracle-6400', 'standard+phrasings-6400'):
    P = preds(n)
    print(f'{n}: of {len(pub)} "published" requests, issued= in {sum("issued=" in P[i] for i in pub)}, '
          f'right {sum(bool(P[i]) and queries_equivalent(P[i], recs[i]["label"]) for i in pub)}')

# A vote of several students: each request gets the query most of them are equivalent to (on a tie, the earliest
# student's). Not a single student: it costs each member's parameters and time per query.
from stepdistill_nb.metrics import wilson_interval
def vote(names):
    P, ok = [preds(n) for n in names], 0
    for i, r in enumerate(recs):
        c = [p[i] for p in P]
        agree = [sum(bool(a) and bool(b) and queries_equivalent(a, b) for b in c) for a in c]
        pick = c[agree.index(max(agree))]
        ok += bool(pick) and queries_equivalent(pick, r['label'])
    lo, hi = wilson_interval(ok / len(recs), len(recs))
    print(f'vote of {len(names)} ({", ".join(names)}): {ok} of {len(recs)} right, {100 * ok / len(recs):.1f}% ({100 * lo:.1f}-{100 * hi:.1f})')
vote(list(seeds)[:3])
vote(list(seeds)[:3] + ['sbs-teacher-6400', 'sbs-oracle-6400', 'standard+phrasings-6400'])
vote(list(seeds))
