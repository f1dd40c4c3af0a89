import json, sys, time
from pathlib import Path
from datasets import load_from_disk
from stepdistill_nb.fhir_eval import fhir_equivalence
from stepdistill_nb.llamacpp import LlamaCppStudent
ds = load_from_disk('/work/main/runs/fhir-report/data/standard-6400')['test']
dev = json.load(open('/tmp/wise/dev.json'))
d = Path(sys.argv[1]); t = time.time(); st = LlamaCppStudent.load(d)
for name, xs, gs in [('dev', [r['input'] for r in dev], [r['label'] for r in dev]), ('test', ds['input'], ds['label'])]:
    preds = [p['label'] for p in st.predict(xs)]
    json.dump(preds, open(d/f'{name}_preds.json', 'w'))
    print(f'{d.name}: {name} {fhir_equivalence(preds, gs):.3f} ({time.time()-t:.0f}s)', flush=True)
st.close()
