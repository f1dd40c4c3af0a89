# Sample several queries per request from ONE student (llama.cpp q8_0, under its grammar) and keep them, so that
# selection rules (greedy, majority vote, minimum Bayes risk) can be compared afterwards (`sample_select.py`).
# python sample_probe.py DIR K TEMPERATURE [SPLITS] (from the repository root); writes DIR/samples-K-T.json.
# Splits: dev (200 requests drawn like the test split, seed 7, as score_probe.py) and test (the report's 200).
import json, time
import numpy as np
from stepdistill_nb.llamacpp import _allowed
from sample_parallel import probe_args   # the same splits and student loading

d, k, temp, splits, data, st, base = probe_args(); tok = st.tok
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
