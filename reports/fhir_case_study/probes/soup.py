import json, sys, time, shutil, torch
from pathlib import Path
from safetensors.torch import load_file, save_file
from stepdistill_nb.fhir_eval import fhir_equivalence
from stepdistill_nb.llamacpp import LlamaCppStudent
R = Path('/work/main/runs/fhir-report/students')
dev = json.load(open('/tmp/wise/dev.json'))
for combo in sys.argv[1:]:
    names = combo.split('+'); d = Path(f'/tmp/wise/soup-{combo}')
    shutil.copytree(R/names[0], d, dirs_exist_ok=True, ignore=shutil.ignore_patterns('checkpoints', '*.gguf'))
    sds = [load_file(str(R/n/'model.safetensors')) for n in names]
    sd = {k: (sum(s[k] for s in sds) / len(sds)).contiguous() for k in sds[0]}
    save_file(sd, str(d/'model.safetensors'), metadata={'format': 'pt'})
    t = time.time(); st = LlamaCppStudent.load(d)
    preds = [p['label'] for p in st.predict([r['input'] for r in dev])]
    st.close(); json.dump(preds, open(d/'dev_preds.json', 'w'))
    print(f'{combo}: dev {fhir_equivalence(preds, [r["label"] for r in dev]):.3f}  ({time.time()-t:.0f}s)', flush=True)
