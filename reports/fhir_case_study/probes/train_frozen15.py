import time, json
from pathlib import Path
from stepdistill_nb.training import train
out = Path('/work/main/runs/freeze-probe/standard-6400-f15')
t0 = time.time()
train('/work/main/runs/fhir-report/data/standard-6400', student='smollm2', mode='standard', out=str(out), max_steps=421, batch_size=16,
      lr=6e-4, metric='stepdistill_nb.fhir_eval:fhir_equivalence', teacher=None, seed=0, progress=False, max_input_len=128,
      max_target_len=128, max_rationale_len=64, tokenizer=None, lora=False, freeze_layers=15,
      grammar='stepdistill_nb.fhir_study:fhir_query_grammar', warmup=0.05, eval_steps=211, resume=(out/'checkpoints').is_dir())
(out/'train_wall.json').write_text(json.dumps(dict(seconds=round(time.time() - t0, 1))))
print('done', time.time() - t0)
