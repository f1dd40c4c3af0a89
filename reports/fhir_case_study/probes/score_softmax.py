# Scores a student as the demo does, on the 200 test requests, the 31 hand-typed ones and the README's two, and compares its
# test answers with earlier students' (exact McNemar): python score_softmax.py STUDENT OUT.json [BASELINE_TEST200.json ...]
import json, sys, time
from stepdistill_nb.fhir_data import generate_fhir_dataset
from stepdistill_nb.fhir_eval import population_vocab, synthea_population, fhir_metrics
from stepdistill_nb.fhir_study import handwritten_requests
from stepdistill_nb.fhir import queries_equivalent
from stepdistill_nb.metrics import wilson_interval, paired_comparison
from stepdistill_nb.training import Student
test = generate_fhir_dataset(n_train=3350, n_test=200, seed=0, population=population_vocab(synthea_population(10, 42)))['test']
st = Student.load(sys.argv[1]); t0 = time.time()
preds = [p['label'] for p in st.predict(test['input'])]
m = fhir_metrics(preds, test['label'], test['domain'])
hand = handwritten_requests(); hp = [p['label'] for p in st.predict(hand['input'])]
hm = fhir_metrics(hp, hand['label'], hand['domain'])
readme = [('female patients named Maria born after 1990', 'Patient?gender=female&given=Maria&birthdate=gt1990-12-31'),
          ('the 5 most recent blood pressure observations of patient 42', 'Observation?code=http://loinc.org|85354-9&patient=Patient/42&_sort=-date&_count=5')]
rp = [p['label'] for p in st.predict([r for r, _ in readme])]
out = dict(n=200, **{k: m[k] for k in ('exact', 'equivalent', 'valid', 'param_f1', 'resource')}, equivalent_ci95=wilson_interval(m['equivalent'], 200),
           handwritten=hm['equivalent'], readme=[dict(request=r, gold=g, student=p, equivalent=queries_equivalent(p, g)) for (r, g), p in zip(readme, rp)],
           score_s=round(time.time() - t0, 1))
print(json.dumps(out))
right = [queries_equivalent(p, g) for p, g in zip(preds, test['label'])]
for b in sys.argv[3:]:
    bp = json.load(open(b))['preds']
    print(b, paired_comparison('this', right, 'baseline', [queries_equivalent(p, g) for p, g in zip(bp, test['label'])]))
json.dump(dict(out, preds=preds), open(sys.argv[2], 'w'), indent=1)
