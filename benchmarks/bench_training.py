"""Training throughput: the packed, target-only multi-task step against today's padded step and the original two-pass step.

The same batches (8 examples: a predict row and an explain row each) go through every kind of step, interleaved in one run
so that all see the same machine load. Each step is forward, backward and an AdamW update. Tokens/s counts *useful*
tokens (the rows' real tokens, no padding), the same number for every kind, so the ratios are ratios of time.

- `padded`: the previous one-pass step: predict and explain rows padded together, logits at every position;
- `two_pass`: the original implementation and the reference: one forward/backward per task, each padded to its own length;
- `packed` (causal): `PackedCollator` rows packed without padding, logits only at target positions (`packed_logits`);
- `per_task` (seq2seq): `seq2seq_rows`, the encoder once, the decoder per task at its own length;
- `packed_bf16`: `packed` under CPU bf16 autocast (skipped, with the probe's figures, when bf16 matmuls are 2x slower or a
  first step 3x slower);
- `packed_sampled`, `packed_sampled_bf16` (causal): `packed` (and under bf16 autocast) with the sampled softmax of
  `train(softmax='sampled')`: over the benchmark data's tokens and 4,096 others drawn each step (`SampledSoftmax`), a
  smaller output projection;
- `lora`: `packed` with LoRA adapters (rank 16, all linear layers): no weight gradients for the frozen matrices;
- `frozen_half`, `frozen_2_3` (causal): `packed` with the embeddings and the bottom half / two thirds of the layers frozen
  (`freeze_bottom`): no backward pass below them at all.

Prints the figures and writes JSON to benchmarks/results/training.json (or --out).

    python benchmarks/bench_training.py [--students tiny-t5,tiny-llama,smollm2] [--steps 4] [--batch-size 8]
"""
import argparse, copy, json, platform, statistics, time
from pathlib import Path
import torch
from stepdistill_nb.training import (MultiTaskCollator, PackedCollator, TaskFormat, SampledSoftmax, add_lora, data_vocab, decoder_layers, encode_examples, forward_rows,
                                     freeze_bottom, is_seq2seq, load_student, matmul_precision, multitask_loss, row_losses, task_losses)

ROOT = Path(__file__).resolve().parents[1].parent/'shared'/'data'/'dss'

def records(n):
    if (ROOT/'svamp'/'svamp_train.json').exists():
        from stepdistill_nb.dss import load_dss
        return [r for r in load_dss('svamp', ROOT, 'train') if r['rationale']][:n], 'svamp train (paper release)'
    toy = [dict(input=f'Tom has {i} apples and buys {i+3} more. How many apples does he have now?', label=f'( {i} + {i+3} )',
                rationale=f'Tom has {i} apples. He buys {i+3} more. ' * (1 + i % 3) + f'So he has {2*i+3} apples.') for i in range(n)]
    return toy, 'synthetic (../shared absent)'

def kinds_for(model, s2s, alpha, softmax=None):
    "name -> (model, loss function of a (padded, packed) batch pair, autocast)."
    def padded(m):
        return lambda b: multitask_loss(*row_losses(forward_rows(m, b[0], s2s).logits, b[0]['labels'], s2s), b[0]['task'], alpha)[0]
    def two_pass(m):
        def f(b):
            b = b[0]
            for t, w in ((0, alpha), (1, 1 - alpha)):
                k = b['task'].eq(t)
                if not k.any(): continue
                ids, am, lab = b['input_ids'][k], b['attention_mask'][k], b['labels'][k]
                n = int(am.sum(1).max()); ids, am = ids[:, :n], am[:, :n]
                lab = lab[:, :int(lab.ne(-100).sum(1).max())] if s2s else lab[:, :n]
                (w * m(input_ids=ids.contiguous(), attention_mask=am.contiguous(), labels=lab.contiguous()).loss).backward()
        return f
    draws = iter(range(10**9))
    def new(m, sm=None):
        return lambda b: multitask_loss(*task_losses(m, b[0] if s2s else b[1], s2s, columns=sm and sm.draw(next(draws)))[:2], b[0]['task'], alpha)[0]
    ks = dict(padded=(model, padded(model), False), two_pass=(model, two_pass(model), False))
    ks['per_task' if s2s else 'packed'] = (model, new(model), False)
    ks['packed_bf16' if not s2s else 'per_task_bf16'] = (model, new(model), True)
    if softmax is not None: ks['packed_sampled'], ks['packed_sampled_bf16'] = (model, new(model, softmax), False), (model, new(model, softmax), True)
    lm = add_lora(copy.deepcopy(model))
    ks['lora'] = (lm, new(lm), False)
    if not s2s:
        n = len(decoder_layers(model))
        for k, share in (('frozen_half', 1 / 2), ('frozen_2_3', 2 / 3)):
            fm = copy.deepcopy(model); freeze_bottom(fm, max(1, min(n - 1, round(n * share))))
            ks[k] = (fm, new(fm), False)
    return ks

