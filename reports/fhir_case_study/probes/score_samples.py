# The library's `predict(samples=K)` (the likeliest of the greedy query and K drawn ones, `stepdistill predict --samples K`)
# against greedy decoding, through llama.cpp (q8_0), on the dev split and on the report's 200 test requests (as
# score_probe.py draws them). python score_samples.py DIR K [TEMPERATURE] (from the repository root); writes
# DIR/{dev,test}_preds_q8_samples-K-T.json, and reuses DIR/{dev,test}_preds_q8.json (score_probe.py) as the greedy answers.
import json, sys, time
from pathlib import Path
from datasets import load_from_disk
from stepdistill_nb.fhir import queries_equivalent
from stepdistill_nb.fhir_data import generate_fhir_records
from stepdistill_nb.fhir_eval import population_vocab, synthea_population
from stepdistill_nb.llamacpp import LlamaCppStudent
from stepdistill_nb.metrics import mcnemar_exact, wilson_interval
d, k = Path(sys.argv[1]), int(sys.argv[2])
temp = float(sys.argv[3]) if len(sys.argv) > 3 else 0.7
dd = load_from_disk('runs/fhir-report/data/standard-6400')
dev = generate_fhir_records(200, 'test', seed=7, exclude={x for s in dd for x in dd[s]['input']},
                            population=population_vocab(synthea_population(10, 42)))
st, both = LlamaCppStudent.load(d, 'q8_0'), {}
for name, xs, gs in [('dev', [r['input'] for r in dev], [r['label'] for r in dev]), ('test', list(dd['test']['input']), list(dd['test']['label']))]:
    path = d/f'{name}_preds_q8_samples-{k}-{temp:g}.json'
    t0 = time.perf_counter()
    preds = json.loads(path.read_text()) if path.exists() else [p['label'] for p in st.predict(xs, samples=k, temperature=temp)]
    secs = time.perf_counter() - t0
    path.write_text(json.dumps(preds))
    greedy = json.loads((d/f'{name}_preds_q8.json').read_text())
    a, b = ([bool(p) and queries_equivalent(p, g) for p, g in zip(ps, gs)] for ps in (preds, greedy))
    x, y, p = mcnemar_exact(a, b); both[name] = (a, b)
    lo, hi = wilson_interval(sum(a) / len(a), len(a))
    print(f'{d.name} {name}: likeliest of greedy + {k} samples at {temp:g}: {100 * sum(a) / len(a):.1f}% ({100 * lo:.1f}-{100 * hi:.1f}), '
          f'greedy {100 * sum(b) / len(b):.1f}%; right only with the samples {x}, only greedy {y}, p {p:.3f}'
          + (f'; {secs / len(xs):.2f} s per request' if secs > 1 else ''), flush=True)
a, b = (sum((both[s][i] for s in both), []) for i in (0, 1))
x, y, p = mcnemar_exact(a, b); lo, hi = wilson_interval(sum(a) / len(a), len(a))
print(f'{d.name} dev + test: {100 * sum(a) / len(a):.1f}% ({100 * lo:.1f}-{100 * hi:.1f}), greedy {100 * sum(b) / len(b):.1f}%; '
      f'right only with the samples {x}, only greedy {y}, p {p:.3f}')
st.close()
