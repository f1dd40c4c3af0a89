import json, sys, time
from pathlib import Path
from datasets import load_from_disk
from stepdistill_nb.fhir_eval import fhir_equivalence
from stepdistill_nb.llamacpp import LlamaCppStudent
ds = load_from_disk('/work/main/runs/fhir-report/data/standard-6400')['test']
d = Path(sys.argv[1]); t = time.time(); st = LlamaCppStudent.load(d)
preds = [p['label'] for p in st.predict(ds['input'])]; st.close()
json.dump(preds, open(d/'test_preds.json', 'w'))
print(f'{d.name}: test {fhir_equivalence(preds, ds["label"]):.3f} ({time.time()-t:.0f}s)')