def bench_student(name, recs, steps, batch_size, alpha, lens):
    model, tok = load_student(name)
    model.train(); s2s = is_seq2seq(model)
    enc = list(encode_examples(recs, tok, TaskFormat(s2s, **lens)))
    pad, pack = MultiTaskCollator(tok.pad_token_id, s2s), PackedCollator(tok.pad_token_id)
    batches = [(pad(enc[i:i+batch_size]), None if s2s else pack(enc[i:i+batch_size])) for i in range(0, len(enc) - batch_size + 1, batch_size)]
    softmax = None if s2s else SampledSoftmax(data_vocab(enc, tok), model.get_output_embeddings().weight.shape[0], 4096)
    kinds = kinds_for(model, s2s, alpha, softmax)
    opts = {k: torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-5) for k, (m, _, _) in kinds.items()}
    for m, _, _ in kinds.values(): m.train()

    def step(k, b):
        m, f, bf16 = kinds[k]
        opts[k].zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            loss = f(b)
            if loss is not None: loss.backward()
        opts[k].step()
        return time.perf_counter() - t0

    useful = lambda b: int(b[0]['attention_mask'].sum()) + (int(b[0]['labels'].ne(-100).sum()) if s2s else 0)
    skipped = {}
    mm = matmul_precision(getattr(model.config, 'hidden_size', None) or getattr(model.config, 'd_model', 512))
    if mm['bf16_s'] > 2 * mm['fp32_s']:   # as `train` decides: bf16 matmuls 2x slower here, a bf16 step is not worth timing
        for k in [k for k in kinds if k.endswith('bf16')]:
            kinds.pop(k); skipped[k] = dict(matmul_fp32_s=mm['fp32_s'], matmul_bf16_s=mm['bf16_s'], slower_x=round(mm['bf16_s'] / mm['fp32_s'], 1))
    first = {k: step(k, batches[0]) for k in kinds}                            # warm-up
    for k in [k for k in kinds if k.endswith('bf16')]:
        again = step(k, batches[0]); base = step('padded', batches[0])
        if again > 3 * base: skipped[k] = dict(probe_step_s=round(again, 3), padded_step_s=round(base, 3), slower_x=round(again / base, 2))
    times = {k: [] for k in kinds if k not in skipped}
    for i in range(steps):                                                       # interleaved
        b = batches[1 + i % (len(batches) - 1)] if len(batches) > 1 else batches[0]
        for k in times: times[k].append((step(k, b), useful(b)))
    res = {}
    for k, v in times.items():
        secs, toks = sum(t for t, _ in v), sum(n for _, n in v)
        res[k] = dict(tokens_per_s=round(toks / secs, 1), median_step_s=round(statistics.median(t for t, _ in v), 4), steps=len(v), tokens=toks)
    for k in skipped: res[k] = dict(skipped='bf16 autocast is much slower on this CPU', **skipped[k])
    speed = lambda k, ref: round(res[k]['tokens_per_s'] / res[ref]['tokens_per_s'], 3) if 'tokens_per_s' in res.get(k, {}) else None
    res['speedup_vs_padded'] = {k: speed(k, 'padded') for k in times}
    res['speedup_vs_two_pass'] = {k: speed(k, 'two_pass') for k in times}
    pk = 'per_task' if s2s else 'packed'
    padded_tokens = sum(int(b[0]['attention_mask'].numel()) for b in batches[:1])
    res.update(student=name, kind='seq2seq' if s2s else 'causal', parameters=model.num_parameters(), batch_examples=batch_size,
               padding_share_padded=round(1 - int(batches[0][0]['attention_mask'].sum()) / padded_tokens, 3),
               softmax_columns=None if softmax is None else dict(data=len(softmax.data), drawn=softmax.k, vocabulary=len(softmax.data) + len(softmax.rest)),
               one_pass=pk, one_pass_beats_two_pass=bool(speed(pk, 'two_pass') and speed(pk, 'two_pass') >= 1.0),
               cpu_capability=torch.backends.cpu.get_cpu_capability())
    return res

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--students', default='tiny-t5,tiny-llama,smollm2', help='comma-separated students')
    p.add_argument('--steps', type=int, default=4, help='timed steps per kind')
    p.add_argument('--batch-size', type=int, default=8, help='examples per batch (each gives a predict and an explain row)')
    p.add_argument('--alpha', type=float, default=0.5)
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'training.json'))
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    lens = dict(max_input_len=96, max_target_len=24, max_rationale_len=96)
    recs, source = records(a.batch_size * (a.steps + 1))
    t0 = time.time()
    out = dict(benchmark='packed target-only multi-task step vs the padded one-pass step and the two-pass reference', data=source,
               device='cpu', gpu='none: no GPU was lent to this session, CPU figures only', cpu_threads=torch.get_num_threads(),
               torch=torch.__version__, python=platform.python_version(), steps=a.steps, alpha=a.alpha, lengths=lens,
               goals=['one pass at least as fast as two passes (useful tokens/s)', 'SmolLM2 fine-tuning >= 2x the padded step (full: packed; frozen_*: bottom layers frozen)'],
               results=[])
    for name in a.students.split(','):
        r = bench_student(name, recs, a.steps, a.batch_size, a.alpha, lens)
        out['results'].append(r)
        figs = ' | '.join(f"{k} {v['tokens_per_s']:.0f}" for k, v in r.items() if isinstance(v, dict) and 'tokens_per_s' in v)
        print(f"{name:10s} {r['kind']:8s} tok/s: {figs}")
        print(f"{'':10s} speed-up vs padded: {r['speedup_vs_padded']}  vs two-pass: {r['speedup_vs_two_pass']}")
    out['seconds'] = round(time.time() - t0, 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f'wrote {a.out} ({out["seconds"]} s)')

if __name__ == '__main__': main()
