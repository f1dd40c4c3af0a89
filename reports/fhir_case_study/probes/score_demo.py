# Scores a demo-recipe student as score_softmax.py does (the 200 test requests, the 31 hand-typed ones, the README's two)
# and also on a dev split (200 requests drawn like the test split with seed 7, none of them a request of the demo's data),
# so that a change can be judged on 400 held-out requests; compares with earlier students' answers (exact McNemar, per split
# and pooled): python score_demo.py STUDENT OUT.json [BASELINE.json ...] (BASELINE: an OUT.json of this script)
import json, sys, time
from datasets import load_from_disk
from stepdistill_nb.fhir_data import generate_fhir_dataset, generate_fhir_records
from stepdistill_nb.fhir_eval import population_vocab, synthea_population, fhir_metrics
from stepdistill_nb.fhir_study import handwritten_requests
from stepdistill_nb.fhir import queries_equivalent
from stepdistill_nb.metrics import wilson_interval, paired_comparison
from stepdistill_nb.training import Student
pop = population_vocab(synthea_population(10, 42))
test = generate_fhir_dataset(n_train=3350, n_test=200, seed=0, population=pop)['test']
dd = load_from_disk('runs/fhir-demo/data/standard-3200')
dev = generate_fhir_records(200, 'test', seed=7, exclude={x for s in dd for x in dd[s]['input']}, population=pop)
hand = handwritten_requests()
readme = [('female patients named Maria born after 1990', 'Patient?gender=female&given=Maria&birthdate=gt1990-12-31'),
          ('the 5 most recent blood pressure observations of patient 42', 'Observation?code=http://loinc.org|85354-9&patient=Patient/42&_sort=-date&_count=5')]
splits = dict(test=(list(test['input']), list(test['label']), list(test['domain'])), dev=([r['input'] for r in dev], [r['label'] for r in dev], [r['domain'] for r in dev]),
              hand=(list(hand['input']), list(hand['label']), list(hand['domain'])))
st, t0, out = Student.load(sys.argv[1]), time.time(), dict(student=sys.argv[1])
for name, (xs, gs, ds) in splits.items():
    preds = [p['label'] for p in st.predict(xs)]
    m = fhir_metrics(preds, gs, ds)
    out[name] = dict(n=len(xs), **{k: m[k] for k in ('exact', 'equivalent', 'valid', 'param_f1', 'resource')},
                     equivalent_ci95=wilson_interval(m['equivalent'], len(xs)), preds=preds, right=[bool(queries_equivalent(p, g)) for p, g in zip(preds, gs)])
    print(name, round(m['equivalent'], 3), out[name]['equivalent_ci95'], flush=True)
rp = [p['label'] for p in st.predict([r for r, _ in readme])]
out['readme'] = [dict(request=r, gold=g, student=p, equivalent=queries_equivalent(p, g)) for (r, g), p in zip(readme, rp)]
out['score_s'] = round(time.time() - t0, 1)
print('readme', [r['equivalent'] for r in out['readme']], rp, flush=True)
json.dump(out, open(sys.argv[2], 'w'), indent=1)   # before the comparisons, so that a missing baseline loses nothing
for b in sys.argv[3:]:
    base = json.load(open(b))
    for name in ('test', 'dev', 'hand'):
        print(b, name, paired_comparison('this', out[name]['right'], 'baseline', base[name]['right']))
    print(b, 'dev+test', paired_comparison('this', out['dev']['right'] + out['test']['right'], 'baseline', base['dev']['right'] + base['test']['right']))
