# Score students through llama.cpp (q8_0 GGUF, written on first use) on the dev split and on the report's 200 test
# requests: python score_probe.py DIR... (from the repository root). The dev split is 200 requests drawn like the test
# split with seed 7 (`generate_fhir_records(200, 'test', seed=7)`, the report's Synthea population), none of them a
# training, validation or test request of the report.
import json, sys, time
from pathlib import Path
from datasets import load_from_disk
from stepdistill_nb.fhir_data import generate_fhir_records
from stepdistill_nb.fhir_eval import fhir_equivalence, population_vocab, synthea_population
from stepdistill_nb.llamacpp import LlamaCppStudent
dd = load_from_disk('runs/fhir-report/data/standard-6400')
dev = generate_fhir_records(200, 'test', seed=7, exclude={x for s in dd for x in dd[s]['input']},
                            population=population_vocab(synthea_population(10, 42)))
for d in map(Path, sys.argv[1:]):
    t = time.time(); st = LlamaCppStudent.load(d, 'q8_0')
    for name, xs, gs in [('dev', [r['input'] for r in dev], [r['label'] for r in dev]), ('test', dd['test']['input'], dd['test']['label'])]:
        preds = [p['label'] for p in st.predict(xs)]
        json.dump(preds, open(d/f'{name}_preds_q8.json', 'w'))
        print(f'{d.name}: {name} {fhir_equivalence(preds, gs):.3f} ({time.time()-t:.0f}s)', flush=True)
    st.close()
