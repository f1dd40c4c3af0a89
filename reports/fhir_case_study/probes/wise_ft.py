import json, sys, time, shutil, torch
from pathlib import Path
from datasets import load_from_disk
from safetensors.torch import load_file, save_file
from stepdistill_nb.fhir_data import generate_fhir_records
from stepdistill_nb.fhir_eval import population_vocab, synthea_population, fhir_equivalence
from stepdistill_nb.training import load_student
from stepdistill_nb.llamacpp import LlamaCppStudent
src = Path('/work/main/runs/fhir-report/students/standard-6400')
ds = load_from_disk('/work/main/runs/fhir-report/data/standard-6400')
pop = population_vocab(synthea_population(10, 42))
excl = set(ds['train']['input']) | set(ds['test']['input']) | set(ds['valid']['input'])
dev = generate_fhir_records(200, 'test', 7, exclude=excl, population=pop)
json.dump(dev, open('/tmp/wise/dev.json','w'))
base, _ = load_student('smollm2'); bsd = {k: v.detach().clone() for k, v in base.state_dict().items()}
ft = load_file(str(src/'model.safetensors'))
print('keys', len(ft), len(bsd), [k for k in ft if k not in bsd][:3])
for a in [float(x) for x in sys.argv[1:]]:
    d = Path(f'/tmp/wise/a{a}'); shutil.copytree(src, d, dirs_exist_ok=True, ignore=shutil.ignore_patterns('checkpoints', '*.gguf'))
    sd = {k: (a * v + (1 - a) * bsd[k]).contiguous() if k in bsd else v for k, v in ft.items()}
    save_file(sd, str(d/'model.safetensors'), metadata={'format': 'pt'})
    t = time.time(); st = LlamaCppStudent.load(d)
    preds = [p['label'] for p in st.predict([r['input'] for r in dev])]
    st.close()
    print(f'alpha {a}: dev {fhir_equivalence(preds, [r["label"] for r in dev]):.3f}  ({time.time()-t:.0f}s)', flush=True)
