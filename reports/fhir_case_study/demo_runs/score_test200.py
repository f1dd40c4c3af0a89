# Scores a saved FHIR student on the first N test requests of the demo's seeded draw (10 Synthea patients, seed 0), as the
# demo_runs/*/test200.json files were made: python score_test200.py runs/fhir-demo/student 200 test200.json
import json, sys
from stepdistill_nb.fhir_data import generate_fhir_dataset
from stepdistill_nb.fhir_eval import population_vocab, synthea_population, fhir_metrics
from stepdistill_nb.metrics import wilson_interval
from stepdistill_nb.training import Student
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
test = generate_fhir_dataset(n_train=3350, n_test=n, seed=0, population=population_vocab(synthea_population(10, 42)))['test']
st = Student.load(sys.argv[1])
preds = [p['label'] for p in st.predict(test['input'])]
m = fhir_metrics(preds, test['label'], test['domain'])
out = dict(n=n, **{k: m[k] for k in ('exact', 'equivalent', 'valid', 'param_f1', 'resource')}, equivalent_ci95=wilson_interval(m['equivalent'], n))
print(json.dumps(out))
if len(sys.argv) > 3: json.dump(dict(out, preds=preds), open(sys.argv[3], 'w'), indent=1)
