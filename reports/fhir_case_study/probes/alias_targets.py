# Short code-system names in the student's targets, tried on the demo (2026-12-07): the student writes `loinc|8480-6` where the
# query has `http://loinc.org|8480-6`, and its answer is expanded back before scoring.
#   python alias_targets.py data                  the demo's data (runs/fhir-demo/data/standard-3200) with aliased labels, into
#                                                 runs/probes/alias-data (and a check that every label expands back to itself)
#   python train_probe.py 0 alias-3200 '{"data": "runs/probes/alias-data", "evaluations": 1}'
#   python alias_targets.py score DIR OUT.json    DIR's answers to the 200 test requests (score_test200.py's draw) and the
#                                                 hand-typed ones, expanded, scored against the gold queries
# From the repository root, after `make demo`.
import json, re, sys
ALIAS = {'http://loinc.org': 'loinc', 'http://snomed.info/sct': 'sct', 'http://hl7.org/fhir/sid/cvx': 'cvx',
         'http://www.nlm.nih.gov/research/umls/rxnorm': 'rxnorm', 'http://unitsofmeasure.org': 'ucum',
         'http://hl7.org/fhir/sid/us-npi': 'npi', 'http://terminology.hl7.org/CodeSystem/v3-ActCode': 'actcode'}

def aliased(q):
    for u, a in ALIAS.items(): q = q.replace(u + '|', a + '|')
    return q

def expanded(q):
    for u, a in ALIAS.items(): q = re.sub(r'(?<=[=,])' + a + r'\|', u + '|', q).replace('|' + a + '|', '|' + u + '|')
    return q

def make_data():
    import datasets
    dd = datasets.load_from_disk('runs/fhir-demo/data/standard-3200')
    qs = [q for s in dd.values() for q in s['label'] if q]
    bad = [q for q in qs if expanded(aliased(q)) != q]
    print(f'{len(qs)} labels, {len(bad)} that do not expand back to themselves', bad[:3])
    datasets.DatasetDict({k: v.map(lambda r: {'label': aliased(r['label']) if r['label'] else r['label']}) for k, v in dd.items()}).save_to_disk('runs/probes/alias-data')

def score(student, out):
    from stepdistill_nb.fhir_data import generate_fhir_dataset
    from stepdistill_nb.fhir_eval import population_vocab, synthea_population, fhir_metrics
    from stepdistill_nb.fhir_study import handwritten_requests
    from stepdistill_nb.metrics import wilson_interval
    from stepdistill_nb.training import Student
    st = Student.load(student)
    test = generate_fhir_dataset(n_train=3350, n_test=200, seed=0, population=population_vocab(synthea_population(10, 42)))['test']
    preds = [expanded(p['label']) for p in st.predict(test['input'])]
    m = fhir_metrics(preds, test['label'], test['domain'])
    res = dict(n=200, **{k: m[k] for k in ('exact', 'equivalent', 'valid', 'param_f1', 'resource')}, equivalent_ci95=wilson_interval(m['equivalent'], 200))
    h = handwritten_requests(); hp = [expanded(p['label']) for p in st.predict(h['input'])]
    res['handwritten'] = fhir_metrics(hp, h['label'], h['domain'])['equivalent']
    print(json.dumps(res))
    for r, p in zip(list(h)[:2], hp[:2]): print(r['input'], '->', p, '| gold', r['label'])
    json.dump(dict(res, preds=preds, handwritten_preds=hp), open(out, 'w'), indent=1)

if __name__ == '__main__':
    make_data() if sys.argv[1] == 'data' else score(sys.argv[2], sys.argv[3])
