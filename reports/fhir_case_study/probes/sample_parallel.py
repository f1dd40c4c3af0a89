# As sample_probe.py, but the greedy answer and the K samples of a request are decoded together, one llama.cpp batch
# of K+1 sequences per step sharing the prompt's cache, so that their cost can be compared with greedy decoding alone.
# python sample_parallel.py DIR K TEMPERATURE [SPLITS] (from the repository root); writes DIR/psamples-K-T.json in
# sample_select.py's format, and prints the seconds per request of greedy decoding alone and of the batch.
import json, sys, time
from pathlib import Path
import numpy as np, llama_cpp
from llama_cpp import _internals
from datasets import load_from_disk
from stepdistill_nb.fhir_data import generate_fhir_records
from stepdistill_nb.fhir_eval import population_vocab, synthea_population
from stepdistill_nb.llamacpp import LlamaCppStudent, _allowed
from stepdistill_nb.training import grammar_matcher

class ParallelSampler:
    "Decode a prompt's greedy answer and `k` sampled ones in one llama.cpp context holding k+1 sequences."
    def __init__(self, st, k, temperature, seed=0):
        self.st, self.k, self.temp, self.rng = st, k, temperature, np.random.default_rng(seed)
        llm, per = st.runner.llm, st.runner.context_tokens()
        p = llama_cpp.llama_context_default_params()
        p.n_ctx = p.n_batch = p.n_ubatch = per * (k + 1)
        p.n_seq_max, p.kv_unified, p.no_perf = k + 1, True, True
        self.ctx = _internals.LlamaContext(model=llm._model, params=p, verbose=False)
        n = st.runner.threads['n_threads']; llama_cpp.llama_set_n_threads(self.ctx.ctx, n, n)
        self.batch, self.per, self.nv = llama_cpp.llama_batch_init(per, 0, 1), per, llm.n_vocab()

    def _decode(self, toks, pos, seqs, last_only):
        b = self.batch; b.n_tokens = len(toks)
        for i, (t, q, s) in enumerate(zip(toks, pos, seqs)):
            b.token[i], b.pos[i], b.n_seq_id[i] = t, q, 1; b.seq_id[i][0] = s
            b.logits[i] = (not last_only) or i == len(toks) - 1
        if llama_cpp.llama_decode(self.ctx.ctx, b) != 0: raise RuntimeError('llama_decode failed')
        rows = [len(toks) - 1] if last_only else range(len(toks))
        return [np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx.ctx, i), shape=(self.nv,)).astype(np.float64) for i in rows]

    def candidates(self, ids, max_new, matcher):
        "`[(text, log-probability)]`: the greedy answer first, then the k samples (log-probabilities under the masked, untempered scores)."
        mem, n, eos = llama_cpp.llama_get_memory(self.ctx.ctx), len(ids), self.st.tok.eos_token_id
        llama_cpp.llama_memory_clear(mem, True)
        z0 = self._decode(ids, range(n), [0] * n, True)[0]
        for j in range(1, self.k + 1): llama_cpp.llama_memory_seq_cp(mem, 0, j, -1, -1)
        seqs = [dict(seq=j, toks=[], lp=0.0, m=matcher.deep_copy() if matcher is not None else None, z=z0, done=False) for j in range(self.k + 1)]
        for _ in range(min(max_new, self.per - n)):
            step = []
            for s in seqs:
                if s['done']: continue
                m, z = s['m'], s['z']
                if m is not None:
                    if m.is_stopped() or m.is_error(): s['done'] = True; continue
                    z = np.where(_allowed(m, len(z)), z, -np.inf)
                logp = z - z.max(); logp -= np.log(np.exp(logp).sum())
                t = int(np.argmax(logp)) if s['seq'] == 0 else int(np.argmax(logp / self.temp + self.rng.gumbel(size=len(logp))))
                s['lp'] += float(logp[t])
                if t == eos: s['done'] = True; continue
                if m is not None: m.consume_token(t)
                s['toks'].append(t); step.append(s)
            if not step: break
            zs = self._decode([s['toks'][-1] for s in step], [n + len(s['toks']) - 1 for s in step], [s['seq'] for s in step], False)
            for s, z in zip(step, zs): s['z'] = z
        return [(self.st.tok.decode(s['toks'], skip_special_tokens=True).strip(), s['lp']) for s in seqs]

def held_out():
    "`{split: (inputs, golds)}` of the dev and test splits, as score_probe.py scores them."
    dd = load_from_disk('runs/fhir-report/data/standard-6400')
    dev = generate_fhir_records(200, 'test', seed=7, exclude={x for s in dd for x in dd[s]['input']},
                                population=population_vocab(synthea_population(10, 42)))
    return {'dev': ([r['input'] for r in dev], [r['label'] for r in dev]), 'test': (list(dd['test']['input']), list(dd['test']['label']))}

def probe_args():
    "The command line's student, K, temperature and splits; each split's `(inputs, golds)`; the student and its grammar."
    d, k, temp = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    splits = sys.argv[4].split(',') if len(sys.argv) > 4 else ['dev', 'test']
    data, st = held_out(), LlamaCppStudent.load(d, 'q8_0')
    return d, k, temp, splits, data, st, grammar_matcher(st.tok, st.info['grammar'])

if __name__ == '__main__':
    d, k, temp, splits, data, st, base = probe_args()
    ps = ParallelSampler(st, k, temp)
    out_path = d/f'psamples-{k}-{temp:g}.json'
    out = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name in splits:
        if name in out: continue
        xs, gs = data[name]; rows, tg, tb = [], 0.0, 0.0
        for i, x in enumerate(xs):
            ids = st.fmt.encode(st.tok, x, 'predict')['input_ids']
            t0 = time.perf_counter(); g = st.complete(ids, st.fmt.max_target_len, base.deep_copy()); tg += time.perf_counter() - t0
            t0 = time.perf_counter(); c = ps.candidates(ids, st.fmt.max_target_len, base); tb += time.perf_counter() - t0
            rows.append([(g, c[0][1])] + c[1:] if c[0][0] == g else [(g, None)] + c)   # a batch of several rows may score a
            # token slightly otherwise than one row alone, so its greedy row can differ: the lone greedy answer comes first
            if i % 50 == 49: print(f'{name} {i+1}/{len(xs)}: greedy {tg/(i+1):.2f} s/request, greedy+{k} samples {tb/(i+1):.2f} s/request', flush=True)
        out[name] = dict(inputs=xs, golds=gs, samples=rows, seconds=tb, greedy_seconds=tg, greedy_differs=sum(r[0][1] is None for r in rows))
        out_path.write_text(json.dumps(out)); print(f'{d.name} {name}: greedy {tg:.0f} s, batch {tb:.0f} s', flush=True)
    st.close()
