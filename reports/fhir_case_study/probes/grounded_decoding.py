# Grounded decoding, tried on the demo student (2026-12-07): the same weights answer the 200 test requests (score_test200.py's
# draw) and the hand-typed ones under the typed FHIR grammar as trained, and under the grammar of each request with the values
# of the student's training labels (`fhir_study.fhir_query_grammar` with `fhir_grammar_context`; see `training.Grammar`).
#   python grounded_decoding.py STUDENT OUT.json     from the repository root, after `make demo` (STUDENT: runs/fhir-demo/student)
# A student trained before grammar contexts existed gets its context here, from the training split of the data it names.
import json, sys, time
from stepdistill_nb.data import load_saved
from stepdistill_nb.fhir_data import generate_fhir_dataset
from stepdistill_nb.fhir_eval import population_vocab, synthea_population, fhir_metrics
from stepdistill_nb.fhir_study import fhir_grammar_context, handwritten_requests
from stepdistill_nb.fhir import queries_equivalent
from stepdistill_nb.metrics import mcnemar_exact, wilson_interval
from stepdistill_nb.training import Grammar, Student

st = Student.load(sys.argv[1])
train = load_saved(st.info['data'])['train']
ctx = st.info.get('grammar_context') or fhir_grammar_context([(x, y) for x, y in zip(train['input'], train['label']) if y])
print(f"{len(train)} training records: {len(ctx['codings'])} codings, {len(ctx['strings'])} strings, ids from the request: {ctx['refs']}")
test = generate_fhir_dataset(n_train=3350, n_test=200, seed=0, population=population_vocab(synthea_population(10, 42)))['test']
hw = handwritten_requests()
res = {}
for name, g in (('typed', Grammar(st.info['grammar'])), ('grounded', Grammar(st.info['grammar'], ctx))):
    t0 = time.time(); r = {}
    for split, d in (('test', test), ('handwritten', hw)):
        preds = [p['label'] for p in st.predict(list(d['input']), grammar=g)]
        m = fhir_metrics(preds, d['label'], d['domain'])
        r[split] = dict(n=len(preds), equivalent=m['equivalent'], exact=m['exact'], valid=m['valid'],
                        equivalent_ci95=wilson_interval(m['equivalent'], len(preds)), preds=preds,
                        right=[queries_equivalent(p, y) for p, y in zip(preds, d['label'])])
    r['seconds'] = round(time.time() - t0, 1); res[name] = r
    print(name, {s: (r[s]['equivalent'], r[s]['equivalent_ci95']) for s in ('test', 'handwritten')}, f"{r['seconds']} s")
for split in ('test', 'handwritten'):
    only_a, only_b, p = mcnemar_exact(res['typed'][split]['right'], res['grounded'][split]['right'])
    print(f'{split}: right only when grounded {only_b}, only as trained {only_a}, exact McNemar p {p:.3g}')
json.dump(res, open(sys.argv[2], 'w'), indent=1)
