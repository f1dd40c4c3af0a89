# Sample several queries per request from ONE student (llama.cpp q8_0, under its grammar) and keep them, so that
# selection rules (greedy, majority vote, minimum Bayes risk) can be compared afterwards (`sample_select.py`).
# python sample_probe.py DIR K TEMPERATURE [SPLITS] (from the repository root); writes DIR/samples-K-T.json.
# Splits: dev (200 requests drawn like the test split, seed 7, as score_probe.py) and test (the report's 200).
import json, sys, time
from pathlib import Path
import numpy as np
from datasets import load_from_disk
from stepdistill_nb.fhir_data import generate_fhir_records
from stepdistill_nb.fhir_eval import population_vocab, synthea_population
from stepdistill_nb.llamacpp import LlamaCppStudent, _allowed
from stepdistill_nb.training import grammar_matcher

d, k, temp = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
splits = sys.argv[4].split(',') if len(sys.argv) > 4 else ['dev', 'test']
dd = load_from_disk('runs/fhir-report/data/standard-6400')
dev = generate_fhir_records(200, 'test', seed=7, exclude={x for s in dd for x in dd[s]['input']},
                            population=population_vocab(synthea_population(10, 42)))
data = {'dev': ([r['input'] for r in dev], [r['label'] for r in dev]), 'test': (list(dd['test']['input']), list(dd['test']['label']))}
st = LlamaCppStudent.load(d, 'q8_0'); tok = st.tok; base = grammar_matcher(tok, st.info['grammar'])
out_path = d/f'samples-{k}-{temp:g}.json'
out = json.loads(out_path.read_text()) if out_path.exists() else {}   # resumable per split
rng = np.random.default_rng(0)

def sample(ids, mx, temperature):
    "One completion: greedy when temperature is 0, else sampled; with its log-probability under the masked, untempered scores."
    m, eos, toks, lp = base.deep_copy(), tok.eos_token_id, [], 0.0
    logits = st.next_logits(ids)
    for _ in range(mx):
        if m.is_stopped() or m.is_error(): break
        z = np.where(_allowed(m, len(logits)), logits, -np.inf).astype(np.float64)
        logp = z - z.max(); logp -= np.log(np.exp(logp).sum())
        if temperature == 0: t = int(np.argmax(z))
        else:
            q = np.exp((logp - logp.max()) / temperature); q /= q.sum()
            t = int(rng.choice(len(q), p=q))
        lp += float(logp[t])
        if t == eos: break
        m.consume_token(t); toks.append(t); logits = st.next_logits([t], fresh=False)
    return tok.decode(toks, skip_special_tokens=True).strip(), lp

for name in splits:
    if name in out: continue
    xs, gs = data[name]; t0 = time.time(); rows = []
    for i, x in enumerate(xs):
        ids = st.fmt.encode(tok, x, 'predict')['input_ids']
        rows.append([sample(ids, st.fmt.max_target_len, 0.0)] + [sample(ids, st.fmt.max_target_len, temp) for _ in range(k)])
        if i % 50 == 49: print(f'{name} {i+1}/{len(xs)} {time.time()-t0:.0f}s', flush=True)
    out[name] = dict(inputs=xs, golds=gs, samples=rows, seconds=time.time() - t0)
    out_path.write_text(json.dumps(out)); print(f'{d.name} {name}: {time.time()-t0:.0f}s', flush=True)
st.close()
