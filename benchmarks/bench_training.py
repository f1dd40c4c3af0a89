"""Training throughput of the multi-task (distilling step-by-step) step vs a plain single-task step over the same tokens.

Three steps are timed on the same collated batches (predict rows + explain rows, padded together), interleaved in one run:
- `multitask`: `stepdistill_nb.training`'s step: one forward pass, per-row token losses, per-task means weighted by alpha;
- `plain`: the model's own single-task loss (`model(..., labels=...)`) on the very same padded batch: the floor;
- `two_pass`: the original implementation: one forward/backward per task.
Each step includes backward and an AdamW update. Tokens/s counts non-padding tokens (encoder + decoder tokens for seq2seq).
Prints the figures and writes JSON to benchmarks/results/training.json (or --out).

    python benchmarks/bench_training.py [--students tiny-t5,tiny-llama] [--steps 8] [--batch-size 8]
"""
import argparse, json, platform, statistics, sys, time
from pathlib import Path
import torch
from stepdistill_nb.training import (MultiTaskCollator, TaskFormat, encode_examples, forward_rows, is_seq2seq, load_student,
                                     multitask_loss, row_losses)

ROOT = Path(__file__).resolve().parents[1].parent/'shared'/'data'/'dss'

def records(n):
    if (ROOT/'svamp'/'svamp_train.json').exists():
        from stepdistill_nb.dss import load_dss
        return [r for r in load_dss('svamp', ROOT, 'train') if r['rationale']][:n], 'svamp train (paper release)'
    toy = [dict(input=f'Tom has {i} apples and buys {i+3} more. How many apples does he have now?', label=f'( {i} + {i+3} )',
                rationale=f'Tom has {i} apples. He buys {i+3} more. So he has {i} + {i+3} = {2*i+3} apples.') for i in range(n)]
    return toy, 'synthetic (../shared absent)'

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()

def bench_student(name, recs, steps, batch_size, alpha, dev, lens):
    model, tok = load_student(name)
    model.to(dev).train()
    s2s = is_seq2seq(model)
    enc = list(encode_examples(recs, tok, TaskFormat(s2s, **lens)))
    coll = MultiTaskCollator(tok.pad_token_id, s2s)
    batches = [coll(enc[i:i+batch_size]) for i in range(0, len(enc) - batch_size + 1, batch_size)]
    batches = [{k: v.to(dev) if torch.is_tensor(v) else v for k, v in b.items()} for b in batches]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ac = torch.autocast('cuda', dtype=torch.bfloat16) if dev.type == 'cuda' and torch.cuda.is_bf16_supported() else torch.autocast('cpu', enabled=False)

    def multitask(b):
        return multitask_loss(*row_losses(forward_rows(model, b, s2s).logits, b['labels'], s2s), b['task'], alpha)[0]
    def plain(b):
        return model(input_ids=b['input_ids'], attention_mask=b['attention_mask'], labels=b['labels']).loss
    def two_pass(b):
        for t, w in ((0, alpha), (1, 1 - alpha)):
            m = b['task'].eq(t)
            if not m.any(): continue
            ids, am, lab = b['input_ids'][m], b['attention_mask'][m], b['labels'][m]
            n = int(am.sum(1).max()); ids, am = ids[:, :n], am[:, :n]   # each task's batch padded only to its own length
            lab = lab[:, :int(lab.ne(-100).nonzero()[:, 1].max()) + 1] if s2s else lab[:, :n]
            loss = w * model(input_ids=ids.contiguous(), attention_mask=am.contiguous(), labels=lab.contiguous()).loss
            loss.backward()
        return None
    kinds = dict(multitask=multitask, plain=plain, two_pass=two_pass)

    def step(kind, b):
        opt.zero_grad(set_to_none=True)
        with ac:
            loss = kinds[kind](b)
        if loss is not None: loss.backward()
        opt.step()

    def tokens(b):
        n = int(b['attention_mask'].sum())
        return n + int(b['labels'].ne(-100).sum()) if s2s else n
    times = {k: [] for k in kinds}
    for b in batches[:2]:                          # warm-up
        for k in kinds: step(k, b)
    for i in range(steps):                         # interleaved: the three see the same load on a shared machine
        b = batches[i % len(batches)]
        for k in kinds:
            sync(dev); t0 = time.perf_counter(); step(k, b); sync(dev); times[k].append((time.perf_counter() - t0, tokens(b)))
    res = {}
    for k, v in times.items():
        secs, toks = sum(t for t, _ in v), sum(n for _, n in v)
        res[k] = dict(tokens_per_s=round(toks / secs, 1), median_step_s=round(statistics.median(t for t, _ in v), 4), steps=len(v), tokens=toks)
    res['multitask_overhead_vs_plain_pct'] = round(100 * (res['plain']['tokens_per_s'] / res['multitask']['tokens_per_s'] - 1), 2)
    res['two_pass_overhead_vs_plain_pct'] = round(100 * (res['plain']['tokens_per_s'] / res['two_pass']['tokens_per_s'] - 1), 2)
    # the same batches go through each kind, so the ratio of median step times is robust to a busy shared machine
    res['multitask_overhead_vs_plain_median_pct'] = round(100 * (res['multitask']['median_step_s'] / res['plain']['median_step_s'] - 1), 2)
    res['two_pass_overhead_vs_plain_median_pct'] = round(100 * (res['two_pass']['median_step_s'] / res['plain']['median_step_s'] - 1), 2)
    res.update(student=name, kind='seq2seq' if s2s else 'causal', parameters=model.num_parameters(), batch_examples=batch_size,
               rows_per_batch=int(batches[0]['input_ids'].shape[0]))
    if dev.type == 'cuda': res['max_memory_allocated_gib'] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return res

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--students', default='tiny-t5,tiny-llama', help='comma-separated students (tiny-t5, tiny-llama, smollm2, ...)')
    p.add_argument('--steps', type=int, default=8, help='timed steps per kind')
    p.add_argument('--batch-size', type=int, default=8, help='examples per batch (each gives a predict and an explain row)')
    p.add_argument('--alpha', type=float, default=0.5)
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'training.json'))
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    lens = dict(max_input_len=96, max_target_len=24, max_rationale_len=96)
    recs, source = records(a.batch_size * (a.steps + 2))
    out = dict(benchmark='multi-task step vs single-task step over the same tokens', data=source, device=str(dev),
               gpu=torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'none: no GPU was available in this session, CPU figures only',
               cpu_threads=torch.get_num_threads(), torch=torch.__version__, python=platform.python_version(),
               steps=a.steps, alpha=a.alpha, lengths=lens, goal='multi-task overhead under 10%', results=[])
    for name in a.students.split(','):
        r = bench_student(name, recs, a.steps, a.batch_size, a.alpha, dev, lens)
        out['results'].append(r)
        print(f"{name:12s} {r['kind']:8s} multitask {r['multitask']['tokens_per_s']:9.1f} tok/s | plain {r['plain']['tokens_per_s']:9.1f} tok/s "
              f"| two-pass {r['two_pass']['tokens_per_s']:9.1f} tok/s | overhead vs plain {r['multitask_overhead_vs_plain_pct']:+.2f}% "
              f"(two-pass {r['two_pass_overhead_vs_plain_pct']:+.2f}%); by median step time {r['multitask_overhead_vs_plain_median_pct']:+.2f}% "
              f"(two-pass {r['two_pass_overhead_vs_plain_median_pct']:+.2f}%)")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f'wrote {a.out}')

if __name__ == '__main__': main()
